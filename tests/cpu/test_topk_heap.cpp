// The bounded top-k against a full sort under colmax's ranking.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cpu/topk_heap.hpp"

namespace colmax::test {
namespace {

using detail::cpu::ScoredIndex;
using detail::cpu::TopKHeap;

std::vector<ScoredIndex> sorted_best(std::vector<ScoredIndex> all, int64_t k) {
  std::stable_sort(all.begin(), all.end(), [](const ScoredIndex& a, const ScoredIndex& b) {
    return detail::cpu::ranks_before(a, b);
  });
  all.resize(size_t(std::min<int64_t>(k, int64_t(all.size()))));
  return all;
}

void expect_equal(const std::vector<ScoredIndex>& got, const std::vector<ScoredIndex>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, want[i].index) << i;
    if (std::isnan(want[i].score)) {
      EXPECT_TRUE(std::isnan(got[i].score)) << i;
    } else {
      EXPECT_EQ(got[i].score, want[i].score) << i;
    }
  }
}

TEST(TopKHeap, MatchesFullSortWithTiesAndNaN) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = std::uniform_int_distribution<int64_t>(0, 300)(rng);
    const int64_t k = std::uniform_int_distribution<int64_t>(0, 40)(rng);
    std::vector<ScoredIndex> all;
    for (int64_t i = 0; i < n; ++i) {
      // few distinct values so that ties are common; some NaN and infinities
      const int kind = std::uniform_int_distribution<int>(0, 19)(rng);
      float s = float(std::uniform_int_distribution<int>(-5, 5)(rng));
      if (kind == 0) s = std::nanf("");
      if (kind == 1) s = INFINITY;
      if (kind == 2) s = -INFINITY;
      all.push_back({s, i});
    }
    // Pushed in a shuffled order: the result must not depend on it.
    std::vector<ScoredIndex> shuffled = all;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    TopKHeap heap;
    heap.reset(k);
    for (const auto& e : shuffled) heap.push(e.score, e.index);
    std::vector<ScoredIndex> got = heap.entries();
    ASSERT_LE(int64_t(got.size()), k);
    detail::cpu::keep_best(got, k);
    expect_equal(got, sorted_best(all, k));
  }
}

TEST(TopKHeap, MergingPartialHeapsEqualsOneHeap) {
  std::mt19937_64 rng(8);
  std::vector<ScoredIndex> all;
  for (int64_t i = 0; i < 1000; ++i)
    all.push_back({float(std::uniform_int_distribution<int>(0, 30)(rng)), i});
  const int64_t k = 25;
  TopKHeap parts[3];
  for (auto& h : parts) h.reset(k);
  for (const auto& e : all) parts[e.index % 3].push(e.score, e.index);
  std::vector<ScoredIndex> merged;
  for (const auto& h : parts) merged.insert(merged.end(), h.entries().begin(), h.entries().end());
  detail::cpu::keep_best(merged, k);
  expect_equal(merged, sorted_best(all, k));
}

TEST(TopKHeap, ZeroKKeepsNothing) {
  TopKHeap heap;
  heap.reset(0);
  heap.push(1.0f, 0);
  heap.push(std::nanf(""), 1);
  EXPECT_TRUE(heap.entries().empty());
}

}  // namespace
}  // namespace colmax::test
