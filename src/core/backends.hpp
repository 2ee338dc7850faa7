// The entry points each backend provides. Each takes a validated Problem.
#pragma once

#include "core/problem.hpp"

namespace colmax::detail {

// float64 loops, CPU memory only; what every test compares against.
void reference_maxsim(const Problem& p);
void reference_topk(const Problem& p, const TopK& t);

// The SIMD CPU engine.
void cpu_maxsim(const Problem& p);
void cpu_topk(const Problem& p, const TopK& t);

// The CUDA kernels; without CUDA in the build these throw ErrorKind::unsupported.
void cuda_maxsim(const Problem& p);
void cuda_topk(const Problem& p, const TopK& t);

}  // namespace colmax::detail
