// colmax/runtime.hpp — what this build and this machine offer.
#pragma once

#include <string>
#include <vector>

namespace colmax {

const char* version() noexcept;

// The SIMD level the CPU engine dispatches to on this machine, e.g. "avx512-bf16",
// "avx512", "avx2", "scalar". Honours COLMAX_SIMD (same names) to force a lower level.
std::string cpu_simd_level();

// Worker threads used when Options::num_threads is 0: COLMAX_NUM_THREADS if set, else the
// hardware concurrency.
int default_num_threads();
void set_default_num_threads(int threads);  // 0 restores the automatic choice

struct GpuInfo {
  int id = 0;
  std::string name;
  int compute_capability = 0;  // major * 10 + minor
  int multiprocessors = 0;
  size_t memory_bytes = 0;
};

bool cuda_built() noexcept;             // compiled with the CUDA kernels
std::vector<std::string> cuda_archs();  // e.g. {"sm_80", "sm_86", "sm_89", "sm_90a"}
std::vector<GpuInfo> cuda_devices();    // empty without a driver or GPU; never throws

}  // namespace colmax
