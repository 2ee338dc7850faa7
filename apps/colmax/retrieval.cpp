// Sliced top-k: each slice is one colmax::retrieve_packed call; lists merge on the host.
#include "retrieval.hpp"

#include <algorithm>
#include <cmath>

namespace colmax::cli {

bool ranks_before(float a, int64_t ia, float b, int64_t ib) noexcept {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na != nb) return na;
  if (!na && a != b) return a > b;
  return ia < ib;
}

TopKMerger::TopKMerger(int64_t queries, int64_t k) : k_(k), best_(size_t(queries)) {}

void TopKMerger::add(std::span<const float> scores, std::span<const int64_t> indices, int64_t n,
                     int64_t offset) {
  for (size_t q = 0; q < best_.size(); ++q) {
    auto& list = best_[q];
    for (int64_t j = 0; j < n; ++j) {
      const size_t at = q * size_t(n) + size_t(j);
      list.emplace_back(scores[at], indices[at] + offset);
    }
    const auto before = [](const auto& x, const auto& y) {
      return ranks_before(x.first, x.second, y.first, y.second);
    };
    const size_t keep = std::min(list.size(), size_t(k_));
    std::partial_sort(list.begin(), list.begin() + std::ptrdiff_t(keep), list.end(), before);
    list.resize(keep);
  }
}

int64_t TopKMerger::width() const {
  return best_.empty() ? 0 : int64_t(best_.front().size());
}

std::vector<float> TopKMerger::scores() const {
  std::vector<float> r;
  for (const auto& list : best_) {
    for (const auto& e : list) r.push_back(e.first);
  }
  return r;
}

std::vector<int64_t> TopKMerger::indices() const {
  std::vector<int64_t> r;
  for (const auto& list : best_) {
    for (const auto& e : list) r.push_back(e.second);
  }
  return r;
}

TopKMerger retrieve_sliced(Arena& arena, const TensorView& queries, const TensorView& doc_tokens,
                           std::span<const int64_t> cu_seqlens, int64_t k, int64_t slices,
                           const Options& options, Progress* progress) {
  const int64_t nq = queries.size(0), docs = int64_t(cu_seqlens.size()) - 1;
  const int64_t kk = retrieve_count(k, docs);
  slices = std::clamp<int64_t>(slices, 1, std::max<int64_t>(docs, 1));
  const int64_t dim = doc_tokens.size(1);
  const size_t token_bytes = size_t(dim) * size_t(dtype_size(doc_tokens.dtype()));

  const TensorView scores = arena.allocate(DType::float32, {nq, kk});
  const TensorView indices = arena.allocate(DType::int64, {nq, kk});
  const TensorView cu_all = arena.allocate(DType::int64, {docs / slices + 2});
  std::vector<float> host_scores(size_t(nq * kk));
  std::vector<int64_t> host_indices(size_t(nq * kk)), cu(size_t(docs / slices + 2));
  TopKMerger merger(nq, kk);

  for (int64_t s = 0; s < slices; ++s) {
    const int64_t begin = docs * s / slices, end = docs * (s + 1) / slices, n = end - begin;
    const int64_t t0 = cu_seqlens[size_t(begin)], t1 = cu_seqlens[size_t(end)];
    for (int64_t i = 0; i <= n; ++i) cu[size_t(i)] = cu_seqlens[size_t(begin + i)] - t0;
    const TensorView cu_view(cu_all.data(), DType::int64, {n + 1}, arena.device());
    arena.copy_in(cu.data(), cu_view);
    const TensorView tokens(static_cast<std::byte*>(doc_tokens.data()) + size_t(t0) * token_bytes,
                            doc_tokens.dtype(), {t1 - t0, dim}, arena.device());
    const int64_t ks = retrieve_count(kk, n);
    const TensorView s_view(scores.data(), DType::float32, {nq, ks}, arena.device());
    const TensorView i_view(indices.data(), DType::int64, {nq, ks}, arena.device());
    retrieve_packed(queries, tokens, cu_view, ks, s_view, i_view, {}, options);
    arena.download(s_view, host_scores.data());
    arena.download(i_view, host_indices.data());
    merger.add(std::span<const float>(host_scores.data(), size_t(nq * ks)),
               std::span<const int64_t>(host_indices.data(), size_t(nq * ks)), ks, begin);
    if (progress) progress->advance(n);
  }
  return merger;
}

}  // namespace colmax::cli
