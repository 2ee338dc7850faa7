// Device-side reading of the views of views.hpp: sequence addressing, masks, pairs, scores,
// winners, and the winner rule of colmax/backward.hpp.
//
// Offsets and indices that live on the device cannot be validated on the host: they are
// clamped here so that a bad value never reads or writes out of bounds.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/backward/views.hpp"
#include "cuda/common/winner_rule.cuh"

namespace colmax::detail::cuda_train {

__device__ __forceinline__ float load_float(const unsigned char* base, int dtype, int64_t i) {
  if (dtype == kF32) return reinterpret_cast<const float*>(base)[i];
  if (dtype == kF16) return __half2float(reinterpret_cast<const __half*>(base)[i]);
  return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(base)[i]);
}

__device__ __forceinline__ void store_float(unsigned char* base, int dtype, int64_t i, float v) {
  if (dtype == kF32) {
    reinterpret_cast<float*>(base)[i] = v;
  } else if (dtype == kF16) {
    reinterpret_cast<__half*>(base)[i] = __float2half_rn(v);
  } else {
    reinterpret_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v);
  }
}

// Rows are read and written four elements a lane (k, k + 1, k + 2, k + 3): one 8-byte
// (16-bit types) or 16-byte (fp32) access when every row of the family starts on such a
// boundary, four scalar accesses otherwise. Elements past `dim` read as zero and are not
// written.
struct Vec4 {
  float v[4];
};

__host__ __device__ __forceinline__ int elem_bytes(int dtype) {
  return dtype == kF32 ? 4 : 2;
}

// Elements k .. k + 3 of a row known to hold them, every row of the family aligned for one wide
// access (vec4_ok): the gather loops' load without a branch.
template <int kDT>
__device__ __forceinline__ Vec4 load4_wide(const unsigned char* base, int64_t off, int64_t k) {
  if constexpr (kDT == kF32) {
    const float4 x = *reinterpret_cast<const float4*>(base + (off + k) * 4);
    return Vec4{{x.x, x.y, x.z, x.w}};
  } else {
    const uint2 x = *reinterpret_cast<const uint2*>(base + (off + k) * 2);
    float2 a, b;
    if constexpr (kDT == kF16) {
      a = __half22float2(*reinterpret_cast<const __half2*>(&x.x));
      b = __half22float2(*reinterpret_cast<const __half2*>(&x.y));
    } else {
      a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.x));
      b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x.y));
    }
    return Vec4{{a.x, a.y, b.x, b.y}};
  }
}

// Writes elements k .. k + 3 of such a row in element type kDT (one wide store).
template <int kDT>
__device__ __forceinline__ void store4_wide(unsigned char* base, int64_t off, int64_t k,
                                            const float (&v)[4]) {
  if constexpr (kDT == kF32) {
    *reinterpret_cast<float4*>(base + (off + k) * 4) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
    uint2 x;
    if constexpr (kDT == kF16) {
      *reinterpret_cast<__half2*>(&x.x) = __floats2half2_rn(v[0], v[1]);
      *reinterpret_cast<__half2*>(&x.y) = __floats2half2_rn(v[2], v[3]);
    } else {
      *reinterpret_cast<__nv_bfloat162*>(&x.x) = __floats2bfloat162_rn(v[0], v[1]);
      *reinterpret_cast<__nv_bfloat162*>(&x.y) = __floats2bfloat162_rn(v[2], v[3]);
    }
    *reinterpret_cast<uint2*>(base + (off + k) * 2) = x;
  }
}

template <int kDT>
__device__ __forceinline__ Vec4 load4(const unsigned char* base, int64_t off, int64_t k,
                                      int64_t dim, bool vec) {
  if (vec && k + 3 < dim) return load4_wide<kDT>(base, off, k);
  Vec4 r{{0.0f, 0.0f, 0.0f, 0.0f}};
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    if (k + e < dim) r.v[e] = load_float(base, kDT, off + k + e);
  }
  return r;
}

// The same with the element type known only at run time (once a row, not in gather loops).
__device__ __forceinline__ Vec4 load4(const unsigned char* base, int dtype, int64_t off, int64_t k,
                                      int64_t dim, bool vec) {
  if (dtype == kF32) return load4<kF32>(base, off, k, dim, vec);
  if (dtype == kF16) return load4<kF16>(base, off, k, dim, vec);
  return load4<kBF16>(base, off, k, dim, vec);
}

