// bfloat16 / float16 conversions of the command line.
#include "half.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace colmax::cli {
namespace {

TEST(Half, ConversionsRoundTrip) {
  for (float f : {0.0f, 1.0f, -2.5f, 0.333f, 65504.0f, 1e-5f}) {
    EXPECT_NEAR(fp16_to_float(float_to_fp16(f)), f, std::abs(f) * 1e-3 + 1e-7) << f;
    EXPECT_NEAR(bf16_to_float(float_to_bf16(f)), f, std::abs(f) * 8e-3) << f;
  }
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_fp16(1.0f), 0x3c00);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_TRUE(std::isinf(fp16_to_float(float_to_fp16(1e6f))));
}

}  // namespace
}  // namespace colmax::cli
