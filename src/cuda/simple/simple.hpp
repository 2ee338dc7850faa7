// The plain CUDA kernel: one block per score, fp32 dot products straight from global
// memory. Slow and obviously right: the GPU reference that tests compare the fast tile
// kernels against on shapes too large for the float64 CPU reference.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

void launch_simple(const ProblemView& v, cudaStream_t stream);

}  // namespace colmax::cuda

namespace colmax::detail {

struct Problem;

// Runs a validated CUDA problem through the plain kernel (tests only).
void cuda_maxsim_simple(const Problem& p);

}  // namespace colmax::detail
