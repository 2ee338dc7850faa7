// device.hpp — where the command line runs colmax, and memory there.
//
// colmax takes tensors on the device they live on, so for CUDA the command line copies its
// inputs to the GPU and the results back. Without CUDA in the build only the CPU exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"

namespace colmax::cli {

// "auto": the first GPU when this build has CUDA and a GPU is visible, else the CPU.
// "cpu", "cuda" (the first GPU), "cuda:N". Throws std::runtime_error when the device cannot
// be used (no CUDA in the build, no GPU, N out of range).
Device choose_device(const std::string& setting);

// A short description for output: "cpu (avx2, 2 threads)", "cuda:0 (NVIDIA H100, sm_90)".
std::string describe_device(Device device, int threads);

// Owns every buffer it hands out on one device; frees them when destroyed.
class Arena {
 public:
  explicit Arena(Device device);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  Device device() const { return device_; }
  bool on_gpu() const { return device_.kind == DeviceKind::cuda; }

  // A view of `host` (row-major contiguous) on this device: the same memory on the CPU, a
  // copy on a GPU.
  TensorView upload(const TensorView& host);
  // A new row-major tensor on this device (contents undefined).
  TensorView allocate(DType dtype, std::vector<int64_t> shape);
  // Copies host memory into a row-major tensor of this device (of the same size).
  void copy_in(const void* host, const TensorView& dst);
  // Copies a row-major tensor of this device into host memory of its size.
  void download(const TensorView& src, void* host);
  // Waits for the work enqueued on the device (a no-op on the CPU).
  void synchronize();

 private:
  void* raw_allocate(size_t bytes);

  Device device_;
  std::vector<void*> blocks_;
};

}  // namespace colmax::cli
