// The CUDA backward from saved winners (colmax/backward.hpp).
//
// grad_Q: a block owns 8 query-token rows (a warp owns 1) and gathers, output after output
// in increasing order, g * D^[winner] into registers, eight outputs' rows in flight at a
// time. No atomics: deterministic always. (The gathers are latency-bound: at 32 rows a block
// and four outputs in flight, in-batch 256 had 16 warps an SM with 64 rows in flight.)
//
// grad_D: a block owns 128 document-token rows in shared memory and walks the winners of
// every output of the documents those rows belong to.
//   deterministic: a warp owns the rows r with r % 8 == warp and every warp walks every
//     output, adding its own contributions in (output, query token) order: a fixed order.
//   fast: the warps split the outputs and add with shared-memory atomics: no redundant
//     walking, but the order of additions varies from run to run.
//
// Dimensions are taken 128 at a time (blockIdx.y). When dim <= 128 a block holds whole
// rows and finishes them itself (the normalisation's Jacobian, the output dtype); for wider
// rows the fp32 sums go to scratch memory and a finishing kernel writes the gradients.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/backward/views.hpp"

namespace colmax::detail::cuda_train {

struct BackwardParams {
  Seqs q, d;    // inputs
  Seqs gq, gd;  // gradient outputs, addressed like the inputs
  Pairs pairs;
  Scores grad_out;
  WinnerView winners;
  const float* inv_q = nullptr;  // inverse norms when normalising, else nullptr
  const float* inv_d = nullptr;
  float* ws_q = nullptr;  // [q.rows, dim] fp32 sums when dim > 128
  float* ws_d = nullptr;
  int deterministic = 1;
};

constexpr int kDimChunk = 128;
constexpr int kQueryRowsPerBlock = 8;
constexpr int kDocRowsPerBlock = 128;

// Inverse L2 norms of every row of a sequence family (0 for masked rows, zero vectors and
// rows outside every sequence).
void launch_inverse_norms(const Seqs& s, float* inv, cudaStream_t stream);
void launch_grad_q(const BackwardParams& p, cudaStream_t stream);
void launch_grad_d(const BackwardParams& p, cudaStream_t stream);

// Pair lists: the outputs of every query (document) in increasing order, by a stable radix
// sort of the pair indices. `scratch` holds scratch_bytes(P, count) bytes.
size_t inverse_map_bytes(int64_t num_pairs, int64_t count);
void build_inverse_map(const void* pair_index, int is64, int64_t num_pairs, int64_t count,
                       void* scratch, int64_t* begin, int64_t* order, cudaStream_t stream);

}  // namespace colmax::detail::cuda_train
