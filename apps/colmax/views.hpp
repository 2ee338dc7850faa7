// views.hpp — sub-views of colmax tensors (rows of the first dimension).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "colmax/colmax.hpp"

namespace colmax::cli {

// Rows [begin, end) of the first dimension of `t` (absent stays absent).
inline TensorView rows(const TensorView& t, int64_t begin, int64_t end) {
  if (!t.present()) return t;
  std::array<int64_t, TensorView::kMaxRank> shape{}, strides{};
  for (int d = 0; d < t.rank(); ++d) {
    shape[size_t(d)] = t.size(d);
    strides[size_t(d)] = t.stride(d);
  }
  shape[0] = end - begin;
  const auto* base = static_cast<const std::byte*>(t.data());
  return TensorView(base + begin * t.stride(0) * dtype_size(t.dtype()), t.dtype(),
                    std::span<const int64_t>(shape.data(), size_t(t.rank())),
                    std::span<const int64_t>(strides.data(), size_t(t.rank())), t.device());
}

// Columns [begin, end) of a 2-d tensor.
inline TensorView columns(const TensorView& t, int64_t begin, int64_t end) {
  const std::array<int64_t, 2> shape{t.size(0), end - begin}, strides{t.stride(0), t.stride(1)};
  const auto* base = static_cast<const std::byte*>(t.data());
  return TensorView(base + begin * t.stride(1) * dtype_size(t.dtype()), t.dtype(), shape, strides,
                    t.device());
}

// How many calls to split `items` into so that progress can be shown: at least
// `min_per_slice` items a call, at most 64 calls.
inline int64_t progress_slices(int64_t items, int64_t min_per_slice) {
  const int64_t s = items / min_per_slice;
  return s < 1 ? 1 : (s > 64 ? 64 : s);
}

}  // namespace colmax::cli
