// retrieve on the GPU: the same top-k as the CPU engine, and exactly the ranking of the GPU's
// own scores; ties to the lower index, NaN first, chunks of documents merged across score
// chunks and sort chunks, packed corpora.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

struct TopKResult {
  std::vector<float> scores;
  std::vector<int64_t> indices;
};

TopKResult gpu_retrieve(const Case& c, int64_t k, Options o = {}) {
  DevicePlacer dev;
  const int64_t n = retrieve_count(k, c.spec.nd);
  TensorView s = dev.poisoned_output({c.spec.nq, n});
  auto* idx = static_cast<int64_t*>(dev.alloc(size_t(std::max<int64_t>(c.spec.nq * n, 1)) * 8));
  TensorView i(idx, DType::int64, {c.spec.nq, n}, Device{DeviceKind::cuda, 0});
  o.backend = Backend::cuda;
  retrieve(dev.place(c.Q), dev.place(c.D), k, s, i, {dev.place(c.q_mask), dev.place(c.d_mask)}, o);
  return {to_host(s), to_host_i64(i)};
}

TopKResult cpu_retrieve(const Case& c, int64_t k) {
  const int64_t n = retrieve_count(k, c.spec.nd);
  TopKResult r;
  r.scores.assign(size_t(c.spec.nq * n), kPoison);
  r.indices.assign(size_t(c.spec.nq * n), -7);
  Options o = c.options();
  o.backend = Backend::cpu;
  retrieve(c.Q.view(), c.D.view(), k, TensorView(r.scores.data(), DType::float32, {c.spec.nq, n}),
           TensorView(r.indices.data(), DType::int64, {c.spec.nq, n}),
           {c.q_mask.view(), c.d_mask.view()}, o);
  return r;
}

