#include "support/backward_cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "core/scalar.hpp"

namespace colmax::test {
namespace {

double element(const HostTensor& t, int64_t at) {
  return detail::load_as_double(t.bytes.data() + (t.offset + at) * dtype_size(t.dtype), t.dtype);
}

// Addressing of one side's sequences in the host tensors of a case.
struct Side {
  const HostTensor* x = nullptr;
  const HostTensor* mask = nullptr;
  const HostTensor* cu = nullptr;
  bool candidates = false;  // D [Nq, K, L, dim]

  bool packed() const { return cu != nullptr && cu->present; }
  int64_t cu_at(int64_t i) const { return int64_t(element(*cu, i)); }
  int64_t length(int64_t i) const {
    return packed() ? cu_at(i + 1) - cu_at(i) : x->shape[x->shape.size() - 2];
  }
  int64_t token(int64_t i, int64_t j) const {  // element offset of token j of sequence i
    if (packed()) return (cu_at(i) + j) * x->strides[0];
    if (candidates) {
      const int64_t k = x->shape[1];
      return (i / k) * x->strides[0] + (i % k) * x->strides[1] + j * x->strides[2];
    }
    return i * x->strides[0] + j * x->strides[1];
  }
  bool valid(int64_t i, int64_t j) const {
    if (mask == nullptr || !mask->present) return true;
    const int64_t at = packed() ? cu_at(i) + j : i * length(i) + j;
    return element(*mask, at) != 0;
  }
};

Side query_side(const Case& c) {
  return {&c.Q, &c.q_mask, &c.cu_q, false};
}
Side document_side(const Case& c) {
  return {&c.D, &c.d_mask, &c.cu_d, c.spec.layout == Layout::candidates};
}

void pair_of(const Case& c, int64_t o, int64_t& qi, int64_t& di) {
  switch (c.spec.layout) {
    case Layout::cross:
    case Layout::packed:
      qi = o / c.spec.nd;
      di = o % c.spec.nd;
      return;
    case Layout::candidates:
      qi = o / c.spec.nd;
      di = o;
      return;
    case Layout::pairs:
      qi = di = o;
      return;
    case Layout::packed_pairs:
      qi = int64_t(element(c.pair_q, o));
      di = int64_t(element(c.pair_d, o));
      return;
  }
}

std::vector<double> vector_of(const Case& c, const Side& side, int64_t i, int64_t j) {
  const int64_t dim = c.spec.dim;
  std::vector<double> v(static_cast<size_t>(dim));
  double n2 = 0;
  for (int64_t k = 0; k < dim; ++k) {
    v[size_t(k)] = element(*side.x, side.token(i, j) + k);
    n2 += v[size_t(k)] * v[size_t(k)];
  }
  if (c.spec.normalize && n2 > 0) {
    for (double& x : v) x /= std::sqrt(n2);
  }
  return v;
}

int64_t num_outputs(const Case& c) {
  int64_t n = 1;
  for (int64_t s : c.out_shape) n *= s;
  return n;
}

}  // namespace

int64_t winners_width(const Case& c) {
  return c.spec.lq_max;
}

std::vector<int64_t> winners_shape(const Case& c) {
  std::vector<int64_t> s = c.out_shape;
  s.push_back(winners_width(c));
  return s;
}

HostTensor make_grad_like(const HostTensor& input, bool strided, uint64_t seed) {
  std::mt19937_64 rng(seed);
  HostTensor g;
  if (strided && input.shape.size() >= 2) {
    std::vector<int64_t> phys = input.shape;
    phys.back() += 1 + int64_t(rng() % 4);
    g = make_tensor(input.dtype, phys);
    g.shape = input.shape;
    g.offset = int64_t(rng() % 2);
  } else {
    g = make_tensor(input.dtype, input.shape);
  }
  const int64_t total = int64_t(g.bytes.size()) / dtype_size(g.dtype);
  for (int64_t i = 0; i < total; ++i) {
    std::byte* p = g.bytes.data() + i * dtype_size(g.dtype);
    const double v = 12345.0;  // poison: never a gradient of these inputs
    switch (g.dtype) {
      case DType::float32: {
        const float f = float(v);
        std::memcpy(p, &f, 4);
        break;
      }
      case DType::float16: {
        const uint16_t h = detail::float_to_half(float(v));
        std::memcpy(p, &h, 2);
        break;
      }
      default: {
        const uint16_t h = detail::float_to_bf16(float(v));
        std::memcpy(p, &h, 2);
        break;
      }
    }
  }
  return g;
}

HostTensor make_grad_out(const Case& c, uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  HostTensor g = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < g.numel(); ++i) set_value(g, i, rng() % 11 == 0 ? 0.0 : u(rng));
  return g;
}

