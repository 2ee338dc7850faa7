// The entry points each backend provides. Each takes a validated Problem.
#pragma once

#include "core/problem.hpp"

namespace colmax::detail {

struct Training;  // core/training.hpp

// float64 loops, CPU memory only; what every test compares against.
void reference_maxsim(const Problem& p);
void reference_topk(const Problem& p, const TopK& t);

// The SIMD CPU engine.
void cpu_maxsim(const Problem& p);
void cpu_topk(const Problem& p, const TopK& t);

// The CUDA kernels; without CUDA in the build these throw ErrorKind::unsupported.
void cuda_maxsim(const Problem& p);
void cuda_topk(const Problem& p, const TopK& t);

// Forward with saved winners and backward (colmax/backward.hpp), per backend. The forward
// writes scores and winners; the backward reads grad_out (tr.p.out) and the winners (or
// recomputes them when absent) and overwrites the requested gradients.
void reference_maxsim_forward(const Training& tr);
void reference_maxsim_backward(const Training& tr);
void cpu_maxsim_forward(const Training& tr);
void cpu_maxsim_backward(const Training& tr);  // deterministic for every strategy
void cuda_maxsim_forward(const Training& tr);
void cuda_maxsim_backward(const Training& tr);

}  // namespace colmax::detail
