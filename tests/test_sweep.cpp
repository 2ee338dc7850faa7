// Every layout on the CPU engine against the float64 reference, over a seeded random sweep
// and a list of edge cases.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/cases.hpp"

namespace colmax::test {
namespace {

int sweep_cases() {
  const char* env = std::getenv("COLMAX_SWEEP_CASES");
  return env ? std::atoi(env) : 300;
}

uint64_t sweep_seed() {
  const char* env = std::getenv("COLMAX_SWEEP_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261123;
}

// Runs a case on the CPU engine with a poisoned output and compares with the reference.
std::string check_cpu(const Case& c, int threads = 0) {
  const std::vector<float> want = reference_scores(c);
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) set_value(out, i, kPoison);
  Options o = c.options();
  o.backend = Backend::cpu;
  o.num_threads = threads;
  run_case(c, place_on_host, out.view(), o);
  return compare_scores(read_floats(out), want, tolerance(c.spec));
}

TEST(Sweep, CpuEngineMatchesReference) {
  const int n = sweep_cases();
  std::mt19937_64 rng(sweep_seed());
  int by_layout[5] = {};
  for (int i = 0; i < n; ++i) {
    CaseSpec spec = random_spec(rng, sweep_seed() + uint64_t(i));
    ++by_layout[int(spec.layout)];
    Case c = make_case(spec);
    const std::string err = check_cpu(c);
    ASSERT_EQ(err, "") << "case " << i << ": " << spec.describe();
  }
  for (int l = 0; l < 5; ++l) EXPECT_GT(by_layout[l], n / 10) << layout_name(Layout(l));
}

TEST(Sweep, CpuEngineEdgeCases) {
  for (const CaseSpec& spec : edge_specs(false)) {
    Case c = make_case(spec);
    ASSERT_EQ(check_cpu(c), "") << spec.describe();
  }
}

}  // namespace
}  // namespace colmax::test
