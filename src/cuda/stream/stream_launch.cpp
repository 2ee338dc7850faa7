#include "cuda/stream/stream_launch.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cuda/common/check.hpp"
#include "cuda/stream/stream_kernels.hpp"
#include "cuda/stream/stream_params.hpp"

namespace colmax::cuda {
namespace {

bool verbose() {
  static const bool on = [] {
    const char* env = std::getenv("COLMAX_CUDA_VERBOSE");
    return env != nullptr && env[0] != '\0' && env[0] != '0';
  }();
  return on;
}

int ks_index(int64_t dim) {
  if (dim % 16 != 0) return -1;
  for (int i = 0; i < kNumStreamKSteps; ++i) {
    if (kStreamKSteps[i] * 16 == dim) return i;
  }
  return -1;
}

// Blocks of a kernel resident per multiprocessor, asked once per (kernel, device).
int blocks_per_sm(const void* fn, int device) {
  constexpr int kMaxDevices = 64;
  constexpr int kKernels = 2 * kNumStreamKSteps;
  static std::array<std::array<std::atomic<int>, kKernels>, kMaxDevices> cache{};
  int at = -1;
  for (int i = 0; i < kNumStreamKSteps; ++i) {
    if (stream_kernel_bf16(i) == fn) at = i;
    if (stream_kernel_f16(i) == fn) at = kNumStreamKSteps + i;
  }
  std::atomic<int>* slot = (at >= 0 && device >= 0 && device < kMaxDevices)
                               ? &cache[size_t(device)][size_t(at)]
                               : nullptr;
  if (slot != nullptr) {
    const int known = slot->load(std::memory_order_relaxed);
    if (known > 0) return known;
  }
  int n = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, fn, kStreamThreads, 0),
        "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  n = std::max(n, 1);
  if (slot != nullptr) slot->store(n, std::memory_order_relaxed);
  return n;
}

}  // namespace

bool stream_plan(const ProblemView& v, StreamLaunch& plan) {
  if (v.q.elem != v.d.elem || v.q.elem == Elem::f32) return false;
  const int ki = ks_index(v.q.dim);
  if (ki < 0 || v.d.dim != v.q.dim) return false;
  if (v.q.copy_bytes < 16 || v.d.copy_bytes < 16) return false;
  if (v.q.length > 0x7fffffffLL - 256 || v.d.length > 0x7fffffffLL - 256) return false;
  plan.ks = kStreamKSteps[ki];
  const int warp_rows = stream_warp_tiles(plan.ks) * 16;
  const int64_t nq = std::max<int64_t>(v.q.count, 1);
  // Rows per query (at least 1: empty queries still take a slot).
  const int64_t per_query = std::max<int64_t>(
      1, v.q.cu == nullptr ? v.q.length : (v.q.total_tokens + nq - 1) / nq);
  if (per_query > kStreamMaxTeamRows) return false;

  // Stack as many queries as a team of four warps holds; documents are then read once per
  // group of queries.
  plan.group = 1;
  if (v.pairing == PairingKind::cross && v.q.count > 1) {
    const int64_t limit = v.q.cu == nullptr ? kStreamMaxSlots : 32;
    plan.group = int(std::clamp<int64_t>(kStreamMaxTeamRows / per_query, 1,
                                         std::min<int64_t>(v.q.count, limit)));
  }
  const int64_t rows = per_query * plan.group;
  plan.team = 1;
  while (plan.team < 4 && plan.team * warp_rows < rows) plan.team *= 2;
  if (v.pairing == PairingKind::cross) {
    plan.groups = (v.q.count + plan.group - 1) / plan.group;
    plan.doc_major = plan.groups > 1;
  }
  plan.pairs = num_pairs(v, plan.group);
  return true;
}

StreamLaunch run_stream(const ProblemView& v, StreamLaunch plan, int device, cudaStream_t stream,
                        const char* fn) {
  if (plan.pairs == 0) return plan;
  const DeviceInfo& dev = device_info(device);
  int ki = 0;
  while (kStreamKSteps[ki] != plan.ks) ++ki;
  const void* kernel = v.q.elem == Elem::bf16 ? stream_kernel_bf16(ki) : stream_kernel_f16(ki);
  StreamParams p;
  p.v = v;
  p.group = plan.group;
  p.team = plan.team;
  p.doc_major = plan.doc_major ? 1 : 0;
  p.groups = plan.groups;
  p.pairs = plan.pairs;
  const int teams_per_block = (kStreamThreads / 32) / plan.team;
  const int64_t wanted = (plan.pairs + teams_per_block - 1) / teams_per_block;
  const int64_t resident = int64_t(blocks_per_sm(kernel, device)) * dev.multiprocessors;
  plan.blocks = int(std::min(wanted, resident));
  if (verbose()) {
    std::fprintf(stderr,
                 "colmax.%s: stream kernel, %s dim %d, team %d warps, group %d%s, %lld pairs, "
                 "%d blocks of %d threads\n",
                 fn, v.q.elem == Elem::bf16 ? "bf16" : "fp16", plan.ks * 16, plan.team, plan.group,
                 plan.doc_major ? " (document-major)" : "", (long long)plan.pairs, plan.blocks,
                 kStreamThreads);
  }
  void* args[] = {&p};
  check(cudaLaunchKernel(kernel, dim3(unsigned(plan.blocks)), dim3(unsigned(kStreamThreads)), args,
                         0, stream),
        (std::string(fn) + ": launch").c_str());
  return plan;
}

}  // namespace colmax::cuda
