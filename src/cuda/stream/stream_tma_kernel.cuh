// The TMA stream kernel (sm_90): the register stream kernel's work split, with the document
// bytes brought in by the copy engine.
//
// Each team owns a ring of S shared-memory stages of ST contiguous document tokens (about
// 6 KB). Warp 0 of the team is also the producer: one lane issues a single bulk copy
// (cp.async.bulk) per stage, completing on the stage's "full" mbarrier, and runs up to S
// stages ahead of the consumers across pair boundaries, so a short document's first bytes
// are already on their way while the previous one is being scored. Every warp of the team
// waits on "full", reads its B fragments from the stage (the permuted layout of
// stream_common.cuh) and arrives on the stage's "empty" mbarrier; the producer refills a
// stage once all R warps have released it. In-flight bytes are bounded by shared memory
// rather than by registers: 2 blocks x 96 KB of stages per multiprocessor.
//
// Documents must be contiguous (token stride = dim) and 16-byte aligned; the host falls back
// to the register kernel otherwise, and on architectures before sm_90.
//
// kW: also write each query token's winner (training's forward with saved state, where few
// query rows meet each document: per-query candidates, pairs). Each accumulator element keeps
// its running position beside its running max, over the valid tokens only (the winner rule:
// NaN first, then the first position).
#pragma once

#include <climits>

#include "cuda/common/winner_rule.cuh"
#include "cuda/stream/stream_ring.cuh"
#include "cuda/stream/stream_winners.cuh"

namespace colmax::cuda::stream {

// One column into a running (max, position) whose position is already set (see the kernel:
// unmasked documents start at each element's first column): the position moves only when the
// max strictly rises or first becomes NaN, so equal values keep the first position. A max.NaN,
// a comparison pair and a select (winner_fold also tests for "nothing yet").
__device__ __forceinline__ void fold_position(float& run, int& arg, float v, int col) {
  const float next = max_nan(run, v);
  if (next != run && run == run) arg = col;
  run = next;
}

// Folds a tile into the running results with positions (kW): column 2 t4 + e of the tile is
// token col0 + 2 t4 + e; masked tokens are left out and the first of them is remembered.
template <int MT>
__device__ __forceinline__ void fold_winners(float (&runmax)[MT][4], int (&runarg)[MT][4],
                                             const float (&acc)[MT][4], int col0, int dlen,
                                             bool has_mask, uint32_t valid, bool normalize,
                                             float inv, int t4, int& first_masked) {
  const TileColumns c = tile_columns(col0, dlen, has_mask, valid, normalize, inv, t4);
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    if (c.in[e] && !c.ok[e]) first_masked = min(first_masked, col0 + 2 * t4 + e);
  }
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int k = e & 1;
      if (c.ok[k]) {
        winner_fold(runmax[mt][e], runarg[mt][e], acc[mt][e] * c.scale[k], col0 + 2 * t4 + k);
      }
    }
}

// The merged winners of the warp's rows: scores' row terms into rowval[row - chunk start] and
// each row's winner (row0: the warp's first row in the pair).
template <int KS, int MT>
__device__ __forceinline__ void write_row_winners(
    const StreamParams& p, const PairSeqs& ps, WinnerOutputs wo, const int32_t* prefix,
    bool stacked_prefix, float* rowval, int local0, int row0, const float (&runmax)[MT][4],
    const int (&runarg)[MT][4], const QueryRows<KS, MT>& q, int first_masked, int g, int t4) {
  int fm = min(first_masked, __shfl_xor_sync(0xffffffffu, first_masked, 1));
  fm = min(fm, __shfl_xor_sync(0xffffffffu, fm, 2));
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float m = runmax[mt][2 * h];
      int a = runarg[mt][2 * h];
      winner_merge(m, a, runmax[mt][2 * h + 1], runarg[mt][2 * h + 1]);
      winner_merge_lanes<1, 4>(m, a);
      if (t4 == 0) {
        const int off = mt * 16 + h * 8 + g;
        float term;
        int win;
        row_result(q.ok[mt][h], p.v.zero_mode != 0, fm, m, a, term, win);
        rowval[local0 + off] = term * q.inv[mt][h];
        if (row0 + off < int(ps.nrows)) {
          write_winner(p, ps, wo, prefix, stacked_prefix, row0 + off, win);
        }
      }
    }
}

