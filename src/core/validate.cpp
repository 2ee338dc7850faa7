#include "core/validate.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "colmax/error.hpp"
#include "colmax/runtime.hpp"

namespace colmax::detail {
namespace {

[[noreturn]] void fail(ErrorKind kind, const char* fn, const char* arg, const std::string& what) {
  throw Error(kind, std::string("colmax.") + fn + ": " + arg + ": " + what);
}

std::string shape_string(std::initializer_list<int64_t> shape) {
  std::string s = "[";
  bool first = true;
  for (int64_t v : shape) {
    if (!first) s += ", ";
    s += std::to_string(v);
    first = false;
  }
  return s + "]";
}

void expect_present(const char* fn, const char* arg, const TensorView& t) {
  if (!t.present()) fail(ErrorKind::value, fn, arg, "is required but was not given");
}

void expect_rank(const char* fn, const char* arg, const TensorView& t, int rank,
                 const char* layout) {
  expect_present(fn, arg, t);
  if (t.rank() != rank) {
    fail(ErrorKind::shape, fn, arg,
         "expected rank " + std::to_string(rank) + " " + layout + ", got " + t.describe());
  }
}

void expect_embedding(const char* fn, const char* arg, const TensorView& t) {
  DType d = t.dtype();
  if (d != DType::float32 && d != DType::float16 && d != DType::bfloat16) {
    fail(ErrorKind::dtype, fn, arg,
         std::string("expected float32, float16 or bfloat16, got ") + dtype_name(d));
  }
  int last = t.rank() - 1;
  if (t.size(last) == 0) {
    fail(ErrorKind::shape, fn, arg, "the embedding dimension is 0 (got " + t.describe() + ")");
  }
  if (t.size(last) > 1 && t.stride(last) != 1) {
    fail(ErrorKind::layout, fn, arg,
         "the last (embedding) dimension must be contiguous (stride 1), got stride " +
             std::to_string(t.stride(last)) + " for " + t.describe());
  }
}

void expect_same_dim(const char* fn, const TensorView& Q, const TensorView& D) {
  int64_t dq = Q.size(Q.rank() - 1), dd = D.size(D.rank() - 1);
  if (dq != dd) {
    fail(ErrorKind::shape, fn, "D",
         "embedding dimension " + std::to_string(dd) + " does not match Q's " + std::to_string(dq) +
             " (Q " + Q.describe() + ", D " + D.describe() + ")");
  }
}

void expect_shape(const char* fn, const char* arg, const TensorView& t,
                  std::initializer_list<int64_t> shape, const char* layout) {
  expect_present(fn, arg, t);
  bool ok = t.rank() == int(shape.size());
  if (ok) {
    int i = 0;
    for (int64_t s : shape) ok = ok && t.size(i++) == s;
  }
  if (!ok) {
    fail(ErrorKind::shape, fn, arg,
         "expected shape " + shape_string(shape) + " " + layout + ", got " + t.describe());
  }
}

void expect_dtype(const char* fn, const char* arg, const TensorView& t, DType dtype) {
  if (t.dtype() != dtype) {
    fail(ErrorKind::dtype, fn, arg,
         std::string("expected ") + dtype_name(dtype) + ", got " + dtype_name(t.dtype()));
  }
}

void expect_index(const char* fn, const char* arg, const TensorView& t) {
  if (t.dtype() != DType::int32 && t.dtype() != DType::int64) {
    fail(ErrorKind::dtype, fn, arg,
         std::string("expected int32 or int64, got ") + dtype_name(t.dtype()));
  }
}

void expect_mask_dtype(const char* fn, const char* arg, const TensorView& t) {
  switch (t.dtype()) {
    case DType::boolean:
    case DType::uint8:
    case DType::int8:
    case DType::int32:
    case DType::int64:
    case DType::float16:
    case DType::bfloat16:
    case DType::float32:
      return;
    default:
      fail(ErrorKind::dtype, fn, arg,
           std::string("expected a bool, integer or float mask, got ") + dtype_name(t.dtype()));
  }
}

// All present tensors must share Q's device.
void expect_one_device(const char* fn, const TensorView& Q,
                       std::initializer_list<std::pair<const char*, const TensorView*>> others) {
  for (auto [name, t] : others) {
    if (t->present() && !(t->device() == Q.device())) {
      fail(ErrorKind::device, fn, name,
           "is on " + device_name(t->device()) + " but Q is on " + device_name(Q.device()));
    }
  }
}

void check_options(const char* fn, const Options& o) {
  if (o.num_threads < 0) {
    fail(ErrorKind::value, fn, "options.num_threads",
         "expected >= 0 (0 = automatic), got " + std::to_string(o.num_threads));
  }
  if (o.mask_mode != MaskMode::exclude && o.mask_mode != MaskMode::zero) {
    fail(ErrorKind::value, fn, "options.mask_mode", "expected exclude or zero");
  }
}

const std::byte* bytes(const TensorView& t) {
  return static_cast<const std::byte*>(t.data());
}

// [N, L, dim] padded sequences (or [Nq, K, L, dim] when rank 4).
void fill_padded(SeqSet& s, const TensorView& t) {
  s.data = bytes(t);
  s.dtype = t.dtype();
  s.dim = t.size(t.rank() - 1);
  if (t.rank() == 3) {
    s.count = t.size(0);
    s.length = t.size(1);
    s.inner = 1;
    s.outer_stride = t.stride(0);
    s.inner_stride = 0;
    s.token_stride = t.stride(1);
  } else {
    s.count = t.size(0) * t.size(1);
    s.length = t.size(2);
    s.inner = std::max<int64_t>(t.size(1), 1);
    s.outer_stride = t.stride(0);
    s.inner_stride = t.stride(1);
    s.token_stride = t.stride(2);
  }
}

void fill_padded_mask(SeqSet& s, const TensorView& m) {
  s.mask = bytes(m);
  s.mask_dtype = m.dtype();
  if (m.rank() == 2) {
    s.mask_outer_stride = m.stride(0);
    s.mask_inner_stride = 0;
    s.mask_token_stride = m.stride(1);
  } else {
    s.mask_outer_stride = m.stride(0);
    s.mask_inner_stride = m.stride(1);
    s.mask_token_stride = m.stride(2);
  }
}

// Reads an int32/int64 CPU tensor of rank 1 into int64.
std::vector<int64_t> read_indices(const TensorView& t) {
  std::vector<int64_t> v(size_t(t.size(0)));
  for (int64_t i = 0; i < t.size(0); ++i) {
    const std::byte* p = bytes(t) + i * t.stride(0) * dtype_size(t.dtype());
    v[size_t(i)] = t.dtype() == DType::int32 ? int64_t(*reinterpret_cast<const int32_t*>(p))
                                             : *reinterpret_cast<const int64_t*>(p);
  }
  return v;
}

// Packed [T, dim] tokens split by cu_seqlens [N + 1].
void fill_packed(SeqSet& s, std::vector<int64_t>& storage, const char* fn, const char* cu_arg,
                 const TensorView& t, const TensorView& cu) {
  expect_present(fn, cu_arg, cu);
  if (cu.rank() != 1 || cu.size(0) < 1) {
    fail(ErrorKind::shape, fn, cu_arg,
         "expected rank 1 [N + 1] with at least one entry, got " + cu.describe());
  }
  expect_index(fn, cu_arg, cu);
  s.data = bytes(t);
  s.dtype = t.dtype();
  s.dim = t.size(1);
  s.count = cu.size(0) - 1;
  s.token_stride = t.stride(0);
  s.total_tokens = t.size(0);
  if (cu.device().kind == DeviceKind::cpu) {
    storage = read_indices(cu);
    if (storage[0] != 0) {
      fail(ErrorKind::value, fn, cu_arg, "must start at 0, got " + std::to_string(storage[0]));
    }
    for (size_t i = 1; i < storage.size(); ++i) {
      if (storage[i] < storage[i - 1]) {
        fail(ErrorKind::value, fn, cu_arg,
             "must be non-decreasing, but entry " + std::to_string(i) + " (" +
                 std::to_string(storage[i]) + ") is below entry " + std::to_string(i - 1) + " (" +
                 std::to_string(storage[i - 1]) + ")");
      }
    }
    if (storage.back() > t.size(0)) {
      fail(ErrorKind::value, fn, cu_arg,
           "ends at " + std::to_string(storage.back()) + ", past the " + std::to_string(t.size(0)) +
               " tokens of its tensor");
    }
    s.cu = storage.data();
    s.cu_dtype = DType::int64;
  } else {
    // Device-resident offsets are checked (and clamped) by the CUDA kernels, which
    // cannot report to the host without a synchronisation.
    s.cu = cu.data();
    s.cu_dtype = cu.dtype();
  }
}

void fill_packed_mask(SeqSet& s, const char* fn, const char* arg, const TensorView& m) {
  if (!m.present()) return;
  expect_mask_dtype(fn, arg, m);
  expect_shape(fn, arg, m, {s.total_tokens}, "[tokens]");
  s.mask = bytes(m);
  s.mask_dtype = m.dtype();
  s.mask_token_stride = m.stride(0);
}

void fill_out(Problem& p, const TensorView& out) {
  p.out = static_cast<float*>(out.data());
  p.out_rows = out.size(0);
  p.out_cols = out.rank() == 2 ? out.size(1) : 1;
  p.out_stride0 = out.stride(0);
  p.out_stride1 = out.rank() == 2 ? out.stride(1) : 0;
}

void finish(Problem& p, const TensorView& Q, const Options& options) {
  p.options = options;
  p.device = Q.device();
}

}  // namespace

void build_padded(Problem& p, const char* fn, const TensorView& Q, const TensorView& D,
                  const TensorView& out, const Masks& masks, const Options& options,
                  const char* out_name) {
  check_options(fn, options);
  expect_rank(fn, "Q", Q, 3, "[Nq, Lq, dim]");
  expect_present(fn, "D", D);
  if (D.rank() != 3 && D.rank() != 4) {
    fail(ErrorKind::shape, fn, "D",
         "expected rank 3 [Nd, Ld, dim] or rank 4 [Nq, K, Ld, dim], got " + D.describe());
  }
  expect_embedding(fn, "Q", Q);
  expect_embedding(fn, "D", D);
  expect_same_dim(fn, Q, D);
  expect_one_device(
      fn, Q, {{"D", &D}, {out_name, &out}, {"q_mask", &masks.query}, {"d_mask", &masks.document}});
  const int64_t nq = Q.size(0), lq = Q.size(1);
  fill_padded(p.q, Q);
  fill_padded(p.d, D);
  if (D.rank() == 4) {
    if (D.size(0) != nq) {
      fail(ErrorKind::shape, fn, "D",
           "per-query candidates [Nq, K, Ld, dim] need Nq = " + std::to_string(nq) +
               " (Q's batch), got " + D.describe());
    }
    p.pairing = Pairing::grouped;
    p.group = D.size(1);
    expect_shape(fn, out_name, out, {nq, D.size(1)}, "[Nq, K]");
  } else {
    p.pairing = Pairing::cross;
    expect_shape(fn, out_name, out, {nq, D.size(0)}, "[Nq, Nd]");
  }
  expect_dtype(fn, out_name, out, DType::float32);
  if (masks.query.present()) {
    expect_mask_dtype(fn, "q_mask", masks.query);
    expect_shape(fn, "q_mask", masks.query, {nq, lq}, "[Nq, Lq]");
    fill_padded_mask(p.q, masks.query);
  }
  if (masks.document.present()) {
    expect_mask_dtype(fn, "d_mask", masks.document);
    if (D.rank() == 3) {
      expect_shape(fn, "d_mask", masks.document, {D.size(0), D.size(1)}, "[Nd, Ld]");
    } else {
      expect_shape(fn, "d_mask", masks.document, {D.size(0), D.size(1), D.size(2)}, "[Nq, K, Ld]");
    }
    fill_padded_mask(p.d, masks.document);
  }
  fill_out(p, out);
  finish(p, Q, options);
}

void build_pairs(Problem& p, const char* fn, const TensorView& Q, const TensorView& D,
                 const TensorView& out, const Masks& masks, const Options& options,
                 const char* out_name) {
  check_options(fn, options);
  expect_rank(fn, "Q", Q, 3, "[B, Lq, dim]");
  expect_rank(fn, "D", D, 3, "[B, Ld, dim]");
  expect_embedding(fn, "Q", Q);
  expect_embedding(fn, "D", D);
  expect_same_dim(fn, Q, D);
  expect_one_device(
      fn, Q, {{"D", &D}, {out_name, &out}, {"q_mask", &masks.query}, {"d_mask", &masks.document}});
  const int64_t b = Q.size(0);
  if (D.size(0) != b) {
    fail(ErrorKind::shape, fn, "D",
         "pairs need as many documents as queries (B = " + std::to_string(b) + "), got " +
             D.describe());
  }
  fill_padded(p.q, Q);
  fill_padded(p.d, D);
  p.pairing = Pairing::diagonal;
  expect_shape(fn, out_name, out, {b}, "[B]");
  expect_dtype(fn, out_name, out, DType::float32);
  if (masks.query.present()) {
    expect_mask_dtype(fn, "q_mask", masks.query);
    expect_shape(fn, "q_mask", masks.query, {b, Q.size(1)}, "[B, Lq]");
    fill_padded_mask(p.q, masks.query);
  }
  if (masks.document.present()) {
    expect_mask_dtype(fn, "d_mask", masks.document);
    expect_shape(fn, "d_mask", masks.document, {b, D.size(1)}, "[B, Ld]");
    fill_padded_mask(p.d, masks.document);
  }
  fill_out(p, out);
  finish(p, Q, options);
}

void build_packed(Problem& p, const char* fn, const TensorView& Q, const TensorView& cu_q,
                  const TensorView& D, const TensorView& cu_d, const TensorView& pair_q,
                  const TensorView& pair_d, const TensorView& out, const Masks& masks,
                  const Options& options, const char* out_name) {
  check_options(fn, options);
  expect_rank(fn, "Q", Q, 2, "[Tq, dim]");
  expect_rank(fn, "D", D, 2, "[Td, dim]");
  expect_embedding(fn, "Q", Q);
  expect_embedding(fn, "D", D);
  expect_same_dim(fn, Q, D);
  expect_one_device(fn, Q,
                    {{"cu_seqlens_q", &cu_q},
                     {"D", &D},
                     {"cu_seqlens_d", &cu_d},
                     {"pair_q", &pair_q},
                     {"pair_d", &pair_d},
                     {out_name, &out},
                     {"q_mask", &masks.query},
                     {"d_mask", &masks.document}});
  fill_packed(p.q, p.q_cu_storage, fn, "cu_seqlens_q", Q, cu_q);
  fill_packed(p.d, p.d_cu_storage, fn, "cu_seqlens_d", D, cu_d);
  fill_packed_mask(p.q, fn, "q_mask", masks.query);
  fill_packed_mask(p.d, fn, "d_mask", masks.document);
  if (pair_q.present() || pair_d.present()) {
    expect_rank(fn, "pair_q", pair_q, 1, "[P]");
    expect_rank(fn, "pair_d", pair_d, 1, "[P]");
    expect_index(fn, "pair_q", pair_q);
    expect_index(fn, "pair_d", pair_d);
    if (pair_q.dtype() != pair_d.dtype()) {
      fail(ErrorKind::dtype, fn, "pair_d",
           std::string("must have pair_q's dtype ") + dtype_name(pair_q.dtype()) + ", got " +
               dtype_name(pair_d.dtype()));
    }
    const int64_t np = pair_q.size(0);
    expect_shape(fn, "pair_d", pair_d, {np}, "[P] (as long as pair_q)");
    p.pairing = Pairing::list;
    p.num_pairs = np;
    if (pair_q.device().kind == DeviceKind::cpu) {
      p.pair_q_storage = read_indices(pair_q);
      p.pair_d_storage = read_indices(pair_d);
      auto check = [&](const std::vector<int64_t>& v, int64_t n, const char* arg) {
        for (size_t i = 0; i < v.size(); ++i) {
          if (v[i] < 0 || v[i] >= n) {
            fail(ErrorKind::value, fn, arg,
                 "entry " + std::to_string(i) + " is " + std::to_string(v[i]) + ", outside [0, " +
                     std::to_string(n) + ")");
          }
        }
      };
      check(p.pair_q_storage, p.q.count, "pair_q");
      check(p.pair_d_storage, p.d.count, "pair_d");
      p.pair_q = p.pair_q_storage.data();
      p.pair_d = p.pair_d_storage.data();
      p.pair_dtype = DType::int64;
    } else {
      p.pair_q = pair_q.data();
      p.pair_d = pair_d.data();
      p.pair_dtype = pair_q.dtype();
    }
    expect_shape(fn, out_name, out, {np}, "[P]");
  } else {
    p.pairing = Pairing::cross;
    expect_shape(fn, out_name, out, {p.q.count, p.d.count}, "[Nq, Nd]");
  }
  expect_dtype(fn, out_name, out, DType::float32);
  fill_out(p, out);
  finish(p, Q, options);
}

void build_topk(Problem& p, TopK& t, const char* fn, const TensorView& Q, const TensorView& D,
                const TensorView& cu_d, int64_t k, const TensorView& scores,
                const TensorView& indices, const Masks& masks, const Options& options) {
  check_options(fn, options);
  if (k < 0) fail(ErrorKind::value, fn, "k", "expected k >= 0, got " + std::to_string(k));
  expect_rank(fn, "Q", Q, 3, "[Nq, Lq, dim]");
  expect_embedding(fn, "Q", Q);
  expect_one_device(fn, Q,
                    {{"D", &D},
                     {"cu_seqlens_d", &cu_d},
                     {"scores", &scores},
                     {"indices", &indices},
                     {"q_mask", &masks.query},
                     {"d_mask", &masks.document}});
  fill_padded(p.q, Q);
  if (masks.query.present()) {
    expect_mask_dtype(fn, "q_mask", masks.query);
    expect_shape(fn, "q_mask", masks.query, {Q.size(0), Q.size(1)}, "[Nq, Lq]");
    fill_padded_mask(p.q, masks.query);
  }
  if (cu_d.present()) {
    expect_rank(fn, "D", D, 2, "[Td, dim]");
    expect_embedding(fn, "D", D);
    expect_same_dim(fn, Q, D);
    fill_packed(p.d, p.d_cu_storage, fn, "cu_seqlens_d", D, cu_d);
    fill_packed_mask(p.d, fn, "d_mask", masks.document);
  } else {
    expect_rank(fn, "D", D, 3, "[Nd, Ld, dim]");
    expect_embedding(fn, "D", D);
    expect_same_dim(fn, Q, D);
    fill_padded(p.d, D);
    if (masks.document.present()) {
      expect_mask_dtype(fn, "d_mask", masks.document);
      expect_shape(fn, "d_mask", masks.document, {D.size(0), D.size(1)}, "[Nd, Ld]");
      fill_padded_mask(p.d, masks.document);
    }
  }
  p.pairing = Pairing::cross;
  p.out_rows = p.q.count;
  p.out_cols = p.d.count;
  const int64_t n = std::min(k, p.d.count);
  expect_shape(fn, "scores", scores, {p.q.count, n}, "[Nq, min(k, Nd)]");
  expect_dtype(fn, "scores", scores, DType::float32);
  expect_shape(fn, "indices", indices, {p.q.count, n}, "[Nq, min(k, Nd)]");
  expect_dtype(fn, "indices", indices, DType::int64);
  t.k = n;
  t.scores = static_cast<float*>(scores.data());
  t.indices = static_cast<int64_t*>(indices.data());
  t.scores_stride0 = scores.stride(0);
  t.scores_stride1 = scores.stride(1);
  t.indices_stride0 = indices.stride(0);
  t.indices_stride1 = indices.stride(1);
  finish(p, Q, options);
}

Backend resolve_backend(const Problem& p, const char* fn) {
  const bool on_cuda = p.device.kind == DeviceKind::cuda;
  switch (p.options.backend) {
    case Backend::automatic:
      break;
    case Backend::cpu:
    case Backend::reference:
      if (on_cuda) {
        fail(ErrorKind::device, fn, "options.backend",
             "the CPU and reference backends need CPU tensors, got tensors on " +
                 device_name(p.device));
      }
      return p.options.backend;
    case Backend::cuda:
      if (!on_cuda) {
        fail(ErrorKind::device, fn, "options.backend",
             "the CUDA backend needs CUDA tensors, got CPU tensors");
      }
      break;
  }
  if (!on_cuda) return Backend::cpu;
  if (!cuda_built()) {
    fail(ErrorKind::unsupported, fn, "Q",
         "tensors are on " + device_name(p.device) + " but this colmax was built without CUDA");
  }
  return Backend::cuda;
}

}  // namespace colmax::detail
