// The wgmma stream kernel (sm_90a): many query rows against a stream of documents, on the
// warpgroup tensor-core instructions.
//
// The product is taken transposed, S^T = D Q^T, so that the streamed operand needs no
// particular shared-memory layout: the document stage (64 contiguous tokens, brought in by
// one bulk copy, as in the TMA kernel) is the wgmma A operand, loaded into registers by each
// warp (16 tokens a warp, the permuted layout of stream_common.cuh); the block's 128 query
// rows are the B operand, written once per pass into shared memory in the 128-byte
// swizzled layout, with the same permutation of the embedding. One m64n128k16 per 16-element k-step
// gives the 64 x 128 similarities of a stage in 64 accumulator registers per thread; the max over
// document tokens is then a max over accumulator rows: element-wise across stages, then
// across the 8 lane groups and the 4 warps at the end of the pass.
//
// The block is one team of 4 warps (the stream kernels' team of R = 4: 128 rows, stacked
// queries, row chunks for longer queries, the same producer, pairs and slot sums).
#pragma once

#include <climits>

#include "cuda/common/winner_rule.cuh"
#include "cuda/stream/stream_ring.cuh"
#include "cuda/stream/stream_winners.cuh"

namespace colmax::cuda::stream {

inline constexpr int kWgRows = 128;   // query rows per pass (wgmma N)
inline constexpr int kWgTokens = 64;  // document tokens per stage (wgmma M)

template <Elem E>
__device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc,
                                         int scale_d) {
  if constexpr (E == Elem::bf16) {
    ptx::wgmma_m64n128k16_bf16_rs(d, a, desc, scale_d);
  } else {
    ptx::wgmma_m64n128k16_f16_rs(d, a, desc, scale_d);
  }
}

