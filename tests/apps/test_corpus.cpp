// The synthetic corpus: deterministic whatever the thread count, lengths in range, unit
// tokens, queries planted in real documents.
#include "corpus.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "half.hpp"

namespace colmax::cli {
namespace {

CorpusSpec small_spec(int threads) {
  CorpusSpec s;
  s.docs = 300;
  s.min_len = 3;
  s.max_len = 40;
  s.dim = 19;  // not a multiple of the eight noise lanes
  s.seed = 7;
  s.threads = threads;
  return s;
}

TEST(Corpus, SameDataForEveryThreadCount) {
  const Corpus one = make_corpus(small_spec(1), nullptr);
  for (int threads : {2, 3, 8}) {
    const Corpus many = make_corpus(small_spec(threads), nullptr);
    EXPECT_EQ(one.cu_seqlens, many.cu_seqlens) << threads;
    EXPECT_EQ(one.topic, many.topic) << threads;
    EXPECT_TRUE(one.tokens == many.tokens) << threads;
  }
  CorpusSpec other = small_spec(1);
  other.seed = 8;
  EXPECT_FALSE(make_corpus(other, nullptr).tokens == one.tokens);
}

TEST(Corpus, LengthsInRangeAndTokensOfUnitLength) {
  const CorpusSpec spec = small_spec(2);
  const Corpus c = make_corpus(spec, nullptr);
  ASSERT_EQ(c.docs(), spec.docs);
  EXPECT_EQ(c.cu_seqlens.front(), 0);
  EXPECT_EQ(int64_t(c.tokens.size()), c.num_tokens() * spec.dim);
  int64_t shortest = spec.max_len, longest = spec.min_len;
  for (int64_t d = 0; d < c.docs(); ++d) {
    shortest = std::min(shortest, c.length(d));
    longest = std::max(longest, c.length(d));
  }
  EXPECT_GE(shortest, spec.min_len);
  EXPECT_LE(longest, spec.max_len);
  EXPECT_LT(shortest, spec.min_len + 5);  // the range is used, not one length
  for (int64_t t = 0; t < c.num_tokens(); ++t) {
    double n2 = 0;
    for (int64_t k = 0; k < spec.dim; ++k) {
      const double x = bf16_to_float(c.tokens[size_t(t * spec.dim + k)]);
      n2 += x * x;
    }
    ASSERT_NEAR(std::sqrt(n2), 1.0, 1e-2) << "token " << t;
  }
}

TEST(Corpus, QueriesArePlantedInDocumentsAndResembleThem) {
  const Corpus c = make_corpus(small_spec(2), nullptr);
  const QuerySet q = make_queries(c, 5, 4, 11);
  EXPECT_EQ(q.count, 5);
  EXPECT_EQ(int64_t(q.tokens.size()), 5 * 4 * c.dim);
  for (int64_t i = 0; i < q.count; ++i) {
    const int64_t src = q.source[size_t(i)];
    ASSERT_GE(src, 0);
    ASSERT_LT(src, c.docs());
    // Each query token is close to some token of its source document.
    for (int64_t t = 0; t < q.length; ++t) {
      double best = -1;
      for (int64_t s = 0; s < c.length(src); ++s) {
        double dot = 0;
        for (int64_t k = 0; k < c.dim; ++k) {
          dot += double(bf16_to_float(q.tokens[size_t((i * q.length + t) * c.dim + k)])) *
                 bf16_to_float(c.doc_tokens(src)[s * c.dim + k]);
        }
        best = std::max(best, dot);
      }
      EXPECT_GT(best, 0.5) << "query " << i << " token " << t;
    }
  }
}

}  // namespace
}  // namespace colmax::cli
