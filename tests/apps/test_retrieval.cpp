// Sliced top-k equals one colmax::retrieve_packed call; the merge keeps colmax's order.
#include "retrieval.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "corpus.hpp"

namespace colmax::cli {
namespace {

TEST(TopKMerger, OrderIsScoreThenIndexWithNaNFirst) {
  TopKMerger m(1, 4);
  const float nan = std::nanf("");
  m.add(std::vector<float>{5, 3, 3}, std::vector<int64_t>{0, 1, 2}, 3, 10);
  m.add(std::vector<float>{3, nan, 7}, std::vector<int64_t>{0, 1, 2}, 3, 0);
  ASSERT_EQ(m.width(), 4);
  const auto s = m.scores();
  const auto i = m.indices();
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_EQ(i, (std::vector<int64_t>{1, 2, 10, 0}));  // NaN, 7, 5, then 3 at the lowest index
  EXPECT_EQ(s[1], 7);
  EXPECT_EQ(s[3], 3);
}

TEST(TopKMerger, FewerDocumentsThanK) {
  TopKMerger m(2, 10);
  m.add(std::vector<float>{1, 2}, std::vector<int64_t>{0, 0}, 1, 4);
  EXPECT_EQ(m.width(), 1);
  EXPECT_EQ(m.indices(), (std::vector<int64_t>{4, 4}));
}

TEST(RetrieveSliced, EqualsOneCall) {
  CorpusSpec spec;
  spec.docs = 57;
  spec.min_len = 1;
  spec.max_len = 20;
  spec.dim = 16;
  spec.topics = 3;  // many near ties
  const Corpus c = make_corpus(spec, nullptr);
  const QuerySet q = make_queries(c, 3, 4, 1);
  const TensorView Q(q.tokens.data(), DType::bfloat16, {q.count, q.length, c.dim});
  const TensorView D(c.tokens.data(), DType::bfloat16, {c.num_tokens(), c.dim});
  const TensorView cu(c.cu_seqlens.data(), DType::int64, {c.docs() + 1});
  for (int64_t k : {1, 5, 57, 80}) {
    const int64_t n = retrieve_count(k, c.docs());
    std::vector<float> scores(size_t(q.count * n));
    std::vector<int64_t> indices(size_t(q.count * n));
    retrieve_packed(Q, D, cu, k, TensorView(scores.data(), DType::float32, {q.count, n}),
                    TensorView(indices.data(), DType::int64, {q.count, n}));
    for (int64_t slices : {1, 2, 7, 57, 100}) {
      Arena arena(Device{});
      const TopKMerger m = retrieve_sliced(arena, Q, D, c.cu_seqlens, k, slices, {}, nullptr);
      EXPECT_EQ(m.width(), n);
      EXPECT_EQ(m.indices(), indices) << "k " << k << " slices " << slices;
      const auto s = m.scores();
      for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_NEAR(s[i], scores[i], 1e-5 * std::max(1.0f, std::abs(scores[i])));
      }
    }
  }
}

}  // namespace
}  // namespace colmax::cli