std::vector<double> read_logical(const HostTensor& t) {
  std::vector<double> v;
  v.reserve(size_t(t.numel()));
  const size_t rank = t.shape.size();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t n = 0; n < t.numel(); ++n) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d) at += idx[d] * t.strides[d];
    v.push_back(element(t, at));
    for (int d = int(rank) - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < t.shape[size_t(d)]) break;
      idx[size_t(d)] = 0;
    }
  }
  return v;
}

std::vector<int64_t> read_winners(const HostTensor& w) {
  std::vector<int64_t> v(size_t(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) v[size_t(i)] = int64_t(element(w, i));
  return v;
}

void run_forward(const Case& c, const Placer& place, const TensorView& out,
                 const TensorView& winners, const Options& options) {
  Masks masks{place(c.q_mask), place(c.d_mask)};
  switch (c.spec.layout) {
    case Layout::cross:
    case Layout::candidates:
      maxsim_forward(place(c.Q), place(c.D), out, winners, masks, options);
      break;
    case Layout::pairs:
      maxsim_pairs_forward(place(c.Q), place(c.D), out, winners, masks, options);
      break;
    case Layout::packed:
      maxsim_packed_forward(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d), out, winners,
                            masks, options);
      break;
    case Layout::packed_pairs:
      maxsim_packed_pairs_forward(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d),
                                  place(c.pair_q), place(c.pair_d), out, winners, masks, options);
      break;
  }
}

void run_backward(const Case& c, const Placer& place, const TensorView& grad_out,
                  const TensorView& winners, const TensorView& grad_Q, const TensorView& grad_D,
                  const Options& options, BackwardStrategy strategy) {
  Masks masks{place(c.q_mask), place(c.d_mask)};
  switch (c.spec.layout) {
    case Layout::cross:
    case Layout::candidates:
      maxsim_backward(place(c.Q), place(c.D), grad_out, winners, grad_Q, grad_D, masks, options,
                      strategy);
      break;
    case Layout::pairs:
      maxsim_pairs_backward(place(c.Q), place(c.D), grad_out, winners, grad_Q, grad_D, masks,
                            options, strategy);
      break;
    case Layout::packed:
      maxsim_packed_backward(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d), grad_out,
                             winners, grad_Q, grad_D, masks, options, strategy);
      break;
    case Layout::packed_pairs:
      maxsim_packed_pairs_backward(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d),
                                   place(c.pair_q), place(c.pair_d), grad_out, winners, grad_Q,
                                   grad_D, masks, options, strategy);
      break;
  }
}

ForwardResult host_forward(const Case& c, Backend backend, DType winners_dtype, int threads) {
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) set_value(out, i, kPoison);
  HostTensor w = make_tensor(winners_dtype, winners_shape(c));
  for (int64_t i = 0; i < w.numel(); ++i) set_value(w, i, 7777);
  Options o = c.options();
  o.backend = backend;
  o.num_threads = threads;
  run_forward(c, place_on_host, out.view(), w.view(), o);
  return {read_floats(out), read_winners(w)};
}

Gradients host_backward(const Case& c, Backend backend, const HostTensor& grad_out,
                        const std::vector<int64_t>& winners, int threads,
                        BackwardStrategy strategy) {
  HostTensor w;
  if (!winners.empty() || num_outputs(c) * winners_width(c) == 0) {
    w = make_tensor(DType::int32, winners_shape(c));
    for (size_t i = 0; i < winners.size(); ++i) set_value(w, int64_t(i), double(winners[i]));
  }
  HostTensor gq = make_grad_like(c.Q, c.spec.strided, c.spec.seed + 1);
  HostTensor gd = make_grad_like(c.D, c.spec.strided, c.spec.seed + 2);
  Options o = c.options();
  o.backend = backend;
  o.num_threads = threads;
  run_backward(c, place_on_host, grad_out.view(), w.view(), gq.view(), gd.view(), o, strategy);
  return {read_logical(gq), read_logical(gd)};
}

double similarity(const Case& c, int64_t o, int64_t t, int64_t s) {
  int64_t qi = 0, di = 0;
  pair_of(c, o, qi, di);
  const std::vector<double> a = vector_of(c, query_side(c), qi, t);
  const std::vector<double> b = vector_of(c, document_side(c), di, s);
  double dot = 0;
  for (size_t k = 0; k < a.size(); ++k) dot += a[k] * b[k];
  return dot;
}

