// Device-side reading of a ProblemView: masks of any dtype, int32/int64 offsets and pair
// indices, and the resolution of one (query group, document) pair into token offsets.
//
// Offsets and pair indices live in device memory and were not checked by the host (that
// would need a synchronisation). They are checked here instead, and nothing outside the
// tensors is ever read:
//  - a pair index outside [0, N), or a document whose offsets are negative, decreasing or
//    past the end of its token tensor: the pair reads no tokens and scores NaN;
//  - a packed query whose offsets are invalid scores NaN (against every document). Queries
//    stacked with it keep their scores unless their own range had to be clamped because a
//    neighbour's end runs past their start, in which case they score NaN too.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

__device__ __forceinline__ int64_t load_index(const void* base, int32_t is64, int64_t i) {
  return is64 ? static_cast<const int64_t*>(base)[i]
              : int64_t(static_cast<const int32_t*>(base)[i]);
}

// Raw bits of mask element `offset` (elements), widened to 64 bits.
__device__ __forceinline__ uint64_t load_mask_bits(const MaskView& m, int64_t offset) {
  const unsigned char* p = m.data + offset * m.bytes;
  switch (m.bytes) {
    case 1:
      return *p;
    case 2:
      return *reinterpret_cast<const uint16_t*>(p);
    case 4:
      return *reinterpret_cast<const uint32_t*>(p);
    default:
      return *reinterpret_cast<const uint64_t*>(p);
  }
}

// Non-zero means valid; for float masks -0.0 is zero and NaN is non-zero (as on the CPU).
__device__ __forceinline__ bool mask_bits_valid(const MaskView& m, uint64_t bits) {
  if (m.is_float) {
    const uint64_t sign = m.bytes == 2 ? 0x8000ull : 0x80000000ull;
    bits &= ~sign;
  }
  return bits != 0;
}

__device__ __forceinline__ bool mask_valid(const MaskView& m, int64_t offset) {
  return m.data == nullptr || mask_bits_valid(m, load_mask_bits(m, offset));
}

__device__ __forceinline__ float to_float(const unsigned char* p, Elem e) {
  switch (e) {
    case Elem::f16:
      return __half2float(*reinterpret_cast<const __half*>(p));
    case Elem::bf16:
      return __bfloat162float(*reinterpret_cast<const __nv_bfloat16*>(p));
    default:
      return *reinterpret_cast<const float*>(p);
  }
}

