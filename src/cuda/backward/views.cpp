#include "cuda/backward/views_build.hpp"

namespace colmax::detail::cuda_train {

static_assert(kF32 == int(DType::float32) && kF16 == int(DType::float16) &&
              kBF16 == int(DType::bfloat16) && kBool == int(DType::boolean) &&
              kU8 == int(DType::uint8) && kI8 == int(DType::int8) && kI32 == int(DType::int32) &&
              kI64 == int(DType::int64) && kI16 == int(DType::int16));
static_assert(kCross == int(Pairing::cross) && kGrouped == int(Pairing::grouped) &&
              kDiagonal == int(Pairing::diagonal) && kList == int(Pairing::list));

Seqs make_seqs(const SeqSet& s) {
  Seqs v;
  v.data = reinterpret_cast<const unsigned char*>(s.data);
  v.dtype = int(s.dtype);
  v.dim = s.dim;
  v.count = s.count;
  v.token_stride = s.token_stride;
  v.length = s.length;
  v.inner = s.inner;
  v.outer_stride = s.outer_stride;
  v.inner_stride = s.inner_stride;
  v.cu = s.cu;
  v.cu64 = s.cu_dtype == DType::int64 ? 1 : 0;
  v.total_tokens = s.total_tokens;
  v.mask = reinterpret_cast<const unsigned char*>(s.mask);
  v.mask_dtype = int(s.mask_dtype);
  v.mask_token_stride = s.mask_token_stride;
  v.mask_outer_stride = s.mask_outer_stride;
  v.mask_inner_stride = s.mask_inner_stride;
  v.rows = s.packed() ? s.total_tokens : s.count * s.length;
  return v;
}

Seqs make_grad_seqs(const GradOut& g) {
  Seqs v = make_seqs(g.seqs);
  v.data = reinterpret_cast<const unsigned char*>(g.data);
  v.mask = nullptr;
  return v;
}

Pairs make_pairs(const Problem& p) {
  Pairs v;
  v.pairing = int(p.pairing);
  v.out_rows = p.out_rows;
  v.out_cols = p.out_cols;
  v.pair_q = p.pair_q;
  v.pair_d = p.pair_d;
  v.pair64 = p.pair_dtype == DType::int64 ? 1 : 0;
  return v;
}

Scores make_scores(const Problem& p) {
  return {p.out, p.out_cols, p.out_stride0, p.out_stride1};
}

WinnerView make_winners(const Winners& w) {
  return {w.data, w.dtype == DType::int16 ? 1 : 0, w.width};
}

}  // namespace colmax::detail::cuda_train