std::string compare_winners(const Case& c, const std::vector<int64_t>& got,
                            const std::vector<int64_t>& want, double tol) {
  if (got.size() != want.size()) {
    return "winners size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
  }
  const int64_t width = winners_width(c);
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) continue;
    const int64_t o = int64_t(i) / std::max<int64_t>(width, 1), t = int64_t(i) % width;
    auto sim = [&](int64_t s) { return s < 0 ? 0.0 : similarity(c, o, t, s); };
    const double a = sim(got[i]), b = sim(want[i]);
    // A near tie between two candidates (or a candidate and a masked 0) may go either way
    // after fp32 rounding; anything else is a wrong winner.
    const double scale = c.spec.normalize ? 1.0 : double(c.spec.dim);
    const bool masked_vs_valid = (got[i] < 0) != (want[i] < 0);
    const bool no_winner_allowed = !masked_vs_valid || c.spec.mode == MaskMode::zero;
    if (!(std::isfinite(a) && std::isfinite(b) && std::fabs(a - b) <= tol * scale &&
          no_winner_allowed)) {
      std::ostringstream s;
      s << "winner [output " << o << ", token " << t << "]: got " << got[i] << " (similarity " << a
        << "), want " << want[i] << " (similarity " << b << ")";
      return s.str();
    }
  }
  return "";
}

std::string compare_gradients(const std::vector<double>& got, const std::vector<double>& want,
                              double tol) {
  if (got.size() != want.size()) {
    return "size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
  }
  double scale = 1.0;
  for (double w : want) {
    if (std::isfinite(w)) scale = std::max(scale, std::fabs(w));
  }
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool gn = std::isnan(got[i]), wn = std::isnan(want[i]);
    std::ostringstream s;
    s << "element " << i << ": got " << got[i] << ", want " << want[i];
    if (gn != wn) return s.str() + " (NaN mismatch)";
    if (gn) continue;
    const double err = std::fabs(got[i] - want[i]);
    if (!(err <= tol * scale)) {
      if (err > worst || std::isnan(err)) worst = err, worst_at = i;
    }
  }
  if (worst > 0) {
    std::ostringstream s;
    s << "max error " << worst << " at element " << worst_at << " (got " << got[worst_at]
      << ", want " << want[worst_at] << ") exceeds " << tol << " x " << scale;
    return s.str();
  }
  return "";
}

namespace {

std::string masked_zero(const Case& c, const Side& side, const std::vector<double>& g,
                        const char* name) {
  const int64_t dim = c.spec.dim;
  const int64_t count =
      side.packed()
          ? side.cu->numel() - 1
          : side.x->numel() / std::max<int64_t>(side.x->shape[side.x->shape.size() - 2] * dim, 1);
  std::vector<uint8_t> covered(g.size() / size_t(std::max<int64_t>(dim, 1)), 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t len = side.length(i);
    for (int64_t j = 0; j < len; ++j) {
      const int64_t row = side.packed() ? side.cu_at(i) + j : i * len + j;
      covered[size_t(row)] = 1;
      if (side.valid(i, j)) continue;
      for (int64_t k = 0; k < dim; ++k) {
        if (g[size_t(row * dim + k)] != 0) {
          return std::string(name) + ": masked token " + std::to_string(j) + " of sequence " +
                 std::to_string(i) + " has gradient " + std::to_string(g[size_t(row * dim + k)]);
        }
      }
    }
  }
  for (size_t row = 0; row < covered.size(); ++row) {
    for (int64_t k = 0; k < dim && !covered[row]; ++k) {
      if (g[row * size_t(dim) + size_t(k)] != 0) {
        return std::string(name) + ": row " + std::to_string(row) +
               " outside every sequence is not 0";
      }
    }
  }
  return "";
}

}  // namespace

std::string check_masked_zero(const Case& c, const Gradients& g) {
  if (std::string e = masked_zero(c, query_side(c), g.dQ, "grad_Q"); !e.empty()) return e;
  return masked_zero(c, document_side(c), g.dD, "grad_D");
}

double gradient_tolerance(const CaseSpec& spec) {
  return spec.q_dtype == DType::float32 && spec.d_dtype == DType::float32 ? 1e-5 : 1e-2;
}

}  // namespace colmax::test
