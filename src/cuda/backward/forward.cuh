// The CUDA forward with winners: scores plus, for every (output, query token), the position
// of its winning document token (colmax/backward.hpp).
//
// A block stacks up to 128 query-token rows (several queries of the cross product, or one
// output's query) and walks one document (or, in the cross product, a run of documents that
// share the resident queries) in tiles of 64 tokens. An engine computes the 128 x 64 tile of
// similarities into shared memory — bf16/fp16 tensor cores (WMMA) or fp32 FMA — and every
// row keeps a running (best, position) in registers, two threads a row over the two halves
// of the tile (even and odd columns), merged when the document ends.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/backward/views.hpp"

namespace colmax::detail::cuda_train {

constexpr int kRows = 128;  // query-token rows of a block
constexpr int kCols = 64;   // document tokens of a tile
constexpr int kThreads = 256;

enum class Engine { tensor_bf16, tensor_f16, fma };

struct ForwardParams {
  Seqs q, d;
  Pairs pairs;
  Scores out;
  WinnerView winners;
  const float* inv_q = nullptr;  // inverse norms when normalising, else nullptr
  const float* inv_d = nullptr;
  int zero_mode = 0;
  int rows_per_query = 0;    // R: a query's rows in the block (multiple of 16, <= kRows)
  int slots = 1;             // G: queries stacked in a block (cross product only)
  int chunks = 1;            // row chunks of kRows per query, when W > kRows
  int docs_per_block = 1;    // cross product: documents a block walks with the same queries
  int64_t query_groups = 0;  // cross product: ceil(Nq / G)
  int64_t blocks = 0;
  float* partial = nullptr;  // [outputs, chunks] partial scores when chunks > 1
  int aligned16 = 0;         // token rows 16-byte aligned (vector loads allowed)
};

// Chooses the block decomposition for `engine` and launches (plus the partial-score sum when
// a query spans several blocks). The caller fills the views, inverse norms, zero_mode,
// aligned16 and, when the winners' width exceeds kRows, `partial`
// ([outputs, ceil(W / kRows)] floats).
void launch_forward(ForwardParams p, Engine engine, int sm_count, cudaStream_t stream);
size_t forward_smem_bytes(Engine engine, int64_t dim);

}  // namespace colmax::detail::cuda_train
