#include "cuda/common/problem_view.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/problem.hpp"

namespace colmax::cuda {
namespace {

// Largest power of two (at most 16) dividing v.
int64_t pow2_divisor(int64_t v) {
  v = v < 0 ? -v : v;
  if (v == 0) return 16;
  int64_t a = 1;
  while (a < 16 && v % (a * 2) == 0) a *= 2;
  return a;
}

MaskView make_mask_view(const detail::SeqSet& s) {
  MaskView m;
  if (s.mask == nullptr) return m;
  m.data = reinterpret_cast<const unsigned char*>(s.mask);
  m.bytes = dtype_size(s.mask_dtype);
  m.is_float = (s.mask_dtype == DType::float32 || s.mask_dtype == DType::float16 ||
                s.mask_dtype == DType::bfloat16)
                   ? 1
                   : 0;
  m.token_stride = s.mask_token_stride;
  m.outer_stride = s.mask_outer_stride;
  m.inner_stride = s.mask_inner_stride;
  return m;
}

Elem elem_of(DType dtype) {
  switch (dtype) {
    case DType::float16:
      return Elem::f16;
    case DType::bfloat16:
      return Elem::bf16;
    default:
      return Elem::f32;
  }
}

}  // namespace

SeqView make_seq_view(const detail::SeqSet& s) {
  SeqView v;
  v.data = reinterpret_cast<const unsigned char*>(s.data);
  v.elem = elem_of(s.dtype);
  v.elem_bytes = dtype_size(s.dtype);
  v.dim = s.dim;
  v.count = s.count;
  v.token_stride = s.token_stride;
  v.length = s.length;
  v.inner = s.inner;
  v.outer_stride = s.outer_stride;
  v.inner_stride = s.inner_stride;
  v.cu = s.cu;
  v.cu_is64 = s.cu_dtype == DType::int64 ? 1 : 0;
  v.total_tokens = s.total_tokens;
  v.mask = make_mask_view(s);
  // Every row start is base + (a multiple of some stride) elements: the copy width is the
  // largest power of two dividing the base address and every stride, in bytes.
  const int64_t eb = v.elem_bytes;
  int64_t a = pow2_divisor(int64_t(reinterpret_cast<uintptr_t>(s.data)));
  auto narrow = [&](int64_t stride_elems, bool used) {
    if (used) a = std::min(a, pow2_divisor(stride_elems * eb));
  };
  narrow(s.token_stride, true);
  narrow(s.outer_stride, !s.packed());
  narrow(s.inner_stride, !s.packed() && s.inner > 1);
  v.copy_bytes = a >= 4 ? int32_t(a) : 0;
  return v;
}

ProblemView make_problem_view(const detail::Problem& p) {
  ProblemView v;
  v.q = make_seq_view(p.q);
  v.d = make_seq_view(p.d);
  switch (p.pairing) {
    case detail::Pairing::cross:
      v.pairing = PairingKind::cross;
      break;
    case detail::Pairing::grouped:
      v.pairing = PairingKind::grouped;
      break;
    case detail::Pairing::diagonal:
      v.pairing = PairingKind::diagonal;
      break;
    case detail::Pairing::list:
      v.pairing = PairingKind::list;
      break;
  }
  v.group = p.group;
  v.pair_q = p.pair_q;
  v.pair_d = p.pair_d;
  v.pair_is64 = p.pair_dtype == DType::int64 ? 1 : 0;
  v.num_pairs = p.num_pairs;
  v.out = p.out;
  v.out_rows = p.out_rows;
  v.out_cols = p.out_cols;
  v.out_stride0 = p.out_stride0;
  v.out_stride1 = p.out_stride1;
  v.zero_mode = p.options.mask_mode == MaskMode::zero ? 1 : 0;
  v.normalize = p.options.normalize ? 1 : 0;
  return v;
}

}  // namespace colmax::cuda
