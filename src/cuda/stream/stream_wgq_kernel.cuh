// The query-rows wgmma kernel (sm_90a): S = Q Dᵀ with the query rows as the wgmma A operand
// in registers and the streamed document stage as the B operand in shared memory.
//
// The layout is the one flash attention uses: each thread holds two query rows of its
// warpgroup's 64 and a quarter of the stage's token columns, so the max over tokens is a max
// over the thread's own accumulators with one running value per row (and, for the winners,
// one running position per row, updated only when a stage raises the row's maximum). The
// other wgmma kernel (stream_wg_kernel.cuh) takes the product transposed and keeps a running
// value per query column and thread: 64 registers of state with winners, which spilled.
//
// Document stages (64 tokens) come from a 2-D tensor map in the 128-byte swizzled layout
// (one box per 64 elements of the embedding), filled by a producer warp of its own; C
// consumer warpgroups (NB blocks of 64 query rows each, 64 C NB rows a pass) read every
// stage. With one block a warpgroup, it keeps two stages in flight: the products of stage
// t + 1 run on the tensor cores while the thread folds stage t.
//
// Scope (the host checks it, stream_launch.cpp): bf16 or fp16, dims 64, 96 and 128, no
// document mask and no normalisation (the other kernel takes those); query masks, every
// pairing, stacked and packed queries, packed documents.
#pragma once

#include <cuda.h>

#include <climits>

#include "cuda/common/winner_rule.cuh"
#include "cuda/stream/stream_ring.cuh"
#include "cuda/stream/stream_winners.cuh"

namespace colmax::cuda::stream {

inline constexpr int kWgqRows = 64;    // query rows a warpgroup holds (wgmma M)
inline constexpr int kWgqTokens = 64;  // document tokens a stage (wgmma N)

template <Elem E>
__device__ __forceinline__ void wgmma_n64_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t desc,
                                             int scale_d) {
  if constexpr (E == Elem::bf16) {
    ptx::wgmma_m64n64k16_bf16_rs(d, a, desc, scale_d);
  } else {
    ptx::wgmma_m64n64k16_f16_rs(d, a, desc, scale_d);
  }
}

// The products of one stage into acc (every k-step; committed as one group).
template <Elem E, int KS>
__device__ __forceinline__ void stage_products(float (&acc)[32], const uint32_t (&a)[KS][4],
                                               uint32_t stage) {
  constexpr int KB = kWgqTokens * 128;  // bytes of one 64-element column box of the stage
  ptx::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    wgmma_n64_rs<E>(acc, a[ks],
                    ptx::wgmma_desc_sw128(stage + uint32_t((ks / 4) * KB + (ks % 4) * 32)),
                    ks > 0 ? 1 : 0);
  }
  ptx::wgmma_commit();
}

// Orders the reads of a retired product after the wgmma wait that retired it.
__device__ __forceinline__ void fence_all(float (&acc)[32]) {
#pragma unroll
  for (int i = 0; i < 32; ++i) ptx::fence_register(acc[i]);
}

// Folds row h's 16 similarities of a stage (tokens tok0 + 8 j + 2 t4 + e) into its running
// max, and with kW its running winner. On a partial stage (kFull false) columns past the
// document's end are left out.
template <bool kW, bool kFull>
__device__ __forceinline__ void fold_row(float& run, int& arg, const float (&acc)[32], int h,
                                         int tok0, int t4, int dlen) {
  float v[16];
#pragma unroll
  for (int j = 0; j < 8; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const float x = acc[4 * j + 2 * h + e];
      v[2 * j + e] = kFull || tok0 + 8 * j + 2 * t4 + e < dlen ? x : -INFINITY;
    }
  // A tree: four dependent maxima instead of fifteen.
  float m8[8], m4[4];
#pragma unroll
  for (int k = 0; k < 8; ++k) m8[k] = max_nan(v[2 * k], v[2 * k + 1]);
#pragma unroll
  for (int k = 0; k < 4; ++k) m4[k] = max_nan(m8[2 * k], m8[2 * k + 1]);
  const float m = max_nan(max_nan(m4[0], m4[1]), max_nan(m4[2], m4[3]));
  if constexpr (!kW) {
    run = max_nan(run, m);
  } else {
    // A stage raises the row when its max ranks above the running one (NaN first, the first
    // position among equals: later stages need strictly more); the first stage with a valid
    // column always does. Only then is the position looked up: the first column holding m.
    // (A branch-free descent of the max tree measured slower on an H100: on short documents
    // nearly every stage raises some row of the warp, but the lookup is cheap beside the
    // products.)
    const bool any = kFull || tok0 + 2 * t4 < dlen;
    const bool raise = any && (arg < 0 || (!isnan(run) && (isnan(m) || m > run)));
    if (raise) {
      int at = 15;
      if (!isnan(m)) {
#pragma unroll
        for (int k = 14; k >= 0; --k) at = v[k] == m ? k : at;
      } else {
#pragma unroll
        for (int k = 14; k >= 0; --k) at = isnan(v[k]) ? k : at;
      }
      run = m;
      arg = tok0 + 8 * (at >> 1) + 2 * t4 + (at & 1);
    }
  }
}

