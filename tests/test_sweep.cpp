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

// Fixed shapes that a random sweep might miss.
std::vector<CaseSpec> edge_specs() {
  std::vector<CaseSpec> specs;
  auto add = [&](CaseSpec s) {
    s.seed = 1000 + specs.size();
    specs.push_back(s);
  };
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      CaseSpec s;
      s.layout = layout;
      s.q_dtype = s.d_dtype = dt;
      s.np = 5;
      // Lq = 1, Ld = 1
      s.nq = 3;
      s.nd = 4;
      s.lq_min = s.lq_max = 1;
      s.ld_min = s.ld_max = 1;
      s.dim = 128;
      add(s);
      // empty batches
      s.nq = 0;
      s.nd = 3;
      s.np = 0;
      s.lq_min = s.lq_max = 8;
      s.ld_min = s.ld_max = 8;
      add(s);
      s.nq = 2;
      s.nd = 0;
      add(s);
      // Lq = 0 and Ld = 0
      s.nq = 2;
      s.nd = 3;
      s.np = 4;
      s.lq_min = s.lq_max = 0;
      add(s);
      s.lq_min = s.lq_max = 5;
      s.ld_min = s.ld_max = 0;
      add(s);
      // fully masked documents, both modes, odd dims
      for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
        for (int64_t dim : {1, 3, 100}) {
          s.ld_min = 0;
          s.ld_max = 37;
          s.lq_min = 0;
          s.lq_max = 17;
          s.dim = dim;
          s.d_mask = MaskKind::fully_masked;
          s.q_mask = MaskKind::holes;
          s.mode = mode;
          s.normalize = dim != 100;
          add(s);
        }
      }
      s.d_mask = s.q_mask = MaskKind::none;
      s.normalize = false;
      // NaN in valid tokens
      s.nq = 3;
      s.nd = 5;
      s.lq_min = s.lq_max = 8;
      s.ld_min = s.ld_max = 20;
      s.dim = 64;
      s.nan_tokens = 2;
      add(s);
      s.nan_tokens = 0;
      // long documents
      s.nq = 2;
      s.nd = 2;
      s.np = 3;
      s.lq_min = s.lq_max = 32;
      s.ld_min = 1000;
      s.ld_max = 1200;
      s.dim = 96;
      add(s);
    }
  }
  return specs;
}

TEST(Sweep, CpuEngineEdgeCases) {
  for (const CaseSpec& spec : edge_specs()) {
    Case c = make_case(spec);
    ASSERT_EQ(check_cpu(c), "") << spec.describe();
  }
}

}  // namespace
}  // namespace colmax::test
