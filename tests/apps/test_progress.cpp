// The progress display: quiet at first, plain lines per 10%, a bar redrawn in place.
#include "progress.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace colmax::cli {
namespace {

TEST(Progress, QuietDuringTheFirstSecond) {
  std::ostringstream err;
  {
    Progress p(err, ProgressStyle::plain, "work", 10, "items");
    p.advance(10);
  }
  EXPECT_EQ(err.str(), "");
}

TEST(Progress, PlainLinesAtEveryTenPercent) {
  std::ostringstream err;
  Progress p(err, ProgressStyle::plain, "work", 100, "items", /*quiet_seconds=*/0);
  for (int i = 0; i < 100; ++i) p.advance(1);
  p.finish();
  const std::string s = err.str();
  EXPECT_NE(s.find("work: 10% (10/100 items"), std::string::npos) << s;
  EXPECT_NE(s.find("work: 100% (100/100 items"), std::string::npos) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 10) << s;
}

TEST(Progress, BarIsClearedWhenFinished) {
  std::ostringstream err;
  Progress p(err, ProgressStyle::bar, "work", 4, "items", 0);
  p.advance(2);
  EXPECT_NE(err.str().find("\rwork [###############               ] 50% 2/4 items"),
            std::string::npos)
      << err.str();
  p.finish();
  EXPECT_EQ(err.str().substr(err.str().size() - 4), "\r\x1b[K");
}

TEST(Progress, NoneWritesNothingAndThreadsMayAdvance) {
  std::ostringstream err;
  Progress p(err, ProgressStyle::none, "work", 4000, "items", 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) p.advance(1);
    });
  }
  for (auto& t : pool) t.join();
  p.finish();
  EXPECT_EQ(err.str(), "");
}

TEST(Progress, StyleFromSetting) {
  EXPECT_EQ(progress_style("bar"), ProgressStyle::bar);
  EXPECT_EQ(progress_style("plain"), ProgressStyle::plain);
  EXPECT_EQ(progress_style("none"), ProgressStyle::none);
}

}  // namespace
}  // namespace colmax::cli
