// naive.hpp — MaxSim the straightforward way, as the baseline the demo compares against.
#pragma once

#include <cstdint>

#include "corpus.hpp"

namespace colmax::cli {

// For every (query, document) pair, materialises the [Lq, Ld] similarity matrix in memory
// (plain dot products in fp32), then takes the max over document tokens and sums over query
// tokens — what an einsum + amax + sum does, one pair at a time. Queries are float32
// [nq, lq, dim]; documents [doc_begin, doc_end) of the corpus; threads split the documents.
// out [nq, doc_end - doc_begin], row-major.
void naive_scores(const float* queries, int64_t nq, int64_t lq, const Corpus& corpus,
                  int64_t doc_begin, int64_t doc_end, int threads, float* out);

}  // namespace colmax::cli
