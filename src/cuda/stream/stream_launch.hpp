// Decides whether a problem suits the stream kernels and launches them.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// How the stream kernel would run a problem (for tests and benchmarks to report).
struct StreamLaunch {
  int ks = 0;     // 16-element k-steps (dim / 16)
  int team = 1;   // warps per pair
  int group = 1;  // queries stacked per cross pair
  bool doc_major = false;
  int64_t groups = 1;  // cross: query groups (pairs = groups x documents)
  int blocks = 0;
  int64_t pairs = 0;
};

// True when the stream kernels can run `v`: both sides bf16 or both fp16, a compiled
// embedding width (32, 48, 64, 96, 128, 256), 16-byte aligned rows, and at most 128 query
// rows per pair (longer queries share document tiles better in the tile kernel).
bool stream_plan(const ProblemView& v, StreamLaunch& plan);

// Scores every pair of `v` into v.out with the plan stream_plan made.
StreamLaunch run_stream(const ProblemView& v, StreamLaunch plan, int device, cudaStream_t stream,
                        const char* fn);

}  // namespace colmax::cuda
