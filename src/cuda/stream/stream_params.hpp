// Parameters of the stream kernels, shared by the host launcher and the device code.
//
// A stream kernel gives each (query group, document) pair to a team of 1, 2 or 4 warps. The
// team's query rows sit in registers as tensor-core A fragments; document tokens go from
// global memory straight into B fragments, 8 tokens at a time, several tiles ahead, with no
// shared memory and no block-wide barrier on the way. See docs/cuda.md.
#pragma once

#include <cstdint>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

inline constexpr int kStreamThreads = 128;  // four warps a block
inline constexpr int kStreamMaxTeamRows = 128;
inline constexpr int kStreamMaxSlots = 128;  // stacked queries per pair (rows / 1)

// Embedding widths compiled (in 16-element k-steps): dims 32, 48, 64, 96, 128 and 256.
inline constexpr int kStreamKSteps[] = {2, 3, 4, 6, 8, 16};
inline constexpr int kNumStreamKSteps = 6;

// Query rows a warp holds: 32 (two m16 tiles) up to dim 128, 16 at dim 256, so that the
// A fragments take 64 registers.
COLMAX_HOST_DEVICE inline constexpr int stream_warp_tiles(int ksteps) {
  return ksteps <= 8 ? 2 : 1;
}

// TMA kernel geometry: a stage holds about 6 KB of contiguous tokens (a multiple of 8, at
// most 64), brought in by one bulk copy; two blocks a multiprocessor, each with 96 KB of
// rings. Measured on an H100 against 4 KB stages and three blocks of 64 KB: 1-13% faster on
// the memory-bound shapes. (Padding the rows to avoid the 2-way bank conflicts of the
// fragment loads needs one copy per row, and was 1.1-1.8x slower: the copy engine pays per
// operation.)
COLMAX_HOST_DEVICE inline constexpr int tma_stage_tokens(int ks) {
  return 8 * ((24 + ks - 1) / ks) > 64 ? 64 : 8 * ((24 + ks - 1) / ks);
}
COLMAX_HOST_DEVICE inline constexpr int tma_stage_bytes(int ks) {
  return tma_stage_tokens(ks) * 32 * ks;
}
inline constexpr int kTmaMinBlocks = 2;
inline constexpr int kTmaRingBudget = 96 * 1024;  // bytes of stages per block

// Embedding widths of the wgmma kernels (16-element k-steps): dims 64, 96 and 128.
inline constexpr int kWgKSteps[] = {4, 6, 8};
inline constexpr int kNumWgKSteps = 3;
// The query-rows wgmma kernel: consumer warpgroups a block (64 query rows each), and the
// bytes of one 64-token stage of a dim of ks k-steps (whole 64-element column boxes).
inline constexpr int kWgqWarpgroups = 2;
COLMAX_HOST_DEVICE inline constexpr int wgq_stage_bytes(int ks) {
  return 64 * 128 * ((ks + 3) / 4);
}

struct StreamParams {
  ProblemView v;
  int32_t group = 1;      // queries stacked per cross pair
  int32_t team = 1;       // warps per team: 1, 2 or 4
  int32_t doc_major = 0;  // cross pairs walked document by document (groups share a document)
  int32_t stages = 4;     // TMA kernel: shared-memory stages per team
  // Cross pairs in tiles of doc_tile documents, query group by query group within a tile
  // (the query-rows wgmma kernel: its rows stay in registers while the tile's documents stay
  // in L2); 0: doc_major decides.
  int64_t doc_tile = 0;
  int64_t groups = 1;  // cross: query groups; pairs = groups * documents
  int64_t pairs = 0;
  // Training's forward with saved state (the wgmma kernel's winners variant): winners
  // [outputs, winners_width] of int16 or int32, as colmax/backward.hpp lays them out.
  void* winners = nullptr;
  int32_t winners_is16 = 0;
  int64_t winners_width = 0;
  // The query-rows kernel runs the stages of consecutive pairs with the same query rows as one
  // chain (0: each pair on its own, COLMAX_CUDA_CHAIN=0; for comparisons).
  int32_t chain = 1;
};

}  // namespace colmax::cuda