template <Elem E, int KS, bool kW>
__global__ void __launch_bounds__(kStreamThreads, kTmaMinBlocks)
    stream_tma_kernel(const StreamParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr int MT = stream_warp_tiles(KS);
  constexpr int ST = tma_stage_tokens(KS);
  constexpr int RB = KS * 32;              // bytes per token row
  constexpr int PITCH = RB;                // rows are contiguous in shared memory
  constexpr int SB = tma_stage_bytes(KS);  // bytes per stage
  constexpr int NTS = ST / 8;              // 8-token tiles per stage
  static_assert(ST <= 64, "two mask words per lane cover a stage");
  const ProblemView& v = p.v;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t4 = lane & 3;
  const int R = p.team;
  const int team = warp / R, wt = warp - team * R;
  const int teams_per_block = (kStreamThreads / 32) / R;
  const int TR = R * MT * 16;
  const int S = p.stages;

  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ float rowval_s[kStreamThreads / 32][kStreamMaxTeamRows];
  __shared__ float partial_s[kStreamThreads / 32][kStreamMaxSlots];
  __shared__ int32_t prefix_s[kStreamThreads / 32][kMaxPackedGroup + 1];
  float* const rowval = rowval_s[team];
  float* const partial = partial_s[team];
  int32_t* const prefix = prefix_s[team];

  const uint32_t bars = ptx::smem_addr(smem) + uint32_t(teams_per_block * S * SB);
  if (threadIdx.x == 0) StageRing<ST, RB>::init_barriers(bars, teams_per_block, S, R);
  __syncthreads();

  int64_t pb, pe;
  team_pairs(p.pairs, teams_per_block, team, pb, pe);

  const bool stacked_prefix = v.q.cu != nullptr && p.group > 1;
  const bool has_dmask = v.d.mask.data != nullptr;
  const float masked_fill = v.zero_mode ? 0.f : -INFINITY;

  // Warp 0 of the team also fills the team's ring.
  StageRing<ST, RB> ring{&p,
                         ptx::smem_addr(smem) + uint32_t(team * S * SB),
                         bars + uint32_t(team * 2 * S * 8),
                         bars + uint32_t((team * 2 + 1) * S * 8),
                         S,
                         TR,
                         pe};
  if (wt == 0) ring.start(pb, lane);

  QueryRows<KS, MT> q;
  HeldQuery held;

  for (int64_t pp = pb; pp < pe; ++pp) {
    const PairSeqs ps =
        resolve_stream_pair(p, pp, stacked_prefix && wt == 0 && lane == 0 ? prefix : nullptr);
    const WinnerOutputs wo = kW ? winner_outputs(p, pp) : WinnerOutputs{};
    const int nrows = int(ps.nrows), dlen = int(ps.dlen);
    const int nchunks = chunks_of(ps, TR);
    const int ntiles = StageRing<ST, RB>::stages_of(ps);
    const int64_t mask0 = ps.dmask + int64_t(lane) * v.d.mask.token_stride;

    for (int c = 0; c < nchunks; ++c) {
      const int wrow0 = c * TR + wt * MT * 16;
      const bool active = wrow0 < nrows;
      if (active && held.replace(ps.q0, c)) {
        load_query_rows<E, KS, MT>(q, v, ps, wrow0, nrows, g, t4);
      }
      float runmax[MT][4];
      init_runmax<MT>(runmax);
      int runarg[kW ? MT : 1][4];
      int first_masked = INT_MAX;
      if constexpr (kW) {
        // Without a document mask every token is valid, so each element's first column (if the
        // document reaches it) is its position until a value ranks above -inf: the unmasked
        // folds below then need no "nothing yet" test. With a mask, the first valid column is
        // found by winner_fold's own test.
        const int first = 2 * t4;
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int col = first + (e & 1);
            runarg[mt][e] = !has_dmask && col < dlen ? col : -1;
          }
      }

      // Mask elements of a stage's tokens (lane l: tokens l and l + 32), one stage ahead.
      uint32_t mnext[2] = {0, 0};
      auto load_masks = [&](int t, uint32_t(&m)[2]) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int tok = t * ST + lane + 32 * h;
          m[h] = 0;
          if ((h == 0 || ST > 32) && tok < dlen) {
            m[h] = fold_mask_bits(load_mask_bits(
                v.d.mask, mask0 + (int64_t(t) * ST + 32 * h) * v.d.mask.token_stride));
          }
        }
      };
      if (has_dmask && active && ntiles > 0) load_masks(0, mnext);

      for (int t = 0; t < ntiles; ++t) {
        const uint32_t stage_addr = ring.wait_full();
        if (active) {
          const uint32_t stage = stage_addr + uint32_t(g * PITCH);
          if (!has_dmask && !v.normalize && (t + 1) * ST <= dlen) {
            // A full stage without masks: tiles two at a time, branch-free.
#pragma unroll
            for (int nt = 0; nt + 1 < NTS; nt += 2) {
              RowShare<KS> b0, b1;
              load_share_smem<KS>(b0, stage + uint32_t(nt * 8 * PITCH), t4);
              load_share_smem<KS>(b1, stage + uint32_t((nt + 1) * 8 * PITCH), t4);
              float acc0[MT][4], acc1[MT][4];
              tile_products2<E, KS, MT>(acc0, acc1, q.a, b0, b1);
              if constexpr (kW) {
                const int col = t * ST + nt * 8 + 2 * t4;
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int e = 0; e < 4; ++e) {
                    fold_position(runmax[mt][e], runarg[mt][e], acc0[mt][e], col + (e & 1));
                    fold_position(runmax[mt][e], runarg[mt][e], acc1[mt][e], col + 8 + (e & 1));
                  }
              } else {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int e = 0; e < 4; ++e) {
                    runmax[mt][e] = max_nan(runmax[mt][e], max_nan(acc0[mt][e], acc1[mt][e]));
                  }
              }
            }
            if constexpr (NTS % 2 == 1) {
              RowShare<KS> b;
              load_share_smem<KS>(b, stage + uint32_t((NTS - 1) * 8 * PITCH), t4);
              float acc[MT][4];
              tile_products<E, KS, MT>(acc, q.a, b);
              const int col = t * ST + (NTS - 1) * 8 + 2 * t4;
#pragma unroll
              for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                  if constexpr (kW) {
                    fold_position(runmax[mt][e], runarg[mt][e], acc[mt][e], col + (e & 1));
                  } else {
                    runmax[mt][e] = max_nan(runmax[mt][e], acc[mt][e]);
                  }
                }
            }
          } else {
            uint64_t valid = 0;
            if (has_dmask) {
              const uint32_t m[2] = {mnext[0], mnext[1]};
              if (t + 1 < ntiles) load_masks(t + 1, mnext);
              valid = uint64_t(__ballot_sync(0xffffffffu, mask_bits_valid(v.d.mask, m[0])));
              if (ST > 32) {
                valid |= uint64_t(__ballot_sync(0xffffffffu, mask_bits_valid(v.d.mask, m[1])))
                         << 32;
              }
            }
#pragma unroll
            for (int nt = 0; nt < NTS; ++nt) {
              const int col0 = t * ST + nt * 8;
              if (col0 < dlen) {
                RowShare<KS> b;
                load_share_smem<KS>(b, stage + uint32_t(nt * 8 * PITCH), t4, col0 + g < dlen);
                float acc[MT][4];
                tile_products<E, KS, MT>(acc, q.a, b);
                const float inv = v.normalize ? inv_norm(quad_sumsq<E, KS>(b)) : 1.f;
                const uint32_t bits = uint32_t(valid >> (nt * 8)) & 0xffu;
                if constexpr (kW) {
                  fold_winners<MT>(runmax, runarg, acc, col0, dlen, has_dmask, bits, v.normalize,
                                   inv, t4, first_masked);
                } else {
                  fold<MT>(runmax, acc, col0, dlen, has_dmask, bits, v.normalize, inv, masked_fill,
                           t4);
                }
              }
            }
          }
        }
        ring.release(lane, wt == 0);
      }
      if (active) {
        if constexpr (kW) {
          write_row_winners<KS, MT>(p, ps, wo, prefix, stacked_prefix, rowval, wt * MT * 16, wrow0,
                                    runmax, runarg, q, first_masked, g, t4);
        } else {
          write_row_maxima<KS, MT>(rowval, wt * MT * 16, runmax, q, g, t4);
        }
      }
      team_sync(R, team);
      sum_slots(v, ps, rowval, partial, prefix, stacked_prefix, c, nchunks, TR, R, wt, lane);
      if constexpr (kW) {
        if (c == nchunks - 1) finish_winners(p, ps, wo, prefix, stacked_prefix, wt, lane, R);
      }
      team_sync(R, team);
    }
  }
#endif
}

}  // namespace colmax::cuda::stream
