// Level names, detection, and the two ways of lowering the level (COLMAX_SIMD, tests).
#include <gtest/gtest.h>

#include <cstdlib>

#include "colmax/error.hpp"
#include "colmax/runtime.hpp"
#include "cpu/kernel_api.hpp"
#include "cpu/simd_level.hpp"
#include "level_guard.hpp"

namespace colmax::test {
namespace {

using detail::cpu::SimdLevel;

// Sets COLMAX_SIMD for the scope of a test and restores the previous value.
class ScopedEnv {
 public:
  explicit ScopedEnv(const char* value) {
    if (const char* old = std::getenv("COLMAX_SIMD")) old_ = old, had_ = true;
    if (value) {
      setenv("COLMAX_SIMD", value, 1);
    } else {
      unsetenv("COLMAX_SIMD");
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv("COLMAX_SIMD", old_.c_str(), 1);
    } else {
      unsetenv("COLMAX_SIMD");
    }
  }

 private:
  std::string old_;
  bool had_ = false;
};

TEST(SimdLevel, NamesRoundTrip) {
  for (SimdLevel level : detail::cpu::kAllSimdLevels) {
    EXPECT_EQ(detail::cpu::parse_simd_level(detail::cpu::simd_level_name(level)), level);
  }
  EXPECT_EQ(std::string(detail::cpu::simd_level_name(SimdLevel::avx512_bf16)), "avx512-bf16");
  EXPECT_FALSE(detail::cpu::parse_simd_level("avx1024").has_value());
  EXPECT_FALSE(detail::cpu::parse_simd_level("").has_value());
  EXPECT_FALSE(detail::cpu::parse_simd_level(nullptr).has_value());
}

TEST(SimdLevel, DetectedLevelIsBuiltAndHasKernels) {
  const SimdLevel best = detail::cpu::detected_simd_level();
  std::cout << "[ info ] best SIMD level here: " << detail::cpu::simd_level_name(best) << "\n";
  for (SimdLevel level : detail::cpu::kAllSimdLevels) {
    if (level > best) break;
    EXPECT_TRUE(detail::cpu::simd_level_built(level));
    const auto* k = detail::cpu::find_kernels(level, detail::cpu::KernelFormat::f32);
    ASSERT_NE(k, nullptr) << detail::cpu::simd_level_name(level);
    EXPECT_EQ(k->format, detail::cpu::KernelFormat::f32);
  }
  EXPECT_EQ(detail::cpu::find_kernels(SimdLevel::avx2, detail::cpu::KernelFormat::bf16_pairs),
            nullptr);
#if defined(__x86_64__)
  EXPECT_GE(best, SimdLevel::scalar);
#else
  EXPECT_EQ(best, SimdLevel::scalar);
#endif
}

TEST(SimdLevel, EnvironmentLowersTheLevel) {
  {
    ScopedEnv env(nullptr);
    EXPECT_EQ(cpu_simd_level(), detail::cpu::simd_level_name(detail::cpu::detected_simd_level()));
  }
  {
    ScopedEnv env("scalar");
    EXPECT_EQ(cpu_simd_level(), "scalar");
    EXPECT_EQ(detail::cpu::active_simd_level(), SimdLevel::scalar);
  }
  {
    // Asking for more than the machine has gives what it has.
    ScopedEnv env("avx512-bf16");
    EXPECT_EQ(detail::cpu::active_simd_level(), detail::cpu::detected_simd_level());
  }
  {
    ScopedEnv env("avx3");
    try {
      (void)cpu_simd_level();
      FAIL() << "expected colmax::Error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::value);
      EXPECT_NE(std::string(e.what()).find("COLMAX_SIMD"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("avx3"), std::string::npos) << e.what();
    }
  }
}

TEST(SimdLevel, TestOverrideWinsOverEnvironment) {
  ScopedEnv env("avx3");  // would throw if it were read
  ScopedSimdLevel forced(SimdLevel::scalar);
  EXPECT_EQ(detail::cpu::active_simd_level(), SimdLevel::scalar);
}

}  // namespace
}  // namespace colmax::test