// max that propagates NaN (PTX max.NaN, sm_80+): a NaN similarity must reach the score.
__device__ __forceinline__ float max_nan(float a, float b) {
  float r;
  asm("max.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
  return r;
}

// a / b for non-negative a and positive b: 32-bit division when both fit (the 64-bit one is
// a long software sequence, and kernels resolve a pair per document).
__device__ __forceinline__ int64_t div_nonneg(int64_t a, int64_t b) {
  if (((a | b) >> 32) == 0) return int64_t(uint32_t(a) / uint32_t(b));
  return a / b;
}

// Element offsets of a padded sequence and of its mask.
__device__ __forceinline__ int64_t padded_begin(const SeqView& s, int64_t i) {
  if (s.inner == 1) return i * s.outer_stride;
  const int64_t o = div_nonneg(i, s.inner);
  return o * s.outer_stride + (i - o * s.inner) * s.inner_stride;
}
__device__ __forceinline__ int64_t padded_mask_begin(const SeqView& s, int64_t i) {
  if (s.inner == 1) return i * s.mask.outer_stride;
  const int64_t o = div_nonneg(i, s.inner);
  return o * s.mask.outer_stride + (i - o * s.inner) * s.mask.inner_stride;
}

// Token range [begin, end) of packed sequence i, or false when its offsets are invalid.
__device__ __forceinline__ bool packed_range(const SeqView& s, int64_t i, int64_t& begin,
                                             int64_t& end) {
  begin = load_index(s.cu, s.cu_is64, i);
  end = load_index(s.cu, s.cu_is64, i + 1);
  return begin >= 0 && end >= begin && end <= s.total_tokens;
}

// One unit of work: a group of `nslots` consecutive queries (stacked as rows) against one
// document. Rows of the group are numbered 0..nrows-1: for padded queries row r is token
// r % Lq of query q0 + r / Lq; for packed queries the group's tokens are contiguous and
// `prefix[s]` (relative row of query q0 + s) delimits them.
struct PairSeqs {
  int64_t q0 = -1;  // first query; -1 when bad (never equal to another pair's identity)
  int32_t nslots = 1;
  int32_t bad = 0;         // the whole pair is bad (document or pair index): every slot NaN
  uint32_t bad_slots = 0;  // packed queries whose own offsets are bad: bit s = slot s NaN
  int64_t nrows = 0;
  int64_t qtok = 0, qmask = 0;  // element offsets of row 0 (and of its mask element)
  int64_t dlen = 0;
  int64_t dtok = 0, dmask = 0;
  int64_t out = 0;              // element offset of slot 0's score
  int64_t out_slot_stride = 0;  // between the scores of consecutive slots
};

__device__ __forceinline__ int64_t clamp64(int64_t x, int64_t lo, int64_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// Resolves pair p. `group` > 1 only for the cross pairing (at most 32 for packed queries).
// `prefix` (group + 1 entries) receives the relative row offsets of packed queries.
//
// Packed query offsets are clamped into a non-decreasing sequence inside [0, T] before use,
// so the rows read are always inside the token tensor; a query whose own offsets needed
// clamping is marked in bad_slots and scores NaN.
__device__ __forceinline__ PairSeqs resolve_pair(const ProblemView& v, int64_t p, int32_t group,
                                                 int32_t* prefix) {
  PairSeqs r;
  int64_t qi = 0, di = 0;
  bool bad = false;
  switch (v.pairing) {
    case PairingKind::cross: {
      const int64_t g = div_nonneg(p, v.d.count);
      di = p - g * v.d.count;
      qi = g * group;
      const int64_t left = v.q.count - qi;
      r.nslots = int32_t(left < group ? left : group);
      r.out = qi * v.out_stride0 + di * v.out_stride1;
      r.out_slot_stride = v.out_stride0;
      break;
    }
    case PairingKind::grouped:
      qi = div_nonneg(p, v.group);
      di = p;
      r.out = qi * v.out_stride0 + (p - qi * v.group) * v.out_stride1;
      break;
    case PairingKind::diagonal:
      qi = di = p;
      r.out = p * v.out_stride0;
      break;
    case PairingKind::list:
      qi = load_index(v.pair_q, v.pair_is64, p);
      di = load_index(v.pair_d, v.pair_is64, p);
      bad = qi < 0 || qi >= v.q.count || di < 0 || di >= v.d.count;
      r.out = p * v.out_stride0;
      break;
  }
  if (!bad) {
    if (v.q.cu == nullptr) {
      r.qtok = padded_begin(v.q, qi);
      r.qmask = padded_mask_begin(v.q, qi);
      r.nrows = int64_t(r.nslots) * v.q.length;
    } else {
      const int64_t total = v.q.total_tokens;
      const int64_t first = clamp64(load_index(v.q.cu, v.q.cu_is64, qi), 0, total);
      int64_t prev = first;
      int64_t a_raw = load_index(v.q.cu, v.q.cu_is64, qi);
      for (int32_t s = 0; s < r.nslots; ++s) {
        const int64_t b_raw = load_index(v.q.cu, v.q.cu_is64, qi + s + 1);
        const int64_t a = clamp64(a_raw, prev, total);
        const int64_t b = clamp64(b_raw, a, total);
        if (a != a_raw || b != b_raw) r.bad_slots |= 1u << (s & 31);
        if (prefix) prefix[s] = int32_t(a - first);
        prev = b;
        a_raw = b_raw;
      }
      if (prefix) prefix[r.nslots] = int32_t(prev - first);
      r.qtok = first * v.q.token_stride;
      r.qmask = first * v.q.mask.token_stride;
      r.nrows = prev - first;
      if (r.nslots == 1 && r.bad_slots) bad = true;
    }
  }
  if (!bad) {
    if (v.d.cu == nullptr) {
      r.dtok = padded_begin(v.d, di);
      r.dmask = padded_mask_begin(v.d, di);
      r.dlen = v.d.length;
    } else {
      int64_t first = 0, end = 0;
      bad = !packed_range(v.d, di, first, end);
      r.dtok = first * v.d.token_stride;
      r.dmask = first * v.d.mask.token_stride;
      r.dlen = end - first;
    }
  }
  if (bad) {
    r.bad = 1;
    r.bad_slots = ~0u;
    r.q0 = -1;
    r.nrows = 0;
    r.dlen = 0;
    r.qtok = r.dtok = r.qmask = r.dmask = 0;
    if (prefix) {
      for (int32_t s = 0; s <= r.nslots; ++s) prefix[s] = 0;
    }
  } else {
    r.q0 = qi;
  }
  return r;
}

}  // namespace colmax::cuda
