// Built when colmax is compiled without CUDA: training calls on CUDA tensors get a clear error.
#include "colmax/error.hpp"
#include "core/backends.hpp"

namespace colmax::detail {

[[noreturn]] static void absent() {
  throw Error(ErrorKind::unsupported, "colmax: this build has no CUDA kernels");
}
void cuda_maxsim_forward(const Training&) {
  absent();
}
void cuda_maxsim_backward(const Training&) {
  absent();
}

}  // namespace colmax::detail
