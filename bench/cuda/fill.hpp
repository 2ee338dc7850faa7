// Device-side input generation for the GPU benchmark: uniform values in [-1, 1) from a
// counter hash, written as bf16 / fp16 / fp32 (never zeros: zeros hide unwritten outputs
// and can run faster than real data).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace colmax::bench {

enum class FillType { f32 = 0, f16 = 1, bf16 = 2 };

void fill_uniform(void* data, int64_t count, FillType type, uint64_t seed, cudaStream_t stream);

}  // namespace colmax::bench
