// The CPU engine's entry points: split a Problem into work items, run them on the thread
// pool, write scores (or a running top-k).
//
// Work items are independent: each one packs its queries (or reuses the packing its thread
// already holds) and scores whole documents, so every score is computed by one thread in one
// fixed order and results are bitwise identical for any thread count.
#include <algorithm>
#include <vector>

#include "colmax/runtime.hpp"
#include "core/backends.hpp"
#include "cpu/doc_scorer.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/topk_heap.hpp"

namespace colmax::detail {
namespace {

using cpu::Plan;
using cpu::Scratch;

int thread_count(const Problem& p) {
  return p.options.num_threads > 0 ? p.options.num_threads : default_num_threads();
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Items per thread: small enough (about half a millisecond at the benchmark shapes) that
// dynamic hand-out evens out uneven documents and threads the OS runs at uneven speed.
constexpr int64_t kItemsPerThread = 32;

struct QueryRange {
  int64_t first, count;
};

// Consecutive queries whose valid tokens fit plan.group_lanes (at least one query a group):
// documents are read once per group, and the group's panels stay in L2.
std::vector<QueryRange> query_groups(const Plan& plan) {
  const SeqSet& q = plan.problem->q;
  std::vector<QueryRange> groups;
  int64_t lanes = 0;
  for (int64_t i = 0; i < q.count; ++i) {
    const int64_t n = cpu::valid_tokens(q, i);
    if (groups.empty() || lanes + n > plan.group_lanes) {
      groups.push_back({i, 0});
      lanes = 0;
    }
    ++groups.back().count;
    lanes += n;
  }
  return groups;
}

void run_cross(const Plan& plan, int threads) {
  const Problem& p = *plan.problem;
  const std::vector<QueryRange> groups = query_groups(plan);
  const int64_t nd = p.d.count, ng = int64_t(groups.size());
  const int64_t blocks = std::clamp<int64_t>(ceil_div(threads * kItemsPerThread, ng), 1, nd);
  const int64_t per_block = ceil_div(nd, blocks);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  cpu::parallel_for(threads, ng * blocks, [&](int64_t item, int slot) {
    const QueryRange g = groups[size_t(item / blocks)];
    const int64_t d0 = (item % blocks) * per_block, d1 = std::min(nd, d0 + per_block);
    Scratch& s = scratch[size_t(slot)];
    cpu::use_queries(plan, s, g.first, g.count);
    std::vector<float> scores(size_t(g.count));
    for (int64_t d = d0; d < d1; ++d) {
      cpu::score_document(plan, s, d, scores.data(), d + 1 < d1 ? d + 1 : -1);
      for (int64_t i = 0; i < g.count; ++i)
        *p.out_at((g.first + i) * p.out_cols + d) = scores[size_t(i)];
    }
  });
}

// grouped, diagonal and list: one query per score. Items are runs of consecutive outputs, so
// a thread packs a query once for all of its candidates (grouped) or consecutive pairs.
void run_single_query(const Plan& plan, int threads) {
  const Problem& p = *plan.problem;
  const int64_t n = p.num_outputs();
  const int64_t items = std::clamp<int64_t>(threads * kItemsPerThread, 1, n);
  const int64_t per_item = ceil_div(n, items);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  cpu::parallel_for(threads, ceil_div(n, per_item), [&](int64_t item, int slot) {
    Scratch& s = scratch[size_t(slot)];
    const int64_t o1 = std::min(n, (item + 1) * per_item);
    for (int64_t o = item * per_item; o < o1; ++o) {
      int64_t qi = 0, di = 0;
      p.pair_at(o, qi, di);
      cpu::use_queries(plan, s, qi, 1);
      int64_t next_q = -1, next_d = -1;
      if (o + 1 < o1) p.pair_at(o + 1, next_q, next_d);
      float score = 0;
      cpu::score_document(plan, s, di, &score, next_d);
      *p.out_at(o) = score;
    }
  });
}

void write_topk(const TopK& t, int64_t qi, const std::vector<cpu::ScoredIndex>& best) {
  for (size_t j = 0; j < best.size(); ++j) {
    t.scores[qi * t.scores_stride0 + int64_t(j) * t.scores_stride1] = best[j].score;
    t.indices[qi * t.indices_stride0 + int64_t(j) * t.indices_stride1] = best[j].index;
  }
}

}  // namespace

void cpu_maxsim(const Problem& p) {
  if (p.num_outputs() == 0) return;
  const Plan plan = cpu::make_plan(p);
  const int threads = thread_count(p);
  if (p.pairing == Pairing::cross) {
    run_cross(plan, threads);
  } else {
    run_single_query(plan, threads);
  }
}

// Documents stream through per-query running top-k heaps; nothing of size [Nq, Nd] exists.
// Many query groups: one item per group scans every document. Few groups: the groups go one
// after another, their documents split over the threads with a heap per thread and query,
// merged at the end (the ranking is a total order, so the merge does not depend on the split).
void cpu_topk(const Problem& p, const TopK& t) {
  const int64_t nq = p.q.count, nd = p.d.count;
  if (nq == 0 || t.k == 0 || nd == 0) return;
  const Plan plan = cpu::make_plan(p);
  const int threads = thread_count(p);
  const std::vector<QueryRange> groups = query_groups(plan);
  const int64_t ng = int64_t(groups.size());
  std::vector<Scratch> scratch(static_cast<size_t>(threads));

  if (threads == 1 || ng >= 2 * int64_t(threads)) {
    cpu::parallel_for(threads, ng, [&](int64_t gi, int slot) {
      const QueryRange g = groups[size_t(gi)];
      Scratch& s = scratch[size_t(slot)];
      cpu::use_queries(plan, s, g.first, g.count);
      std::vector<cpu::TopKHeap> heaps(size_t(g.count));
      for (auto& h : heaps) h.reset(t.k);
      std::vector<float> scores(size_t(g.count));
      for (int64_t d = 0; d < nd; ++d) {
        cpu::score_document(plan, s, d, scores.data(), d + 1 < nd ? d + 1 : -1);
        for (int64_t i = 0; i < g.count; ++i) heaps[size_t(i)].push(scores[size_t(i)], d);
      }
      for (int64_t i = 0; i < g.count; ++i) {
        std::vector<cpu::ScoredIndex> best = heaps[size_t(i)].entries();
        cpu::keep_best(best, t.k);
        write_topk(t, g.first + i, best);
      }
    });
    return;
  }

  const int64_t blocks = std::clamp<int64_t>(threads * kItemsPerThread, 1, nd);
  const int64_t per_block = ceil_div(nd, blocks);
  std::vector<std::vector<cpu::TopKHeap>> heaps(static_cast<size_t>(threads));
  std::vector<std::vector<float>> scores(static_cast<size_t>(threads));
  for (const QueryRange& g : groups) {
    for (int slot = 0; slot < threads; ++slot) {
      heaps[size_t(slot)].resize(size_t(g.count));
      for (auto& h : heaps[size_t(slot)]) h.reset(t.k);
      scores[size_t(slot)].resize(size_t(g.count));
    }
    cpu::parallel_for(threads, ceil_div(nd, per_block), [&](int64_t b, int slot) {
      Scratch& s = scratch[size_t(slot)];
      cpu::use_queries(plan, s, g.first, g.count);
      float* sc = scores[size_t(slot)].data();
      auto& hs = heaps[size_t(slot)];
      const int64_t d1 = std::min(nd, (b + 1) * per_block);
      for (int64_t d = b * per_block; d < d1; ++d) {
        cpu::score_document(plan, s, d, sc, d + 1 < d1 ? d + 1 : -1);
        for (int64_t i = 0; i < g.count; ++i) hs[size_t(i)].push(sc[i], d);
      }
    });
    std::vector<cpu::ScoredIndex> best;
    for (int64_t i = 0; i < g.count; ++i) {
      best.clear();
      for (int slot = 0; slot < threads; ++slot) {
        const auto& e = heaps[size_t(slot)][size_t(i)].entries();
        best.insert(best.end(), e.begin(), e.end());
      }
      cpu::keep_best(best, t.k);
      write_topk(t, g.first + i, best);
    }
  }
}

}  // namespace colmax::detail