__device__ __forceinline__ void store4(unsigned char* base, int dtype, int64_t off, int64_t k,
                                       int64_t dim, bool vec, const float (&v)[4]) {
  if (vec && k + 3 < dim) {
    if (dtype == kF32) {
      store4_wide<kF32>(base, off, k, v);
    } else if (dtype == kF16) {
      store4_wide<kF16>(base, off, k, v);
    } else {
      store4_wide<kBF16>(base, off, k, v);
    }
  } else {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      if (k + e < dim) store_float(base, dtype, off + k + e, v[e]);
    }
  }
}

__device__ __forceinline__ bool mask_at(const unsigned char* m, int dtype, int64_t i) {
  switch (dtype) {
    case kBool:
    case kU8:
    case kI8:
      return m[i] != 0;
    case kI32:
      return reinterpret_cast<const int32_t*>(m)[i] != 0;
    case kI64:
      return reinterpret_cast<const int64_t*>(m)[i] != 0;
    case kI16:
      return reinterpret_cast<const int16_t*>(m)[i] != 0;
    case kF16:
      return __half2float(reinterpret_cast<const __half*>(m)[i]) != 0.0f;
    case kBF16:
      return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(m)[i]) != 0.0f;
    default:
      return reinterpret_cast<const float*>(m)[i] != 0.0f;
  }
}

__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) {
  return a < b ? a : b;
}
__device__ __forceinline__ int64_t imax(int64_t a, int64_t b) {
  return a > b ? a : b;
}

// a / b for non-negative a and positive b: one 32-bit division when both fit (the 64-bit one is
// a long subroutine on GPUs).
__device__ __forceinline__ int64_t div_nonneg(int64_t a, int64_t b) {
  if (((a | b) >> 32) == 0) return int64_t(uint32_t(a) / uint32_t(b));
  return a / b;
}

// ---- sequences ------------------------------------------------------------------------------

__device__ __forceinline__ int64_t cu_at(const Seqs& s, int64_t i) {
  const int64_t v = s.cu64 ? reinterpret_cast<const int64_t*>(s.cu)[i]
                           : int64_t(reinterpret_cast<const int32_t*>(s.cu)[i]);
  return v < 0 ? 0 : (v > s.total_tokens ? s.total_tokens : v);
}

__host__ __device__ __forceinline__ bool packed(const Seqs& s) {
  return s.cu != nullptr;
}

// First flat row of sequence i, and its length.
__device__ __forceinline__ int64_t seq_row(const Seqs& s, int64_t i) {
  return packed(s) ? cu_at(s, i) : i * s.length;
}
__device__ __forceinline__ int64_t seq_len(const Seqs& s, int64_t i) {
  if (!packed(s)) return s.length;
  const int64_t n = cu_at(s, i + 1) - cu_at(s, i);
  return n > 0 ? n : 0;
}

// Element offset of token j of sequence i (the common inner == 1 needs no division).
__device__ __forceinline__ int64_t token_offset(const Seqs& s, int64_t i, int64_t j) {
  if (packed(s)) return (cu_at(s, i) + j) * s.token_stride;
  if (s.inner == 1) return i * s.outer_stride + j * s.token_stride;
  const int64_t o = div_nonneg(i, s.inner);
  return o * s.outer_stride + (i - o * s.inner) * s.inner_stride + j * s.token_stride;
}

// Whether every row of the family starts on a 4-element boundary of 4-element alignment,
// so that load4 / store4 may use one wide access.
__host__ __device__ __forceinline__ bool vec4_ok(const Seqs& s) {
  const int64_t b = elem_bytes(s.dtype);
  return s.dim % 4 == 0 && reinterpret_cast<uintptr_t>(s.data) % (4 * b) == 0 &&
         s.token_stride % 4 == 0 &&
         (packed(s) || (s.outer_stride % 4 == 0 && (s.inner == 1 || s.inner_stride % 4 == 0)));
}

__device__ __forceinline__ bool valid(const Seqs& s, int64_t i, int64_t j) {
  if (s.mask == nullptr) return true;
  int64_t at = 0;
  if (packed(s)) {
    at = (cu_at(s, i) + j) * s.mask_token_stride;
  } else if (s.inner == 1) {
    at = i * s.mask_outer_stride + j * s.mask_token_stride;
  } else {
    const int64_t o = div_nonneg(i, s.inner);
    at =
        o * s.mask_outer_stride + (i - o * s.inner) * s.mask_inner_stride + j * s.mask_token_stride;
  }
  return mask_at(s.mask, s.mask_dtype, at);
}

