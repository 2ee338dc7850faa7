// Top-k retrieval: the same ranking as sorting every score, ties to the lower index.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "support/cases.hpp"

namespace colmax::test {
namespace {

struct TopKResult {
  std::vector<float> scores;
  std::vector<int64_t> indices;
};

TopKResult run_retrieve(const Case& c, int64_t k, Backend backend, int threads = 0) {
  const int64_t n = retrieve_count(k, c.spec.nd);
  TopKResult r;
  r.scores.assign(size_t(c.spec.nq * n), kPoison);
  r.indices.assign(size_t(c.spec.nq * n), -7);
  Options o = c.options();
  o.backend = backend;
  o.num_threads = threads;
  TensorView s(r.scores.data(), DType::float32, {c.spec.nq, n});
  TensorView i(r.indices.data(), DType::int64, {c.spec.nq, n});
  retrieve(c.Q.view(), c.D.view(), k, s, i, {c.q_mask.view(), c.d_mask.view()}, o);
  return r;
}

// The ranking that sorting the engine's own full score matrix gives.
TopKResult sorted_scores(const Case& c, int64_t k, Backend backend) {
  HostTensor out = make_tensor(DType::float32, {c.spec.nq, c.spec.nd});
  Options o = c.options();
  o.backend = backend;
  run_case(c, place_on_host, out.view(), o);
  std::vector<float> all = read_floats(out);
  const int64_t n = std::min(k, c.spec.nd);
  TopKResult r;
  for (int64_t q = 0; q < c.spec.nq; ++q) {
    std::vector<int64_t> order(size_t(c.spec.nd));
    std::iota(order.begin(), order.end(), 0);
    const float* row = &all[size_t(q * c.spec.nd)];
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
      if (na != nb) return na;
      return !na && row[a] > row[b];
    });
    for (int64_t j = 0; j < n; ++j) {
      r.scores.push_back(row[order[size_t(j)]]);
      r.indices.push_back(order[size_t(j)]);
    }
  }
  return r;
}

CaseSpec corpus(int64_t nq, int64_t nd, uint64_t seed) {
  CaseSpec s;
  s.layout = Layout::cross;
  s.nq = nq;
  s.nd = nd;
  s.lq_min = s.lq_max = 8;
  s.ld_min = s.ld_max = 12;
  s.dim = 48;
  s.d_mask = MaskKind::holes;
  s.seed = seed;
  return s;
}

void expect_same(const TopKResult& got, const TopKResult& want) {
  ASSERT_EQ(got.indices, want.indices);
  ASSERT_EQ(got.scores.size(), want.scores.size());
  for (size_t i = 0; i < got.scores.size(); ++i) {
    if (std::isnan(want.scores[i])) {
      EXPECT_TRUE(std::isnan(got.scores[i]));
    } else {
      EXPECT_EQ(got.scores[i], want.scores[i]) << i;
    }
  }
}

TEST(TopK, CpuMatchesSortedScores) {
  for (int64_t k : {0, 1, 5, 37, 200, 1000}) {
    Case c = make_case(corpus(3, 200, 40 + uint64_t(k)));
    expect_same(run_retrieve(c, k, Backend::cpu), sorted_scores(c, k, Backend::cpu));
  }
}

TEST(TopK, ReferenceMatchesSortedScores) {
  Case c = make_case(corpus(2, 50, 7));
  expect_same(run_retrieve(c, 10, Backend::reference), sorted_scores(c, 10, Backend::reference));
}

TEST(TopK, TiesGoToTheLowerIndex) {
  // Documents 3, 5 and 9 are identical copies of document 0.
  CaseSpec spec = corpus(2, 12, 3);
  spec.d_mask = MaskKind::none;
  Case c = make_case(spec);
  const int64_t doc_elems = c.spec.ld_max * c.spec.dim * dtype_size(c.D.dtype);
  for (int copy : {3, 5, 9}) {
    std::copy_n(c.D.bytes.begin(), doc_elems, c.D.bytes.begin() + copy * doc_elems);
  }
  for (Backend b : {Backend::cpu, Backend::reference}) {
    TopKResult r = run_retrieve(c, 12, b);
    for (int64_t q = 0; q < 2; ++q) {
      std::vector<int64_t> row(r.indices.begin() + q * 12, r.indices.begin() + q * 12 + 12);
      auto pos = [&](int64_t d) { return std::find(row.begin(), row.end(), d) - row.begin(); };
      EXPECT_EQ(pos(3), pos(0) + 1);
      EXPECT_EQ(pos(5), pos(0) + 2);
      EXPECT_EQ(pos(9), pos(0) + 3);
    }
  }
}

TEST(TopK, NanRanksFirst) {
  CaseSpec s = corpus(1, 30, 5);
  s.d_mask = MaskKind::none;
  Case c = make_case(s);
  set_value(c.D, 17 * s.ld_max * s.dim + 3, std::nan(""));
  TopKResult r = run_retrieve(c, 3, Backend::cpu);
  EXPECT_EQ(r.indices[0], 17);
  EXPECT_TRUE(std::isnan(r.scores[0]));
}

TEST(TopK, PackedCorpusMatchesPaddedCorpus) {
  Case c = make_case(corpus(3, 40, 11));
  // Same corpus, packed: every document keeps its Ld tokens.
  std::vector<int64_t> cu(41);
  for (int64_t i = 0; i <= 40; ++i) cu[size_t(i)] = i * c.spec.ld_max;
  TensorView Dp(c.D.bytes.data(), c.D.dtype, {40 * c.spec.ld_max, c.spec.dim});
  TensorView dmask(c.d_mask.bytes.data(), c.d_mask.dtype, {40 * c.spec.ld_max});
  std::vector<float> s(3 * 7);
  std::vector<int64_t> idx(3 * 7);
  retrieve_packed(c.Q.view(), Dp, TensorView(cu.data(), DType::int64, {41}), 7,
                  TensorView(s.data(), DType::float32, {3, 7}),
                  TensorView(idx.data(), DType::int64, {3, 7}), {c.q_mask.view(), dmask});
  TopKResult want = run_retrieve(c, 7, Backend::cpu);
  EXPECT_EQ(idx, want.indices);
  EXPECT_EQ(s, want.scores);
}

}  // namespace
}  // namespace colmax::test
