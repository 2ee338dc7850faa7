#include "cuda/common/check.hpp"

#include <array>
#include <mutex>

namespace colmax::cuda {

void throw_cuda_error(cudaError_t err, const char* what) {
  // Clear a sticky launch error so that the caller's next call is not blamed for it.
  (void)cudaGetLastError();
  throw Error(ErrorKind::runtime, std::string("colmax.") + what + ": CUDA error " +
                                      cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

DeviceGuard::DeviceGuard(int device) {
  check(cudaGetDevice(&previous_), "cudaGetDevice");
  if (previous_ != device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    changed_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (changed_) (void)cudaSetDevice(previous_);
}

const DeviceInfo& device_info(int device) {
  constexpr int kMaxDevices = 64;
  static std::array<DeviceInfo, kMaxDevices> cache{};
  static std::array<std::once_flag, kMaxDevices> once;
  if (device < 0 || device >= kMaxDevices) {
    throw Error(ErrorKind::device,
                "colmax: CUDA device id " + std::to_string(device) + " is out of range");
  }
  std::call_once(once[size_t(device)], [device] {
    DeviceInfo& info = cache[size_t(device)];
    int major = 0, minor = 0, sms = 0, smem_optin = 0, smem_sm = 0, l2 = 0;
    check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&smem_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute");
    info.compute_capability = major * 10 + minor;
    info.multiprocessors = sms;
    info.max_smem_per_block = size_t(smem_optin);
    info.smem_per_sm = size_t(smem_sm);
    info.l2_bytes = size_t(l2);
  });
  return cache[size_t(device)];
}

}  // namespace colmax::cuda
