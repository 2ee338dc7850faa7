// Synthetic corpus generation: one random stream per document, so threads do not change it.
#include "corpus.hpp"

#include <algorithm>
#include <cmath>

#include "half.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace colmax::cli {
namespace {

constexpr float kOwnTopicShare = 0.75f;  // tokens drawn around the document's own topic
constexpr float kTokenNoise = 1.0f;      // token = centroid + noise (cosine to it ~0.7)
constexpr float kQueryNoise = 0.8f;      // query token = source token + noise (cosine ~0.78)
constexpr uint64_t kTopicStream = ~uint64_t(0);
constexpr uint64_t kLengthStream = ~uint64_t(0) - 1;
constexpr uint64_t kQueryStream = uint64_t(1) << 62;  // queries: streams kQueryStream + i

// out = bf16((base + noise * N(0, I/dim)) / |...|): one token. Eight lanes at a time so the
// compiler vectorises it; `v` is scratch of `dim` floats.
void perturb_normalise(const float* base, int64_t dim, float noise, Rng& rng, float* v,
                       uint16_t* out) {
  NormalLanes lanes(rng);
  const float scale = noise / std::sqrt(float(dim));
  float z[8];
  int64_t k0 = 0;
  for (; k0 + 8 <= dim; k0 += 8) {
    lanes.next8(z);
    for (int j = 0; j < 8; ++j) v[k0 + j] = base[k0 + j] + scale * z[j];
  }
  if (k0 < dim) {
    lanes.next8(z);
    for (int64_t k = k0; k < dim; ++k) v[k] = base[k] + scale * z[k - k0];
  }
  float acc[8] = {};  // eight partial sums: a vectorisable reduction
  for (k0 = 0; k0 + 8 <= dim; k0 += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += v[k0 + j] * v[k0 + j];
  }
  for (int64_t k = k0; k < dim; ++k) acc[0] += v[k] * v[k];
  float n2 = 0;
  for (float a : acc) n2 += a;
  const float inv = n2 > 0 ? 1.0f / std::sqrt(n2) : 0.0f;
  for (int64_t k = 0; k < dim; ++k) out[k] = float_to_bf16(v[k] * inv);
}

}  // namespace

Corpus make_corpus(const CorpusSpec& spec, Progress* progress) {
  const int64_t dim = spec.dim;
  const int64_t topics =
      spec.topics > 0 ? spec.topics : std::clamp<int64_t>(spec.docs / 50, 1, 4096);

  // Unit topic centroids.
  std::vector<float> centroid(size_t(topics * dim));
  {
    Rng rng(spec.seed, kTopicStream);
    for (int64_t t = 0; t < topics; ++t) {
      float n2 = 0;
      float* c = centroid.data() + t * dim;
      for (int64_t k = 0; k < dim; ++k) {
        c[k] = rng.normal();
        n2 += c[k] * c[k];
      }
      for (int64_t k = 0; k < dim; ++k) c[k] /= std::sqrt(n2);
    }
  }

  Corpus corpus;
  corpus.dim = dim;
  corpus.cu_seqlens.assign(size_t(spec.docs + 1), 0);
  corpus.topic.resize(size_t(spec.docs));
  {
    // Lengths skewed towards short documents, as passages are.
    Rng rng(spec.seed, kLengthStream);
    const double span = double(spec.max_len - spec.min_len + 1);
    for (int64_t i = 0; i < spec.docs; ++i) {
      const int64_t len =
          std::min(spec.max_len, spec.min_len + int64_t(span * std::pow(rng.uniform(), 1.5)));
      corpus.cu_seqlens[size_t(i + 1)] = corpus.cu_seqlens[size_t(i)] + len;
      corpus.topic[size_t(i)] = int32_t(rng.between(0, topics - 1));
    }
  }
  corpus.tokens.resize(size_t(corpus.num_tokens() * dim));

  parallel_blocks(spec.docs, spec.threads, [&](int64_t begin, int64_t end) {
    std::vector<float> v(static_cast<size_t>(dim));
    int64_t pending = 0;
    const int32_t* topic = corpus.topic.data();
    for (int64_t i = begin; i < end; ++i) {
      Rng rng(spec.seed, uint64_t(i));
      uint16_t* out = corpus.tokens.data() + corpus.cu_seqlens[size_t(i)] * dim;
      for (int64_t s = 0; s < corpus.length(i); ++s) {
        const int64_t t = rng.uniform() < kOwnTopicShare ? topic[i] : rng.between(0, topics - 1);
        perturb_normalise(centroid.data() + t * dim, dim, kTokenNoise, rng, v.data(),
                          out + s * dim);
      }
      if (progress && ++pending == 256) {
        progress->advance(pending);
        pending = 0;
      }
    }
    if (progress) progress->advance(pending);
  });
  return corpus;
}

QuerySet make_queries(const Corpus& corpus, int64_t count, int64_t length, uint64_t seed) {
  QuerySet q;
  q.count = count;
  q.length = length;
  q.dim = corpus.dim;
  q.tokens.resize(size_t(count * length * corpus.dim));
  q.source.resize(size_t(count));
  std::vector<float> v(static_cast<size_t>(corpus.dim)), src(static_cast<size_t>(corpus.dim));
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(seed, kQueryStream + uint64_t(i));
    int64_t doc = rng.between(0, corpus.docs() - 1);
    for (int64_t tries = 0; corpus.length(doc) == 0 && tries < corpus.docs(); ++tries) {
      doc = (doc + 1) % corpus.docs();  // an empty document cannot seed a query
    }
    q.source[size_t(i)] = doc;
    const uint16_t* d = corpus.doc_tokens(doc);
    for (int64_t t = 0; t < length; ++t) {
      const int64_t s = corpus.length(doc) > 0 ? rng.between(0, corpus.length(doc) - 1) : 0;
      for (int64_t k = 0; k < corpus.dim; ++k) {
        src[size_t(k)] = corpus.length(doc) > 0 ? bf16_to_float(d[s * corpus.dim + k]) : 0.0f;
      }
      perturb_normalise(src.data(), corpus.dim, kQueryNoise, rng, v.data(),
                        q.tokens.data() + (i * length + t) * corpus.dim);
    }
  }
  return q;
}

}  // namespace colmax::cli
