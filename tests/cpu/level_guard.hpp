// Runs a test body at one SIMD level: skipped when this CPU or build lacks it, and the level
// override is cleared afterwards whatever happens.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "cpu/simd_level.hpp"

namespace colmax::detail::cpu {
// How GoogleTest prints a level parameter.
inline void PrintTo(SimdLevel level, std::ostream* os) {
  *os << simd_level_name(level);
}
}  // namespace colmax::detail::cpu

namespace colmax::test {

class ScopedSimdLevel {
 public:
  explicit ScopedSimdLevel(detail::cpu::SimdLevel level) {
    detail::cpu::set_simd_level_override(level);
  }
  ~ScopedSimdLevel() { detail::cpu::set_simd_level_override(std::nullopt); }
  ScopedSimdLevel(const ScopedSimdLevel&) = delete;
  ScopedSimdLevel& operator=(const ScopedSimdLevel&) = delete;
};

inline bool level_available(detail::cpu::SimdLevel level) {
  return level <= detail::cpu::detected_simd_level();
}

inline std::string level_test_name(const testing::TestParamInfo<detail::cpu::SimdLevel>& info) {
  std::string name = detail::cpu::simd_level_name(info.param);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

}  // namespace colmax::test

// Skips the current test when the CPU (or this build) lacks `level`.
#define COLMAX_REQUIRE_LEVEL(level)                                                               \
  do {                                                                                            \
    if (!::colmax::test::level_available(level)) {                                                \
      GTEST_SKIP() << "this CPU or build lacks " << ::colmax::detail::cpu::simd_level_name(level) \
                   << " (best here: "                                                             \
                   << ::colmax::detail::cpu::simd_level_name(                                     \
                          ::colmax::detail::cpu::detected_simd_level())                           \
                   << ")";                                                                        \
    }                                                                                             \
  } while (0)
