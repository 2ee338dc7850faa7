// The forward pass on the GPU: picks the kernel family for a problem and launches it.
//
//   wgmma   sm_90a, 16-bit inputs, dim 64/96/128, contiguous documents, more than 32 query
//           rows a pair: warpgroup tensor-core instructions against documents streamed by the
//           copy engine (compute-bound shapes); the query rows in registers and the documents
//           through a tensor map where it can, else 128 query rows in shared memory;
//   stream  queries of up to 128 rows, 16-bit inputs, common widths: the query stays in
//           registers and the document streams past it (memory-bound shapes), through the
//           copy engine and shared memory on sm_90, through registers elsewhere;
//   tile    everything else: document tiles in shared memory serve many query rows
//           (long or many queries, fp32 and mixed inputs, any width).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/common/problem_view.hpp"
#include "cuda/stream/stream_launch.hpp"
#include "cuda/tile/tile_launch.hpp"

namespace colmax::cuda {

enum class ForwardFamily { automatic, tile, stream, stream_registers, stream_wgmma };

// A forced family for tests and benchmarks; initialised from
// COLMAX_CUDA_KERNEL=tile|stream|stream-registers|stream-wgmma (stream-registers: without
// the TMA kernel; stream-wgmma: the wgmma kernel wherever it can run).
// A forced stream family still falls back to the tile kernel where stream cannot run; a
// forced tile configuration (set_tile_override) implies the tile family.
void set_forward_family(ForwardFamily f);
ForwardFamily forward_family();

struct ForwardLaunch {
  bool stream = false;
  StreamLaunch stream_launch;
  TileLaunch tile_launch;
};

// Stream-kernel launches so far in this process (tests check that a sweep reached them).
uint64_t stream_launch_count();

// Scores every pair of `v` into v.out. `exact_fp32`: fp32 inputs use split tf32 products.
ForwardLaunch run_forward(const ProblemView& v, bool exact_fp32, int device, cudaStream_t stream,
                          const char* fn);

}  // namespace colmax::cuda
