#include "cuda/tile/tile_launch.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/common/check.hpp"
#include "cuda/tile/dispatch.hpp"
#include "cuda/tile/tile_kernels.hpp"
#include "cuda/tile/tile_params.hpp"

namespace colmax::cuda {
namespace {

TileOverride initial_override() {
  TileOverride o;
  if (const char* env = std::getenv("COLMAX_CUDA_TILE")) {
    int s = -1, st = 0, q = 0;
    if (std::sscanf(env, "%d,%d,%d", &s, &st, &q) == 3 && s >= 0 && s < kNumTileShapes) {
      o = {s, std::clamp(st, 2, kMaxStages), std::clamp(q, 1, kMaxQSlots)};
    }
  }
  return o;
}

std::mutex& override_mutex() {
  static std::mutex m;
  return m;
}
TileOverride& override_state() {
  static TileOverride o = initial_override();
  return o;
}

// COLMAX_CUDA_VERBOSE=1 prints every tile launch's configuration to stderr.
bool verbose() {
  static const bool on = [] {
    const char* env = std::getenv("COLMAX_CUDA_VERBOSE");
    return env != nullptr && env[0] != '\0' && env[0] != '0';
  }();
  return on;
}

// Queries stacked per cross pair for a shape with M rows.
int stack_group(const ProblemView& v, int m) {
  if (v.pairing != PairingKind::cross || v.q.count <= 1) return 1;
  if (v.q.cu == nullptr) {
    if (v.q.length <= 0 || v.q.length > m) return 1;
    return int(std::min<int64_t>(v.q.count, m / v.q.length));
  }
  // Packed queries: lengths are on the device; stack by the average length. A group whose
  // queries turn out longer simply takes several row chunks.
  const int64_t avg = std::max<int64_t>(1, (v.q.total_tokens + v.q.count - 1) / v.q.count);
  return int(std::clamp<int64_t>(m / avg, 1, std::min<int64_t>(v.q.count, kMaxPackedGroup)));
}

// Sets the kernel's dynamic shared-memory limit once per (kernel, device).
void allow_smem(const void* fn, int device, size_t bytes) {
  constexpr int kMaxDevices = 64;
  static std::array<std::array<std::atomic<size_t>, 3 * kNumTileShapes>, kMaxDevices> done{};
  static std::array<const void*, 3 * kNumTileShapes> fns = [] {
    std::array<const void*, 3 * kNumTileShapes> f{};
    for (int s = 0; s < kNumTileShapes; ++s) {
      f[size_t(s)] = tile_kernel_bf16(s);
      f[size_t(kNumTileShapes + s)] = tile_kernel_f16(s);
      f[size_t(2 * kNumTileShapes + s)] = tile_kernel_tf32(s);
    }
    return f;
  }();
  const size_t at = size_t(std::find(fns.begin(), fns.end(), fn) - fns.begin());
  auto& slot = done[size_t(device)][at];
  if (slot.load(std::memory_order_acquire) >= bytes) return;
  check(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
        "cudaFuncSetAttribute");
  size_t cur = slot.load();
  while (cur < bytes && !slot.compare_exchange_weak(cur, bytes)) {
  }
}

}  // namespace

void set_tile_override(const TileOverride& o) {
  std::lock_guard<std::mutex> lock(override_mutex());
  override_state() = o;
}

TileOverride tile_override() {
  std::lock_guard<std::mutex> lock(override_mutex());
  return override_state();
}

TileLaunch run_tile(const ProblemView& v, bool exact_fp32, int device, cudaStream_t stream,
                    const char* fn) {
  TileLaunch L;
  const DeviceInfo& dev = device_info(device);
  // Element type of the shared-memory tiles: native 16-bit when both sides agree, else fp32
  // on tf32 tensor cores (16-bit values are exact in tf32; fp32 values are split in three
  // tf32 parts unless the caller opted into tf32 precision).
  if (v.q.elem == v.d.elem && v.q.elem != Elem::f32) {
    L.elem = v.q.elem;
  } else {
    L.elem = Elem::f32;
    L.split = exact_fp32 && (v.q.elem == Elem::f32 || v.d.elem == Elem::f32);
  }
  const int eb = L.elem == Elem::f32 ? 4 : 2;
  if (v.q.length > 0x7fffffffLL - 256 || v.d.length > 0x7fffffffLL - 256) {
    throw Error(ErrorKind::unsupported, std::string("colmax.") + fn +
                                            ": sequences of 2^31 tokens or more are not supported");
  }
  const int kp = int((v.q.dim + 15) / 16 * 16);

  DispatchKey key;
  key.arch = arch_class(dev.compute_capability);
  key.dim_class = dim_class(v.q.dim);
  key.rows_class = rows_class(shared_query_rows(v));
  key.layout = int(v.pairing);
  const DispatchEntry e = dispatch_lookup(key);
  const TileOverride o = tile_override();
  L.shape = o.shape >= 0 ? o.shape : e.shape;
  L.stages = o.shape >= 0 ? o.stages : e.stages;
  L.qslots = o.shape >= 0 ? o.qslots : e.qslots;

  // Keep the grid at least one block per multiprocessor: a shape that stacks so many
  // queries that fewer pairs than multiprocessors remain steps down.
  if (o.shape < 0) {
    while (L.shape > 0 &&
           num_pairs(v, stack_group(v, kTileShapes[L.shape].rows())) < dev.multiprocessors) {
      --L.shape;
    }
  }
  // Trim the pipeline, then the shape, until the shared memory fits the device.
  TileParams p;
  for (;;) {
    const TileShape s = kTileShapes[L.shape];
    L.group = stack_group(v, s.rows());
    const int prefix_len = (v.q.cu != nullptr && L.group > 1) ? L.group + 1 : 0;
    const TileSmem m = tile_smem_layout(s, eb, kp, L.stages, L.qslots, prefix_len, L.group);
    if (m.total <= dev.max_smem_per_block) {
      p.smem = m;
      p.prefix_len = prefix_len;
      break;
    }
    if (L.qslots > 1) {
      --L.qslots;
    } else if (L.stages > 2) {
      --L.stages;
    } else if (L.shape > 0) {
      --L.shape;
      L.stages = 3;
      L.qslots = 2;
    } else {
      throw Error(ErrorKind::unsupported,
                  std::string("colmax.") + fn + ": dim " + std::to_string(v.q.dim) +
                      " needs more shared memory than this GPU offers per block");
    }
  }
  p.v = v;
  p.elem_bytes = eb;
  p.group = L.group;
  p.stages = L.stages;
  p.qslots = L.qslots;
  p.kp = kp;
  p.split = L.split ? 1 : 0;
  p.pairs = L.pairs = num_pairs(v, L.group);
  L.smem = p.smem.total;
  if (p.pairs == 0) return L;

  const void* kernel = tile_kernel_for(L.elem, L.shape);
  const int threads = kTileShapes[L.shape].threads();
  allow_smem(kernel, device, L.smem);
  int per_sm = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, L.smem),
        "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const int64_t resident = int64_t(std::max(per_sm, 1)) * dev.multiprocessors;
  L.blocks = int(std::min<int64_t>(p.pairs, resident));
  if (verbose()) {
    std::fprintf(stderr,
                 "colmax.%s: tile shape %d (M=%d, BN=%d), %s%s, stages %d, query slots %d, "
                 "group %d, %lld pairs, %d blocks of %d threads (%d per SM), %zu B shared\n",
                 fn, L.shape, kTileShapes[L.shape].rows(), kTileShapes[L.shape].cols(),
                 L.elem == Elem::bf16  ? "bf16"
                 : L.elem == Elem::f16 ? "fp16"
                                       : "tf32",
                 L.split ? " x3 split" : "", L.stages, L.qslots, L.group, (long long)p.pairs,
                 L.blocks, threads, per_sm, L.smem);
  }
  void* args[] = {&p};
  check(cudaLaunchKernel(kernel, dim3(unsigned(L.blocks)), dim3(unsigned(threads)), args, L.smem,
                         stream),
        (std::string(fn) + ": launch").c_str());
  return L;
}

}  // namespace colmax::cuda