// NB row blocks a warpgroup (scores only): with NB = 2 each warpgroup holds 128 query rows
// and multiplies both blocks by every stage, so a pass covers 256 rows and long queries read
// each document half as often; stages are then not overlapped with each other, only the
// second block's products with the first block's fold.
template <Elem E, int KS, bool kW, int C, int NB>
__global__ void __launch_bounds__(128 * C + 32, 1)
    stream_wgq_kernel(const StreamParams p, const __grid_constant__ CUtensorMap dmap) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(NB == 1 || (NB == 2 && !kW), "two row blocks: scores only");
  constexpr int ST = kWgqTokens;
  constexpr int RB = ((KS + 3) / 4) * 128;  // bytes per token row of a stage (column boxes)
  constexpr int SB = ST * RB;
  constexpr int TR = kWgqRows * C * NB;  // query rows of a pass
  constexpr int CT = 128 * C;            // consumer threads
  const ProblemView& v = p.v;
  // Warp and warpgroup indices broadcast from lane 0: the compiler then knows them uniform
  // across the warp, and every branch the wgmma pipeline sits in must be (otherwise ptxas
  // serialises the wgmma instructions, C7518).
  const int warp = __shfl_sync(0xffffffffu, int(threadIdx.x) >> 5, 0);
  const int lane = threadIdx.x & 31, w = warp & 3, wg = warp >> 2;
  const int g = lane >> 2, t4 = lane & 3;
  const int S = p.stages;
  using Ring = StageRing<ST, RB, true, true>;

  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ float rowval[TR];
  __shared__ float partial[kStreamMaxSlots];
  __shared__ int32_t prefix[kMaxPackedGroup + 1];

  const uint32_t ring0 = (ptx::smem_addr(smem) + 1023u) & ~1023u;  // swizzle atoms
  const uint32_t bars = ring0 + uint32_t(S * SB);
  if (threadIdx.x == 0) Ring::init_barriers(bars, 1, S, 4 * C);
  __syncthreads();

  const int64_t pb = int64_t(blockIdx.x) * p.pairs / gridDim.x;
  const int64_t pe = int64_t(blockIdx.x + 1) * p.pairs / gridDim.x;
  Ring ring{&p, ring0, bars, bars + uint32_t(S * 8), S, TR, pe};
  ring.map = &dmap;
  if (warp >= 4 * C) {  // the producer warp
    ring.produce_all(pb, lane);
    return;
  }

  const bool stacked_prefix = v.q.cu != nullptr && p.group > 1;
  HeldQuery held;
  uint32_t a[NB][KS][4];
  bool qok[NB][2] = {};
  float acc0[32], acc1[32];  // (wgmma operands from the start: no use before a definition)
