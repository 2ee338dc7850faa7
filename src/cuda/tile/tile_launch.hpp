// Picks and launches a tile kernel for a problem: element type from the input dtypes, shape,
// pipeline depth and query slots from the dispatch table, trimmed to the device's shared
// memory, then a persistent grid of as many blocks as fit on the device at once.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// A forced configuration (tests cover every compiled shape; the tuning script times them).
// shape < 0: use the dispatch table. Initialised from COLMAX_CUDA_TILE="shape,stages,qslots".
struct TileOverride {
  int shape = -1, stages = 0, qslots = 0;
};
void set_tile_override(const TileOverride& o);
TileOverride tile_override();

// What run_tile chose (for tests and benchmarks to report).
struct TileLaunch {
  int shape = 0, stages = 0, qslots = 0, group = 1, blocks = 0;
  Elem elem = Elem::bf16;
  bool split = false;
  size_t smem = 0;
  int64_t pairs = 0;
};

// Scores every pair of `v` into v.out. `exact_fp32`: fp32 inputs use split tf32 products.
TileLaunch run_tile(const ProblemView& v, bool exact_fp32, int device, cudaStream_t stream,
                    const char* fn);

}  // namespace colmax::cuda
