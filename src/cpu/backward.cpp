// The CPU forward-with-winners and backward (colmax/backward.hpp).
//
// Tokens are converted once to fp32 (normalised when asked). The forward scans each scored
// pair with the SIMD loop of backward_kernels.hpp. The backward gives every gradient row to
// one thread, which sums its contributions in increasing output order: the result is the
// same bitwise for any thread count and any run, whatever the strategy.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "colmax/runtime.hpp"
#include "core/backends.hpp"
#include "core/scalar.hpp"
#include "core/training.hpp"
#include "cpu/backward_kernels.hpp"

namespace colmax::detail {
namespace {

using cpu_train::Kernels;

int thread_count(const Problem& p) {
  return p.options.num_threads > 0 ? p.options.num_threads : default_num_threads();
}

// Runs f(i) for i in [0, n) on up to `threads` threads. Each i is independent, so the
// schedule never changes a result.
template <class F>
void parallel_for(int64_t n, int threads, F&& f) {
  threads = int(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

void convert_row(const std::byte* src, DType dtype, int64_t dim, float* dst) {
  switch (dtype) {
    case DType::float32:
      std::memcpy(dst, src, size_t(dim) * 4);
      return;
    case DType::float16:
      for (int64_t k = 0; k < dim; ++k) {
        uint16_t h;
        std::memcpy(&h, src + 2 * k, 2);
        dst[k] = half_to_float(h);
      }
      return;
    case DType::bfloat16:
      for (int64_t k = 0; k < dim; ++k) {
        uint16_t h;
        std::memcpy(&h, src + 2 * k, 2);
        dst[k] = bf16_to_float(h);
      }
      return;
    default:
      return;
  }
}

void store_row(const float* src, int64_t dim, DType dtype, std::byte* dst) {
  switch (dtype) {
    case DType::float32:
      std::memcpy(dst, src, size_t(dim) * 4);
      return;
    case DType::float16:
      for (int64_t k = 0; k < dim; ++k) {
        const uint16_t h = float_to_half(src[k]);
        std::memcpy(dst + 2 * k, &h, 2);
      }
      return;
    case DType::bfloat16:
      for (int64_t k = 0; k < dim; ++k) {
        const uint16_t h = float_to_bf16(src[k]);
        std::memcpy(dst + 2 * k, &h, 2);
      }
      return;
    default:
      return;
  }
}

// The tokens of one side in fp32: `unit` holds the scored vectors (normalised when asked),
// `norm` their original lengths; masked tokens are never read and stay zero. Sequence i's
// token j is row begin(i) + j.
struct Side {
  const SeqSet* s = nullptr;
  int64_t dim = 0;
  std::vector<float> unit, norm;
  std::vector<int64_t> begins;        // [count + 1]: first row of each sequence
  std::vector<int32_t> valid;         // valid positions of every sequence, concatenated
  std::vector<int64_t> valid_begin;   // [count + 1] into `valid`
  std::vector<int64_t> first_masked;  // [count]: first masked position, or -1

  int64_t rows() const { return begins.back(); }
  int64_t begin(int64_t i) const { return begins[size_t(i)]; }
  const float* row(int64_t i, int64_t j) const { return unit.data() + (begin(i) + j) * dim; }
};

Side prepare(const SeqSet& s, bool normalize, int threads) {
  Side side;
  side.s = &s;
  side.dim = s.dim;
  side.begins.resize(size_t(s.count) + 1, 0);
  for (int64_t i = 0; i < s.count; ++i)
    side.begins[size_t(i) + 1] = side.begins[size_t(i)] + s.seq_length(i);
  side.valid_begin.assign(size_t(s.count) + 1, 0);
  side.first_masked.assign(size_t(s.count), -1);
  for (int64_t i = 0; i < s.count; ++i) {
    for (int64_t j = 0; j < s.seq_length(i); ++j) {
      if (s.valid(i, j)) {
        side.valid.push_back(int32_t(j));
      } else if (side.first_masked[size_t(i)] < 0) {
        side.first_masked[size_t(i)] = j;
      }
    }
    side.valid_begin[size_t(i) + 1] = int64_t(side.valid.size());
  }
  side.unit.assign(size_t(side.rows() * s.dim), 0.0f);
  side.norm.assign(size_t(side.rows()), 0.0f);
  parallel_for(s.count, threads, [&](int64_t i) {
    for (int64_t v = side.valid_begin[size_t(i)]; v < side.valid_begin[size_t(i) + 1]; ++v) {
      const int64_t j = side.valid[size_t(v)];
      const int64_t r = side.begin(i) + j;
      float* u = side.unit.data() + r * s.dim;
      convert_row(s.token(i, j), s.dtype, s.dim, u);
      float n2 = 0;
      for (int64_t k = 0; k < s.dim; ++k) n2 += u[k] * u[k];
      side.norm[size_t(r)] = std::sqrt(n2);
      if (normalize && n2 > 0) {
        const float inv = 1.0f / std::sqrt(n2);
        for (int64_t k = 0; k < s.dim; ++k) u[k] *= inv;
      }
    }
  });
  return side;
}

// Queries transposed for the scan loop: query i is [dim][lq_pad] at qt_begin[i].
struct Transposed {
  std::vector<float> data;
  std::vector<int64_t> begin, lq_pad;
};

Transposed transpose_queries(const Side& q, int threads) {
  Transposed t;
  const int64_t n = q.s->count;
  t.begin.resize(size_t(n) + 1, 0);
  t.lq_pad.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    t.lq_pad[size_t(i)] = (q.s->seq_length(i) + 15) / 16 * 16;
    t.begin[size_t(i) + 1] = t.begin[size_t(i)] + t.lq_pad[size_t(i)] * q.dim;
  }
  t.data.assign(size_t(t.begin.back()), 0.0f);
  parallel_for(n, threads, [&](int64_t i) {
    float* dst = t.data.data() + t.begin[size_t(i)];
    const int64_t pad = t.lq_pad[size_t(i)];
    for (int64_t j = 0; j < q.s->seq_length(i); ++j) {
      const float* src = q.row(i, j);
      for (int64_t k = 0; k < q.dim; ++k) dst[k * pad + j] = src[k];
    }
  });
  return t;
}

// Finds the winners of every output, as colmax/backward.hpp defines them, and writes them;
// writes the scores into p.out too when `write_scores` (the forward; a recomputing backward
// leaves p.out, its grad_out, alone).
void forward_pass(const Problem& p, const Side& q, const Side& d, const Winners& winners,
                  bool write_scores, int threads) {
  const Kernels& kern = cpu_train::kernels();
  const Transposed qt = transpose_queries(q, threads);
  const bool zero_mode = p.options.mask_mode == MaskMode::zero;
  parallel_for(p.num_outputs(), threads, [&](int64_t o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    const int64_t lq = p.q.seq_length(qi), pad = qt.lq_pad[size_t(qi)];
    std::vector<float> best(size_t(pad), -std::numeric_limits<float>::infinity());
    std::vector<int32_t> arg(size_t(pad), -1);
    const int64_t v0 = d.valid_begin[size_t(di)], nv = d.valid_begin[size_t(di) + 1] - v0;
    if (nv > 0 && lq > 0) {
      kern.scan(qt.data.data() + qt.begin[size_t(qi)], pad, q.dim, d.row(di, 0),
                d.valid.data() + v0, nv, best.data(), arg.data());
    }
    const int64_t m0 = d.first_masked[size_t(di)];
    float total = 0;
    for (int64_t t = 0; t < winners.width; ++t) {
      int64_t w = -1;
      float term = 0;
      if (t < lq && p.q.valid(qi, t) && arg[size_t(t)] >= 0) {
        w = arg[size_t(t)];
        term = best[size_t(t)];
        const bool masked_zero_wins =
            zero_mode && m0 >= 0 && !std::isnan(term) && (term < 0 || (term == 0 && m0 < w));
        if (masked_zero_wins) w = -1, term = 0;
      }
      winners.set(o, t, w);
      total += term;
    }
    if (write_scores) *p.out_at(o) = total;
  });
}

// The gradient with respect to the input from G, the gradient with respect to the scored
// vector, through the normalisation's Jacobian when asked; then stored in the output dtype.
// The projection G - u <u, G> cancels (entirely when dim = 1), so it is taken in double with
// u renormalised in double: fp32 rounding of u would leave a residue of |G| * 1e-7.
void finish_row(float* G, const float* unit, float norm, int64_t dim, bool normalize, DType dtype,
                std::byte* dst) {
  if (normalize) {
    if (norm == 0) {
      std::fill(G, G + dim, 0.0f);
    } else {
      double uu = 0, uG = 0;
      for (int64_t k = 0; k < dim; ++k) {
        uu += double(unit[k]) * unit[k];
        uG += double(unit[k]) * G[k];
      }
      const double along = uG / uu, inv = 1.0 / double(norm);
      for (int64_t k = 0; k < dim; ++k) G[k] = float((G[k] - unit[k] * along) * inv);
    }
  }
  store_row(G, dim, dtype, dst);
}

// Zeroes the rows of a packed gradient that belong to no sequence.
void zero_outside(const GradOut& g) {
  const SeqSet& s = g.seqs;
  if (!s.packed()) return;
  const int64_t* cu = static_cast<const int64_t*>(s.cu);
  std::vector<float> zeros(size_t(s.dim), 0.0f);
  for (int64_t r = cu[s.count]; r < s.total_tokens; ++r)
    store_row(zeros.data(), s.dim, s.dtype, g.row(r));
}

// One side's gradient: row group i (a query or a document) gathers its contributions in
// increasing output order. `contributions(i, acc)` adds them into acc [length, dim].
template <class Gather>
void gradient(const GradOut& g, const Side& side, bool normalize, int threads,
              Gather&& contributions) {
  zero_outside(g);
  const int64_t dim = side.dim;
  parallel_for(side.s->count, threads, [&](int64_t i) {
    const int64_t len = side.s->seq_length(i);
    std::vector<float> acc(size_t(len * dim), 0.0f);
    contributions(i, acc.data());
    for (int64_t j = 0; j < len; ++j) {
      const int64_t r = side.begin(i) + j;
      finish_row(acc.data() + j * dim, side.unit.data() + r * dim, side.norm[size_t(r)], dim,
                 normalize, g.seqs.dtype, g.token(i, j));
    }
  });
}

}  // namespace

void cpu_maxsim_forward(const Training& tr) {
  const Problem& p = tr.p;
  const int threads = thread_count(p);
  const Side q = prepare(p.q, p.options.normalize, threads);
  const Side d = prepare(p.d, p.options.normalize, threads);
  forward_pass(p, q, d, tr.winners, true, threads);
}

void cpu_maxsim_backward(const Training& tr) {
  const Problem& p = tr.p;
  const int threads = thread_count(p);
  const bool normalize = p.options.normalize;
  const Side q = prepare(p.q, normalize, threads);
  const Side d = prepare(p.d, normalize, threads);
  // Recompute the winners when they were not saved: one more forward pass.
  Winners winners = tr.winners;
  std::vector<int32_t> recomputed;
  if (!winners.present()) {
    winners.dtype = DType::int32;
    winners.width = max_query_length(p);
    recomputed.assign(size_t(p.num_outputs() * winners.width), -1);
    winners.data = recomputed.data();
    forward_pass(p, q, d, winners, false, threads);
  }
  const Kernels& kern = cpu_train::kernels();
  const PairIndex pairs(p);
  const int64_t dim = p.q.dim;
  if (tr.grad_q.present()) {
    gradient(tr.grad_q, q, normalize, threads, [&](int64_t qi, float* acc) {
      const int64_t lq = p.q.seq_length(qi);
      pairs.for_query(qi, [&](int64_t o) {
        int64_t unused_q = 0, di = 0;
        p.pair_at(o, unused_q, di);
        const float g = *p.out_at(o);
        for (int64_t t = 0; t < lq; ++t) {
          const int64_t w = winners.get(o, t);
          if (w >= 0) kern.axpy(acc + t * dim, g, d.row(di, w), dim);
        }
      });
    });
  }
  if (tr.grad_d.present()) {
    gradient(tr.grad_d, d, normalize, threads, [&](int64_t di, float* acc) {
      pairs.for_document(di, [&](int64_t o) {
        int64_t qi = 0, unused_d = 0;
        p.pair_at(o, qi, unused_d);
        const float g = *p.out_at(o);
        const int64_t lq = p.q.seq_length(qi);
        for (int64_t t = 0; t < lq; ++t) {
          const int64_t w = winners.get(o, t);
          if (w >= 0) kern.axpy(acc + w * dim, g, q.row(qi, t), dim);
        }
      });
    });
  }
}

}  // namespace colmax::detail