#pragma unroll
  for (int i = 0; i < 32; ++i) acc0[i] = acc1[i] = 0.f;

  // The pass's query rows of the pair as A fragments (when they change): k-step ks of row r
  // holds elements 16 ks + 2 t4 + {0, 1} and 16 ks + 8 + 2 t4 + {0, 1}. Rows row0 + 64 nb +
  // 8 h of the pair (nb < NB, h < 2).
  const auto load_rows = [&](const PairSeqs& ps, int pass) {
    if (!held.replace(ps.q0, pass)) return;
    const int row0 = pass * TR + wg * kWgqRows * NB + 16 * w + g;
#pragma unroll
    for (int nb = 0; nb < NB; ++nb)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = row0 + kWgqRows * nb + 8 * h;
        const bool in = r < int(ps.nrows);
        int64_t tok = 0, msk = 0;
        if (in) query_row_offsets(v, ps, r, tok, msk);
        const uint32_t* q = reinterpret_cast<const uint32_t*>(v.q.data + tok * v.q.elem_bytes) + t4;
#pragma unroll
        for (int ks = 0; ks < KS; ++ks) {
          a[nb][ks][h] = in ? __ldg(q + 8 * ks) : 0u;
          a[nb][ks][h + 2] = in ? __ldg(q + 8 * ks + 4) : 0u;
        }
        qok[nb][h] = in && mask_valid(v.q.mask, msk);
      }
  };

  float run[NB][2];
  int arg[2];
  const auto reset = [&]() {
#pragma unroll
    for (int nb = 0; nb < NB; ++nb) run[nb][0] = run[nb][1] = -INFINITY;
    arg[0] = arg[1] = -1;
  };
  // Folds block nb's products of stage t of a document of dlen tokens.
  const auto fold_block = [&](const float(&cur)[32], int nb, int t, int dlen) {
    const int tok0 = t * ST;
    if (tok0 + ST <= dlen) {
      fold_row<kW, true>(run[nb][0], arg[0], cur, 0, tok0, t4, dlen);
      fold_row<kW, true>(run[nb][1], arg[1], cur, 1, tok0, t4, dlen);
    } else {
      fold_row<kW, false>(run[nb][0], arg[0], cur, 0, tok0, t4, dlen);
      fold_row<kW, false>(run[nb][1], arg[1], cur, 1, tok0, t4, dlen);
    }
  };
  // The end of a pass over a pair: row maxima across the quad's column shares, rows in shared
  // memory for the slot sums (warpgroup 0), winners; the running results start again.
  const auto finish_pass = [&](const PairSeqs& ps, WinnerOutputs wo, int pass, int npasses) {
    const int row0 = pass * TR + wg * kWgqRows * NB + 16 * w + g;
    const int nrows = int(ps.nrows);
#pragma unroll
    for (int nb = 0; nb < NB; ++nb)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = row0 + kWgqRows * nb + 8 * h;
        float m = run[nb][h];
        if constexpr (kW) {
          int at = arg[h];
          winner_merge_lanes<1, 4>(m, at);
          if (t4 == 0) {
            const bool valid = r < nrows && qok[nb][h] && at >= 0;
            rowval[r - pass * TR] = valid ? m : 0.f;
            if (r < nrows) write_winner(p, ps, wo, prefix, stacked_prefix, r, valid ? at : -1);
          }
        } else {
          m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 1));
          m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 2));
          if (t4 == 0) {
            rowval[r - pass * TR] = r < nrows && qok[nb][h] && m != -INFINITY ? m : 0.f;
          }
        }
      }
    ptx::bar_sync(1, CT);
    if (wg == 0) {
      sum_slots(v, ps, rowval, partial, prefix, stacked_prefix, pass, npasses, TR, 4, w, lane);
      if constexpr (kW) {
        if (pass == npasses - 1) finish_winners(p, ps, wo, prefix, stacked_prefix, w, lane);
      }
    }
    ptx::bar_sync(1, CT);
    reset();
  };
  reset();

  int64_t pp = pb;
  while (pp < pe) {
    const PairSeqs ps =
        resolve_stream_pair(p, pp, stacked_prefix && threadIdx.x == 0 ? prefix : nullptr);
    const WinnerOutputs wo = kW ? winner_outputs(p, pp) : WinnerOutputs{};
    const int npasses = __shfl_sync(0xffffffffu, chunks_of(ps, TR), 0);
    const int ntiles = __shfl_sync(0xffffffffu, Ring::stages_of(ps), 0);
    // Packed stacked queries: thread 0 just wrote the pair's row offsets.
    if (stacked_prefix) ptx::bar_sync(1, CT);
    int64_t last = pp;  // the last pair this iteration finishes

    for (int pass = 0; pass < npasses; ++pass) {
      load_rows(ps, pass);
      if (ntiles == 0) {
        finish_pass(ps, wo, pass, npasses);
        continue;
      }
      if constexpr (NB == 1) {
        // A run of stages: this pass's and, with one pass a pair, those of the following pairs
        // that hold the same query rows (consecutive documents of one query group), so that
        // the products of the next stage, the next pair's first included, run on the tensor
        // cores while the thread folds the current one and finishes its pair. Stage s's
        // products are in acc0 (s even) or acc1 (s odd). Every issue in the loop is
        // unconditional and each way out of it ends with nothing in flight: with a product in
        // flight on some paths only, ptxas would serialise every wgmma (C7514, C7518).
        const bool chain = npasses == 1 && p.chain != 0;
        // The pairs of a run differ only in their document (length), where their scores and
        // winners go: the pair being folded is cps, the next one's differences are kept aside
        // once its first stage is issued.
        PairSeqs cps = ps;
        WinnerOutputs cwo = wo, nwo = wo;
        int64_t n_out = 0;
        int n_dlen = 0;
        int t = 0, cn = ntiles;     // fold cursor: stage of cps, its stage count
        int it = 0, in_n = ntiles;  // issue cursor: stage of the pair issued last, its count
        int64_t ip = pp;            // the pair issued last
        // Moves the issue cursor to the next stage of the run; false at the run's end.
        const auto next = [&]() {
          bool more = it + 1 < in_n;
          if (more) {
            ++it;
          } else if (chain && ip + 1 < pe) {
            const PairSeqs c = resolve_stream_pair(p, ip + 1, nullptr);
            const int n = Ring::stages_of(c);
            if (__shfl_sync(0xffffffffu, c.q0 == cps.q0 && n > 0 && chunks_of(c, TR) == 1, 0)) {
              n_out = c.out;
              n_dlen = int(c.dlen);
              if constexpr (kW) nwo = winner_outputs(p, ip + 1);
              ++ip;
              it = 0;
              in_n = __shfl_sync(0xffffffffu, n, 0);
              more = true;
            }
          }
          return __shfl_sync(0xffffffffu, more ? 1 : 0, 0) != 0;
        };
        // Folds the oldest stage in flight (its products retired into `cur`) and, after a
        // pair's last stage, finishes the pair and moves on to the next.
        const auto step = [&](const float(&cur)[32]) {
          ring.release_only();
          fold_block(cur, 0, t, int(cps.dlen));
          if (++t == cn) {
            finish_pass(cps, cwo, pass, npasses);
            cps.out = n_out;
            cps.dlen = n_dlen;
            cwo = nwo;
            t = 0;
            cn = in_n;
          }
        };
        stage_products<E, KS>(acc0, a[0], ring.wait_full());
        bool odd = false;  // the run ended with acc1's products folded last
        while (next()) {
          stage_products<E, KS>(acc1, a[0], ring.wait_full_next());
          ptx::wgmma_wait<1>();
          fence_all(acc0);
          step(acc0);
          if (!next()) {
            ptx::wgmma_wait<0>();
            fence_all(acc1);
            step(acc1);
            odd = true;
            break;
          }
          stage_products<E, KS>(acc0, a[0], ring.wait_full_next());
          ptx::wgmma_wait<1>();
          fence_all(acc1);
          step(acc1);
        }
        if (!odd) {
          ptx::wgmma_wait<0>();
          fence_all(acc0);
          step(acc0);
        }
        last = ip;
      } else {
        // Both blocks' products of stage t, the first folded while the second multiplies.
        for (int t = 0; t < ntiles; ++t) {
          const uint32_t stage = ring.wait_full();
          stage_products<E, KS>(acc0, a[0], stage);
          stage_products<E, KS>(acc1, a[1], stage);
          ptx::wgmma_wait<1>();
          fence_all(acc0);
          fold_block(acc0, 0, t, int(ps.dlen));
          ptx::wgmma_wait<0>();
          fence_all(acc1);
          ring.release_only();
          fold_block(acc1, 1, t, int(ps.dlen));
        }
        finish_pass(ps, wo, pass, npasses);
      }
    }
    pp = last + 1;
  }
#endif
}

}  // namespace colmax::cuda::stream
