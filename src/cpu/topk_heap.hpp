// A bounded running top-k: the k best (score, index) entries seen so far under colmax's one
// ranking (higher first, NaN above every number, ties to the lower index). Memory is O(k)
// whatever the number of documents pushed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/topk_order.hpp"

namespace colmax::detail::cpu {

struct ScoredIndex {
  float score;
  int64_t index;
};

inline bool ranks_before(const ScoredIndex& a, const ScoredIndex& b) noexcept {
  return detail::ranks_before(a.score, a.index, b.score, b.index);
}

class TopKHeap {
 public:
  void reset(int64_t k) {
    k_ = size_t(std::max<int64_t>(k, 0));
    heap_.clear();
    heap_.reserve(k_);
  }

  // Keeps the entry when it ranks among the k best seen. The heap's front is the entry that
  // ranks last, the first to go.
  void push(float score, int64_t index) {
    const ScoredIndex e{score, index};
    if (heap_.size() < k_) {
      heap_.push_back(e);
      std::push_heap(heap_.begin(), heap_.end(), by_rank);
    } else if (k_ > 0 && ranks_before(e, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), by_rank);
      heap_.back() = e;
      std::push_heap(heap_.begin(), heap_.end(), by_rank);
    }
  }

  const std::vector<ScoredIndex>& entries() const noexcept { return heap_; }  // heap order

 private:
  static bool by_rank(const ScoredIndex& a, const ScoredIndex& b) noexcept {
    return ranks_before(a, b);
  }
  size_t k_ = 0;
  std::vector<ScoredIndex> heap_;
};

// The k best of `all`, best first, in place (all is truncated to at most k entries).
inline void keep_best(std::vector<ScoredIndex>& all, int64_t k) {
  const size_t n = std::min(all.size(), size_t(std::max<int64_t>(k, 0)));
  std::partial_sort(all.begin(), all.begin() + ptrdiff_t(n), all.end(),
                    [](const ScoredIndex& a, const ScoredIndex& b) { return ranks_before(a, b); });
  all.resize(n);
}

}  // namespace colmax::detail::cpu
