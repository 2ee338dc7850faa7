// Results are bitwise identical whatever the thread count.
#include <gtest/gtest.h>

#include <cstring>

#include "support/cases.hpp"

namespace colmax::test {
namespace {

std::vector<float> cpu_scores(const Case& c, int threads) {
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  Options o = c.options();
  o.backend = Backend::cpu;
  o.num_threads = threads;
  run_case(c, place_on_host, out.view(), o);
  return read_floats(out);
}

TEST(Threads, BitwiseIdenticalForAnyThreadCount) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 40; ++i) {
    CaseSpec spec = random_spec(rng, 500 + uint64_t(i));
    Case c = make_case(spec);
    const std::vector<float> one = cpu_scores(c, 1);
    for (int threads : {2, 3, 8}) {
      const std::vector<float> many = cpu_scores(c, threads);
      ASSERT_TRUE(one.empty() ||
                  0 == std::memcmp(one.data(), many.data(), one.size() * sizeof(float)))
          << threads << " threads, " << spec.describe();
    }
  }
}

}  // namespace
}  // namespace colmax::test
