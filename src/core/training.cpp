#include "core/training.hpp"

#include <algorithm>
#include <string>

#include "colmax/error.hpp"

namespace colmax {

DType winners_dtype(int64_t max_document_length) noexcept {
  return max_document_length <= 32768 ? DType::int16 : DType::int32;
}

namespace detail {
namespace {

int64_t longest(const SeqSet& s) {
  if (!s.packed()) return s.length;
  int64_t m = 0;
  for (int64_t i = 0; i < s.count; ++i) m = std::max(m, s.seq_length(i));
  return m;
}

// A stable counting sort of outputs 0..n-1 by key[o] in [0, groups): begin has groups + 1
// entries, order lists the outputs of group g in increasing order at [begin[g], begin[g+1]).
void group_outputs(const int64_t* key, int64_t n, int64_t groups, std::vector<int64_t>& begin,
                   std::vector<int64_t>& order) {
  begin.assign(size_t(groups) + 1, 0);
  for (int64_t o = 0; o < n; ++o) ++begin[size_t(key[o]) + 1];
  for (size_t g = 0; g < size_t(groups); ++g) begin[g + 1] += begin[g];
  order.resize(size_t(n));
  std::vector<int64_t> next(begin.begin(), begin.end() - 1);
  for (int64_t o = 0; o < n; ++o) order[size_t(next[size_t(key[o])]++)] = o;
}

}  // namespace

int64_t max_query_length(const Problem& p) {
  return longest(p.q);
}
int64_t max_document_length(const Problem& p) {
  return longest(p.d);
}

PairIndex::PairIndex(const Problem& p) : p_(p) {
  if (p.pairing != Pairing::list) return;
  group_outputs(static_cast<const int64_t*>(p.pair_q), p.num_pairs, p.q.count, q_begin_, q_order_);
  group_outputs(static_cast<const int64_t*>(p.pair_d), p.num_pairs, p.d.count, d_begin_, d_order_);
}

void check_winners(const Training& tr, const char* fn) {
  const Problem& p = tr.p;
  const Winners& w = tr.winners;
  const int64_t n = p.num_outputs();
  auto bad = [&](int64_t o, int64_t t, int64_t v, const std::string& why) {
    throw Error(ErrorKind::value, std::string("colmax.") + fn + ": winners: entry [" +
                                      std::to_string(o) + ", " + std::to_string(t) + "] is " +
                                      std::to_string(v) + ": " + why +
                                      " (winners must come from the matching forward)");
  };
  for (int64_t o = 0; o < n; ++o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    const int64_t lq = p.q.seq_length(qi), ld = p.d.seq_length(di);
    for (int64_t t = 0; t < w.width; ++t) {
      const int64_t v = w.get(o, t);
      if (v == -1) continue;
      if (t >= lq) bad(o, t, v, "expected -1 beyond the query's " + std::to_string(lq) + " tokens");
      if (!p.q.valid(qi, t)) bad(o, t, v, "expected -1 for a masked query token");
      if (v < 0 || v >= ld) {
        bad(o, t, v,
            "outside [-1, " + std::to_string(ld) + ") for a document of " + std::to_string(ld) +
                " tokens");
      }
      if (!p.d.valid(di, v)) bad(o, t, v, "points at a masked document token");
    }
  }
}

}  // namespace detail
}  // namespace colmax