// kW: also write each query token's winner (training's forward with saved state,
// StreamParams::winners): the running max then covers valid tokens only, with their positions,
// and masked positions count through the first of them (mask mode zero).
// G warpgroups a block (1 or 2): with 2, both read every document stage, each against its own
// 128-row chunk of the pair's query rows (chunks 2 k and 2 k + 1 in pass k), so a document is
// streamed once per 256 query rows instead of once per 128.
template <Elem E, int KS, bool kW, int G>
__global__ void __launch_bounds__(kStreamThreads* G, 1) stream_wg_kernel(const StreamParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(KS % 2 == 0, "whole 64-byte pieces");
  static_assert(G == 1 || (G == 2 && !kW), "two warpgroups: scores only");
  constexpr int ST = kWgTokens;
  constexpr int N = kWgRows;
  constexpr int RB = KS * 32;  // bytes per token row
  constexpr int SB = ST * RB;  // bytes per stage
  // The query operand in the 128-byte swizzled K-major layout: per 64-element k-block, row n
  // at 128 n bytes, its 16-byte chunk c stored at chunk c ^ (n mod 8) (conflict-free for the
  // tensor cores and for the stores below); 8-row groups 1024 bytes apart.
  constexpr int KB = N * 128;                           // bytes of one 64-element k-block
  constexpr int QB = (KS / 4 + (KS % 4 ? 1 : 0)) * KB;  // bytes of the query operand
  const ProblemView& v = p.v;
  const int lane = threadIdx.x & 31, w = (threadIdx.x >> 5) & 3, wg = int(threadIdx.x) >> 7;
  const int g = lane >> 2, t4 = lane & 3;
  const int S = p.stages;
  constexpr int R = 4, TR = N * G;  // warps of a warpgroup; query rows of a pass
  // Every lane releases a stage itself: the fragments it read are ordered before the
  // refill without relying on __syncwarp (racecheck reported the warp-level release).
  using Ring = StageRing<ST, RB, true>;

  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ float rowvals[G][N];
  __shared__ float partial[kStreamMaxSlots];
  __shared__ int32_t prefix[kMaxPackedGroup + 1];
  __shared__ float reds[G][4][N];
  __shared__ int reda[kW ? 4 : 1][N];
  __shared__ int redfm[4];
  __shared__ float qinvs[G][N];
  __shared__ uint8_t qoks[G][N];
  float* const rowval = rowvals[wg];
  float(*const red)[N] = reds[wg];
  float* const qinv_s = qinvs[wg];
  uint8_t* const qok_s = qoks[wg];

  const uint32_t qbase0 = (ptx::smem_addr(smem) + 1023u) & ~1023u;  // swizzle atoms
  const uint32_t qbase = qbase0 + uint32_t(wg * QB);                // this warpgroup's rows
  const uint32_t bars = qbase0 + uint32_t(G * QB + S * SB);
  if (threadIdx.x == 0) Ring::init_barriers(bars, 1, S, R * G);
  __syncthreads();

  const int64_t pb = int64_t(blockIdx.x) * p.pairs / gridDim.x;
  const int64_t pe = int64_t(blockIdx.x + 1) * p.pairs / gridDim.x;
  const bool stacked_prefix = v.q.cu != nullptr && p.group > 1;
  const bool has_dmask = v.d.mask.data != nullptr;
  const float masked_fill = v.zero_mode ? 0.f : -INFINITY;

  // Warp 0 also fills the ring.
  Ring ring{&p, qbase0 + uint32_t(G * QB), bars, bars + uint32_t(S * 8), S, TR, pe};
  const bool producer = threadIdx.x < 32;
  if (producer) ring.start(pb, lane);

  HeldQuery held;

  for (int64_t pp = pb; pp < pe; ++pp) {
    const PairSeqs ps =
        resolve_stream_pair(p, pp, stacked_prefix && threadIdx.x == 0 ? prefix : nullptr);
    const WinnerOutputs wo = kW ? winner_outputs(p, pp) : WinnerOutputs{};
    const int nrows = int(ps.nrows), dlen = int(ps.dlen);
    const int nchunks = chunks_of(ps, N);  // 128-row chunks
    const int npasses = chunks_of(ps, TR);
    const int ntiles = Ring::stages_of(ps);

    for (int pass = 0; pass < npasses; ++pass) {
      const int c = pass * G + wg;      // this warpgroup's chunk
      const bool active = c < nchunks;  // (uniform over the warpgroup)
      // ---- the pass's query rows into shared memory, swizzled (when they change)
      if (nrows > 0 && held.replace(ps.q0, pass)) {
#pragma unroll 1
        for (int it = 0; it < (active ? N / 32 : 0); ++it) {
          const int n = it * 32 + w * 8 + g;  // row of the pass
          const int r = c * N + n;            // row of the pair
          const bool in = r < nrows;
          int64_t tok = 0, msk = 0;
          if (in) query_row_offsets(v, ps, r, tok, msk);
          RowShare<KS> share;
          load_share<KS, true>(share, v.q.data + tok * v.q.elem_bytes, t4, in);
          // Piece j of lane t4 holds logical 8-element chunks 4j..4j+3 (k-steps 2j, 2j + 1,
          // halves e = 0, 1), 4 bytes each at position t4 of the chunk.
          const uint32_t row = qbase + uint32_t(n * 128 + t4 * 4);
#pragma unroll
          for (int j = 0; j < KS / 2; ++j) {
            const uint32_t words[4] = {share.v[j].x, share.v[j].y, share.v[j].z, share.v[j].w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
              const int chunk = 4 * j + q;  // over the whole embedding
              const int kb = chunk / 8, cc = chunk % 8;
              ptx::st_shared_b32(row + uint32_t(kb * KB + ((cc ^ (n & 7)) * 16)), words[q]);
            }
          }
          const float inv = v.normalize ? inv_norm(quad_sumsq<E, KS>(share)) : 1.f;
          if (t4 == 0) {
            qok_s[n] = in && mask_valid(v.q.mask, msk) ? 1 : 0;
            qinv_s[n] = inv;
          }
        }
        ptx::fence_proxy_async_shared();
        __syncthreads();
      }

      // Running max per (query column 8j + 2 t4 + e), over this warp's token rows; with
      // winners, also its position and the first masked position seen.
      float runq[N / 8][2];
      int runa[kW ? N / 8 : 1][2];
      int first_masked = INT_MAX;
#pragma unroll
      for (int j = 0; j < N / 8; ++j) runq[j][0] = runq[j][1] = -INFINITY;
      if constexpr (kW) {
#pragma unroll
        for (int j = 0; j < N / 8; ++j) runa[j][0] = runa[j][1] = -1;
      }

      for (int t = 0; t < ntiles; ++t) {
        const uint32_t stage = ring.wait_full();
        if (G > 1 && !active) {  // this warpgroup has no chunk in the pass: just release
          ring.release(lane, producer);
          continue;
        }
        const int tok0 = t * ST + 16 * w + g;  // this lane's token rows tok0, tok0 + 8
        RowShare<KS> ra, rb;
        // Rows past the document's end hold an older copy's bytes: not read (zeros).
        load_share_smem<KS>(ra, stage + uint32_t((16 * w + g) * RB), t4, tok0 < dlen);
        load_share_smem<KS>(rb, stage + uint32_t((16 * w + g + 8) * RB), t4, tok0 + 8 < dlen);
        uint32_t mbits[2] = {0, 0};
        if (has_dmask) {
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            if (tok0 + 8 * h < dlen) {
              mbits[h] = fold_mask_bits(load_mask_bits(
                  v.d.mask, ps.dmask + int64_t(tok0 + 8 * h) * v.d.mask.token_stride));
            }
          }
        }

        uint32_t a[KS][4];
#pragma unroll
        for (int j = 0; j < KS / 2; ++j) {
          a[2 * j][0] = ra.v[j].x;
          a[2 * j][1] = rb.v[j].x;
          a[2 * j][2] = ra.v[j].y;
          a[2 * j][3] = rb.v[j].y;
          a[2 * j + 1][0] = ra.v[j].z;
          a[2 * j + 1][1] = rb.v[j].z;
          a[2 * j + 1][2] = ra.v[j].w;
          a[2 * j + 1][3] = rb.v[j].w;
        }
        float acc[64];
#pragma unroll
        for (int i = 0; i < 64; ++i) acc[i] = 0.f;
        ptx::wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < KS; ++ks) {
          // k-step ks: k-block ks / 4, 32 bytes into its rows (the hardware applies the
          // swizzle to the computed addresses).
          wgmma_rs<E>(acc, a[ks],
                      ptx::wgmma_desc_sw128(qbase + uint32_t((ks / 4) * KB + (ks % 4) * 32)),
                      ks > 0 ? 1 : 0);
        }
        ptx::wgmma_commit();
        ptx::wgmma_wait_all();
#pragma unroll
        for (int i = 0; i < 64; ++i) ptx::fence_register(acc[i]);
        // The tensor cores have consumed the fragments loaded from the stage: release it to
        // the producer. (Releasing right after the loads, before any instruction used their
        // values, is what compute-sanitizer's racecheck reported as a race with the next
        // bulk copy into the stage.)
        ring.release(lane, producer);

        if (kW && !has_dmask && !v.normalize && (t + 1) * ST <= dlen) {
          // A full unmasked tile: the lane's two token rows are merged first (tok0 ranks
          // before tok0 + 8), then the pair is folded into the running result. The winner
          // rule is a maximum under a total order (NaN first, then the first position), so
          // merging in pairs gives the same winner as folding one by one, at half the folds.
#pragma unroll
          for (int j = 0; j < N / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const float v0 = acc[4 * j + e], v1 = acc[4 * j + 2 + e];
              const bool second = !isnan(v0) && (isnan(v1) || v1 > v0);
              winner_fold(runq[j][e], runa[j][e], second ? v1 : v0, second ? tok0 + 8 : tok0);
            }
        } else if constexpr (kW) {
          bool ok[2];
          float scale[2] = {1.f, 1.f};
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const bool in = tok0 + 8 * h < dlen;
            ok[h] = in && (!has_dmask || mask_bits_valid(v.d.mask, mbits[h]));
            if (in && !ok[h]) first_masked = min(first_masked, tok0 + 8 * h);
          }
          if (v.normalize) {
            scale[0] = inv_norm(quad_sumsq<E, KS>(ra));
            scale[1] = inv_norm(quad_sumsq<E, KS>(rb));
          }
#pragma unroll
          for (int j = 0; j < N / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e)
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                if (ok[h]) {
                  winner_fold(runq[j][e], runa[j][e], acc[4 * j + 2 * h + e] * scale[h],
                              tok0 + 8 * h);
                }
              }
        } else if (!has_dmask && !v.normalize && (t + 1) * ST <= dlen) {
#pragma unroll
          for (int j = 0; j < N / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              runq[j][e] = max_nan(runq[j][e], max_nan(acc[4 * j + e], acc[4 * j + 2 + e]));
            }
        } else {
          bool in[2], ok[2];
          float scale[2] = {1.f, 1.f};
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            in[h] = tok0 + 8 * h < dlen;
            ok[h] = in[h] && (!has_dmask || mask_bits_valid(v.d.mask, mbits[h]));
          }
          if (v.normalize) {
            scale[0] = inv_norm(quad_sumsq<E, KS>(ra));
            scale[1] = inv_norm(quad_sumsq<E, KS>(rb));
          }
