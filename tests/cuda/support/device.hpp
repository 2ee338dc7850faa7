// Test helpers for the CUDA backend: a Placer that copies host tensors to the GPU, device
// output buffers poisoned before each run, and the GPU-present check every test starts with.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/cases.hpp"

namespace colmax::test {

// True when a CUDA GPU that colmax can run on (sm_80+) is present.
bool have_gpu();

// Skips the test cleanly on machines without a GPU (CI builds the CUDA tests but has none).
#define COLMAX_REQUIRE_GPU()                                        \
  do {                                                              \
    if (!::colmax::test::have_gpu()) GTEST_SKIP() << "no CUDA GPU"; \
  } while (0)

// Fails the test on a CUDA error.
#define CUDA_OK(expr)                                                            \
  do {                                                                           \
    const cudaError_t err__ = (expr);                                            \
    ASSERT_EQ(err__, cudaSuccess) << #expr << ": " << cudaGetErrorString(err__); \
  } while (0)

// Owns device copies of host tensors; views stay valid as long as the placer lives.
class DevicePlacer {
 public:
  DevicePlacer() = default;
  DevicePlacer(const DevicePlacer&) = delete;
  DevicePlacer& operator=(const DevicePlacer&) = delete;
  ~DevicePlacer();

  TensorView place(const HostTensor& t);
  Placer placer() {
    return [this](const HostTensor& t) { return place(t); };
  }
  // A device float32 tensor of `shape` filled with kPoison.
  TensorView poisoned_output(const std::vector<int64_t>& shape);
  // Raw device allocation owned by the placer.
  void* alloc(size_t bytes);

 private:
  std::vector<void*> buffers_;
};

// Copies a contiguous device float32 tensor back (synchronises the device).
std::vector<float> to_host(const TensorView& t);
std::vector<int64_t> to_host_i64(const TensorView& t);

// Runs a case on the GPU with a poisoned output and returns the scores.
std::vector<float> gpu_scores(const Case& c, const Options& options);
// The same through the plain GPU kernel.
std::vector<float> simple_scores(const Case& c, const Options& options);

// A large case built quickly (xorshift values, no per-element std::distribution): the same
// Case layout as make_case, with masks of holes and NaN garbage under every masked token.
Case make_large_case(const CaseSpec& spec);

// Reference (float64, CPU) scores of a few output positions of a case, computed on
// single-pair slices; for cases too large for the full reference.
std::vector<float> sampled_reference(const Case& c, const std::vector<int64_t>& positions);

}  // namespace colmax::test
