#include "cuda/simple/simple.hpp"

#include <cmath>

#include "cuda/common/check.hpp"
#include "cuda/common/device_access.cuh"

namespace colmax::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxDimCached = 1024;

__device__ __forceinline__ float inv_norm(const SeqView& s, int64_t tok) {
  float n2 = 0.f;
  for (int64_t k = 0; k < s.dim; ++k) {
    const float x = to_float(s.data + (tok + k) * s.elem_bytes, s.elem);
    n2 = fmaf(x, x, n2);
  }
  return n2 > 0.f ? 1.0f / sqrtf(n2) : 0.f;
}

// Block-wide NaN-propagating max; every thread gets the result.
__device__ __forceinline__ float block_max(float v, float* scratch) {
  for (int o = 16; o > 0; o /= 2) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < kThreads / 32; ++w) m = max_nan(m, scratch[w]);
  return m;
}

// One block per score: for each valid query token, every thread scans a share of the
// document tokens; the block's max is added to the running total.
__global__ void __launch_bounds__(kThreads) simple_kernel(const ProblemView v) {
  __shared__ float qrow[kMaxDimCached];
  __shared__ float scratch[kThreads / 32];
  const int64_t n = num_pairs(v, 1);
  for (int64_t p = blockIdx.x; p < n; p += gridDim.x) {
    const PairSeqs ps = resolve_pair(v, p, 1, nullptr);
    float total = 0.f;
    for (int64_t t = 0; t < ps.nrows; ++t) {
      if (!mask_valid(v.q.mask, ps.qmask + t * v.q.mask.token_stride)) continue;
      const int64_t qtok = ps.qtok + t * v.q.token_stride;
      const float qinv = v.normalize ? inv_norm(v.q, qtok) : 1.f;
      const bool cached = v.q.dim <= kMaxDimCached;
      __syncthreads();
      if (cached) {
        for (int64_t k = threadIdx.x; k < v.q.dim; k += kThreads) {
          qrow[k] = to_float(v.q.data + (qtok + k) * v.q.elem_bytes, v.q.elem);
        }
      }
      __syncthreads();
      float best = -INFINITY;
      for (int64_t s = threadIdx.x; s < ps.dlen; s += kThreads) {
        if (!mask_valid(v.d.mask, ps.dmask + s * v.d.mask.token_stride)) {
          if (v.zero_mode) best = max_nan(best, 0.f);
          continue;
        }
        const int64_t dtok = ps.dtok + s * v.d.token_stride;
        float dot = 0.f;
        for (int64_t k = 0; k < v.d.dim; ++k) {
          const float qk =
              cached ? qrow[k] : to_float(v.q.data + (qtok + k) * v.q.elem_bytes, v.q.elem);
          dot = fmaf(qk, to_float(v.d.data + (dtok + k) * v.d.elem_bytes, v.d.elem), dot);
        }
        if (v.normalize) dot = dot * qinv * inv_norm(v.d, dtok);
        best = max_nan(best, dot);
      }
      const float m = block_max(best, scratch);
      total += m == -INFINITY ? 0.f : m;  // no valid document token adds 0
    }
    if (threadIdx.x == 0) v.out[ps.out] = ps.bad ? NAN : total;
  }
}

}  // namespace

void launch_simple(const ProblemView& v, cudaStream_t stream) {
  const int64_t n = num_pairs(v, 1);
  if (n == 0) return;
  const int blocks = int(n < 65535 * 32 ? n : 65535 * 32);
  simple_kernel<<<blocks, kThreads, 0, stream>>>(v);
  check_launch("maxsim (simple kernel): launch");
}

}  // namespace colmax::cuda
