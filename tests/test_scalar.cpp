// The scalar dtype conversions every host path relies on, checked exhaustively.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "core/scalar.hpp"

namespace colmax::detail {
namespace {

TEST(Scalar, HalfRoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    ASSERT_EQ(float_to_half(f), uint16_t(h)) << "half 0x" << std::hex << h << " = " << f;
  }
}

TEST(Scalar, HalfRoundsToNearestEven) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 1.0f / 2048)), 1.0f);  // halfway, even below
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3.0f / 2048)),
            1.0f + 1.0f / 512);                        // halfway, even above
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);          // overflows to inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0);  // halfway to the smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 1);
}

TEST(Scalar, Bfloat16RoundTripsAndRounds) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = bf16_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f), uint16_t(h));
  }
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256)), 1.0f);  // halfway -> even
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7f800001u)))));
}

}  // namespace
}  // namespace colmax::detail
