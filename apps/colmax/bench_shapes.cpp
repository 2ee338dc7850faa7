// Named benchmark shapes (from the CPU and GPU targets) and their random inputs.
#include "bench_shapes.hpp"

#include "random_tokens.hpp"
#include "rng.hpp"

namespace colmax::cli {

const char* layout_name(BenchLayout layout) {
  switch (layout) {
    case BenchLayout::cross:
      return "cross";
    case BenchLayout::candidates:
      return "candidates";
    case BenchLayout::pairs:
      return "pairs";
    case BenchLayout::packed:
      return "packed";
  }
  return "?";
}

const std::vector<BenchShape>& named_shapes() {
  using L = BenchLayout;
  static const std::vector<BenchShape> shapes{
      {"rerank-1x1000x32x300", L::cross, 1, 1000, 32, 32, 300, 300, 128, false, "text rerank"},
      {"long-1x1000x32x1024", L::cross, 1, 1000, 32, 32, 1024, 1024, 128, false, "long documents"},
      {"batch-16x1000x32x1024", L::cross, 16, 1000, 32, 32, 1024, 1024, 128, false,
       "a batch of queries, long documents"},
      {"varlen-1x1000x32x32..512", L::packed, 1, 1000, 32, 32, 32, 512, 128, false,
       "variable document lengths, packed"},
      {"corpus-1x100000x32x300", L::cross, 1, 100000, 32, 32, 300, 300, 128, true, "corpus scan"},
      {"colpali-1x1000x128x1024", L::cross, 1, 1000, 128, 128, 1024, 1024, 128, true,
       "ColPali rerank"},
      {"visual-1x1000x1024x1024", L::cross, 1, 1000, 1024, 1024, 1024, 1024, 128, true,
       "visual, compute-bound"},
      {"queries-64x10000x32x300", L::cross, 64, 10000, 32, 32, 300, 300, 128, true,
       "batched queries sharing the documents"},
      {"inbatch-256x256x32x300", L::cross, 256, 256, 32, 32, 300, 300, 128, true,
       "in-batch training forward"},
      {"kd-64x32x32x300", L::candidates, 64, 32, 32, 32, 300, 300, 128, true,
       "knowledge distillation: 32 candidates per query"},
      {"pairs-5000x32x300", L::pairs, 5000, 1, 32, 32, 300, 300, 128, true, "5,000 pairs"},
      {"packed-32x2000", L::packed, 32, 2000, 8, 32, 32, 512, 128, true,
       "packed: queries of 8..32, documents of 32..512 tokens"},
      {"longctx-16x32x32x8192", L::cross, 16, 32, 32, 32, 8192, 8192, 128, true, "long context"},
      {"dim48-1x10000x32x300", L::cross, 1, 10000, 32, 32, 300, 300, 48, true,
       "edge model, dim 48"},
      {"dim64-1x10000x32x300", L::cross, 1, 10000, 32, 32, 300, 300, 64, true,
       "edge model, dim 64"},
  };
  return shapes;
}

const BenchShape* find_shape(const std::string& name) {
  for (const BenchShape& s : named_shapes()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string lengths_text(int64_t lo, int64_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

BenchCase::BenchCase(const BenchShape& shape, DType dtype, Arena& arena, uint64_t seed, int threads)
    : shape_(shape) {
  const int64_t dim = shape.dim, elem = dtype_size(dtype);
  const bool packed = shape.layout == BenchLayout::packed;
  int64_t q_seqs = shape.nq, d_seqs = shape.nd;
  if (shape.layout == BenchLayout::candidates) d_seqs = shape.nq * shape.nd;
  if (shape.layout == BenchLayout::pairs) d_seqs = shape.nq;

  // Sequence lengths (all equal unless packed).
  Rng rng(seed, ~uint64_t(0));
  const auto offsets = [&](int64_t n, int64_t lo, int64_t hi) {
    std::vector<int64_t> cu(size_t(n + 1), 0);
    for (int64_t i = 0; i < n; ++i) cu[size_t(i + 1)] = cu[size_t(i)] + rng.between(lo, hi);
    return cu;
  };
  cu_q_ = offsets(q_seqs, shape.lq_min, shape.lq_max);
  cu_d_ = offsets(d_seqs, shape.ld_min, shape.ld_max);
  const int64_t tq = cu_q_.back(), td = cu_d_.back();

  q_host_.resize(size_t(tq * dim * elem));
  d_host_.resize(size_t(td * dim * elem));
  fill_unit_tokens(q_host_.data(), dtype, tq, dim, seed, threads);
  fill_unit_tokens(d_host_.data(), dtype, td, dim, seed + 1, threads);

  // Views of the layout, on the device.
  const int64_t lq = shape.lq_max, ld = shape.ld_max;
  std::vector<int64_t> q_shape{shape.nq, lq, dim}, d_shape{shape.nd, ld, dim}, out_shape;
  switch (shape.layout) {
    case BenchLayout::cross:
      out_shape = {shape.nq, shape.nd};
      break;
    case BenchLayout::candidates:
      d_shape = {shape.nq, shape.nd, ld, dim};
      out_shape = {shape.nq, shape.nd};
      break;
    case BenchLayout::pairs:
      d_shape = {shape.nq, ld, dim};
      out_shape = {shape.nq};
      break;
    case BenchLayout::packed:
      q_shape = {tq, dim};
      d_shape = {td, dim};
      out_shape = {shape.nq, shape.nd};
      break;
  }
  q_ = arena.upload(TensorView(q_host_.data(), dtype, std::span<const int64_t>(q_shape)));
  d_ = arena.upload(TensorView(d_host_.data(), dtype, std::span<const int64_t>(d_shape)));
  if (packed) {
    cu_q_view_ = arena.upload(TensorView(cu_q_.data(), DType::int64, {q_seqs + 1}));
    cu_d_view_ = arena.upload(TensorView(cu_d_.data(), DType::int64, {d_seqs + 1}));
  }
  out_ = arena.allocate(DType::float32, out_shape);
  // The host copies are only needed by the CPU (a GPU has its own).
  if (arena.on_gpu()) {
    q_host_ = {};
    d_host_ = {};
  }

  // Work and traffic.
  double token_pairs = 0;
  switch (shape.layout) {
    case BenchLayout::cross:
    case BenchLayout::packed:
      token_pairs = double(tq) * double(td);
      break;
    case BenchLayout::candidates:
    case BenchLayout::pairs:
      token_pairs = double(lq) * double(td);
      break;
  }
  flops_ = 2.0 * double(dim) * token_pairs;
  bytes_ = double((tq + td) * dim * elem) + 4.0 * double(out_.numel());
}

void BenchCase::run(const Options& options) {
  switch (shape_.layout) {
    case BenchLayout::cross:
    case BenchLayout::candidates:
      maxsim(q_, d_, out_, {}, options);
      return;
    case BenchLayout::pairs:
      maxsim_pairs(q_, d_, out_, {}, options);
      return;
    case BenchLayout::packed:
      maxsim_packed(q_, cu_q_view_, d_, cu_d_view_, out_, {}, options);
      return;
  }
}

}  // namespace colmax::cli
