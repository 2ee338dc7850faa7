// The random sweep and edge cases of tests/test_sweep.cpp, run at EVERY SIMD level this CPU
// has (the others are skipped and named), so that the fallback levels stay as correct as
// the best one. COLMAX_SWEEP_CASES (default 200) and COLMAX_SWEEP_SEED apply.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "level_guard.hpp"
#include "support/cases.hpp"

namespace colmax::test {
namespace {

using detail::cpu::SimdLevel;

int sweep_cases() {
  const char* env = std::getenv("COLMAX_SWEEP_CASES");
  return env ? std::atoi(env) : 200;
}

uint64_t sweep_seed() {
  const char* env = std::getenv("COLMAX_SWEEP_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261124;
}

std::vector<float> cpu_scores(const Case& c, int threads) {
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) set_value(out, i, kPoison);
  Options o = c.options();
  o.backend = Backend::cpu;
  o.num_threads = threads;
  run_case(c, place_on_host, out.view(), o);
  return read_floats(out);
}

class LevelSweep : public testing::TestWithParam<SimdLevel> {};

TEST_P(LevelSweep, MatchesReference) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  ScopedSimdLevel level(GetParam());
  std::cout << "[ info ] sweeping at SIMD level " << cpu_simd_level() << "\n";
  ASSERT_EQ(cpu_simd_level(), detail::cpu::simd_level_name(GetParam()));
  const int n = sweep_cases();
  std::mt19937_64 rng(sweep_seed());
  for (int i = 0; i < n; ++i) {
    CaseSpec spec = random_spec(rng, sweep_seed() + uint64_t(i));
    if (i % 10 == 3) spec.nan_tokens = 1 + i % 3;  // NaN in valid tokens, query or document side
    Case c = make_case(spec);
    const std::string err = compare_scores(cpu_scores(c, 0), reference_scores(c), tolerance(spec));
    ASSERT_EQ(err, "") << "case " << i << " at " << cpu_simd_level() << ": " << spec.describe();
  }
}

// Shapes around the register tiles and blocks of every level: Lq and Ld just below, at and
// above multiples of 8, 16, 32, 6 and 12; dims odd and even; all dtype pairs; masks and
// NaN; long queries that split into several cache blocks and groups.
TEST_P(LevelSweep, TileEdges) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  ScopedSimdLevel level(GetParam());
  uint64_t seed = 7000;
  for (int64_t lq : {1, 7, 8, 9, 16, 17, 31, 32, 33, 48, 65}) {
    for (int64_t ld : {1, 5, 6, 7, 11, 12, 13, 37, 72}) {
      CaseSpec s;
      s.layout = (lq + ld) % 2 ? Layout::cross : Layout::packed;
      s.nq = 2;
      s.nd = 3;
      s.lq_min = s.layout == Layout::packed ? lq / 2 : lq;
      s.lq_max = lq;
      s.ld_min = s.layout == Layout::packed ? 0 : ld;
      s.ld_max = ld;
      s.dim = std::vector<int64_t>{1, 3, 33, 64, 127, 128}[size_t(seed % 6)];
      const DType dts[] = {DType::float32, DType::bfloat16, DType::float16};
      s.q_dtype = dts[seed % 3];
      s.d_dtype = dts[(seed / 3) % 3];
      s.d_mask = seed % 4 == 0 ? MaskKind::holes : MaskKind::none;
      s.q_mask = seed % 5 == 0 ? MaskKind::holes : MaskKind::none;
      s.mode = seed % 2 ? MaskMode::zero : MaskMode::exclude;
      s.normalize = seed % 3 == 0;
      s.nan_tokens = seed % 11 == 0 ? 1 : 0;
      s.seed = seed++;
      Case c = make_case(s);
      ASSERT_EQ(compare_scores(cpu_scores(c, 0), reference_scores(c), tolerance(s)), "")
          << cpu_simd_level() << ": " << s.describe();
    }
  }
  // Long queries at dim 256: several query blocks per document, and groups of one query.
  for (DType dt : {DType::float32, DType::bfloat16}) {
    CaseSpec s;
    s.layout = Layout::cross;
    s.nq = 3;
    s.nd = 2;
    s.lq_min = s.lq_max = 700;
    s.ld_min = s.ld_max = 40;
    s.dim = 256;
    s.q_dtype = s.d_dtype = dt;
    s.normalize = true;
    s.seed = seed++;
    Case c = make_case(s);
    ASSERT_EQ(compare_scores(cpu_scores(c, 0), reference_scores(c), tolerance(s)), "")
        << cpu_simd_level() << ": " << s.describe();
  }
}

TEST_P(LevelSweep, BitwiseIdenticalForAnyThreadCount) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  ScopedSimdLevel level(GetParam());
  std::mt19937_64 rng(sweep_seed() + 1);
  for (int i = 0; i < 25; ++i) {
    Case c = make_case(random_spec(rng, 900 + uint64_t(i)));
    const std::vector<float> one = cpu_scores(c, 1);
    for (int threads : {2, 5}) {
      const std::vector<float> many = cpu_scores(c, threads);
      ASSERT_EQ(one.size(), many.size());
      ASSERT_TRUE(one.empty() || std::memcmp(one.data(), many.data(), one.size() * 4) == 0)
          << threads << " threads at " << cpu_simd_level() << ": " << c.spec.describe();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryLevel, LevelSweep, testing::ValuesIn(detail::cpu::kAllSimdLevels),
                         level_test_name);

}  // namespace
}  // namespace colmax::test
