// The float64 reference backward: finite differences of the reference forward, the winner
// rule on hand-made cases (ties, masked zeros, NaN), and its agreement with itself when the
// winners are saved or recomputed. The CPU backward is checked by the same hand-made cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/backward_cases.hpp"

namespace colmax::test {
namespace {

// Finite differences: L = sum_o c_o score_o; dL/dx ~ (L(x + h) - L(x - h)) / (2h) for every
// element of every valid token, skipped where the perturbation moves a winner (a kink).
void finite_difference_check(const CaseSpec& spec) {
  Case c = make_case(spec);
  const HostTensor g = make_grad_out(c, spec.seed);
  const std::vector<float> cs = read_floats(g);
  const Gradients analytic = host_backward(c, Backend::reference, g, {});
  const ForwardResult base = host_forward(c, Backend::reference);
  auto loss = [&](const ForwardResult& f) {
    double l = 0;
    for (size_t o = 0; o < f.scores.size(); ++o) l += double(cs[o]) * double(f.scores[o]);
    return l;
  };
  int checked = 0;
  for (HostTensor* x : {&c.Q, &c.D}) {
    const std::vector<double>& want = x == &c.Q ? analytic.dQ : analytic.dD;
    const std::vector<double> values = read_logical(*x);
    // Walk logical elements and their physical offsets together.
    const size_t rank = x->shape.size();
    std::vector<int64_t> idx(rank, 0);
    for (size_t n = 0; n < values.size(); ++n) {
      int64_t at = 0;
      for (size_t d = 0; d < rank; ++d) at += idx[d] * x->strides[d];
      for (int d = int(rank) - 1; d >= 0; --d) {
        if (++idx[size_t(d)] < x->shape[size_t(d)]) break;
        idx[size_t(d)] = 0;
      }
      const double v = values[n];
      if (!std::isfinite(v) || std::fabs(v) > 10) continue;  // garbage of a masked token
      const double h = 1.0 / 64;
      set_value(*x, at, v + h);
      const ForwardResult up = host_forward(c, Backend::reference);
      set_value(*x, at, v - h);
      const ForwardResult down = host_forward(c, Backend::reference);
      set_value(*x, at, v);
      if (up.winners != base.winners || down.winners != base.winners) continue;
      const double fd = (loss(up) - loss(down)) / (2 * h);
      const double tol = 2e-3 * std::max(1.0, std::fabs(fd));
      ASSERT_NEAR(want[n], fd, tol)
          << (x == &c.Q ? "Q" : "D") << " element " << n << ", " << spec.describe();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << spec.describe();
}

TEST(BackwardReference, FiniteDifferences) {
  int seed = 100;
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (bool normalize : {false, true}) {
      for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
        CaseSpec s;
        s.layout = layout;
        s.nq = 2, s.nd = 3, s.np = 4;
        s.lq_min = 2, s.lq_max = 3, s.ld_min = 3, s.ld_max = 5;
        s.dim = 5;
        s.normalize = normalize;
        s.mode = mode;
        s.q_mask = MaskKind::holes;
        s.d_mask = MaskKind::holes;
        s.negative = mode == MaskMode::zero && seed % 2 == 0;
        s.strided = layout == Layout::cross;
        s.seed = uint64_t(seed++);
        finite_difference_check(s);
      }
    }
  }
}

// The reference backward with saved winners equals the one that recomputes them.
TEST(BackwardReference, SavedAndRecomputedWinnersAgree) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 40; ++i) {
    const CaseSpec spec = random_spec(rng, 8100 + uint64_t(i));
    const Case c = make_case(spec);
    const HostTensor g = make_grad_out(c, spec.seed);
    const ForwardResult f = host_forward(c, Backend::reference);
    const Gradients saved = host_backward(c, Backend::reference, g, f.winners);
    const Gradients recomputed = host_backward(c, Backend::reference, g, {});
    ASSERT_EQ(compare_gradients(saved.dQ, recomputed.dQ, 0), "") << spec.describe();
    ASSERT_EQ(compare_gradients(saved.dD, recomputed.dD, 0), "") << spec.describe();
  }
}

