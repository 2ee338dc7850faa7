// The naive baseline agrees with colmax's float64 reference.
#include "naive.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "colmax/colmax.hpp"
#include "half.hpp"

namespace colmax::cli {
namespace {

TEST(Naive, MatchesTheReferenceBackend) {
  CorpusSpec spec;
  spec.docs = 40;
  spec.min_len = 1;
  spec.max_len = 30;
  spec.dim = 24;
  spec.seed = 3;
  const Corpus c = make_corpus(spec, nullptr);
  const QuerySet q = make_queries(c, 3, 5, 4);
  std::vector<float> qf(q.tokens.size());
  for (size_t i = 0; i < qf.size(); ++i) qf[i] = bf16_to_float(q.tokens[i]);

  const int64_t begin = 5, end = 37, n = end - begin;
  std::vector<float> naive(size_t(q.count * n));
  naive_scores(qf.data(), q.count, q.length, c, begin, end, 3, naive.data());

  // The reference on the same documents, through the public API.
  std::vector<int64_t> cu(size_t(n + 1));
  for (int64_t i = 0; i <= n; ++i)
    cu[size_t(i)] = c.cu_seqlens[size_t(begin + i)] - c.cu_seqlens[size_t(begin)];
  Options ref;
  ref.backend = Backend::reference;
  std::vector<float> want(naive.size());
  std::vector<int64_t> cu_q(size_t(q.count + 1));
  for (int64_t i = 0; i <= q.count; ++i) cu_q[size_t(i)] = i * q.length;
  maxsim_packed(TensorView(qf.data(), DType::float32, {q.count * q.length, c.dim}),
                TensorView(cu_q.data(), DType::int64, {q.count + 1}),
                TensorView(c.doc_tokens(begin), DType::bfloat16, {cu.back(), c.dim}),
                TensorView(cu.data(), DType::int64, {n + 1}),
                TensorView(want.data(), DType::float32, {q.count, n}), {}, ref);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(naive[i], want[i], 1e-5 * std::max(1.0f, std::abs(want[i]))) << i;
  }
}

}  // namespace
}  // namespace colmax::cli