// The ranking of a full score matrix: NaN first, higher first, ties to the lower index.
TopKResult rank(const std::vector<float>& all, int64_t nq, int64_t nd, int64_t k) {
  TopKResult r;
  const int64_t n = std::min(k, nd);
  for (int64_t q = 0; q < nq; ++q) {
    std::vector<int64_t> order(static_cast<size_t>(nd));
    std::iota(order.begin(), order.end(), 0);
    const float* row = &all[size_t(q * nd)];
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

void expect_same(const TopKResult& got, const TopKResult& want, double tol = 0) {
  ASSERT_EQ(got.indices, want.indices);
  ASSERT_EQ(got.scores.size(), want.scores.size());
  for (size_t i = 0; i < got.scores.size(); ++i) {
    if (std::isnan(want.scores[i])) {
      ASSERT_TRUE(std::isnan(got.scores[i])) << i;
    } else {
      ASSERT_NEAR(got.scores[i], want.scores[i], tol * std::max(1.0f, std::fabs(want.scores[i])))
          << i;
    }
  }
}

CaseSpec corpus(int64_t nq, int64_t nd, uint64_t seed, DType dt = DType::float32) {
  CaseSpec s;
  s.layout = Layout::cross;
  s.nq = nq;
  s.nd = nd;
  s.lq_min = s.lq_max = 8;
  s.ld_min = s.ld_max = 12;
  s.dim = 48;
  s.d_mask = MaskKind::holes;
  s.q_dtype = s.d_dtype = dt;
  s.seed = seed;
  return s;
}

TEST(CudaTopK, MatchesCpuEngine) {
  COLMAX_REQUIRE_GPU();
  for (int64_t k : {0, 1, 5, 37, 200}) {
    const Case c = make_case(corpus(3, 300, 40 + uint64_t(k)));
    expect_same(gpu_retrieve(c, k, c.options()), cpu_retrieve(c, k), 1e-5);
  }
}

TEST(CudaTopK, MatchesOwnScoresAcrossChunks) {
  COLMAX_REQUIRE_GPU();
  // 40,000 documents: three score chunks of 16,384 and many sort chunks of 2,048; k beyond
  // one sort chunk and k = Nd.
  for (DType dt : {DType::bfloat16, DType::float32}) {
    const Case c = make_large_case(corpus(2, 40000, 9, dt));
    const std::vector<float> all = gpu_scores(c, c.options());
    for (int64_t k : {1, 100, 3000, 40000}) {
      expect_same(gpu_retrieve(c, k, c.options()), rank(all, 2, 40000, k));
    }
  }
}

TEST(CudaTopK, TiesGoToTheLowerIndex) {
  COLMAX_REQUIRE_GPU();
  CaseSpec spec = corpus(2, 3000, 3, DType::bfloat16);
  spec.d_mask = MaskKind::none;
  Case c = make_case(spec);
  const int64_t doc_bytes = spec.ld_max * spec.dim * dtype_size(c.D.dtype);
  for (int copy : {3, 5, 9, 2100, 2999}) {
    std::copy_n(c.D.bytes.begin(), doc_bytes, c.D.bytes.begin() + copy * doc_bytes);
  }
  const TopKResult r = gpu_retrieve(c, 3000, c.options());
  for (int64_t q = 0; q < 2; ++q) {
    std::vector<int64_t> row(r.indices.begin() + q * 3000, r.indices.begin() + q * 3000 + 3000);
    auto pos = [&](int64_t d) { return std::find(row.begin(), row.end(), d) - row.begin(); };
    EXPECT_EQ(pos(3), pos(0) + 1);
    EXPECT_EQ(pos(5), pos(0) + 2);
    EXPECT_EQ(pos(9), pos(0) + 3);
    EXPECT_EQ(pos(2100), pos(0) + 4);
    EXPECT_EQ(pos(2999), pos(0) + 5);
  }
}

TEST(CudaTopK, NanRanksFirst) {
  COLMAX_REQUIRE_GPU();
  CaseSpec s = corpus(1, 5000, 5);
  s.d_mask = MaskKind::none;
  Case c = make_case(s);
  set_value(c.D, 4321 * s.ld_max * s.dim + 3, std::nan(""));
  set_value(c.D, 17 * s.ld_max * s.dim + 3, std::nan(""));
  const TopKResult r = gpu_retrieve(c, 3, c.options());
  EXPECT_EQ(r.indices[0], 17);
  EXPECT_EQ(r.indices[1], 4321);
  EXPECT_TRUE(std::isnan(r.scores[0]) && std::isnan(r.scores[1]));
}

TEST(CudaTopK, PackedCorpus) {
  COLMAX_REQUIRE_GPU();
  CaseSpec s = corpus(3, 20000, 11, DType::bfloat16);
  s.layout = Layout::packed;
  s.ld_min = 0;
  s.ld_max = 40;
  s.lq_min = 8;
  const Case packed = make_large_case(s);
  // Queries as a padded [Nq, Lq, dim] tensor: every query has exactly 8 tokens here.
  HostTensor Q = packed.Q;
  Q.shape = {3, 8, s.dim};
  Q.strides = {8 * s.dim, s.dim, 1};
  HostTensor qmask;
  DevicePlacer dev;
  const int64_t k = 50;
  TensorView sc = dev.poisoned_output({3, k});
  auto* idx = static_cast<int64_t*>(dev.alloc(3 * k * 8));
  Options o;
  o.backend = Backend::cuda;
  retrieve_packed(dev.place(Q), dev.place(packed.D), dev.place(packed.cu_d), k, sc,
                  TensorView(idx, DType::int64, {3, k}, Device{DeviceKind::cuda, 0}),
                  {TensorView(), dev.place(packed.d_mask)}, o);
  const TopKResult got{
      to_host(sc), to_host_i64(TensorView(idx, DType::int64, {3, k}, Device{DeviceKind::cuda, 0}))};
  const std::vector<float> all = gpu_scores(packed, packed.options());
  expect_same(got, rank(all, 3, 20000, k));
}

}  // namespace
}  // namespace colmax::test
