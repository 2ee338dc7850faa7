// The stream kernel: fused MaxSim for queries of up to 128 rows, at memory speed.
//
// A team of R warps (1, 2 or 4) owns a contiguous range of pairs. Each warp keeps MT m16
// tiles of the pair's query rows in registers as mma.sync A fragments and streams the
// document through registers: every lane loads 16-byte pieces of one token straight from
// global memory into B fragments, P tiles of 8 tokens ahead of the tensor cores, so the
// document bytes never touch shared memory and nothing but the end of a pair synchronises.
//
// The dot product does not care in which order the embedding is summed, so the k index of
// the mma is a permutation of the embedding: for each 64-byte piece of a row, lane t4 of a
// quad holds bytes [16 t4, 16 t4 + 16). One 16-byte load per lane then fills two k-steps of
// a B fragment, and the 8 tokens x 64 bytes a warp loads per instruction are contiguous rows:
// every 32-byte sector fetched is used whole. Q is loaded with the same permutation.
//
// The similarities of a tile fold into an element-wise running max in the accumulator
// layout (masks, tails and 1/|d| only on tiles that need them); at the end of a pair the
// row maxima go through shared memory once and are summed per query slot, as in the tile
// kernel (same rules: NaN propagates, a row with no valid token adds 0, bad offsets score NaN).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common/device_access.cuh"
#include "cuda/common/ptx.cuh"
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