// The sequence holding flat row r and its position there; false when r belongs to no
// sequence (packed rows past the last offset). Packed lookups are a binary search.
__device__ __forceinline__ bool locate(const Seqs& s, int64_t r, int64_t& i, int64_t& j) {
  if (!packed(s)) {
    if (s.length == 0) return false;
    i = div_nonneg(r, s.length);
    j = r - i * s.length;
    return i < s.count;
  }
  if (s.count == 0 || r >= cu_at(s, s.count)) return false;
  int64_t lo = 0, hi = s.count - 1;  // the last sequence whose start is <= r
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (cu_at(s, mid) <= r)
      lo = mid;
    else
      hi = mid - 1;
  }
  // Empty sequences share a start; the one that holds r is the last with that start.
  i = lo;
  j = r - cu_at(s, lo);
  return true;
}

// ---- pairs ------------------------------------------------------------------------------------

__device__ __forceinline__ int64_t pair_index(const void* p, int is64, int64_t o) {
  return is64 ? reinterpret_cast<const int64_t*>(p)[o]
              : int64_t(reinterpret_cast<const int32_t*>(p)[o]);
}

// The (query, document) of output o; false for a pair-list entry out of range.
__device__ __forceinline__ bool pair_at(const Pairs& p, int64_t o, int64_t nq, int64_t nd,
                                        int64_t& qi, int64_t& di) {
  switch (p.pairing) {
    case kCross:
      qi = o / p.out_cols;
      di = o % p.out_cols;
      return true;
    case kGrouped:
      qi = o / p.out_cols;
      di = o;
      return true;
    case kDiagonal:
      qi = o;
      di = o;
      return true;
    default:
      qi = pair_index(p.pair_q, p.pair64, o);
      di = pair_index(p.pair_d, p.pair64, o);
      return qi >= 0 && qi < nq && di >= 0 && di < nd;
  }
}

// Outputs that touch query qi / document di: how many, and the n-th (increasing order).
__device__ __forceinline__ int64_t query_outputs(const Pairs& p, int64_t qi) {
  switch (p.pairing) {
    case kCross:
    case kGrouped:
      return p.out_cols;
    case kDiagonal:
      return 1;
    default:
      return p.q_begin[qi + 1] - p.q_begin[qi];
  }
}
__device__ __forceinline__ int64_t query_output(const Pairs& p, int64_t qi, int64_t n) {
  switch (p.pairing) {
    case kCross:
    case kGrouped:
      return qi * p.out_cols + n;
    case kDiagonal:
      return qi;
    default:
      return p.q_order[p.q_begin[qi] + n];
  }
}
__device__ __forceinline__ int64_t document_outputs(const Pairs& p, int64_t di) {
  switch (p.pairing) {
    case kCross:
      return p.out_rows;
    case kGrouped:
    case kDiagonal:
      return 1;
    default:
      return p.d_begin[di + 1] - p.d_begin[di];
  }
}
__device__ __forceinline__ int64_t document_output(const Pairs& p, int64_t di, int64_t n) {
  switch (p.pairing) {
    case kCross:
      return n * p.out_cols + di;
    case kGrouped:
    case kDiagonal:
      return di;
    default:
      return p.d_order[p.d_begin[di] + n];
  }
}

__device__ __forceinline__ float* score_at(const Scores& s, int64_t o) {
  if (s.cols == 1) return s.data + o * s.stride0;
  return s.data + (o / s.cols) * s.stride0 + (o % s.cols) * s.stride1;
}
// The score at [row, col] (cross and grouped outputs), without a division.
__device__ __forceinline__ float* score_rc(const Scores& s, int64_t row, int64_t col) {
  return s.data + row * s.stride0 + col * s.stride1;
}

__device__ __forceinline__ int winner_at(const WinnerView& w, int64_t o, int64_t t) {
  const int64_t i = o * w.width + t;
  return w.is16 ? int(reinterpret_cast<const int16_t*>(w.data)[i])
                : reinterpret_cast<const int32_t*>(w.data)[i];
}
__device__ __forceinline__ void set_winner(const WinnerView& w, int64_t o, int64_t t, int v) {
  const int64_t i = o * w.width + t;
  if (w.is16) {
    reinterpret_cast<int16_t*>(w.data)[i] = int16_t(v);
  } else {
    reinterpret_cast<int32_t*>(w.data)[i] = v;
  }
}

// ---- the winner rule (shared with the wgmma stream kernel) -----------------------------

using cuda::winner_fold;
using cuda::winner_merge;

}  // namespace colmax::detail::cuda_train
