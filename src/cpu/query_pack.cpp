#include "cpu/query_pack.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/scalar.hpp"

namespace colmax::detail::cpu {
namespace {

// One token row as fp32 (exact for every input dtype).
void load_row(const std::byte* x, DType dtype, int64_t dim, float* out) {
  switch (dtype) {
    case DType::float32:
      std::memcpy(out, x, size_t(dim) * 4);
      return;
    case DType::bfloat16:
      for (int64_t k = 0; k < dim; ++k) {
        uint16_t h;
        std::memcpy(&h, x + 2 * k, 2);
        out[k] = bf16_to_float(h);
      }
      return;
    case DType::float16:
      for (int64_t k = 0; k < dim; ++k) {
        uint16_t h;
        std::memcpy(&h, x + 2 * k, 2);
        out[k] = half_to_float(h);
      }
      return;
    default:
      for (int64_t k = 0; k < dim; ++k) out[k] = load_as_float(x + k * dtype_size(dtype), dtype);
  }
}

}  // namespace

int64_t valid_tokens(const SeqSet& s, int64_t i) {
  const int64_t len = s.seq_length(i);
  if (s.mask == nullptr) return len;
  int64_t n = 0;
  for (int64_t j = 0; j < len; ++j) n += s.valid(i, j) ? 1 : 0;
  return n;
}

int64_t panel_offset(const KernelSet& ks, int64_t ksteps, int64_t vectors, int64_t lane,
                     int64_t k) {
  const int64_t W = ks.lanes, M = ks.panel_vectors, P = ks.pack;
  const int64_t v = lane / W, p = v / M, m = v % M;
  const int64_t width = std::min<int64_t>(M, vectors - p * M);  // the last panel may be narrower
  return p * M * W * P * ksteps + (k / P) * width * W * P + (m * W + lane % W) * P + k % P;
}

void pack_queries(const SeqSet& q, int64_t first, int64_t count, bool normalize,
                  const KernelSet& ks, QueryGroup& g) {
  const int64_t dim = q.dim, W = ks.lanes, M = ks.panel_vectors, P = ks.pack;
  g.first = first;
  g.count = count;
  g.lane_begin.assign(size_t(count + 1), 0);
  for (int64_t i = 0; i < count; ++i) {
    g.lane_begin[size_t(i + 1)] = g.lane_begin[size_t(i)] + valid_tokens(q, first + i);
  }
  const int64_t lanes = g.lanes();
  const int64_t vectors = (lanes + W - 1) / W;
  const int64_t ksteps = (dim + P - 1) / P;
  const int64_t panels = (vectors + M - 1) / M;
  const bool bf16 = ks.format == KernelFormat::bf16_pairs;
  const size_t elem = bf16 ? 2 : 4;
  const size_t bytes = size_t(panels * M * W * P * ksteps) * elem;
  std::byte* out = g.storage.reserve(std::max<size_t>(bytes, 64));
  std::memset(out, 0, bytes);  // padding lanes and the partner of an odd last element are 0
  g.inv_norm.assign(normalize ? size_t(lanes) : 0, 1.0f);

  std::vector<float> row(static_cast<size_t>(dim));
  int64_t lane = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t len = q.seq_length(first + i);
    for (int64_t j = 0; j < len; ++j) {
      if (!q.valid(first + i, j)) continue;
      const std::byte* x = q.token(first + i, j);
      load_row(x, q.dtype, dim, row.data());
      // Lane `lane` of its panel: element k sits at base + (k / P) * step + k % P.
      const int64_t base = panel_offset(ks, ksteps, vectors, lane, 0);
      const int64_t step = panel_offset(ks, ksteps, vectors, lane, P) - base;
      if (bf16) {  // bf16 panels only serve bf16 queries: copy the bits
        auto* dst = reinterpret_cast<uint16_t*>(out);
        for (int64_t k = 0; k < dim; ++k) {
          std::memcpy(&dst[base + (k / 2) * step + (k & 1)], x + 2 * k, 2);
        }
      } else {
        auto* dst = reinterpret_cast<float*>(out);
        for (int64_t k = 0; k < dim; ++k) dst[base + k * step] = row[size_t(k)];
      }
      if (normalize) {
        double norm2 = 0;
        for (float v : row) norm2 += double(v) * double(v);
        // As the reference: a zero (or NaN) row is left as it is.
        if (norm2 > 0) g.inv_norm[size_t(lane)] = float(1.0 / std::sqrt(norm2));
      }
      ++lane;
    }
  }
  g.panels = PanelsView{out, dim, ksteps, vectors};
}

}  // namespace colmax::detail::cpu