// ---- hand-made cases ------------------------------------------------------------------------

HostTensor tensor(DType dtype, std::vector<int64_t> shape, std::initializer_list<double> v) {
  HostTensor t = make_tensor(dtype, std::move(shape));
  int64_t i = 0;
  for (double x : v) set_value(t, i++, x);
  return t;
}

struct Single {
  float score = 0;
  std::vector<int64_t> winners;
  std::vector<double> dQ, dD;
};

// One query [1, Lq, 2] against one document [1, Ld, 2] through maxsim_pairs_forward and
// maxsim_pairs_backward (grad_out = 1) on `backend`.
Single run_single(Backend backend, const HostTensor& Q, const HostTensor& D,
                  const HostTensor& d_mask, MaskMode mode, bool normalize = false) {
  Options o;
  o.backend = backend;
  o.mask_mode = mode;
  o.normalize = normalize;
  HostTensor out = make_tensor(DType::float32, {1});
  HostTensor w = make_tensor(DType::int16, {1, Q.shape[1]});
  const Masks masks{{}, d_mask.view()};
  maxsim_pairs_forward(Q.view(), D.view(), out.view(), w.view(), masks, o);
  HostTensor g = tensor(DType::float32, {1}, {1.0});
  HostTensor gq = make_tensor(Q.dtype, Q.shape), gd = make_tensor(D.dtype, D.shape);
  maxsim_pairs_backward(Q.view(), D.view(), g.view(), w.view(), gq.view(), gd.view(), masks, o);
  return {read_floats(out)[0], read_winners(w), read_logical(gq), read_logical(gd)};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(BackwardRule, DuplicatedTokensSendTheGradientToTheFirst) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      for (bool normalize : {false, true}) {
        // Tokens 1 and 3 are equal and win for both query tokens.
        const HostTensor Q = tensor(dt, {1, 2, 2}, {1, 0.25, 2, 1.5});
        const HostTensor D = tensor(dt, {1, 4, 2}, {0.25, -1, 2, 1, -0.5, 0.75, 2, 1});
        const Single r = run_single(backend, Q, D, {}, MaskMode::exclude, normalize);
        EXPECT_EQ(r.winners, (std::vector<int64_t>{1, 1})) << int(backend);
        for (int k = 0; k < 2; ++k) {
          EXPECT_NE(r.dD[size_t(2 + k)], 0) << "token 1 receives the gradient";
          EXPECT_EQ(r.dD[size_t(6 + k)], 0) << "token 3 (the later tie) receives nothing";
          EXPECT_EQ(r.dD[size_t(0 + k)], 0);
          EXPECT_EQ(r.dD[size_t(4 + k)], 0);
        }
      }
    }
  }
}

TEST(BackwardRule, ZeroModeMaskedZeroWinsAndContributesNothing) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    const HostTensor Q = tensor(DType::float32, {1, 1, 2}, {1, 0});
    // Valid similarities -1 and -0.5 around a masked token (garbage values).
    const HostTensor D = tensor(DType::float32, {1, 3, 2}, {-1, 0, kNaN, 6e4, -0.5, 0});
    const HostTensor m = tensor(DType::boolean, {1, 3}, {1, 0, 1});
    const Single ex = run_single(backend, Q, D, m, MaskMode::exclude);
    EXPECT_EQ(ex.score, -0.5f);
    EXPECT_EQ(ex.winners, (std::vector<int64_t>{2}));
    EXPECT_EQ(ex.dD, (std::vector<double>{0, 0, 0, 0, 1, 0}));
    EXPECT_EQ(ex.dQ, (std::vector<double>{-0.5, 0}));
    const Single zero = run_single(backend, Q, D, m, MaskMode::zero);
    EXPECT_EQ(zero.score, 0.0f);
    EXPECT_EQ(zero.winners, (std::vector<int64_t>{-1}));
    EXPECT_EQ(zero.dD, (std::vector<double>(6, 0.0)));
    EXPECT_EQ(zero.dQ, (std::vector<double>(2, 0.0)));
  }
}

