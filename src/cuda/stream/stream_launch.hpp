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
  int rows = 0;   // query rows a pair holds (a pass holds up to 128 of them)
  bool doc_major = false;
  bool preferred = false;  // automatic dispatch picks stream over tile for this problem
  bool tma = false;        // documents through the copy engine (sm_90, contiguous documents)
  bool wg = false;         // a wgmma kernel (sm_90a)
  int wg_groups = 1;       // wgmma: warpgroups a block (consumers of each document stage)
  bool wgq = false;        // wgmma: the query-rows kernel ran (documents through a tensor map)
  int stages = 0;          // TMA: shared-memory stages per team
  int64_t groups = 1;      // cross: query groups (pairs = groups x documents)
  int blocks = 0;
  int64_t pairs = 0;
};

// True when the stream kernels can run `v`: both sides bf16 or both fp16, a compiled
// embedding width (32, 48, 64, 96, 128, 256), 16-byte aligned rows, and at most 128 rows per
// query. `plan.preferred` says whether they should: when every document is read once (one
// group of stacked queries). More queries than a team holds share document tiles better in
// the tile kernel, whose blocks hold up to 256 rows (measured on an H100: docs/benchmarks.md).
bool stream_plan(const ProblemView& v, StreamLaunch& plan);

// True when a wgmma kernel can run `v` (on an sm_90a device): both sides bf16 or both fp16,
// dim 64, 96 or 128, contiguous 16-byte aligned documents. Queries are stacked up to 128
// rows; longer queries take several passes over each document, 128 rows a pass (the
// query-rows kernel: two warpgroups of 64; the document-rows kernel: two 128-row chunks a
// pass with two warpgroups when every query is longer than 128 rows).
bool wg_plan(const ProblemView& v, StreamLaunch& plan);

// Which of the two wgmma kernels runs a problem both can run: the query-rows kernel (query
// rows in registers, documents through a tensor map; no document mask, no normalisation) by
// default, the document-rows kernel where it cannot. Initialised from COLMAX_CUDA_WG=docs|queries
// (tests and benchmarks compare them).
enum class WgKernel { automatic, docs, queries };
void set_wg_kernel(WgKernel k);
WgKernel wg_kernel();
// Query-rows kernel launches so far in this process (tests check that a sweep reached it).
uint64_t wgq_launch_count();
// Launches of the TMA stream kernel's winners variant so far in this process (run_wg_winners
// takes it where the scores-only dispatch takes the stream kernels).
uint64_t tma_winners_launch_count();
// Whether the wgmma kernels exist for this device (sm_90a code in this binary, a 9.0 GPU).
bool wg_available(int device);

// Whether training's forward with saved state takes the TMA stream kernel (its winners
// variant) rather than a wgmma kernel: where the scores-only dispatch streams (few query rows
// a document, each document read once: per-query candidates, pairs, one short query), the
// problem is memory-bound and a wgmma warpgroup would multiply mostly padding rows. `plan`
// receives the stream kernel's plan. (The kernel also needs an sm_90 device and binary.)
bool winners_on_stream(const ProblemView& v, StreamLaunch& plan);

// Training's forward with saved state on the wgmma kernels, or, for few query rows a document
// (where the scores-only dispatch streams), on the TMA stream kernel: scores into v.out and
// every query token's winner into `winners` ([outputs, width], int16 or int32,
// colmax/backward.hpp). False (nothing launched) where the wgmma kernels cannot run the
// problem.
bool run_wg_winners(const ProblemView& v, void* winners, bool is16, int64_t width, int device,
                    cudaStream_t stream);

// Scores every pair of `v` into v.out with the plan stream_plan or wg_plan made; the TMA kernel
// runs where the plan allows it, `allow_tma` is set and the device and binary have sm_90.
StreamLaunch run_stream(const ProblemView& v, StreamLaunch plan, bool allow_tma, int device,
                        cudaStream_t stream, const char* fn);

}  // namespace colmax::cuda
