// What the stream kernels share: the permuted fragment layout, the query rows held in
// registers, the fold of a tile into the running max, and the end of a pair (row maxima
// through shared memory, sums per query slot, scores).
//
// The dot product does not care in which order the embedding is summed, so the k index of
// the mma is a permutation of the embedding: for each 64-byte piece of a row, lane t4 of a
// quad holds bytes [16 t4, 16 t4 + 16). One 16-byte load per lane then fills two k-steps of
// a fragment, and the 8 rows x 64 bytes a warp loads per instruction are contiguous: every
// 32-byte sector fetched is used whole. Queries and documents use the same permutation.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common/device_access.cuh"
#include "cuda/common/ptx.cuh"
#include "cuda/common/slot_sums.cuh"
#include "cuda/stream/stream_params.hpp"

namespace colmax::cuda::stream {

inline constexpr int kMaxPackedGroup = 32;

template <Elem E>
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  if constexpr (E == Elem::bf16) {
    ptx::mma_bf16(c, a, b);
  } else {
    ptx::mma_f16(c, a, b);
  }
}

// x^2 + y^2 of the two 16-bit values packed in w.
template <Elem E>
__device__ __forceinline__ float sumsq2(uint32_t w) {
  float2 f;
  if constexpr (E == Elem::bf16) {
    f = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&w));
  } else {
    f = __half22float2(*reinterpret_cast<__half2*>(&w));
  }
  return fmaf(f.x, f.x, f.y * f.y);
}

__device__ __forceinline__ float inv_norm(float s) {
  return s > 0.f ? 1.0f / sqrtf(s) : 0.f;  // a zero vector stays zero
}

// One lane's share of an embedding row: KS/2 16-byte pieces and, for odd KS, an 8-byte
// tail (lane t4 holds bytes [8 t4, 8 t4 + 8) of the last 32).
template <int KS>
struct RowShare {
  uint4 v[KS / 2];
  uint2 tail;
};

template <int KS, bool kL1>
__device__ __forceinline__ void load_share(RowShare<KS>& r, const unsigned char* row, int t4,
                                           bool in) {
#pragma unroll
  for (int j = 0; j < KS / 2; ++j) r.v[j] = ptx::ld_nc_16<kL1>(row + j * 64 + t4 * 16, in);
  if constexpr (KS % 2 == 1) r.tail = ptx::ld_nc_8<kL1>(row + (KS / 2) * 64 + t4 * 8, in);
}

// The same share from a row in shared memory (byte address); zeros, without reading, when
// `in` is false (a row past the tokens the last copy into the stage wrote).
template <int KS>
__device__ __forceinline__ void load_share_smem(RowShare<KS>& r, uint32_t row, int t4,
                                                bool in = true) {
#pragma unroll
  for (int j = 0; j < KS / 2; ++j) {
    r.v[j] = in ? ptx::ld_shared_16(row + uint32_t(j * 64 + t4 * 16)) : make_uint4(0, 0, 0, 0);
  }
  if constexpr (KS % 2 == 1) {
    r.tail = in ? ptx::ld_shared_8(row + uint32_t((KS / 2) * 64 + t4 * 8)) : make_uint2(0, 0);
  }
}

template <Elem E, int KS>
__device__ __forceinline__ float share_sumsq(const RowShare<KS>& r) {
  float s = 0.f;
#pragma unroll
  for (int j = 0; j < KS / 2; ++j) {
    s += sumsq2<E>(r.v[j].x) + sumsq2<E>(r.v[j].y) + sumsq2<E>(r.v[j].z) + sumsq2<E>(r.v[j].w);
  }
  if constexpr (KS % 2 == 1) s += sumsq2<E>(r.tail.x) + sumsq2<E>(r.tail.y);
  return s;
}

// |x|^2 of the row whose shares the four lanes of this quad hold.
template <Elem E, int KS>
__device__ __forceinline__ float quad_sumsq(const RowShare<KS>& r) {
  float s = share_sumsq<E, KS>(r);
  s += __shfl_xor_sync(0xffffffffu, s, 1);
  s += __shfl_xor_sync(0xffffffffu, s, 2);
  return s;
}

