// The engine's two top-k plans (one item per query group scanning every document; or the
// groups in turn with their documents split over threads and per-thread heaps merged) give
// the ranking of the engine's own full score matrix, bitwise, for any thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/topk_order.hpp"
#include "support/cases.hpp"

namespace colmax::test {
namespace {

struct Ranked {
  std::vector<float> scores;
  std::vector<int64_t> indices;
};

Ranked retrieve_cpu(const Case& c, int64_t k, int threads) {
  const int64_t n = retrieve_count(k, c.spec.nd);
  Ranked r;
  r.scores.assign(size_t(c.spec.nq * n), kPoison);
  r.indices.assign(size_t(c.spec.nq * n), -1);
  Options o = c.options();
  o.backend = Backend::cpu;
  o.num_threads = threads;
  retrieve(c.Q.view(), c.D.view(), k, TensorView(r.scores.data(), DType::float32, {c.spec.nq, n}),
           TensorView(r.indices.data(), DType::int64, {c.spec.nq, n}),
           {c.q_mask.view(), c.d_mask.view()}, o);
  return r;
}

Ranked rank_all(const Case& c, int64_t k) {
  HostTensor out = make_tensor(DType::float32, {c.spec.nq, c.spec.nd});
  Options o = c.options();
  o.backend = Backend::cpu;
  run_case(c, place_on_host, out.view(), o);
  const std::vector<float> all = read_floats(out);
  const int64_t n = std::min(k, c.spec.nd);
  Ranked r;
  for (int64_t q = 0; q < c.spec.nq; ++q) {
    std::vector<int64_t> order(static_cast<size_t>(c.spec.nd));
    std::iota(order.begin(), order.end(), 0);
    const float* row = &all[size_t(q * c.spec.nd)];
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return detail::ranks_before(row[a], a, row[b], b); });
    for (int64_t j = 0; j < n; ++j) {
      r.scores.push_back(row[order[size_t(j)]]);
      r.indices.push_back(order[size_t(j)]);
    }
  }
  return r;
}

void expect_bitwise(const Ranked& got, const Ranked& want, const std::string& what) {
  ASSERT_EQ(got.indices, want.indices) << what;
  ASSERT_EQ(got.scores.size(), want.scores.size());
  for (size_t i = 0; i < got.scores.size(); ++i) {
    ASSERT_TRUE(std::memcmp(&got.scores[i], &want.scores[i], 4) == 0 ||
                (std::isnan(got.scores[i]) && std::isnan(want.scores[i])))
        << what << ", entry " << i;
  }
}

TEST(EngineTopK, EveryPlanGivesTheFullRanking) {
  struct Shape {
    int64_t nq, nd, lq, ld, dim;
  };
  // Short queries share one group (documents split over threads); queries of 700 tokens at
  // dim 256 each fill a group (one item per group when there are enough of them).
  for (const Shape& sh :
       {Shape{3, 90, 8, 12, 48}, Shape{5, 30, 700, 9, 256}, Shape{1, 57, 33, 20, 3}}) {
    for (DType dt : {DType::float32, DType::bfloat16}) {
      CaseSpec s;
      s.layout = Layout::cross;
      s.nq = sh.nq;
      s.nd = sh.nd;
      s.lq_min = s.lq_max = sh.lq;
      s.ld_min = s.ld_max = sh.ld;
      s.dim = sh.dim;
      s.q_dtype = s.d_dtype = dt;
      s.d_mask = MaskKind::holes;
      s.mode = MaskMode::zero;
      s.negative = true;  // many documents tie at 0 in zero mode
      s.seed = uint64_t(sh.nq * 1000 + sh.lq);
      Case c = make_case(s);
      for (int64_t k : {int64_t(1), int64_t(7), sh.nd, sh.nd + 5}) {
        const Ranked want = rank_all(c, k);
        for (int threads : {1, 2, 3, 16}) {
          expect_bitwise(retrieve_cpu(c, k, threads), want,
                         "k=" + std::to_string(k) + " threads=" + std::to_string(threads) + " " +
                             s.describe());
        }
      }
    }
  }
}

}  // namespace
}  // namespace colmax::test
