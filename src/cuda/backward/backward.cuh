// The CUDA backward from saved winners (colmax/backward.hpp).
//
// grad_Q: a warp owns one query-token row. Its lanes look up 32 outputs' winners at once,
// then gather g * D^[winner] output after output in increasing order, eight document rows
// in flight, each lane holding four consecutive elements (one 8-byte load for 16-bit rows).
// No atomics: deterministic always.
//
// grad_D: a block owns 128 document-token rows in shared memory and walks the outputs of
// the documents those rows belong to in stages of up to 128 outputs x 32 query tokens. A
// stage's winners are read once into shared memory as rows of this block and counting-
// sorted by row (ranks from warp-level matches: no atomics), so that each row's entries sit
// together in (output, query token) order; then each warp adds up the rows of its 16-row
// share in registers, eight query rows loaded together. The order of additions is fixed:
// both strategies take this path (it was faster than the shared-memory atomics of the fast
// strategy it replaced), so CUDA gradients are deterministic whichever is asked for.
// Per-query candidates and pairs with padded documents and queries of up to 128 tokens (one
// output a document) take a lighter grad_D: a warp a document, its lanes holding the
// winners, one ballot per row and 32 tokens; rows nobody wins are written as zeros.
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
};

constexpr int kDimChunk = 128;
constexpr int kQueryRowsPerBlock = 8;
constexpr int kDocRowsPerBlock = 128;
constexpr int kRowsInFlight = 8;    // rows gathered together by one warp
constexpr int kStageOutputs = 128;  // outputs a grad_D stage covers

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
