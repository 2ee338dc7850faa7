#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "fill.hpp"

namespace colmax::bench {
namespace {

__device__ uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

__global__ void fill_kernel(void* data, int64_t count, int type, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float u = float(mix(seed * 0x9E3779B97F4A7C15ull + uint64_t(i)) >> 40) * 0x1p-24f;
    const float x = 2.f * u - 1.f;
    if (type == 0) {
      static_cast<float*>(data)[i] = x;
    } else if (type == 1) {
      static_cast<__half*>(data)[i] = __float2half_rn(x);
    } else {
      static_cast<__nv_bfloat16*>(data)[i] = __float2bfloat16_rn(x);
    }
  }
}

}  // namespace

void fill_uniform(void* data, int64_t count, FillType type, uint64_t seed, cudaStream_t stream) {
  if (count == 0) return;
  fill_kernel<<<4096, 256, 0, stream>>>(data, count, int(type), seed);
}

}  // namespace colmax::bench
