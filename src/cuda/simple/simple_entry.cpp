#include "core/problem.hpp"
#include "cuda/common/check.hpp"
#include "cuda/simple/simple.hpp"

namespace colmax::detail {

void cuda_maxsim_simple(const Problem& p) {
  if (p.num_outputs() == 0) return;
  cuda::DeviceGuard guard(p.device.id);
  cuda::launch_simple(cuda::make_problem_view(p), static_cast<cudaStream_t>(p.options.stream));
}

}  // namespace colmax::detail
