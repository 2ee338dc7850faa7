// The naive baseline: similarity matrix in memory, then max and sum.
#include "naive.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "half.hpp"
#include "parallel.hpp"

namespace colmax::cli {

void naive_scores(const float* queries, int64_t nq, int64_t lq, const Corpus& corpus,
                  int64_t doc_begin, int64_t doc_end, int threads, float* out) {
  const int64_t dim = corpus.dim, ndocs = doc_end - doc_begin;
  parallel_blocks(ndocs, threads, [&](int64_t begin, int64_t end) {
    std::vector<float> doc, sim;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t d = doc_begin + j, ld = corpus.length(d);
      const uint16_t* src = corpus.doc_tokens(d);
      doc.resize(size_t(ld * dim));
      for (int64_t e = 0; e < ld * dim; ++e) doc[size_t(e)] = bf16_to_float(src[e]);
      sim.resize(size_t(lq * ld));
      for (int64_t q = 0; q < nq; ++q) {
        const float* Q = queries + q * lq * dim;
        for (int64_t t = 0; t < lq; ++t) {  // the similarity matrix
          for (int64_t s = 0; s < ld; ++s) {
            float dot = 0;
            for (int64_t k = 0; k < dim; ++k) dot += Q[t * dim + k] * doc[size_t(s * dim + k)];
            sim[size_t(t * ld + s)] = dot;
          }
        }
        float total = 0;  // max over document tokens, sum over query tokens
        for (int64_t t = 0; t < lq && ld > 0; ++t) {
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t s = 0; s < ld; ++s) best = std::max(best, sim[size_t(t * ld + s)]);
          total += best;
        }
        out[q * ndocs + j] = total;
      }
    }
  });
}

}  // namespace colmax::cli
