// retrieval.hpp — top-k over a packed corpus in slices, so long scans can show progress.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "colmax/colmax.hpp"
#include "device.hpp"
#include "progress.hpp"

namespace colmax::cli {

// colmax's top-k order: higher scores first, NaN above every number, ties to the lower index.
bool ranks_before(float a, int64_t ia, float b, int64_t ib) noexcept;

// Running top-k lists, one per query.
class TopKMerger {
 public:
  TopKMerger(int64_t queries, int64_t k);
  // Adds a [queries, n] block of results whose indices are relative to `offset`.
  void add(std::span<const float> scores, std::span<const int64_t> indices, int64_t n,
           int64_t offset);
  int64_t k() const { return k_; }
  // [queries, k'] row-major, k' = min(k, documents added).
  std::vector<float> scores() const;
  std::vector<int64_t> indices() const;
  int64_t width() const;

 private:
  int64_t k_;
  std::vector<std::vector<std::pair<float, int64_t>>> best_;
};

// colmax::retrieve_packed of `queries` [Nq, Lq, dim] against the corpus (`doc_tokens`
// [Td, dim] on the arena's device, `cu_seqlens` on the host), run over `slices` consecutive
// runs of documents and merged; the result equals one call over the whole corpus. Progress
// advances by documents.
TopKMerger retrieve_sliced(Arena& arena, const TensorView& queries, const TensorView& doc_tokens,
                           std::span<const int64_t> cu_seqlens, int64_t k, int64_t slices,
                           const Options& options, Progress* progress);

}  // namespace colmax::cli
