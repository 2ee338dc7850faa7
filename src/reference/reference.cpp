// The float64 reference: plain loops that follow the definition, for tests to trust.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "colmax/error.hpp"
#include "core/backends.hpp"
#include "core/scalar.hpp"
#include "core/topk_order.hpp"

namespace colmax::detail {
namespace {

// Valid tokens of one sequence as float64 rows, normalised when asked.
struct Rows {
  std::vector<double> values;  // [n, dim]
  int64_t n = 0;               // valid tokens
  int64_t masked = 0;          // masked tokens
};

Rows load_rows(const SeqSet& s, int64_t i, bool normalize) {
  Rows r;
  const int64_t len = s.seq_length(i);
  r.values.reserve(size_t(len * s.dim));
  const int elem = dtype_size(s.dtype);
  for (int64_t j = 0; j < len; ++j) {
    if (!s.valid(i, j)) {
      ++r.masked;
      continue;
    }
    const std::byte* t = s.token(i, j);
    const size_t start = r.values.size();
    double norm2 = 0;
    for (int64_t k = 0; k < s.dim; ++k) {
      double v = load_as_double(t + k * elem, s.dtype);
      r.values.push_back(v);
      norm2 += v * v;
    }
    if (normalize && norm2 > 0) {
      const double inv = 1.0 / std::sqrt(norm2);
      for (int64_t k = 0; k < s.dim; ++k) r.values[start + size_t(k)] *= inv;
    }
    ++r.n;
  }
  return r;
}

double score(const Rows& q, const Rows& d, int64_t dim, MaskMode mode) {
  double total = 0;
  for (int64_t t = 0; t < q.n; ++t) {
    const double* qt = &q.values[size_t(t * dim)];
    double best = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (int64_t s = 0; s < d.n; ++s) {
      const double* ds = &d.values[size_t(s * dim)];
      double dot = 0;
      for (int64_t k = 0; k < dim; ++k) dot += qt[k] * ds[k];
      nan |= std::isnan(dot);
      best = std::max(best, dot);
    }
    if (mode == MaskMode::zero && d.masked > 0) best = std::max(best, 0.0);
    if (d.n == 0) best = 0;  // no valid document token (masked ones give 0 in zero mode too)
    total += nan ? std::numeric_limits<double>::quiet_NaN() : best;
  }
  return total;
}

void require_cpu(const Problem& p) {
  if (p.device.kind != DeviceKind::cpu) {
    throw Error(ErrorKind::device, "colmax reference backend: needs CPU tensors");
  }
}

}  // namespace

void reference_maxsim(const Problem& p) {
  require_cpu(p);
  const bool norm = p.options.normalize;
  const int64_t n = p.num_outputs();
  for (int64_t o = 0; o < n; ++o) {
    int64_t qi = 0, di = 0;
    p.pair_at(o, qi, di);
    Rows q = load_rows(p.q, qi, norm);
    Rows d = load_rows(p.d, di, norm);
    *p.out_at(o) = float(score(q, d, p.q.dim, p.options.mask_mode));
  }
}

void reference_topk(const Problem& p, const TopK& t) {
  require_cpu(p);
  const bool norm = p.options.normalize;
  std::vector<float> row(size_t(p.d.count));
  std::vector<int64_t> order(size_t(p.d.count));
  for (int64_t qi = 0; qi < p.q.count; ++qi) {
    Rows q = load_rows(p.q, qi, norm);
    for (int64_t di = 0; di < p.d.count; ++di) {
      row[size_t(di)] = float(score(q, load_rows(p.d, di, norm), p.q.dim, p.options.mask_mode));
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ranks_before(row[size_t(a)], a, row[size_t(b)], b);
    });
    for (int64_t j = 0; j < t.k; ++j) {
      t.scores[qi * t.scores_stride0 + j * t.scores_stride1] = row[size_t(order[size_t(j)])];
      t.indices[qi * t.indices_stride0 + j * t.indices_stride1] = order[size_t(j)];
    }
  }
}

}  // namespace colmax::detail
