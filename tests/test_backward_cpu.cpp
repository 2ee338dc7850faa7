// The CPU forward-with-winners and backward against the float64 reference over a random sweep
// of every layout, plus determinism (threads, runs, strategies) and recomputation.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "support/backward_cases.hpp"

namespace colmax::test {
namespace {

int sweep_cases() {
  const char* env = std::getenv("COLMAX_SWEEP_CASES");
  return env ? std::atoi(env) : 200;
}

uint64_t sweep_seed() {
  const char* env = std::getenv("COLMAX_SWEEP_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261201;
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 8) == 0);
}

// Scores and winners of the CPU forward vs the reference; then the CPU backward vs the
// reference backward given the same (CPU) winners. Returns "" when everything agrees.
std::string check_case(const Case& c) {
  const double tol = tolerance(c.spec);
  const DType wt = c.spec.seed % 2 ? DType::int16 : DType::int32;
  const ForwardResult want = host_forward(c, Backend::reference);
  const ForwardResult got = host_forward(c, Backend::cpu, wt);
  if (std::string e = compare_scores(got.scores, want.scores, tol); !e.empty()) {
    return "scores: " + e;
  }
  if (std::string e = compare_winners(c, got.winners, want.winners, 1e-5); !e.empty()) {
    return e;
  }
  const HostTensor g = make_grad_out(c, c.spec.seed);
  const Gradients ref = host_backward(c, Backend::reference, g, got.winners);
  const Gradients cpu = host_backward(c, Backend::cpu, g, got.winners);
  const double gtol = gradient_tolerance(c.spec);
  if (std::string e = compare_gradients(cpu.dQ, ref.dQ, gtol); !e.empty()) return "grad_Q: " + e;
  if (std::string e = compare_gradients(cpu.dD, ref.dD, gtol); !e.empty()) return "grad_D: " + e;
  if (std::string e = check_masked_zero(c, cpu); !e.empty()) return e;
  if (std::string e = check_masked_zero(c, ref); !e.empty()) return "reference " + e;
  // Recomputing the winners inside the backward gives the same gradients, bitwise.
  const Gradients again = host_backward(c, Backend::cpu, g, {});
  if (!bitwise_equal(again.dQ, cpu.dQ) || !bitwise_equal(again.dD, cpu.dD)) {
    return "gradients with recomputed winners differ from those with saved winners";
  }
  return "";
}

TEST(BackwardCpu, SweepMatchesReference) {
  const int n = sweep_cases();
  std::mt19937_64 rng(sweep_seed());
  int by_layout[5] = {};
  for (int i = 0; i < n; ++i) {
    CaseSpec spec = random_spec(rng, sweep_seed() + uint64_t(i));
    spec.nan_tokens = i % 9 == 4 ? 2 : 0;
    ++by_layout[int(spec.layout)];
    const Case c = make_case(spec);
    ASSERT_EQ(check_case(c), "") << "case " << i << ": " << spec.describe();
  }
  for (int l = 0; l < 5; ++l) EXPECT_GT(by_layout[l], n / 10) << layout_name(Layout(l));
}

// Shapes a random sweep might miss: Lq = 1, Ld = 1, empty batches, fully masked documents in
// both modes, negative similarities (zero mode differs), odd dims, long documents.
TEST(BackwardCpu, EdgeCases) {
  int seed = 3000;
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      CaseSpec s;
      s.layout = layout;
      s.q_dtype = s.d_dtype = dt;
      auto run = [&](CaseSpec spec) {
        spec.seed = uint64_t(seed++);
        const Case c = make_case(spec);
        ASSERT_EQ(check_case(c), "") << spec.describe();
      };
      s.nq = 3, s.nd = 4, s.np = 5, s.lq_min = s.lq_max = 1, s.ld_min = s.ld_max = 1, s.dim = 128;
      run(s);
      s.nq = 0, s.nd = 3, s.np = 0, s.lq_min = s.lq_max = 8, s.ld_min = s.ld_max = 8;
      run(s);
      s.nq = 2, s.nd = 0;
      run(s);
      s.nq = 2, s.nd = 3, s.np = 4, s.lq_min = s.lq_max = 0;
      run(s);
      s.lq_min = s.lq_max = 5, s.ld_min = s.ld_max = 0;
      run(s);
      for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
        for (int64_t dim : {1, 3, 100}) {
          s.ld_min = 0, s.ld_max = 37, s.lq_min = 0, s.lq_max = 17, s.dim = dim;
          s.d_mask = MaskKind::fully_masked, s.q_mask = MaskKind::holes, s.mode = mode;
          s.normalize = dim != 100;
          s.negative = dim == 3;
          run(s);
        }
      }
      s.d_mask = s.q_mask = MaskKind::none, s.normalize = false, s.negative = false;
      s.nq = 2, s.nd = 2, s.np = 3, s.lq_min = s.lq_max = 32, s.ld_min = 1000, s.ld_max = 1200;
      s.dim = 96;
      run(s);
    }
  }
}

std::vector<double> flat(const Gradients& g) {
  std::vector<double> v = g.dQ;
  v.insert(v.end(), g.dD.begin(), g.dD.end());
  return v;
}

TEST(BackwardCpu, BitwiseIdenticalForAnyThreadCountRunAndStrategy) {
  std::mt19937_64 rng(4242);
  for (int i = 0; i < 30; ++i) {
    const CaseSpec spec = random_spec(rng, 7000 + uint64_t(i));
    const Case c = make_case(spec);
    const HostTensor g = make_grad_out(c, spec.seed);
    const ForwardResult f1 = host_forward(c, Backend::cpu, DType::int32, 1);
    const std::vector<double> one = flat(host_backward(c, Backend::cpu, g, f1.winners, 1));
    for (int threads : {1, 2, 3, 8}) {
      const ForwardResult f = host_forward(c, Backend::cpu, DType::int32, threads);
      ASSERT_EQ(f.winners, f1.winners) << threads << " threads, " << spec.describe();
      ASSERT_TRUE(f.scores.size() == f1.scores.size() &&
                  (f.scores.empty() ||
                   0 == std::memcmp(f.scores.data(), f1.scores.data(), f.scores.size() * 4)))
          << threads << " threads, " << spec.describe();
      for (BackwardStrategy st :
           {BackwardStrategy::automatic, BackwardStrategy::fast, BackwardStrategy::deterministic}) {
        const std::vector<double> many =
            flat(host_backward(c, Backend::cpu, g, f.winners, threads, st));
        ASSERT_TRUE(bitwise_equal(one, many)) << threads << " threads, " << spec.describe();
      }
    }
  }
}

// The portable loops (COLMAX_SIMD=scalar) follow the same rules as the SIMD ones.
TEST(BackwardCpu, PortableLoopsMatchReference) {
  ::setenv("COLMAX_SIMD", "scalar", 1);
  std::mt19937_64 rng(777);
  for (int i = 0; i < 40; ++i) {
    const CaseSpec spec = random_spec(rng, 9000 + uint64_t(i));
    const Case c = make_case(spec);
    const std::string err = check_case(c);
    if (!err.empty()) {
      ::unsetenv("COLMAX_SIMD");
      FAIL() << err << "\n" << spec.describe();
    }
  }
  ::unsetenv("COLMAX_SIMD");
}

}  // namespace
}  // namespace colmax::test