#pragma unroll
          for (int j = 0; j < N / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              float m = runq[j][e];
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                const float fill = in[h] ? masked_fill : -INFINITY;
                m = max_nan(m, ok[h] ? acc[4 * j + 2 * h + e] * scale[h] : fill);
              }
              runq[j][e] = m;
            }
        }
      }

      // ---- the pass's row maxima: across the 8 lane groups, then the 4 warps
      if constexpr (kW) {
#pragma unroll
        for (int j = 0; j < N / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float m = runq[j][e];
            int a = runa[j][e];
            winner_merge_lanes<4, 32>(m, a);
            if (g == 0) {
              red[w][8 * j + 2 * t4 + e] = m;
              reda[w][8 * j + 2 * t4 + e] = a;
            }
          }
        const int fm = __reduce_min_sync(0xffffffffu, first_masked);
        if (lane == 0) redfm[w] = fm;
      } else {
#pragma unroll
        for (int j = 0; j < N / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float m = runq[j][e];
            m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 4));
            m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 8));
            m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 16));
            if (g == 0) red[w][8 * j + 2 * t4 + e] = m;
          }
      }
      __syncthreads();
      if (active) {
        const int n = int(threadIdx.x) & (N - 1);  // 128 threads a warpgroup, 128 rows
        const int r = c * N + n;
        const bool row_valid = r < nrows && qok_s[n];
        if constexpr (kW) {
          float best = red[0][n];
          int arg = reda[0][n];
          int fm = redfm[0];
#pragma unroll
          for (int k = 1; k < 4; ++k) {
            winner_merge(best, arg, red[k][n], reda[k][n]);
            fm = min(fm, redfm[k]);
          }
          float term;
          int win;
          row_result(row_valid, v.zero_mode != 0, fm, best, arg, term, win);
          rowval[n] = term * qinv_s[n];
          if (r < nrows) write_winner(p, ps, wo, prefix, stacked_prefix, r, win);
        } else {
          float m = red[0][n];
#pragma unroll
          for (int k = 1; k < 4; ++k) m = max_nan(m, red[k][n]);
          rowval[n] = row_valid ? (m == -INFINITY ? 0.f : m * qinv_s[n]) : 0.f;
        }
      }
      __syncthreads();
      // The chunks' row sums in chunk order (warpgroup 0's warps): results do not depend on G.
      if (wg == 0) {
#pragma unroll
        for (int k = 0; k < G; ++k) {
          if (pass * G + k < nchunks) {
            sum_slots(v, ps, rowvals[k], partial, prefix, stacked_prefix, pass * G + k, nchunks, N,
                      R, w, lane);
          }
        }
      }
      if constexpr (kW) {
        if (c == nchunks - 1) finish_winners(p, ps, wo, prefix, stacked_prefix, w, lane);
      }
      __syncthreads();
    }
  }
#endif
}

}  // namespace colmax::cuda::stream