// Occupancy and prefetch depth, chosen so that nothing spills: up to dim 64, three blocks
// (12 warps) a multiprocessor, each warp 20/KS tiles ahead; from dim 96, two blocks (8 warps)
// 32/KS tiles ahead. Either way 48-64 KB of loads are in flight per multiprocessor, above
// the ~35 KB that bandwidth x latency asks for on an H100.
__host__ __device__ constexpr int stream_min_blocks(int ks) {
  return ks >= 6 ? 2 : 3;
}
__host__ __device__ constexpr int prefetch_tiles(int ks) {
  return ks >= 6 ? (32 / ks < 2 ? 2 : 32 / ks) : (20 / ks > 8 ? 8 : 20 / ks);
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

template <int KS>
struct DocTile {
  RowShare<KS> share;
  uint32_t mask_bits;  // this lane's token's mask element, folded (0 when past the end)
};

// A mask element folded to 32 bits with the same validity: the halves of an 8-byte integer
// ORed; a float keeps its sign bit where mask_bits_valid looks for it.
__device__ __forceinline__ uint32_t fold_mask_bits(uint64_t bits) {
  return uint32_t(bits) | uint32_t(bits >> 32);
}

template <Elem E, int KS>
__global__ void __launch_bounds__(kStreamThreads, stream_min_blocks(KS))
    stream_kernel(const StreamParams p) {
  constexpr int MT = stream_warp_tiles(KS);
  constexpr int P = prefetch_tiles(KS);
  const ProblemView& v = p.v;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t4 = lane & 3;
  const int R = p.team;
  const int team = warp / R, wt = warp - team * R;
  const int teams_per_block = (kStreamThreads / 32) / R;
  const int TR = R * MT * 16;  // rows a team holds
  const bool shared_reads = R > 1;

  __shared__ float rowval_s[kStreamThreads / 32][kStreamMaxTeamRows];
  __shared__ float partial_s[kStreamThreads / 32][kStreamMaxSlots];
  __shared__ int32_t prefix_s[kStreamThreads / 32][kMaxPackedGroup + 1];
  float* const rowval = rowval_s[team];
  float* const partial = partial_s[team];
  int32_t* const prefix = prefix_s[team];

  auto team_sync = [&]() {
    if (R == 1) {
      __syncwarp();
    } else {
      ptx::bar_sync(1 + team, R * 32);
    }
  };

  const int64_t nteams = int64_t(gridDim.x) * teams_per_block;
  const int64_t my_team = int64_t(blockIdx.x) * teams_per_block + team;
  const int64_t pb = my_team * p.pairs / nteams;
  const int64_t pe = (my_team + 1) * p.pairs / nteams;

  const int lq = int(v.q.length);
  const bool packed_q = v.q.cu != nullptr;
  const bool stacked_prefix = packed_q && p.group > 1;
  const bool has_dmask = v.d.mask.data != nullptr;
  const float masked_fill = v.zero_mode ? 0.f : -INFINITY;
  const int64_t dsb = v.d.token_stride * v.d.elem_bytes;  // bytes between tokens

  uint32_t qa[MT][KS][4];
  bool qok[MT][2];
  float qinv[MT][2];
  int64_t cur_q0 = -1;
  int cur_c = -1;

  for (int64_t pp = pb; pp < pe; ++pp) {
    int64_t pair = pp;
    if (p.doc_major) {
      const int64_t di = pp / p.groups;
      pair = (pp - di * p.groups) * v.d.count + di;
    }
    PairSeqs ps =
        resolve_pair(v, pair, p.group, stacked_prefix && wt == 0 && lane == 0 ? prefix : nullptr);
    // Lengths beyond int32 cannot be indexed here: score NaN rather than wrap.
    if (ps.nrows > 0x7fffffffLL - kStreamMaxTeamRows || ps.dlen > 0x7fffffffLL - 8) {
      ps.bad_slots = ~0u;
      ps.q0 = -1;
      ps.nrows = ps.dlen = 0;
    }
    const int nrows = int(ps.nrows), dlen = int(ps.dlen);
    const int nchunks = nrows > 0 ? (nrows + TR - 1) / TR : 1;

    for (int c = 0; c < nchunks; ++c) {
      const int wrow0 = c * TR + wt * MT * 16;
      if (wrow0 < nrows) {
        // ---- the warp's query rows, into A fragments (kept while the pair's query repeats)
        if (!(ps.q0 >= 0 && ps.q0 == cur_q0 && c == cur_c)) {
          cur_q0 = ps.q0;
          cur_c = c;
#pragma unroll
          for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const int r = wrow0 + mt * 16 + h * 8 + g;
              const bool in = r < nrows;
              int64_t tok = 0, msk = 0;
              if (in) {
                if (!packed_q) {
                  const int s = r / lq, t = r - s * lq;
                  tok = ps.qtok + s * v.q.outer_stride + int64_t(t) * v.q.token_stride;
                  msk = ps.qmask + s * v.q.mask.outer_stride + int64_t(t) * v.q.mask.token_stride;
                } else {
                  tok = ps.qtok + int64_t(r) * v.q.token_stride;
                  msk = ps.qmask + int64_t(r) * v.q.mask.token_stride;
                }
              }
              RowShare<KS> q;
              load_share<KS, true>(q, v.q.data + tok * v.q.elem_bytes, t4, in);
#pragma unroll
              for (int j = 0; j < KS / 2; ++j) {
                qa[mt][2 * j][h] = q.v[j].x;
                qa[mt][2 * j][h + 2] = q.v[j].y;
                qa[mt][2 * j + 1][h] = q.v[j].z;
                qa[mt][2 * j + 1][h + 2] = q.v[j].w;
              }
              if constexpr (KS % 2 == 1) {
                qa[mt][KS - 1][h] = q.tail.x;
                qa[mt][KS - 1][h + 2] = q.tail.y;
              }
              qok[mt][h] = in && mask_valid(v.q.mask, msk);
              qinv[mt][h] = 1.f;
              if (v.normalize) {
                float s2 = share_sumsq<E, KS>(q);
                s2 += __shfl_xor_sync(0xffffffffu, s2, 1);
                s2 += __shfl_xor_sync(0xffffffffu, s2, 2);
                qinv[mt][h] = inv_norm(s2);
              }
            }
        }

        // ---- stream the document
        float runmax[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int e = 0; e < 4; ++e) runmax[mt][e] = -INFINITY;

        const unsigned char* const tok0 =
            v.d.data + ps.dtok * v.d.elem_bytes + int64_t(g) * dsb;  // token g of tile 0
        const int64_t mask0 = ps.dmask + int64_t(g) * v.d.mask.token_stride;
        const int ntiles = (dlen + 7) >> 3;
        DocTile<KS> buf[P];

        const unsigned char* next = tok0;  // token g of the next tile to load
        auto issue = [&](DocTile<KS>& b, int t) {
          const int tok = t * 8 + g;
          const bool in = tok < dlen;
          if (shared_reads) {
            load_share<KS, true>(b.share, next, t4, in);
          } else {
            load_share<KS, false>(b.share, next, t4, in);
          }
          next += 8 * dsb;
          b.mask_bits = 0;
          if (has_dmask && in) {
            b.mask_bits = fold_mask_bits(
                load_mask_bits(v.d.mask, mask0 + int64_t(t) * 8 * v.d.mask.token_stride));
          }
        };

        auto consume = [&](const DocTile<KS>& b, int t) {
          float acc[MT][4];
#pragma unroll
          for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[mt][e] = 0.f;
#pragma unroll
          for (int ks = 0; ks < KS; ++ks) {
            uint32_t bf[2];
            b_frag<KS>(b.share, ks, bf);
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) mma<E>(acc[mt], qa[mt][ks], bf);
          }
          const int col0 = t * 8;
          if (!has_dmask && !v.normalize && col0 + 8 <= dlen) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
              for (int e = 0; e < 4; ++e) runmax[mt][e] = max_nan(runmax[mt][e], acc[mt][e]);
            return;
          }
          // Tail, mask or normalisation: per-column validity and scale. Column 2 t4 + e
          // belongs to the token that lane 4 (2 t4 + e) loaded.
          bool in[2], ok[2];
          float scale[2] = {1.f, 1.f};
          in[0] = col0 + 2 * t4 < dlen;
          in[1] = col0 + 2 * t4 + 1 < dlen;
          ok[0] = in[0];
          ok[1] = in[1];
          if (has_dmask) {
            const uint32_t bal = __ballot_sync(0xffffffffu, mask_bits_valid(v.d.mask, b.mask_bits));
            ok[0] = ok[0] && ((bal >> (8 * t4)) & 1u);
            ok[1] = ok[1] && ((bal >> (8 * t4 + 4)) & 1u);
          }
          if (v.normalize) {
            float s2 = share_sumsq<E, KS>(b.share);
            s2 += __shfl_xor_sync(0xffffffffu, s2, 1);
            s2 += __shfl_xor_sync(0xffffffffu, s2, 2);
            const float inv = inv_norm(s2);
            scale[0] = __shfl_sync(0xffffffffu, inv, 8 * t4);
            scale[1] = __shfl_sync(0xffffffffu, inv, 8 * t4 + 4);
          }
#pragma unroll
          for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int col = e & 1;
              const float fill = in[col] ? masked_fill : -INFINITY;
              runmax[mt][e] = max_nan(runmax[mt][e], ok[col] ? acc[mt][e] * scale[col] : fill);
            }
        };

#pragma unroll
        for (int j = 0; j < P; ++j) issue(buf[j], j);
        for (int t0 = 0; t0 < ntiles; t0 += P) {
#pragma unroll
          for (int j = 0; j < P; ++j) {
            if (t0 + j < ntiles) {
              consume(buf[j], t0 + j);
              issue(buf[j], t0 + j + P);
            }
          }
        }

        // ---- row maxima of the warp's rows
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            float m = max_nan(runmax[mt][2 * h], runmax[mt][2 * h + 1]);
            m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 1));
            m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 2));
            if (t4 == 0) {
              rowval[wt * MT * 16 + mt * 16 + h * 8 + g] =
                  qok[mt][h] ? (m == -INFINITY ? 0.f : m * qinv[mt][h]) : 0.f;
            }
          }
      }
      team_sync();

      // ---- sum rows per query slot; the last chunk writes the scores
      const int c0 = c * TR;
      for (int s = wt; s < ps.nslots; s += R) {
        int lo, hi;
        if (stacked_prefix) {
          lo = prefix[s];
          hi = prefix[s + 1];
        } else if (!packed_q) {
          lo = s * lq;
          hi = lo + lq;
        } else {
          lo = 0;
          hi = nrows;
        }
        lo = lo < c0 ? 0 : lo - c0;
        hi = hi > c0 + TR ? TR : hi - c0;
        float sum = 0.f;
        for (int r = lo + lane; r < hi; r += 32) sum += rowval[r];
#pragma unroll
        for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        if (lane == 0) {
          const float total = (c == 0 ? 0.f : partial[s]) + sum;
          partial[s] = total;
          if (c == nchunks - 1) {
            v.out[ps.out + s * ps.out_slot_stride] = (ps.bad_slots >> (s & 31)) & 1u ? NAN : total;
          }
        }
      }
      team_sync();
    }
  }
}

}  // namespace colmax::cuda::stream
