// Stand-in for the CUDA forward kernels' entry point (see CMakeLists.txt): the runtime
// queries of colmax/runtime.hpp, and forward entry points that report the kernels missing.
#include <cuda_runtime_api.h>

#include <string>

#include "colmax/error.hpp"
#include "colmax/runtime.hpp"
#include "core/backends.hpp"

namespace colmax {

bool cuda_built() noexcept {
  return true;
}

std::vector<std::string> cuda_archs() {
  // COLMAX_CUDA_ARCH_LIST is CMake's list with commas, e.g. "80-real,86-real,90-virtual".
  std::vector<std::string> archs;
  const std::string list = COLMAX_CUDA_ARCH_LIST;
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(at, end - at);
    const size_t dash = item.find('-');
    const bool virt = dash != std::string::npos && item.substr(dash + 1) == "virtual";
    if (!item.empty()) archs.push_back((virt ? "compute_" : "sm_") + item.substr(0, dash));
    at = end + 1;
  }
  return archs;
}

std::vector<GpuInfo> cuda_devices() {
  std::vector<GpuInfo> out;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    out.push_back({i, prop.name, prop.major * 10 + prop.minor, prop.multiProcessorCount,
                   prop.totalGlobalMem});
  }
  return out;
}

namespace detail {

[[noreturn]] static void forward_missing() {
  throw Error(ErrorKind::unsupported, "colmax: the CUDA forward kernels are not in this build");
}
void cuda_maxsim(const Problem&) {
  forward_missing();
}
void cuda_topk(const Problem&, const TopK&) {
  forward_missing();
}

}  // namespace detail
}  // namespace colmax
