// The register stream kernel: fused MaxSim for queries of up to 128 rows at memory speed,
// on every architecture and for any token stride.
//
// A team of R warps (1, 2 or 4) owns a contiguous range of pairs. Each warp keeps MT m16
// tiles of the pair's query rows in registers as mma.sync A fragments and streams the
// document through registers: every lane loads 16-byte pieces of one token straight from
// global memory into B fragments (the permuted layout of stream_common.cuh), P tiles of 8
// tokens ahead of the tensor cores, so the document bytes never touch shared memory and
// nothing but the end of a pair synchronises. On sm_90 with contiguous documents the TMA
// variant (stream_tma_kernel.cuh) keeps more bytes in flight through shared memory.
//
// The similarities of a tile fold into an element-wise running max in the accumulator
// layout (masks, tails and 1/|d| only on tiles that need them); at the end of a pair the
// row maxima go through shared memory once and are summed per query slot, as in the tile
// kernel (same rules: NaN propagates, a row with no valid token adds 0, bad offsets score NaN).
#pragma once

#include "cuda/stream/stream_common.cuh"

namespace colmax::cuda::stream {

// Occupancy and prefetch depth, chosen so that nothing spills: up to dim 64, three blocks
// (12 warps) a multiprocessor, each warp 20/KS tiles ahead; from dim 96, two blocks (8 warps)
// 32/KS tiles ahead. Either way 48-64 KB of loads are in flight per multiprocessor.
__host__ __device__ constexpr int stream_min_blocks(int ks) {
  return ks >= 6 ? 2 : 3;
}
__host__ __device__ constexpr int prefetch_tiles(int ks) {
  return ks >= 6 ? (32 / ks < 2 ? 2 : 32 / ks) : (20 / ks > 8 ? 8 : 20 / ks);
}

template <int KS>
struct DocTile {
  RowShare<KS> share;
  uint32_t mask_bits;  // this lane's token's mask element, folded (0 when past the end)
};

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

  int64_t pb, pe;
  team_pairs(p.pairs, teams_per_block, team, pb, pe);

  const bool stacked_prefix = v.q.cu != nullptr && p.group > 1;
  const bool has_dmask = v.d.mask.data != nullptr;
  const float masked_fill = v.zero_mode ? 0.f : -INFINITY;
  const int64_t dsb = v.d.token_stride * v.d.elem_bytes;  // bytes between tokens

  QueryRows<KS, MT> q;
  HeldQuery held;

  for (int64_t pp = pb; pp < pe; ++pp) {
    const PairSeqs ps =
        resolve_stream_pair(p, pp, stacked_prefix && wt == 0 && lane == 0 ? prefix : nullptr);
    const int nrows = int(ps.nrows), dlen = int(ps.dlen);
    const int nchunks = chunks_of(ps, TR);

    for (int c = 0; c < nchunks; ++c) {
      const int wrow0 = c * TR + wt * MT * 16;
      if (wrow0 < nrows) {
        // The warp's query rows stay in registers while consecutive pairs share them.
        if (held.replace(ps.q0, c)) {
          load_query_rows<E, KS, MT>(q, v, ps, wrow0, nrows, g, t4);
        }

        float runmax[MT][4];
        init_runmax<MT>(runmax);
        const unsigned char* next =
            v.d.data + ps.dtok * v.d.elem_bytes + int64_t(g) * dsb;  // token g, next tile
        const int64_t mask0 = ps.dmask + int64_t(g) * v.d.mask.token_stride;
        const int ntiles = (dlen + 7) >> 3;
        DocTile<KS> buf[P];

        auto issue = [&](DocTile<KS>& b, int t) {
          const bool in = t * 8 + g < dlen;
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
          tile_products<E, KS, MT>(acc, q.a, b.share);
          uint32_t valid = 0;
          if (has_dmask) {
            // Lane 4c loaded the token of column c.
            const uint32_t bal = __ballot_sync(0xffffffffu, mask_bits_valid(v.d.mask, b.mask_bits));
            valid = (((bal >> (8 * t4)) & 1u) << (2 * t4)) |
                    (((bal >> (8 * t4 + 4)) & 1u) << (2 * t4 + 1));
          }
          const float inv = v.normalize ? inv_norm(quad_sumsq<E, KS>(b.share)) : 1.f;
          fold<MT>(runmax, acc, t * 8, dlen, has_dmask, valid, v.normalize, inv, masked_fill, t4);
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
        write_row_maxima<KS, MT>(rowval, wt * MT * 16, runmax, q, g, t4);
      }
      team_sync(R, team);
      sum_slots(v, ps, rowval, partial, prefix, stacked_prefix, c, nchunks, TR, R, wt, lane);
      team_sync(R, team);
    }
  }
}

}  // namespace colmax::cuda::stream