// The two B-fragment registers of k-step ks (e = 0: logical k 2t4.., e = 1: 2t4+8..).
template <int KS>
__device__ __forceinline__ void b_frag(const RowShare<KS>& r, int ks, uint32_t (&b)[2]) {
  if (KS % 2 == 1 && ks == KS - 1) {
    b[0] = r.tail.x;
    b[1] = r.tail.y;
  } else if (ks % 2 == 0) {
    b[0] = r.v[ks / 2].x;
    b[1] = r.v[ks / 2].y;
  } else {
    b[0] = r.v[ks / 2].z;
    b[1] = r.v[ks / 2].w;
  }
}

// S = Q Dᵀ for the warp's MT row tiles against the 8 tokens whose shares are in `b`.
template <Elem E, int KS, int MT>
__device__ __forceinline__ void tile_products(float (&acc)[MT][4], const uint32_t (&qa)[MT][KS][4],
                                              const RowShare<KS>& b) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[mt][e] = 0.f;
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    uint32_t bf[2];
    b_frag<KS>(b, ks, bf);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) mma<E>(acc[mt], qa[mt][ks], bf);
  }
}

// The products of two 8-token tiles at once: four independent accumulator chains (MT = 2)
// keep the tensor cores busy where one tile's dependent k-steps would stall the warp.
template <Elem E, int KS, int MT>
__device__ __forceinline__ void tile_products2(float (&acc0)[MT][4], float (&acc1)[MT][4],
                                               const uint32_t (&qa)[MT][KS][4],
                                               const RowShare<KS>& b0, const RowShare<KS>& b1) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc0[mt][e] = acc1[mt][e] = 0.f;
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    uint32_t bf0[2], bf1[2];
    b_frag<KS>(b0, ks, bf0);
    b_frag<KS>(b1, ks, bf1);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      mma<E>(acc0[mt], qa[mt][ks], bf0);
      mma<E>(acc1[mt], qa[mt][ks], bf1);
    }
  }
}

// A mask element folded to 32 bits with the same validity: the halves of an 8-byte integer
// ORed; a float keeps its sign bit where mask_bits_valid looks for it.
__device__ __forceinline__ uint32_t fold_mask_bits(uint64_t bits) {
  return uint32_t(bits) | uint32_t(bits >> 32);
}

// This lane's two columns of a tile (tokens col0 + 2 t4 + e, e < 2): inside the document, valid
// (`valid` has bit c set when token col0 + c is unmasked; ignored without a mask), and their
// 1/|d| (normalisation: `inv` is that of this lane's quad's token).
struct TileColumns {
  bool in[2], ok[2];
  float scale[2];
};
__device__ __forceinline__ TileColumns tile_columns(int col0, int dlen, bool has_mask,
                                                    uint32_t valid, bool normalize, float inv,
                                                    int t4) {
  TileColumns c{{false, false}, {false, false}, {1.f, 1.f}};
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    c.in[e] = col0 + 2 * t4 + e < dlen;
    c.ok[e] = c.in[e] && (!has_mask || ((valid >> (2 * t4 + e)) & 1u));
  }
  if (normalize) {
    // The token of column c was loaded by the quad of lanes 4c..4c+3.
    c.scale[0] = __shfl_sync(0xffffffffu, inv, 8 * t4);
    c.scale[1] = __shfl_sync(0xffffffffu, inv, 8 * t4 + 4);
  }
  return c;
}

// Folds a tile's similarities into the running max (columns as tile_columns says).
template <int MT>
__device__ __forceinline__ void fold(float (&runmax)[MT][4], const float (&acc)[MT][4], int col0,
                                     int dlen, bool has_mask, uint32_t valid, bool normalize,
                                     float inv, float masked_fill, int t4) {
  if (!has_mask && !normalize && col0 + 8 <= dlen) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int e = 0; e < 4; ++e) runmax[mt][e] = max_nan(runmax[mt][e], acc[mt][e]);
    return;
  }
  const TileColumns c = tile_columns(col0, dlen, has_mask, valid, normalize, inv, t4);
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int k = e & 1;
      const float fill = c.in[k] ? masked_fill : -INFINITY;
      runmax[mt][e] = max_nan(runmax[mt][e], c.ok[k] ? acc[mt][e] * c.scale[k] : fill);
    }
}

