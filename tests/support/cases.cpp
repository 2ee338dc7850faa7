#include "support/cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/scalar.hpp"

namespace colmax::test {

using detail::float_to_bf16;
using detail::float_to_half;

TensorView HostTensor::view() const {
  if (!present) return {};
  const std::byte* base = bytes.data() + offset * dtype_size(dtype);
  return TensorView(base, dtype, std::span<const int64_t>(shape),
                    std::span<const int64_t>(strides));
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

HostTensor make_tensor(DType dtype, std::vector<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.strides.assign(t.shape.size(), 1);
  for (int i = int(t.shape.size()) - 2; i >= 0; --i) {
    t.strides[size_t(i)] = t.strides[size_t(i + 1)] * std::max<int64_t>(t.shape[size_t(i + 1)], 1);
  }
  t.bytes.assign(size_t(std::max<int64_t>(t.numel(), 1) * dtype_size(dtype)), std::byte{0});
  t.present = true;
  return t;
}

void set_value(HostTensor& t, int64_t at, double v) {
  std::byte* p = t.bytes.data() + (t.offset + at) * dtype_size(t.dtype);
  switch (t.dtype) {
    case DType::float32: {
      float f = float(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::float64:
      std::memcpy(p, &v, 8);
      break;
    case DType::float16: {
      uint16_t h = float_to_half(float(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::bfloat16: {
      uint16_t h = float_to_bf16(float(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::boolean:
    case DType::uint8:
      *reinterpret_cast<uint8_t*>(p) = uint8_t(v);
      break;
    case DType::int8:
      *reinterpret_cast<int8_t*>(p) = int8_t(v);
      break;
    case DType::int16: {
      int16_t i = int16_t(v);
      std::memcpy(p, &i, 2);
      break;
    }
    case DType::int32: {
      int32_t i = int32_t(v);
      std::memcpy(p, &i, 4);
      break;
    }
    case DType::int64: {
      int64_t i = int64_t(v);
      std::memcpy(p, &i, 8);
      break;
    }
  }
}

std::vector<float> read_floats(const HostTensor& t) {
  std::vector<float> v(size_t(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data() + t.offset * 4, v.size() * 4);
  return v;
}

TensorView place_on_host(const HostTensor& t) {
  return t.view();
}

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::cross:
      return "cross";
    case Layout::candidates:
      return "candidates";
    case Layout::pairs:
      return "pairs";
    case Layout::packed:
      return "packed";
    case Layout::packed_pairs:
      return "packed_pairs";
  }
  return "?";
}

namespace {

const char* mask_kind_name(MaskKind m) {
  switch (m) {
    case MaskKind::none:
      return "none";
    case MaskKind::padding:
      return "padding";
    case MaskKind::holes:
      return "holes";
    case MaskKind::fully_masked:
      return "fully_masked";
  }
  return "?";
}

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

bool chance(std::mt19937_64& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

template <class T>
T pick(std::mt19937_64& rng, std::initializer_list<T> options) {
  return *(options.begin() + uniform(rng, 0, int64_t(options.size()) - 1));
}

// Which tokens of one sequence of length `len` are valid under a mask kind.
std::vector<uint8_t> draw_valid(std::mt19937_64& rng, MaskKind kind, int64_t len) {
  std::vector<uint8_t> valid(size_t(len), 1);
  if (kind == MaskKind::none || len == 0) return valid;
  if (kind == MaskKind::fully_masked && chance(rng, 0.4)) {
    std::fill(valid.begin(), valid.end(), 0);
    return valid;
  }
  const int64_t keep = uniform(rng, 0, len);  // right padding beyond `keep`
  for (int64_t j = keep; j < len; ++j) valid[size_t(j)] = 0;
  if (kind != MaskKind::padding) {
    for (int64_t j = 0; j < keep; ++j) valid[size_t(j)] = chance(rng, 0.2) ? 0 : 1;
  }
  return valid;
}

// Fills a sequence's tokens: random values in [-1, 1] for valid tokens, garbage (NaN, huge
// values) for masked ones, which no backend may read.
void fill_tokens(std::mt19937_64& rng, HostTensor& t, int64_t begin, int64_t token_stride,
                 int64_t dim, const std::vector<uint8_t>& valid, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  for (size_t j = 0; j < valid.size(); ++j) {
    const int64_t row = begin + int64_t(j) * token_stride;
    for (int64_t k = 0; k < dim; ++k) {
      double v = valid[j] ? u(rng) : (k % 2 ? std::numeric_limits<double>::quiet_NaN() : 6.0e4);
      set_value(t, row + k, v);
    }
  }
}

void write_mask(HostTensor& m, int64_t begin, int64_t stride, const std::vector<uint8_t>& valid) {
  for (size_t j = 0; j < valid.size(); ++j) {
    set_value(m, begin + int64_t(j) * stride, valid[j] ? 1.0 : 0.0);
  }
}

// A padded [n..., L, dim] embedding tensor, optionally viewed through padded token strides.
HostTensor padded_embeddings(DType dtype, std::vector<int64_t> shape, bool strided,
                             std::mt19937_64& rng) {
  if (!strided) return make_tensor(dtype, std::move(shape));
  const int64_t pad = uniform(rng, 1, 5);
  std::vector<int64_t> phys = shape;
  phys.back() += pad;
  HostTensor t = make_tensor(dtype, phys);
  t.shape = shape;  // same strides, narrower last dimension
  t.offset = uniform(rng, 0, pad);
  return t;
}

void poison_nan_tokens(std::mt19937_64& rng, HostTensor& t, int64_t count,
                       const std::function<int64_t(int64_t)>& valid_token_offset,
                       int64_t valid_tokens, int64_t dim) {
  for (int64_t i = 0; i < count && valid_tokens > 0; ++i) {
    const int64_t tok = uniform(rng, 0, valid_tokens - 1);
    set_value(t, valid_token_offset(tok) + uniform(rng, 0, dim - 1),
              std::numeric_limits<double>::quiet_NaN());
  }
}

}  // namespace

std::string CaseSpec::describe() const {
  std::ostringstream s;
  s << layout_name(layout) << " nq=" << nq << " nd=" << nd;
  if (layout == Layout::packed_pairs) s << " np=" << np;
  s << " lq=" << lq_min << ".." << lq_max << " ld=" << ld_min << ".." << ld_max << " dim=" << dim
    << " q=" << dtype_name(q_dtype) << " d=" << dtype_name(d_dtype)
    << " q_mask=" << mask_kind_name(q_mask) << " d_mask=" << mask_kind_name(d_mask) << "("
    << dtype_name(mask_dtype) << ") mode=" << (mode == MaskMode::zero ? "zero" : "exclude")
    << " normalize=" << normalize << " strided=" << strided << " nan_tokens=" << nan_tokens
    << " negative=" << negative << " seed=" << seed;
  return s.str();
}

CaseSpec random_spec(std::mt19937_64& rng, uint64_t seed) {
  CaseSpec s;
  s.seed = seed;
  s.layout = pick(rng, {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed,
                        Layout::packed_pairs});
  s.dim = pick<int64_t>(rng, {1, 3, 48, 64, 96, 100, 128, 256});
  s.lq_max = chance(rng, 0.03) ? 0 : uniform(rng, 1, 64);
  s.lq_min = s.layout >= Layout::packed ? uniform(rng, 0, s.lq_max) : s.lq_max;
  s.ld_max =
      chance(rng, 0.03) ? 0 : (chance(rng, 0.5) ? uniform(rng, 1, 48) : uniform(rng, 1, 600));
  s.ld_min = s.layout >= Layout::packed ? uniform(rng, 0, s.ld_max) : s.ld_max;
  // Keep the float64 reference around 1e7 multiply-adds per case.
  const double per_pair = double(std::max<int64_t>(s.lq_max, 1)) *
                          double(std::max<int64_t>(s.ld_max, 1)) * double(s.dim);
  const int64_t max_pairs = std::max<int64_t>(1, int64_t(1.2e7 / per_pair));
  auto batch = [&](int64_t cap) { return chance(rng, 0.05) ? 0 : uniform(rng, 1, cap); };
  s.nq = batch(std::min<int64_t>(6, max_pairs));
  s.nd = batch(std::max<int64_t>(1, std::min<int64_t>(24, max_pairs / std::max<int64_t>(s.nq, 1))));
  if (s.layout == Layout::pairs) s.nd = s.nq;
  if (s.layout == Layout::packed_pairs) {
    s.np = (s.nq == 0 || s.nd == 0) ? 0 : batch(std::min<int64_t>(32, max_pairs));
  }
  s.q_dtype = pick(rng, {DType::float32, DType::float16, DType::bfloat16});
  s.d_dtype =
      chance(rng, 0.7) ? s.q_dtype : pick(rng, {DType::float32, DType::float16, DType::bfloat16});
  s.q_mask = pick(rng, {MaskKind::none, MaskKind::none, MaskKind::padding, MaskKind::holes});
  s.d_mask = pick(rng, {MaskKind::none, MaskKind::none, MaskKind::padding, MaskKind::holes,
                        MaskKind::fully_masked});
  s.mask_dtype =
      pick(rng, {DType::boolean, DType::uint8, DType::int32, DType::int64, DType::float32});
  s.mode = chance(rng, 0.5) ? MaskMode::zero : MaskMode::exclude;
  s.normalize = chance(rng, 0.5);
  s.strided = s.layout < Layout::packed && chance(rng, 0.3);
  s.negative = chance(rng, 0.3);
  return s;
}

std::vector<CaseSpec> edge_specs(bool gpu_extras) {
  std::vector<CaseSpec> specs;
  auto add = [&](CaseSpec s) {
    s.seed = 1000 + specs.size();
    specs.push_back(s);
  };
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      CaseSpec s;
      s.layout = layout;
      s.q_dtype = s.d_dtype = dt;
      s.np = 5;
      // Lq = 1, Ld = 1
      s.nq = 3;
      s.nd = 4;
      s.lq_min = s.lq_max = 1;
      s.ld_min = s.ld_max = 1;
      s.dim = 128;
      add(s);
      // empty batches
      s.nq = 0;
      s.nd = 3;
      s.np = 0;
      s.lq_min = s.lq_max = 8;
      s.ld_min = s.ld_max = 8;
      add(s);
      s.nq = 2;
      s.nd = 0;
      add(s);
      // Lq = 0 and Ld = 0
      s.nq = 2;
      s.nd = 3;
      s.np = 4;
      s.lq_min = s.lq_max = 0;
      add(s);
      s.lq_min = s.lq_max = 5;
      s.ld_min = s.ld_max = 0;
      add(s);
      // fully masked documents, both modes, odd dims
      for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
        for (int64_t dim : {1, 3, 100}) {
          s.ld_min = 0;
          s.ld_max = 37;
          s.lq_min = 0;
          s.lq_max = 17;
          s.dim = dim;
          s.d_mask = MaskKind::fully_masked;
          s.q_mask = MaskKind::holes;
          s.mode = mode;
          s.normalize = dim != 100;
          add(s);
        }
      }
      s.d_mask = s.q_mask = MaskKind::none;
      s.normalize = false;
      // NaN in valid tokens
      s.nq = 3;
      s.nd = 5;
      s.lq_min = s.lq_max = 8;
      s.ld_min = s.ld_max = 20;
      s.dim = 64;
      s.nan_tokens = 2;
      add(s);
      s.nan_tokens = 0;
      // long documents
      s.nq = 2;
      s.nd = 2;
      s.np = 3;
      s.lq_min = s.lq_max = 32;
      s.ld_min = 1000;
      s.ld_max = 1200;
      s.dim = 96;
      add(s);
      if (gpu_extras) {
        // Embeddings longer than one 128-byte k-chunk, odd and even.
        for (int64_t dim : {8, 200, 264, 520}) {
          s.nq = 3;
          s.nd = 3;
          s.np = 4;
          s.lq_min = 1;
          s.lq_max = 40;
          s.ld_min = 1;
          s.ld_max = 70;
          s.dim = dim;
          s.normalize = dim % 16 != 0;
          s.d_mask = MaskKind::holes;
          add(s);
        }
        s.d_mask = MaskKind::none;
        s.normalize = false;
        // Many short queries stacked, odd query length; NaN inside.
        s.nq = 37;
        s.nd = 9;
        s.np = 40;
        s.lq_min = s.lq_max = 7;
        s.ld_min = s.ld_max = 33;
        s.dim = 48;
        s.nan_tokens = 1;
        add(s);
        s.nan_tokens = 0;
      }
    }
  }
  return specs;
}

Options Case::options() const {
  Options o;
  o.mask_mode = spec.mode;
  o.normalize = spec.normalize;
  return o;
}

Case make_case(const CaseSpec& spec) {
  Case c;
  c.spec = spec;
  std::mt19937_64 rng(spec.seed * 0x9E3779B97F4A7C15ull + 17);
  const int64_t dim = spec.dim;
  const DType index_dtype = chance(rng, 0.5) ? DType::int32 : DType::int64;

  // Value ranges: by default both sides in [-1, 1]; `negative` makes every dot product <= 0
  // so that the two mask modes give different scores.
  const double q_lo = spec.negative ? 0.0 : -1.0, q_hi = 1.0;
  const double d_lo = -1.0, d_hi = spec.negative ? 0.0 : 1.0;
  bool query_side = true;
  auto padded_side = [&](HostTensor& X, HostTensor& M, DType dtype, std::vector<int64_t> lead,
                         int64_t len, MaskKind kind) {
    const double lo = query_side ? q_lo : d_lo, hi = query_side ? q_hi : d_hi;
    query_side = false;
    std::vector<int64_t> shape = lead;
    shape.push_back(len);
    shape.push_back(dim);
    X = padded_embeddings(dtype, shape, spec.strided, rng);
    int64_t seqs = 1;
    for (int64_t n : lead) seqs *= n;
    if (kind != MaskKind::none) {
      std::vector<int64_t> mshape = lead;
      mshape.push_back(len);
      M = make_tensor(spec.mask_dtype, mshape);
    }
    std::vector<int64_t> valid_offsets;
    const int64_t token_stride = X.strides[X.strides.size() - 2];
    for (int64_t i = 0; i < seqs; ++i) {
      // sequence i's first token: row-major over the lead dimensions
      int64_t begin = 0, rem = i;
      for (int d = int(lead.size()) - 1; d >= 0; --d) {
        begin += (rem % lead[size_t(d)]) * X.strides[size_t(d)];
        rem /= lead[size_t(d)];
      }
      auto valid = draw_valid(rng, kind, len);
      fill_tokens(rng, X, begin, token_stride, dim, valid, lo, hi);
      if (M.present) write_mask(M, i * len, 1, valid);
      for (int64_t j = 0; j < len; ++j) {
        if (valid[size_t(j)]) valid_offsets.push_back(begin + j * token_stride);
      }
    }
    return valid_offsets;
  };

  auto packed_side = [&](HostTensor& X, HostTensor& cu, HostTensor& M, DType dtype, int64_t n,
                         int64_t lmin, int64_t lmax, MaskKind kind) {
    const double lo = query_side ? q_lo : d_lo, hi = query_side ? q_hi : d_hi;
    query_side = false;
    std::vector<int64_t> lens(static_cast<size_t>(n));
    int64_t total = 0;
    for (auto& l : lens) total += (l = uniform(rng, lmin, lmax));
    X = make_tensor(dtype, {total, dim});
    cu = make_tensor(index_dtype, {n + 1});
    if (kind != MaskKind::none) M = make_tensor(spec.mask_dtype, {total});
    std::vector<int64_t> valid_offsets;
    int64_t at = 0;
    set_value(cu, 0, 0);
    for (int64_t i = 0; i < n; ++i) {
      auto valid = draw_valid(rng, kind, lens[size_t(i)]);
      fill_tokens(rng, X, at * dim, dim, dim, valid, lo, hi);
      if (M.present) write_mask(M, at, 1, valid);
      for (int64_t j = 0; j < lens[size_t(i)]; ++j) {
        if (valid[size_t(j)]) valid_offsets.push_back((at + j) * dim);
      }
      at += lens[size_t(i)];
      set_value(cu, i + 1, double(at));
    }
    return valid_offsets;
  };

  std::vector<int64_t> q_valid, d_valid;
  switch (spec.layout) {
    case Layout::cross:
      q_valid = padded_side(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask);
      d_valid = padded_side(c.D, c.d_mask, spec.d_dtype, {spec.nd}, spec.ld_max, spec.d_mask);
      c.out_shape = {spec.nq, spec.nd};
      break;
    case Layout::candidates:
      q_valid = padded_side(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask);
      d_valid =
          padded_side(c.D, c.d_mask, spec.d_dtype, {spec.nq, spec.nd}, spec.ld_max, spec.d_mask);
      c.out_shape = {spec.nq, spec.nd};
      break;
    case Layout::pairs:
      q_valid = padded_side(c.Q, c.q_mask, spec.q_dtype, {spec.nq}, spec.lq_max, spec.q_mask);
      d_valid = padded_side(c.D, c.d_mask, spec.d_dtype, {spec.nq}, spec.ld_max, spec.d_mask);
      c.out_shape = {spec.nq};
      break;
    case Layout::packed:
    case Layout::packed_pairs:
      q_valid = packed_side(c.Q, c.cu_q, c.q_mask, spec.q_dtype, spec.nq, spec.lq_min, spec.lq_max,
                            spec.q_mask);
      d_valid = packed_side(c.D, c.cu_d, c.d_mask, spec.d_dtype, spec.nd, spec.ld_min, spec.ld_max,
                            spec.d_mask);
      c.out_shape = {spec.nq, spec.nd};
      if (spec.layout == Layout::packed_pairs) {
        c.pair_q = make_tensor(index_dtype, {spec.np});
        c.pair_d = make_tensor(index_dtype, {spec.np});
        for (int64_t p = 0; p < spec.np; ++p) {
          set_value(c.pair_q, p, double(uniform(rng, 0, spec.nq - 1)));
          set_value(c.pair_d, p, double(uniform(rng, 0, spec.nd - 1)));
        }
        c.out_shape = {spec.np};
      }
      break;
  }
  if (spec.nan_tokens > 0) {
    poison_nan_tokens(
        rng, c.Q, spec.nan_tokens / 2 + spec.nan_tokens % 2,
        [&](int64_t t) { return q_valid[size_t(t)]; }, int64_t(q_valid.size()), dim);
    poison_nan_tokens(
        rng, c.D, spec.nan_tokens / 2, [&](int64_t t) { return d_valid[size_t(t)]; },
        int64_t(d_valid.size()), dim);
  }
  return c;
}

void run_case(const Case& c, const Placer& place, const TensorView& out, const Options& options) {
  Masks masks{place(c.q_mask), place(c.d_mask)};
  switch (c.spec.layout) {
    case Layout::cross:
    case Layout::candidates:
      maxsim(place(c.Q), place(c.D), out, masks, options);
      break;
    case Layout::pairs:
      maxsim_pairs(place(c.Q), place(c.D), out, masks, options);
      break;
    case Layout::packed:
      maxsim_packed(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d), out, masks, options);
      break;
    case Layout::packed_pairs:
      maxsim_packed_pairs(place(c.Q), place(c.cu_q), place(c.D), place(c.cu_d), place(c.pair_q),
                          place(c.pair_d), out, masks, options);
      break;
  }
}

std::vector<float> reference_scores(const Case& c) {
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) set_value(out, i, kPoison);
  Options o = c.options();
  o.backend = Backend::reference;
  run_case(c, place_on_host, out.view(), o);
  return read_floats(out);
}

std::string compare_scores(const std::vector<float>& got, const std::vector<float>& want,
                           double tol) {
  if (got.size() != want.size()) {
    return "size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
  }
  double scale = 1.0;
  for (float w : want) {
    if (std::isfinite(w)) scale = std::max(scale, double(std::fabs(w)));
  }
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool gn = std::isnan(got[i]), wn = std::isnan(want[i]);
    if (gn != wn) {
      std::ostringstream s;
      s << "element " << i << ": got " << got[i] << ", want " << want[i];
      return s.str();
    }
    if (gn) continue;
    if (std::isinf(want[i]) || std::isinf(got[i])) {
      if (got[i] != want[i]) {
        std::ostringstream s;
        s << "element " << i << ": got " << got[i] << ", want " << want[i];
        return s.str();
      }
      continue;
    }
    const double err = std::fabs(double(got[i]) - double(want[i]));
    if (err > worst) worst = err, worst_at = i;
  }
  if (worst > tol * scale) {
    std::ostringstream s;
    s << "max error " << worst << " at element " << worst_at << " (got " << got[worst_at]
      << ", want " << want[worst_at] << ") exceeds " << tol << " x " << scale;
    return s.str();
  }
  return "";
}

double tolerance(const CaseSpec& spec) {
  return spec.q_dtype == DType::float32 && spec.d_dtype == DType::float32 ? 1e-5 : 1e-2;
}

}  // namespace colmax::test
