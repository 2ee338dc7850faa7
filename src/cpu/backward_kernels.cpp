// Chooses the CPU training loops for this machine.
#include "cpu/backward_kernels.hpp"

#include <cstdlib>
#include <cstring>

namespace colmax::detail::cpu_train {

const Kernels& kernels() {
  static const Kernels portable = portable_kernels();
#if defined(__x86_64__) || defined(__i386__)
  static const Kernels avx2 = avx2_kernels();
  static const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // Read on every call so that tests can switch levels.
  const char* forced = std::getenv("COLMAX_SIMD");
  const bool scalar = forced != nullptr && std::strcmp(forced, "scalar") == 0;
  if (has_avx2 && !scalar) return avx2;
#endif
  return portable;
}

}  // namespace colmax::detail::cpu_train
