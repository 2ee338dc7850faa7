#include "support/device.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/backends.hpp"
#include "core/scalar.hpp"
#include "core/validate.hpp"

namespace colmax::detail {
void cuda_maxsim_simple(const Problem& p);  // src/cuda/simple
}

namespace colmax::test {

bool have_gpu() {
  static const bool present = [] {
    for (const GpuInfo& g : cuda_devices()) {
      if (g.compute_capability >= 80) return true;
    }
    return false;
  }();
  return present;
}

DevicePlacer::~DevicePlacer() {
  for (void* p : buffers_) (void)cudaFree(p);
}

void* DevicePlacer::alloc(size_t bytes) {
  void* p = nullptr;
  if (cudaMalloc(&p, bytes == 0 ? 16 : bytes) != cudaSuccess) {
    throw std::runtime_error("cudaMalloc failed");
  }
  buffers_.push_back(p);
  return p;
}

TensorView DevicePlacer::place(const HostTensor& t) {
  if (!t.present) return {};
  void* p = alloc(t.bytes.size());
  if (cudaMemcpy(p, t.bytes.data(), t.bytes.size(), cudaMemcpyHostToDevice) != cudaSuccess) {
    throw std::runtime_error("cudaMemcpy failed");
  }
  const auto* base = static_cast<const std::byte*>(p) + t.offset * dtype_size(t.dtype);
  return TensorView(base, t.dtype, std::span<const int64_t>(t.shape),
                    std::span<const int64_t>(t.strides), Device{DeviceKind::cuda, 0});
}

TensorView DevicePlacer::poisoned_output(const std::vector<int64_t>& shape) {
  HostTensor h = make_tensor(DType::float32, shape);
  for (int64_t i = 0; i < h.numel(); ++i) set_value(h, i, kPoison);
  return place(h);
}

std::vector<float> to_host(const TensorView& t) {
  std::vector<float> v(size_t(t.numel()));
  if (cudaDeviceSynchronize() != cudaSuccess ||
      (!v.empty() &&
       cudaMemcpy(v.data(), t.data(), v.size() * 4, cudaMemcpyDeviceToHost) != cudaSuccess)) {
    throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(cudaGetLastError()));
  }
  return v;
}

std::vector<int64_t> to_host_i64(const TensorView& t) {
  std::vector<int64_t> v(size_t(t.numel()));
  if (cudaDeviceSynchronize() != cudaSuccess ||
      (!v.empty() &&
       cudaMemcpy(v.data(), t.data(), v.size() * 8, cudaMemcpyDeviceToHost) != cudaSuccess)) {
    throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(cudaGetLastError()));
  }
  return v;
}

std::vector<float> gpu_scores(const Case& c, const Options& options) {
  DevicePlacer dev;
  TensorView out = dev.poisoned_output(c.out_shape);
  Options o = options;
  o.backend = Backend::cuda;
  run_case(c, dev.placer(), out, o);
  return to_host(out);
}

std::vector<float> simple_scores(const Case& c, const Options& options) {
  DevicePlacer dev;
  TensorView out = dev.poisoned_output(c.out_shape);
  Masks masks{dev.place(c.q_mask), dev.place(c.d_mask)};
  detail::Problem p;
  switch (c.spec.layout) {
    case Layout::cross:
    case Layout::candidates:
      detail::build_padded(p, "maxsim", dev.place(c.Q), dev.place(c.D), out, masks, options);
      break;
    case Layout::pairs:
      detail::build_pairs(p, "maxsim_pairs", dev.place(c.Q), dev.place(c.D), out, masks, options);
      break;
    case Layout::packed:
    case Layout::packed_pairs:
      detail::build_packed(p, "maxsim_packed", dev.place(c.Q), dev.place(c.cu_q), dev.place(c.D),
                           dev.place(c.cu_d), dev.place(c.pair_q), dev.place(c.pair_d), out, masks,
                           options);
      break;
  }
  detail::cuda_maxsim_simple(p);
  return to_host(out);
}

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * double(next() >> 11) * 0x1p-53; }
  int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }
};

