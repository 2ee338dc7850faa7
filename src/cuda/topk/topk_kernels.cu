#include "cuda/topk/topk_kernels.hpp"

#include <cmath>

#include "cuda/common/check.hpp"

namespace colmax::cuda {
namespace {

constexpr int kThreads = 256;
constexpr uint64_t kSentinel = ~0ull;

__device__ __forceinline__ uint64_t make_key(float s, uint32_t index) {
  uint32_t hi = 0;  // NaN ranks first
  if (!isnan(s)) {
    uint32_t u = __float_as_uint(s);
    if (u == 0x80000000u) u = 0;  // -0 ties with +0
    const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    hi = ~ascending;  // higher scores get smaller keys; never 0 for a number
  }
  return (uint64_t(hi) << 32) | index;
}

__device__ __forceinline__ float key_score(uint64_t key) {
  const uint32_t hi = uint32_t(key >> 32);
  if (hi == 0) return NAN;
  const uint32_t ascending = ~hi;
  const uint32_t u = (ascending & 0x80000000u) ? (ascending & 0x7fffffffu) : ~ascending;
  return __uint_as_float(u);
}

__global__ void __launch_bounds__(kThreads)
    topk_merge_kernel(const float* scores, int64_t row_stride, int64_t count, int64_t doc_base,
                      uint64_t* lists, int64_t nq, int64_t k, int64_t have, int parity) {
  __shared__ uint64_t keys[kTopkSortChunk];
  const int64_t q = blockIdx.x;
  const float* row = scores + q * row_stride;
  uint64_t* a = lists + int64_t(parity) * nq * k + q * k;
  uint64_t* b = lists + int64_t(parity ^ 1) * nq * k + q * k;
  int64_t na = have;
  for (int64_t base = 0; base < count; base += kTopkSortChunk) {
    const int n = int(count - base < kTopkSortChunk ? count - base : kTopkSortChunk);
    for (int j = threadIdx.x; j < kTopkSortChunk; j += kThreads) {
      keys[j] = j < n ? make_key(row[base + j], uint32_t(doc_base + base + j)) : kSentinel;
    }
    __syncthreads();
    // Bitonic sort, ascending.
    for (int size = 2; size <= kTopkSortChunk; size <<= 1) {
      for (int stride = size / 2; stride > 0; stride >>= 1) {
        for (int i = threadIdx.x; i < kTopkSortChunk / 2; i += kThreads) {
          const int lo = 2 * stride * (i / stride) + (i % stride);
          const int hi = lo + stride;
          const bool up = (lo & size) == 0;
          const uint64_t x = keys[lo], y = keys[hi];
          if ((x > y) == up) {
            keys[lo] = y;
            keys[hi] = x;
          }
        }
        __syncthreads();
      }
    }
    // Merge path: output i takes the smaller head once the first i keys of a and of the
    // sorted chunk are split correctly (keys are unique).
    const int64_t nb = na + n < k ? na + n : k;
    for (int64_t i = threadIdx.x; i < nb; i += kThreads) {
      int64_t lo = i - n > 0 ? i - n : 0, hi = i < na ? i : na;
      while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (a[mid] < keys[i - 1 - mid]) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      const int64_t j = i - lo;
      b[i] = (j >= n || (lo < na && a[lo] < keys[j])) ? a[lo] : keys[j];
    }
    __syncthreads();
    uint64_t* t = a;
    a = b;
    b = t;
    na = nb;
  }
}

__global__ void __launch_bounds__(kThreads)
    topk_write_kernel(const uint64_t* lists, int64_t nq, int64_t k, int parity, float* scores,
                      int64_t s0, int64_t s1, int64_t* indices, int64_t i0, int64_t i1,
                      int64_t q0) {
  const int64_t q = blockIdx.x;
  const uint64_t* a = lists + int64_t(parity) * nq * k + q * k;
  for (int64_t j = threadIdx.x; j < k; j += kThreads) {
    const uint64_t key = a[j];
    scores[(q0 + q) * s0 + j * s1] = key_score(key);
    indices[(q0 + q) * i0 + j * i1] = int64_t(uint32_t(key));
  }
}

}  // namespace

void launch_topk_merge(const float* scores, int64_t row_stride, int64_t count, int64_t doc_base,
                       uint64_t* lists, int64_t nq, int64_t k, int64_t have, int parity,
                       cudaStream_t stream) {
  if (nq == 0 || count == 0) return;
  topk_merge_kernel<<<unsigned(nq), kThreads, 0, stream>>>(scores, row_stride, count, doc_base,
                                                           lists, nq, k, have, parity);
  check_launch("retrieve: top-k merge launch");
}

void launch_topk_write(const uint64_t* lists, int64_t nq, int64_t k, int parity, float* scores,
                       int64_t s0, int64_t s1, int64_t* indices, int64_t i0, int64_t i1, int64_t q0,
                       cudaStream_t stream) {
  if (nq == 0 || k == 0) return;
  topk_write_kernel<<<unsigned(nq), kThreads, 0, stream>>>(lists, nq, k, parity, scores, s0, s1,
                                                           indices, i0, i1, q0);
  check_launch("retrieve: top-k write launch");
}

}  // namespace colmax::cuda
