// corpus.hpp — a synthetic late-interaction corpus and queries with a known answer.
//
// Documents are bags of unit token embeddings drawn around topic centroids (most tokens from
// the document's own topic, some from others); each query is planted from one document (its
// tokens are noisy copies of that document's tokens), so a working retrieval ranks that
// document first. Tokens are stored as bfloat16, packed (documents back to back).
#pragma once

#include <cstdint>
#include <vector>

#include "progress.hpp"
#include "uninit.hpp"

namespace colmax::cli {

struct CorpusSpec {
  int64_t docs = 20000;
  int64_t min_len = 32, max_len = 300;  // tokens per document
  int64_t dim = 128;
  int64_t topics = 0;  // 0: about one topic per 50 documents
  uint64_t seed = 0;
  int threads = 1;
};

struct Corpus {
  int64_t dim = 0;
  UninitVector<uint16_t> tokens;    // bfloat16 [total tokens, dim]
  std::vector<int64_t> cu_seqlens;  // [docs + 1], document i is tokens cu[i]..cu[i+1]
  std::vector<int32_t> topic;       // the main topic of each document

  int64_t docs() const { return int64_t(cu_seqlens.size()) - 1; }
  int64_t num_tokens() const { return cu_seqlens.back(); }
  int64_t length(int64_t doc) const {
    return cu_seqlens[size_t(doc + 1)] - cu_seqlens[size_t(doc)];
  }
  const uint16_t* doc_tokens(int64_t doc) const {
    return tokens.data() + cu_seqlens[size_t(doc)] * dim;
  }
};

// Generation uses spec.threads threads; the result depends only on the spec's sizes and seed.
// `progress` (may be null) advances by documents.
Corpus make_corpus(const CorpusSpec& spec, Progress* progress);

struct QuerySet {
  int64_t count = 0, length = 0, dim = 0;
  std::vector<uint16_t> tokens;  // bfloat16 [count, length, dim]
  std::vector<int64_t> source;   // the document each query was planted from
};

// `count` queries of `length` tokens, each planted from a random document of the corpus.
QuerySet make_queries(const Corpus& corpus, int64_t count, int64_t length, uint64_t seed);

}  // namespace colmax::cli
