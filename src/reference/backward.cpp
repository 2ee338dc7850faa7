// The float64 reference of the forward-with-winners and the backward: plain loops that follow
// the definitions in colmax/backward.hpp, for tests to trust.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "colmax/error.hpp"
#include "core/backends.hpp"
#include "core/scalar.hpp"
#include "core/training.hpp"

namespace colmax::detail {
namespace {

// Every token of a SeqSet as float64 (normalised when asked), indexed by a flat token id:
// padded sequence i, token j -> i * length + j; packed -> cu[i] + j. Masked tokens are never
// read and stay zero.
struct Tokens {
  const SeqSet* s = nullptr;
  int64_t dim = 0;
  std::vector<double> x;     // [rows, dim] as given
  std::vector<double> unit;  // [rows, dim] the scored vectors (normalised or as given)
  std::vector<double> norm;  // [rows]

  int64_t id(int64_t i, int64_t j) const {
    return s->packed() ? static_cast<const int64_t*>(s->cu)[i] + j : i * s->length + j;
  }
  int64_t rows() const { return s->packed() ? s->total_tokens : s->count * s->length; }
  const double* at(int64_t i, int64_t j) const { return unit.data() + id(i, j) * dim; }
};

Tokens load(const SeqSet& s, bool normalize) {
  Tokens t;
  t.s = &s;
  t.dim = s.dim;
  const int64_t rows = t.rows();
  t.x.assign(size_t(rows * s.dim), 0.0);
  t.unit.assign(size_t(rows * s.dim), 0.0);
  t.norm.assign(size_t(rows), 0.0);
  const int elem = dtype_size(s.dtype);
  for (int64_t i = 0; i < s.count; ++i) {
    for (int64_t j = 0; j < s.seq_length(i); ++j) {
      if (!s.valid(i, j)) continue;
      const int64_t r = t.id(i, j);
      double n2 = 0;
      for (int64_t k = 0; k < s.dim; ++k) {
        const double v = load_as_double(s.token(i, j) + k * elem, s.dtype);
        t.x[size_t(r * s.dim + k)] = v;
        n2 += v * v;
      }
      t.norm[size_t(r)] = std::sqrt(n2);
      const double scale = normalize && n2 > 0 ? 1.0 / std::sqrt(n2) : 1.0;
      for (int64_t k = 0; k < s.dim; ++k) {
        t.unit[size_t(r * s.dim + k)] = t.x[size_t(r * s.dim + k)] * scale;
      }
    }
  }
  return t;
}

// The winner of query token t of query qi in document di, and the term it adds to the score.
struct Best {
  int64_t winner = -1;
  double term = 0;
};

Best best_of(const Problem& p, const Tokens& q, const Tokens& d, int64_t qi, int64_t t,
             int64_t di) {
  const int64_t ld = p.d.seq_length(di);
  double best = -std::numeric_limits<double>::infinity();
  int64_t at = -1, first_masked = -1;
  for (int64_t s = 0; s < ld; ++s) {
    if (!p.d.valid(di, s)) {
      if (first_masked < 0) first_masked = s;
      continue;
    }
    double dot = 0;
    const double* a = q.at(qi, t);
    const double* b = d.at(di, s);
    for (int64_t k = 0; k < p.q.dim; ++k) dot += a[k] * b[k];
    // NaN ranks above every number; among equals the first position stays.
    const bool wins = at < 0 || (!std::isnan(best) && (std::isnan(dot) || dot > best));
    if (wins) best = dot, at = s;
  }
  if (at < 0) return {};  // no valid document token
  if (p.options.mask_mode == MaskMode::zero && first_masked >= 0 && !std::isnan(best)) {
    // A masked position competes with similarity 0 at its own position.
    if (best < 0 || (best == 0 && first_masked < at)) return {};
  }
  return {at, best};
}

void write_as(std::byte* dst, DType dtype, double v) {
  const float f = float(v);
  switch (dtype) {
    case DType::float32:
      std::memcpy(dst, &f, 4);
      return;
    case DType::float16: {
      const uint16_t h = float_to_half(f);
      std::memcpy(dst, &h, 2);
      return;
    }
    case DType::bfloat16: {
      const uint16_t h = float_to_bf16(f);
      std::memcpy(dst, &h, 2);
      return;
    }
    default:
      return;
  }
}

// Writes one gradient output from the accumulated gradients with respect to the scored
// vectors, through the normalisation's Jacobian when asked. Rows outside every sequence are
// zeroed too.
void write_grad(const GradOut& g, const Tokens& x, const std::vector<double>& acc, bool normalize) {
  const SeqSet& s = g.seqs;
  const int elem = dtype_size(s.dtype);
  if (s.packed()) {
    for (int64_t r = 0; r < s.total_tokens; ++r) {
      for (int64_t k = 0; k < s.dim; ++k) write_as(g.row(r) + k * elem, s.dtype, 0.0);
    }
  }
  std::vector<double> out(size_t(s.dim));
  for (int64_t i = 0; i < s.count; ++i) {
    for (int64_t j = 0; j < s.seq_length(i); ++j) {
      const int64_t r = x.id(i, j);
      const double* G = acc.data() + r * s.dim;
      const double* u = x.unit.data() + r * s.dim;
      const double n = x.norm[size_t(r)];
      if (!normalize) {
        for (int64_t k = 0; k < s.dim; ++k) out[size_t(k)] = G[k];
      } else if (n == 0 || !x.s->valid(i, j)) {
        for (int64_t k = 0; k < s.dim; ++k) out[size_t(k)] = 0;
      } else {
        double uG = 0;
        for (int64_t k = 0; k < s.dim; ++k) uG += u[k] * G[k];
        for (int64_t k = 0; k < s.dim; ++k) out[size_t(k)] = (G[k] - u[k] * uG) / n;
      }
      for (int64_t k = 0; k < s.dim; ++k)
        write_as(g.token(i, j) + k * elem, s.dtype, out[size_t(k)]);
    }
  }
}

void require_cpu(const Problem& p) {
  if (p.device.kind != DeviceKind::cpu) {
    throw Error(ErrorKind::device, "colmax reference backend: needs CPU tensors");
  }
}

}  // namespace

void reference_maxsim_forward(const Training& tr) {
  const Problem& p = tr.p;
  require_cpu(p);
  const Tokens q = load(p.q, p.options.normalize), d = load(p.d, p.options.normalize);
  for (int64_t o = 0; o < p.num_outputs(); ++o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    const int64_t lq = p.q.seq_length(qi);
    double total = 0;
    for (int64_t t = 0; t < tr.winners.width; ++t) {
      Best b;
      if (t < lq && p.q.valid(qi, t)) b = best_of(p, q, d, qi, t, di);
      tr.winners.set(o, t, b.winner);
      total += b.term;
    }
    *p.out_at(o) = float(total);
  }
}

void reference_maxsim_backward(const Training& tr) {
  const Problem& p = tr.p;
  require_cpu(p);
  const bool normalize = p.options.normalize;
  const Tokens q = load(p.q, normalize), d = load(p.d, normalize);
  const int64_t dim = p.q.dim;
  std::vector<double> gq(size_t(q.rows() * dim), 0.0), gd(size_t(d.rows() * dim), 0.0);
  for (int64_t o = 0; o < p.num_outputs(); ++o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    const double g = *p.out_at(o);
    for (int64_t t = 0; t < p.q.seq_length(qi); ++t) {
      if (!p.q.valid(qi, t)) continue;
      const int64_t w =
          tr.winners.present() ? tr.winners.get(o, t) : best_of(p, q, d, qi, t, di).winner;
      if (w < 0) continue;
      const double* qt = q.at(qi, t);
      const double* ds = d.at(di, w);
      double* gqt = gq.data() + q.id(qi, t) * dim;
      double* gds = gd.data() + d.id(di, w) * dim;
      for (int64_t k = 0; k < dim; ++k) {
        gqt[k] += g * ds[k];
        gds[k] += g * qt[k];
      }
    }
  }
  if (tr.grad_q.present()) write_grad(tr.grad_q, q, gq, normalize);
  if (tr.grad_d.present()) write_grad(tr.grad_d, d, gd, normalize);
}

}  // namespace colmax::detail