// A warp's query rows as mma A fragments, with each row's validity and 1/|q|.
template <int KS, int MT>
struct QueryRows {
  uint32_t a[MT][KS][4];
  bool ok[MT][2];
  float inv[MT][2];
};

// Element offsets of row r of a pair's stacked query rows (r < nrows) and of its mask element:
// padded queries stack whole queries of Lq rows, packed ones are contiguous.
__device__ __forceinline__ void query_row_offsets(const ProblemView& v, const PairSeqs& ps, int r,
                                                  int64_t& tok, int64_t& msk) {
  if (v.q.cu == nullptr) {
    const int lq = int(v.q.length);
    const int s = r / lq, t = r - s * lq;
    tok = ps.qtok + s * v.q.outer_stride + int64_t(t) * v.q.token_stride;
    msk = ps.qmask + s * v.q.mask.outer_stride + int64_t(t) * v.q.mask.token_stride;
  } else {
    tok = ps.qtok + int64_t(r) * v.q.token_stride;
    msk = ps.qmask + int64_t(r) * v.q.mask.token_stride;
  }
}

// Which query rows a warp (or block) holds: those of query group q0, row chunk c. Consecutive
// pairs often share them (one query against many documents): they are loaded again only when
// the group or the chunk changes; a bad pair (q0 < 0) never matches.
struct HeldQuery {
  int64_t q0 = -1;
  int c = -1;
  // True when (q0, c) is not what is held; it is held from now on.
  __device__ bool replace(int64_t q0_, int c_) {
    if (q0_ >= 0 && q0_ == q0 && c_ == c) return false;
    q0 = q0_;
    c = c_;
    return true;
  }
};

// Loads rows [wrow0, wrow0 + 16 MT) of the pair's query rows (rows past nrows are zero and
// invalid). A fragment holds words of two rows (g and g + 8), so one load per word: with a
// 16-byte load per row piece, the load's four consecutive registers are not a fragment's, and
// ptxas copied every fragment into place before each mma of the stream loop (four moves an mma,
// about half the loop's instructions); loaded word by word, the fragments are allocated in
// place once a pair.
template <Elem E, int KS, int MT>
__device__ __forceinline__ void load_query_rows(QueryRows<KS, MT>& q, const ProblemView& v,
                                                const PairSeqs& ps, int wrow0, int nrows, int g,
                                                int t4) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = wrow0 + mt * 16 + h * 8 + g;
      const bool in = r < nrows;
      int64_t tok = 0, msk = 0;
      if (in) query_row_offsets(v, ps, r, tok, msk);
      const uint32_t* row = reinterpret_cast<const uint32_t*>(v.q.data + tok * v.q.elem_bytes);
      RowShare<KS> s;
#pragma unroll
      for (int j = 0; j < KS / 2; ++j) {
        // Piece j: bytes [64 j + 16 t4, 64 j + 16 t4 + 16) of the row.
        const uint32_t* w = row + 16 * j + 4 * t4;
        s.v[j].x = in ? __ldg(w) : 0u;
        s.v[j].y = in ? __ldg(w + 1) : 0u;
        s.v[j].z = in ? __ldg(w + 2) : 0u;
        s.v[j].w = in ? __ldg(w + 3) : 0u;
        q.a[mt][2 * j][h] = s.v[j].x;
        q.a[mt][2 * j][h + 2] = s.v[j].y;
        q.a[mt][2 * j + 1][h] = s.v[j].z;
        q.a[mt][2 * j + 1][h + 2] = s.v[j].w;
      }
      if constexpr (KS % 2 == 1) {
        const uint32_t* w = row + 16 * (KS / 2) + 2 * t4;
        s.tail.x = in ? __ldg(w) : 0u;
        s.tail.y = in ? __ldg(w + 1) : 0u;
        q.a[mt][KS - 1][h] = s.tail.x;
        q.a[mt][KS - 1][h + 2] = s.tail.y;
      }
      q.ok[mt][h] = in && mask_valid(v.q.mask, msk);
      q.inv[mt][h] = v.normalize ? inv_norm(quad_sumsq<E, KS>(s)) : 1.f;
    }
}

