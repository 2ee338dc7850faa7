// First CPU engine: portable float loops, threads over outputs. The SIMD engine replaces it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "colmax/runtime.hpp"
#include "core/backends.hpp"
#include "core/scalar.hpp"
#include "core/topk_order.hpp"

namespace colmax {

std::string cpu_simd_level() { return "scalar"; }

namespace detail {
namespace {

struct Seq {
  std::vector<float> v;
  int64_t n = 0, masked = 0;
};

Seq load(const SeqSet& s, int64_t i, bool normalize) {
  Seq r;
  const int64_t len = s.seq_length(i);
  const int elem = dtype_size(s.dtype);
  for (int64_t j = 0; j < len; ++j) {
    if (!s.valid(i, j)) { ++r.masked; continue; }
    const size_t start = r.v.size();
    float n2 = 0;
    for (int64_t k = 0; k < s.dim; ++k) {
      float x = load_as_float(s.token(i, j) + k * elem, s.dtype);
      r.v.push_back(x);
      n2 += x * x;
    }
    if (normalize && n2 > 0) {
      float inv = 1.0f / std::sqrt(n2);
      for (int64_t k = 0; k < s.dim; ++k) r.v[start + size_t(k)] *= inv;
    }
    ++r.n;
  }
  return r;
}

float score(const Seq& q, const Seq& d, int64_t dim, MaskMode mode) {
  float total = 0;
  for (int64_t t = 0; t < q.n; ++t) {
    float best = -std::numeric_limits<float>::infinity();
    bool nan = false;
    for (int64_t s = 0; s < d.n; ++s) {
      float dot = 0;
      for (int64_t k = 0; k < dim; ++k) dot += q.v[size_t(t * dim + k)] * d.v[size_t(s * dim + k)];
      nan |= std::isnan(dot);
      best = std::max(best, dot);
    }
    if (mode == MaskMode::zero && d.masked > 0) best = std::max(best, 0.0f);
    if (d.n == 0) best = 0;
    total += nan ? std::numeric_limits<float>::quiet_NaN() : best;
  }
  return total;
}

template <class F>
void parallel_for(int64_t n, int threads, F&& f) {
  threads = int(std::min<int64_t>(threads, std::max<int64_t>(n, 1)));
  if (threads <= 1) { for (int64_t i = 0; i < n; ++i) f(i); return; }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] { for (int64_t i = t; i < n; i += threads) f(i); });
  }
  for (auto& th : pool) th.join();
}

}  // namespace

void cpu_maxsim(const Problem& p) {
  const int threads = p.options.num_threads > 0 ? p.options.num_threads : default_num_threads();
  parallel_for(p.num_outputs(), threads, [&](int64_t o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    *p.out_at(o) = score(load(p.q, qi, p.options.normalize), load(p.d, di, p.options.normalize),
                         p.q.dim, p.options.mask_mode);
  });
}

void cpu_topk(const Problem& p, const TopK& t) {
  const int threads = p.options.num_threads > 0 ? p.options.num_threads : default_num_threads();
  parallel_for(p.q.count, threads, [&](int64_t qi) {
    Seq q = load(p.q, qi, p.options.normalize);
    std::vector<float> row(size_t(p.d.count));
    for (int64_t di = 0; di < p.d.count; ++di) {
      row[size_t(di)] = score(q, load(p.d, di, p.options.normalize), p.q.dim, p.options.mask_mode);
    }
    std::vector<int64_t> order(size_t(p.d.count));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + t.k, order.end(), [&](int64_t a, int64_t b) {
      return ranks_before(row[size_t(a)], a, row[size_t(b)], b);
    });
    for (int64_t j = 0; j < t.k; ++j) {
      t.scores[qi * t.scores_stride0 + j * t.scores_stride1] = row[size_t(order[size_t(j)])];
      t.indices[qi * t.indices_stride0 + j * t.indices_stride1] = order[size_t(j)];
    }
  });
}

}  // namespace detail
}  // namespace colmax
