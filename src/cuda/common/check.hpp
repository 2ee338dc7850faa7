// Turning CUDA failures into colmax::Error(ErrorKind::runtime, ...) with CUDA's own message.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "colmax/error.hpp"

namespace colmax::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what);

// Throws when `err` is not cudaSuccess. `what` names the call site, e.g. "maxsim: launch".
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw_cuda_error(err, what);
}

// Checks the launch that was just enqueued (configuration errors surface here; errors
// of the kernel itself surface at the caller's next synchronisation, as for any CUDA call).
inline void check_launch(const char* what) {
  check(cudaGetLastError(), what);
}

// Makes `device` current for the lifetime of the guard and restores the caller's device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  bool changed_ = false;
};

// What colmax needs to know about a device; read once per device and cached.
struct DeviceInfo {
  int compute_capability = 0;  // major * 10 + minor
  int multiprocessors = 0;
  size_t max_smem_per_block = 0;  // opt-in maximum of dynamic shared memory
  size_t smem_per_sm = 0;
  size_t l2_bytes = 0;
};
const DeviceInfo& device_info(int device);

}  // namespace colmax::cuda