template <int MT>
__device__ __forceinline__ void init_runmax(float (&runmax)[MT][4]) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e) runmax[mt][e] = -INFINITY;
}

// Row maxima of the warp's rows into rowval[row - chunk start]: a row with no valid token
// adds 0 (max over nothing), an invalid row adds 0.
template <int KS, int MT>
__device__ __forceinline__ void write_row_maxima(float* rowval, int row0,
                                                 const float (&runmax)[MT][4],
                                                 const QueryRows<KS, MT>& q, int g, int t4) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float m = max_nan(runmax[mt][2 * h], runmax[mt][2 * h + 1]);
      m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 1));
      m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 2));
      if (t4 == 0) {
        rowval[row0 + mt * 16 + h * 8 + g] =
            q.ok[mt][h] ? (m == -INFINITY ? 0.f : m * q.inv[mt][h]) : 0.f;
      }
    }
}

// After every warp of the team wrote its row maxima for chunk c (rows [c TR, c TR + TR)):
// warp wt sums the rows of slots wt, wt + R, ...; the last chunk writes the scores.
__device__ __forceinline__ void sum_slots(const ProblemView& v, const PairSeqs& ps,
                                          const float* rowval, float* partial,
                                          const int32_t* prefix, bool stacked_prefix, int c,
                                          int nchunks, int TR, int R, int wt, int lane) {
  const SlotPair sp{ps.nslots,
                    int(ps.nrows),
                    nchunks,
                    ps.out,
                    ps.out_slot_stride,
                    ps.bad_slots,
                    stacked_prefix ? prefix : nullptr};
  sum_slot_rows(v, sp, rowval, partial, c, TR, wt, R, lane);
}

// The pair a team's pp-th position stands for: cross pairs in document-major order put the
// query groups of one document next to each other; in document tiles, a query group's
// documents of one tile.
__device__ __forceinline__ int64_t pair_at(const StreamParams& p, int64_t pp) {
  if (p.doc_tile > 0) {
    const int64_t nd = p.v.d.count, tile = div_nonneg(pp, p.doc_tile * p.groups);
    const int64_t first = tile * p.doc_tile, td = min(p.doc_tile, nd - first);
    const int64_t rem = pp - first * p.groups, g = div_nonneg(rem, td);
    return g * nd + first + (rem - g * td);
  }
  if (!p.doc_major) return pp;
  const int64_t di = div_nonneg(pp, p.groups);
  return (pp - di * p.groups) * p.v.d.count + di;
}

// Resolves a pair; lengths beyond int32 cannot be indexed here: such a pair scores NaN.
__device__ __forceinline__ PairSeqs resolve_stream_pair(const StreamParams& p, int64_t pp,
                                                        int32_t* prefix) {
  PairSeqs ps = resolve_pair(p.v, pair_at(p, pp), p.group, prefix);
  if (ps.nrows > 0x7fffffffLL - kStreamMaxTeamRows || ps.dlen > 0x7fffffffLL - 64) {
    ps.bad_slots = ~0u;
    ps.q0 = -1;
    ps.nrows = ps.dlen = 0;
  }
  return ps;
}

// The pairs [pb, pe) of team `team` of this block: the grid's teams split the pairs evenly,
// in order.
__device__ __forceinline__ void team_pairs(int64_t pairs, int teams_per_block, int team,
                                           int64_t& pb, int64_t& pe) {
  const int64_t nteams = int64_t(gridDim.x) * teams_per_block;
  const int64_t my_team = int64_t(blockIdx.x) * teams_per_block + team;
  pb = my_team * pairs / nteams;
  pe = (my_team + 1) * pairs / nteams;
}

__device__ __forceinline__ int chunks_of(const PairSeqs& ps, int TR) {
  return ps.nrows > 0 ? int((ps.nrows + TR - 1) / TR) : 1;
}

// Synchronises the warps of one team (named barrier 1 + team; a lone warp needs none).
__device__ __forceinline__ void team_sync(int R, int team) {
  if (R == 1) {
    __syncwarp();
  } else {
    ptx::bar_sync(1 + team, R * 32);
  }
}

}  // namespace colmax::cuda::stream
