#include "cpu/simd_level.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#include "colmax/error.hpp"
#include "colmax/runtime.hpp"

namespace colmax {
namespace detail::cpu {
namespace {

// -1: no override; else a SimdLevel.
std::atomic<int> g_override{-1};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Read from CPUID directly: not every compiler's __builtin_cpu_supports knows "f16c" and
// "avx512bf16" (Clang 14 knows neither). The OS saves the AVX / AVX-512 state whenever
// __builtin_cpu_supports("avx2") / ("avx512f") is true, which the callers check first.
bool cpuid_f16c() noexcept {  // CPUID.1:ECX bit 29
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx >> 29) & 1u;
}

bool cpuid_avx512_bf16() noexcept {  // CPUID.(EAX=7, ECX=1):EAX bit 5
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax >> 5) & 1u;
}
#endif

bool cpu_has(SimdLevel level) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  switch (level) {
    case SimdLevel::scalar:
      return true;
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpuid_f16c();
    case SimdLevel::avx512:
      return cpu_has(SimdLevel::avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
    case SimdLevel::avx512_bf16:
#if defined(COLMAX_CPU_AVX512BF16)
      return cpu_has(SimdLevel::avx512) && cpuid_avx512_bf16();
#else
      return false;
#endif
  }
  return false;
#else
  return level == SimdLevel::scalar;
#endif
}

}  // namespace

const char* simd_level_name(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::scalar:
      return "scalar";
    case SimdLevel::avx2:
      return "avx2";
    case SimdLevel::avx512:
      return "avx512";
    case SimdLevel::avx512_bf16:
      return "avx512-bf16";
  }
  return "?";
}

std::optional<SimdLevel> parse_simd_level(const char* name) noexcept {
  if (name == nullptr) return std::nullopt;
  for (SimdLevel level : kAllSimdLevels) {
    if (std::string_view(name) == simd_level_name(level)) return level;
  }
  return std::nullopt;
}

bool simd_level_built(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::scalar:
      return true;
#if defined(COLMAX_CPU_AVX2)
    case SimdLevel::avx2:
      return true;
#endif
#if defined(COLMAX_CPU_AVX512)
    case SimdLevel::avx512:
      return true;
#endif
#if defined(COLMAX_CPU_AVX512BF16)
    case SimdLevel::avx512_bf16:
      return true;
#endif
    default:
      return false;
  }
}

SimdLevel detected_simd_level() noexcept {
  static const SimdLevel best = [] {
    SimdLevel b = SimdLevel::scalar;
    for (SimdLevel level : kAllSimdLevels) {
      if (simd_level_built(level) && cpu_has(level)) b = level;
    }
    return b;
  }();
  return best;
}

SimdLevel active_simd_level() {
  const SimdLevel best = detected_simd_level();
  if (const int forced = g_override.load(std::memory_order_relaxed); forced >= 0) {
    return std::min(best, SimdLevel(forced));
  }
  // Read on every call (a getenv is cheap next to a MaxSim call) so that a changed
  // environment takes effect without a restart.
  if (const char* env = std::getenv("COLMAX_SIMD"); env != nullptr && *env != '\0') {
    const std::optional<SimdLevel> level = parse_simd_level(env);
    if (!level) {
      throw Error(ErrorKind::value, std::string("COLMAX_SIMD: expected one of avx512-bf16, "
                                                "avx512, avx2, scalar, got \"") +
                                        env + "\"");
    }
    return std::min(best, *level);
  }
  return best;
}

void set_simd_level_override(std::optional<SimdLevel> level) noexcept {
  g_override.store(level ? int(*level) : -1, std::memory_order_relaxed);
}

}  // namespace detail::cpu

std::string cpu_simd_level() {
  return detail::cpu::simd_level_name(detail::cpu::active_simd_level());
}

}  // namespace colmax