TEST(BackwardRule, ZeroModeTieWithAMaskedZeroGoesToTheFirstPosition) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    const HostTensor Q = tensor(DType::float32, {1, 1, 2}, {1, 0});
    // A valid similarity of exactly 0 after the masked position: the masked 0 is first.
    const HostTensor D1 = tensor(DType::float32, {1, 3, 2}, {-1, 0, 9, 9, 0, 1});
    const HostTensor m1 = tensor(DType::boolean, {1, 3}, {1, 0, 1});
    EXPECT_EQ(run_single(backend, Q, D1, m1, MaskMode::zero).winners, (std::vector<int64_t>{-1}));
    // ... before it: the valid token is first and wins.
    const HostTensor D2 = tensor(DType::float32, {1, 3, 2}, {0, 1, 9, 9, -1, 0});
    const HostTensor m2 = tensor(DType::boolean, {1, 3}, {1, 0, 1});
    const Single r = run_single(backend, Q, D2, m2, MaskMode::zero);
    EXPECT_EQ(r.winners, (std::vector<int64_t>{0}));
    EXPECT_EQ(r.dD, (std::vector<double>{1, 0, 0, 0, 0, 0}));
  }
}

TEST(BackwardRule, FullyMaskedDocumentGivesNoGradient) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
      const HostTensor Q = tensor(DType::float32, {1, 2, 2}, {1, 0, 0, 1});
      const HostTensor D = tensor(DType::float32, {1, 2, 2}, {kNaN, 1, 6e4, kNaN});
      const HostTensor m = tensor(DType::boolean, {1, 2}, {0, 0});
      const Single r = run_single(backend, Q, D, m, mode);
      EXPECT_EQ(r.score, 0.0f);
      EXPECT_EQ(r.winners, (std::vector<int64_t>{-1, -1}));
      EXPECT_EQ(r.dQ, (std::vector<double>(4, 0.0)));
      EXPECT_EQ(r.dD, (std::vector<double>(4, 0.0)));
    }
  }
}

TEST(BackwardRule, NaNWinsAndReachesTheGradients) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    const HostTensor Q = tensor(DType::float32, {1, 1, 2}, {1, 0});
    const HostTensor D = tensor(DType::float32, {1, 3, 2}, {1, 0, kNaN, 0, kNaN, 0});
    const Single r = run_single(backend, Q, D, {}, MaskMode::exclude);
    EXPECT_TRUE(std::isnan(r.score));
    EXPECT_EQ(r.winners, (std::vector<int64_t>{1}));
    EXPECT_TRUE(std::isnan(r.dQ[0]));
    EXPECT_EQ(r.dD[2], 1.0);
    EXPECT_EQ(r.dD[0], 0.0);
    EXPECT_EQ(r.dD[4], 0.0);
  }
}

TEST(BackwardRule, NormalizedZeroVectorGetsZeroGradient) {
  for (Backend backend : {Backend::reference, Backend::cpu}) {
    const HostTensor Q = tensor(DType::float32, {1, 2, 2}, {0, 0, 3, 4});
    const HostTensor D = tensor(DType::float32, {1, 2, 2}, {0, 0, 1, 1});
    const Single r = run_single(backend, Q, D, {}, MaskMode::exclude, true);
    EXPECT_EQ(r.dQ[0], 0.0);
    EXPECT_EQ(r.dQ[1], 0.0);
    // Query token 1 (3, 4)/5 wins document token 1 (1, 1)/sqrt(2): the gradient with respect
    // to the query is orthogonal to it.
    EXPECT_NEAR(r.dQ[2] * 3 + r.dQ[3] * 4, 0.0, 1e-6);
    EXPECT_EQ(r.dD[0], 0.0);
    EXPECT_EQ(r.dD[1], 0.0);
  }
}

}  // namespace
}  // namespace colmax::test
