// The persistent pool: every item runs once, on valid slots, with errors passed on.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cpu/thread_pool.hpp"

namespace colmax::test {
namespace {

using detail::cpu::parallel_for;

TEST(ThreadPool, EveryItemRunsOnceOnAValidSlot) {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t items : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(items));
      std::atomic<bool> bad_slot{false};
      parallel_for(threads, items, [&](int64_t i, int slot) {
        if (slot < 0 || slot >= threads) bad_slot = true;
        runs[size_t(i)].fetch_add(1);
      });
      EXPECT_FALSE(bad_slot);
      for (int64_t i = 0; i < items; ++i) ASSERT_EQ(runs[size_t(i)].load(), 1) << i;
    }
  }
}

TEST(ThreadPool, SlotsRunConcurrently) {
  // Two items that each wait for the other can only finish on two threads at once.
  std::atomic<int> arrived{0};
  parallel_for(2, 2, [&](int64_t, int) {
    arrived.fetch_add(1);
    while (arrived.load() < 2) std::this_thread::yield();
  });
  EXPECT_EQ(arrived.load(), 2);
}

TEST(ThreadPool, FirstErrorIsRethrownAndThePoolStillWorks) {
  EXPECT_THROW(parallel_for(4, 100,
                            [](int64_t i, int) {
                              if (i == 37) throw std::runtime_error("item 37");
                            }),
               std::runtime_error);
  std::atomic<int64_t> sum{0};
  parallel_for(4, 100, [&](int64_t i, int) { sum += i; });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, CallersFromSeveralThreadsAreServed) {
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < 20; ++r) parallel_for(3, 50, [&](int64_t, int) { total += 1; });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 20 * 50);
}

}  // namespace
}  // namespace colmax::test
