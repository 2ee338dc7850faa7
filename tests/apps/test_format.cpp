// Human-readable numbers.
#include "format.hpp"

#include <gtest/gtest.h>

namespace colmax::cli {
namespace {

TEST(Format, Numbers) {
  EXPECT_EQ(grouped(0), "0");
  EXPECT_EQ(grouped(999), "999");
  EXPECT_EQ(grouped(20000), "20,000");
  EXPECT_EQ(grouped(-1234567), "-1,234,567");
  EXPECT_EQ(fixed(3.14159, 2), "3.14");
  EXPECT_EQ(duration(0.0005), "500 us");
  EXPECT_EQ(duration(0.0123), "12.3 ms");
  EXPECT_EQ(duration(1.234), "1.23 s");
  EXPECT_EQ(duration(125), "2m05s");
  EXPECT_EQ(rate(512), "512");
  EXPECT_EQ(rate(259100), "259 k");
  EXPECT_EQ(rate(43100000), "43.1 M");
  EXPECT_EQ(rate(1.2e9), "1.20 G");
  EXPECT_EQ(byte_size(512), "512 B");
  EXPECT_EQ(byte_size(848.0 * 1024 * 1024), "848 MiB");
  EXPECT_EQ(byte_size(1.5 * 1024), "1.5 KiB");
  EXPECT_EQ(scientific(3.1e-6), "3.1e-06");
}

}  // namespace
}  // namespace colmax::cli
