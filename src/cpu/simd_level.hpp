// The instruction-set levels of the CPU engine and how one is chosen at run time.
//
// Each level is a set of kernels compiled in its own translation unit with that level's
// compiler flags (kernels_<level>.cpp). The engine picks the best level that both this
// build and this CPU offer, lowered by the COLMAX_SIMD environment variable or by a test.
#pragma once

#include <cstdint>
#include <optional>

namespace colmax::detail::cpu {

// Ordered: a higher level includes everything below it.
enum class SimdLevel : uint8_t {
  scalar,       // portable C++ the compiler vectorises for the baseline target
  avx2,         // AVX2 + FMA + F16C, 8 fp32 lanes
  avx512,       // AVX-512 F/BW/VL/DQ, 16 fp32 lanes
  avx512_bf16,  // AVX-512 plus VDPBF16PS for bf16 x bf16 dot products
};

inline constexpr SimdLevel kAllSimdLevels[] = {SimdLevel::scalar, SimdLevel::avx2,
                                               SimdLevel::avx512, SimdLevel::avx512_bf16};

const char* simd_level_name(SimdLevel level) noexcept;  // "scalar", "avx2", ...

// Parses a level name as COLMAX_SIMD spells it; nullopt when it names no level.
std::optional<SimdLevel> parse_simd_level(const char* name) noexcept;

// Was this level compiled into the library?
bool simd_level_built(SimdLevel level) noexcept;

// The best level this build and this CPU both support (ignores every override).
SimdLevel detected_simd_level() noexcept;

// The level calls run at: detected_simd_level(), lowered by the test override when set, else
// by COLMAX_SIMD when set. Throws colmax::Error when COLMAX_SIMD names no level.
SimdLevel active_simd_level();

// Tests force a level with this (nullopt clears it); a level above the detected one is
// lowered to it. Not thread-safe against concurrent calls: set it between calls.
void set_simd_level_override(std::optional<SimdLevel> level) noexcept;

}  // namespace colmax::detail::cpu
