// Benchmark shapes: the named list, and prepared cases of every layout.
#include "bench_shapes.hpp"

#include <gtest/gtest.h>

#include <set>

namespace colmax::cli {
namespace {

TEST(BenchShapes, NamedShapesAreUniqueAndFound) {
  std::set<std::string> names;
  for (const BenchShape& s : named_shapes()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_EQ(find_shape(s.name), &s);
  }
  for (const char* n : {"rerank-1x1000x32x300", "long-1x1000x32x1024", "batch-16x1000x32x1024",
                        "varlen-1x1000x32x32..512", "kd-64x32x32x300", "pairs-5000x32x300"}) {
    EXPECT_NE(find_shape(n), nullptr) << n;
  }
  EXPECT_EQ(find_shape("nope"), nullptr);
  EXPECT_EQ(lengths_text(3, 3), "3");
  EXPECT_EQ(lengths_text(3, 9), "3..9");
}

TEST(BenchShapes, EveryLayoutRunsWithTheRightWork) {
  Arena arena(Device{});
  BenchShape s;
  s.nq = 3;
  s.nd = 4;
  s.lq_min = s.lq_max = 5;
  s.ld_min = s.ld_max = 6;
  s.dim = 8;
  for (BenchLayout layout :
       {BenchLayout::cross, BenchLayout::candidates, BenchLayout::pairs, BenchLayout::packed}) {
    s.layout = layout;
    for (DType dtype : {DType::float32, DType::float16, DType::bfloat16}) {
      BenchCase c(s, dtype, arena, 1, 2);
      EXPECT_NO_THROW(c.run({})) << layout_name(layout);
      double pairs = 3.0 * 4 * 5 * 6;  // cross, candidates and packed (fixed lengths) alike
      if (layout == BenchLayout::pairs) pairs = 3.0 * 5 * 6;
      EXPECT_EQ(c.flops(), 2.0 * 8 * pairs) << layout_name(layout);
    }
  }
}

}  // namespace
}  // namespace colmax::cli