void put(HostTensor& t, int64_t at, double v) {
  std::byte* p = t.bytes.data() + (t.offset + at) * dtype_size(t.dtype);
  switch (t.dtype) {
    case DType::float32: {
      const float f = float(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::float16: {
      const uint16_t h = detail::float_to_half(float(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::bfloat16: {
      const uint16_t h = detail::float_to_bf16(float(v));
      std::memcpy(p, &h, 2);
      break;
    }
    default:
      set_value(t, at, v);
  }
}

std::vector<uint8_t> valid_tokens(Rng& rng, MaskKind kind, int64_t len) {
  std::vector<uint8_t> valid(size_t(len), 1);
  if (kind == MaskKind::none || len == 0) return valid;
  if (kind == MaskKind::fully_masked && rng.range(0, 9) < 3) {
    std::fill(valid.begin(), valid.end(), 0);
    return valid;
  }
  const int64_t keep = rng.range(len / 2, len);
  for (int64_t j = keep; j < len; ++j) valid[size_t(j)] = 0;
  if (kind != MaskKind::padding) {
    for (int64_t j = 0; j < keep; ++j) valid[size_t(j)] = rng.range(0, 9) < 2 ? 0 : 1;
  }
  return valid;
}

// Fills one sequence: values in [lo, hi] for valid tokens, NaN / 6e4 for masked ones.
void fill_seq(Rng& rng, HostTensor& x, HostTensor* m, int64_t begin, int64_t stride,
              int64_t mask_begin, int64_t dim, const std::vector<uint8_t>& valid, double lo,
              double hi) {
  for (size_t j = 0; j < valid.size(); ++j) {
    const int64_t row = begin + int64_t(j) * stride;
    for (int64_t k = 0; k < dim; ++k) {
      put(x, row + k,
          valid[j] ? rng.uniform(lo, hi)
                   : (k % 2 ? std::numeric_limits<double>::quiet_NaN() : 6.0e4));
    }
    if (m) set_value(*m, mask_begin + int64_t(j), valid[j] ? 1.0 : 0.0);
  }
}

TensorView slice_view(const HostTensor& t, int64_t elem_offset, std::vector<int64_t> shape,
                      std::vector<int64_t> strides) {
  const std::byte* base = t.bytes.data() + (t.offset + elem_offset) * dtype_size(t.dtype);
  return TensorView(base, t.dtype, std::span<const int64_t>(shape),
                    std::span<const int64_t>(strides));
}

int64_t index_at(const HostTensor& t, int64_t i) {
  const std::byte* p = t.bytes.data() + (t.offset + i) * dtype_size(t.dtype);
  if (t.dtype == DType::int32) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

Case make_large_case(const CaseSpec& spec) {
  Case c;
  c.spec = spec;
  Rng rng(spec.seed);
  const int64_t dim = spec.dim;
  const double q_lo = spec.negative ? 0.0 : -1.0, d_hi = spec.negative ? 0.0 : 1.0;
  auto padded = [&](HostTensor& X, HostTensor& M, DType dt, std::vector<int64_t> lead, int64_t len,
                    MaskKind kind, double lo, double hi) {
    std::vector<int64_t> shape = lead;
    shape.push_back(len);
    shape.push_back(dim);
    X = make_tensor(dt, shape);
    int64_t seqs = 1;
    for (int64_t n : lead) seqs *= n;
    if (kind != MaskKind::none) {
      std::vector<int64_t> ms = lead;
      ms.push_back(len);
      M = make_tensor(spec.mask_dtype, ms);
    }
    for (int64_t i = 0; i < seqs; ++i) {
      fill_seq(rng, X, M.present ? &M : nullptr, i * len * dim, dim, i * len, dim,
               valid_tokens(rng, kind, len), lo, hi);
    }
  };
  auto packed = [&](HostTensor& X, HostTensor& cu, HostTensor& M, DType dt, int64_t n, int64_t lmin,
                    int64_t lmax, MaskKind kind, double lo, double hi) {
    std::vector<int64_t> lens(static_cast<size_t>(n));
    int64_t total = 0;
    for (auto& l : lens) total += (l = rng.range(lmin, lmax));
    X = make_tensor(dt, {total, dim});
    cu = make_tensor(DType::int64, {n + 1});
    if (kind != MaskKind::none) M = make_tensor(spec.mask_dtype, {total});
    int64_t at = 0;
    set_value(cu, 0, 0);
    for (int64_t i = 0; i < n; ++i) {
      fill_seq(rng, X, M.present ? &M : nullptr, at * dim, dim, at, dim,
               valid_tokens(rng, kind, lens[size_t(i)]), lo, hi);
      at += lens[size_t(i)];
      set_value(cu, i + 1, double(at));
    }
  };
  switch (spec.layout) {
    case Layout::cross:
      padded(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask, q_lo, 1.0);
      padded(c.D, c.d_mask, spec.d_dtype, {spec.nd}, spec.ld_max, spec.d_mask, -1.0, d_hi);
      c.out_shape = {spec.nq, spec.nd};
      break;
    case Layout::candidates:
      padded(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask, q_lo, 1.0);
      padded(c.D, c.d_mask, spec.d_dtype, {spec.nq, spec.nd}, spec.ld_max, spec.d_mask, -1.0, d_hi);
      c.out_shape = {spec.nq, spec.nd};
      break;
    case Layout::pairs:
      padded(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask, q_lo, 1.0);
      padded(c.D, c.d_mask, spec.d_dtype, {spec.nq}, spec.ld_max, spec.d_mask, -1.0, d_hi);
      c.out_shape = {spec.nq};
      break;
    case Layout::packed:
    case Layout::packed_pairs:
      packed(c.Q, c.cu_q, c.q_mask, spec.q_dtype, spec.nq, spec.lq_min, spec.lq_max, spec.q_mask,
             q_lo, 1.0);
      packed(c.D, c.cu_d, c.d_mask, spec.d_dtype, spec.nd, spec.ld_min, spec.ld_max, spec.d_mask,
             -1.0, d_hi);
      c.out_shape = {spec.nq, spec.nd};
      if (spec.layout == Layout::packed_pairs) {
        c.pair_q = make_tensor(DType::int64, {spec.np});
        c.pair_d = make_tensor(DType::int64, {spec.np});
        for (int64_t p = 0; p < spec.np; ++p) {
          set_value(c.pair_q, p, double(rng.range(0, spec.nq - 1)));
          set_value(c.pair_d, p, double(rng.range(0, spec.nd - 1)));
        }
        c.out_shape = {spec.np};
      }
      break;
  }
  return c;
}

std::vector<float> sampled_reference(const Case& c, const std::vector<int64_t>& positions) {
  std::vector<float> out;
  const CaseSpec& s = c.spec;
  const int64_t dim = s.dim;
  for (int64_t o : positions) {
    TensorView Q, D, qm, dm;
    auto padded_q = [&](int64_t qi) {
      const int64_t lq = c.Q.shape[1];
      Q = slice_view(c.Q, qi * c.Q.strides[0], {1, lq, dim}, {c.Q.strides[0], c.Q.strides[1], 1});
      if (c.q_mask.present) {
        qm = slice_view(c.q_mask, qi * c.q_mask.strides[0], {1, lq},
                        {c.q_mask.strides[0], c.q_mask.strides[1]});
      }
    };
    auto packed_seq = [&](const HostTensor& X, const HostTensor& cu, const HostTensor& M, int64_t i,
                          TensorView& xv, TensorView& mv) {
      const int64_t b = index_at(cu, i), e = index_at(cu, i + 1);
      xv = slice_view(X, b * dim, {1, e - b, dim}, {std::max<int64_t>(e - b, 1) * dim, dim, 1});
      if (M.present) mv = slice_view(M, b, {1, e - b}, {std::max<int64_t>(e - b, 1), 1});
    };
    switch (s.layout) {
      case Layout::cross:
      case Layout::pairs: {
        const int64_t qi = s.layout == Layout::cross ? o / s.nd : o;
        const int64_t di = s.layout == Layout::cross ? o % s.nd : o;
        padded_q(qi);
        const int64_t ld = c.D.shape[1];
        D = slice_view(c.D, di * c.D.strides[0], {1, ld, dim}, {c.D.strides[0], c.D.strides[1], 1});
        if (c.d_mask.present) {
          dm = slice_view(c.d_mask, di * c.d_mask.strides[0], {1, ld},
                          {c.d_mask.strides[0], c.d_mask.strides[1]});
        }
        break;
      }
      case Layout::candidates: {
        const int64_t qi = o / s.nd, k = o % s.nd;
        padded_q(qi);
        const int64_t ld = c.D.shape[2];
        D = slice_view(c.D, qi * c.D.strides[0] + k * c.D.strides[1], {1, ld, dim},
                       {c.D.strides[1], c.D.strides[2], 1});
        if (c.d_mask.present) {
          dm = slice_view(c.d_mask, qi * c.d_mask.strides[0] + k * c.d_mask.strides[1], {1, ld},
                          {c.d_mask.strides[1], c.d_mask.strides[2]});
        }
        break;
      }
      case Layout::packed:
      case Layout::packed_pairs: {
        const int64_t qi = s.layout == Layout::packed ? o / s.nd : index_at(c.pair_q, o);
        const int64_t di = s.layout == Layout::packed ? o % s.nd : index_at(c.pair_d, o);
        packed_seq(c.Q, c.cu_q, c.q_mask, qi, Q, qm);
        packed_seq(c.D, c.cu_d, c.d_mask, di, D, dm);
        break;
      }
    }
    float score = kPoison;
    Options opt = c.options();
    opt.backend = Backend::reference;
    maxsim(Q, D, TensorView(&score, DType::float32, {1, 1}), Masks{qm, dm}, opt);
    out.push_back(score);
  }
  return out;
}

}  // namespace colmax::test
