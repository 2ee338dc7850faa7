// Built when colmax is compiled without CUDA: CUDA tensors get a clear error.
#include "colmax/error.hpp"
#include "colmax/runtime.hpp"
#include "core/backends.hpp"

namespace colmax {

bool cuda_built() noexcept {
  return false;
}
std::vector<std::string> cuda_archs() {
  return {};
}
std::vector<GpuInfo> cuda_devices() {
  return {};
}

namespace detail {

[[noreturn]] static void absent() {
  throw Error(ErrorKind::unsupported, "colmax: this build has no CUDA kernels");
}
void cuda_maxsim(const Problem&) {
  absent();
}
void cuda_topk(const Problem&, const TopK&) {
  absent();
}

}  // namespace detail
}  // namespace colmax
