#include "cpu/simd_level.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include "colmax/error.hpp"
#include "colmax/runtime.hpp"

namespace colmax {
namespace detail::cpu {
namespace {

// -1: no override; else a SimdLevel.
std::atomic<int> g_override{-1};

bool cpu_has(SimdLevel level) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  switch (level) {
    case SimdLevel::scalar:
      return true;
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case SimdLevel::avx512:
      return cpu_has(SimdLevel::avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
    case SimdLevel::avx512_bf16:
#if defined(COLMAX_CPU_AVX512BF16)
      return cpu_has(SimdLevel::avx512) && __builtin_cpu_supports("avx512bf16");
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
