#include "cpu/query_pack.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/scalar.hpp"

namespace colmax::detail::cpu {

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

  const int in_elem = dtype_size(q.dtype);
  int64_t lane = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t len = q.seq_length(first + i);
    for (int64_t j = 0; j < len; ++j) {
      if (!q.valid(first + i, j)) continue;
      const std::byte* row = q.token(first + i, j);
      double norm2 = 0;
      for (int64_t k = 0; k < dim; ++k) {
        const std::byte* x = row + k * in_elem;
        const int64_t at = panel_offset(ks, ksteps, vectors, lane, k);
        if (bf16) {  // bf16 panels only serve bf16 queries: copy the bits
          std::memcpy(out + size_t(at) * 2, x, 2);
        } else {
          const float f = load_as_float(x, q.dtype);
          std::memcpy(out + size_t(at) * 4, &f, 4);
        }
        const double d = load_as_double(x, q.dtype);
        norm2 += d * d;
      }
      // As the reference: a zero (or NaN) row is left as it is.
      if (normalize && norm2 > 0) g.inv_norm[size_t(lane)] = float(1.0 / std::sqrt(norm2));
      ++lane;
    }
  }
  g.panels = PanelsView{out, dim, ksteps, vectors};
}

}  // namespace colmax::detail::cpu
