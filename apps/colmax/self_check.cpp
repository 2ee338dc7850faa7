// Sampling (query, document) pairs and comparing colmax with the float64 reference backend.
#include "self_check.hpp"

#include <algorithm>
#include <cmath>

#include "rng.hpp"

namespace colmax::cli {

SelfCheck self_check(Arena& arena, const DemoViews& v, const Corpus& corpus,
                     const QuerySet& queries, const TopKMerger& results, int64_t check_queries,
                     int64_t extra, const Options& options, uint64_t seed) {
  const int64_t nq = std::min(check_queries, queries.count), k = results.width();
  const std::vector<float> hit_scores = results.scores();
  const std::vector<int64_t> hit_docs = results.indices();

  // The pairs: hits first (with the score top-k gave them), then the extra documents.
  std::vector<int64_t> pair_q, pair_d;
  std::vector<float> retrieved;  // NaN marks an extra document
  for (int64_t q = 0; q < nq; ++q) {
    for (int64_t j = 0; j < k; ++j) {
      pair_q.push_back(q);
      pair_d.push_back(hit_docs[size_t(q * k + j)]);
      retrieved.push_back(hit_scores[size_t(q * k + j)]);
    }
    std::vector<int64_t> same_topic;
    const int32_t topic = corpus.topic[size_t(queries.source[size_t(q)])];
    for (int64_t d = 0; d < corpus.docs(); ++d) {
      if (corpus.topic[size_t(d)] == topic) same_topic.push_back(d);
    }
    Rng rng(seed, uint64_t(q));
    for (int64_t j = 0; j < extra; ++j) {
      const bool near = j % 2 == 1 && !same_topic.empty();
      pair_q.push_back(q);
      pair_d.push_back(near ? same_topic[size_t(rng.between(0, int64_t(same_topic.size()) - 1))]
                            : rng.between(0, corpus.docs() - 1));
      retrieved.push_back(std::nanf(""));
    }
  }
  const int64_t np = int64_t(pair_q.size());

  // colmax on the device, and the reference on the host.
  const TensorView pq_host(pair_q.data(), DType::int64, {np});
  const TensorView pd_host(pair_d.data(), DType::int64, {np});
  const TensorView pq = arena.upload(pq_host), pd = arena.upload(pd_host);
  const TensorView out = arena.allocate(DType::float32, {np});
  maxsim_packed_pairs(v.q, v.cu_q, v.d, v.cu_d, pq, pd, out, {}, options);
  std::vector<float> fast(static_cast<size_t>(np)), ref(static_cast<size_t>(np));
  arena.download(out, fast.data());
  Options ref_options = options;
  ref_options.backend = Backend::reference;
  maxsim_packed_pairs(v.q_host, v.cu_q_host, v.d_host, v.cu_d_host, pq_host, pd_host,
                      TensorView(ref.data(), DType::float32, {np}), {}, ref_options);

  SelfCheck r;
  const auto compare = [&](float got, float want) {
    if (std::isnan(got) || std::isnan(want)) {
      r.nan = true;
      return;
    }
    const double err = std::fabs(double(got) - double(want));
    r.max_abs_error = std::max(r.max_abs_error, err);
    r.max_rel_error = std::max(r.max_rel_error, err / std::max(1.0, std::fabs(double(want))));
    ++r.scores;
  };
  for (int64_t p = 0; p < np; ++p) {
    const size_t i = size_t(p);
    compare(fast[i], ref[i]);
    if (!std::isnan(retrieved[i])) {
      compare(retrieved[i], ref[i]);
      continue;
    }
    // An extra document that is not a hit must not score above the k-th hit.
    const int64_t q = pair_q[i];
    const int64_t* hits = hit_docs.data() + q * k;
    if (k == 0 || std::find(hits, hits + k, pair_d[i]) != hits + k) continue;
    const double kth = hit_scores[size_t(q * k + k - 1)];
    if (double(ref[i]) > kth + r.tolerance * std::max(1.0, std::fabs(kth))) ++r.outranked;
  }
  return r;
}

}  // namespace colmax::cli
