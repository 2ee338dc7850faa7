#include "cuda/stream/stream_launch.hpp"

#include <cuda.h>  // CUtensorMap (types only: the encoder comes through the runtime)
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

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

int team_index(int team) {
  return team == 1 ? 0 : team == 2 ? 1 : 2;
}

// Per (device, kernel, team size): blocks resident per multiprocessor (0: not asked yet) and,
// for the TMA kernels, whether the dynamic shared-memory limit was raised and whether the
// kernel holds sm_90 code at all (a binary built without sm_90 must not launch it).
constexpr int kMaxDevices = 64;
// {register, tma, tma with winners} x {bf16, f16} x widths
constexpr int kKernels = 6 * kNumStreamKSteps;
struct KernelState {
  std::atomic<int> per_sm[3];
  std::atomic<int> smem_raised;
  std::atomic<int> has_sm90;  // 0 unknown, 1 yes, 2 no
};
std::array<std::array<KernelState, kKernels>, kMaxDevices>& kernel_states() {
  static std::array<std::array<KernelState, kKernels>, kMaxDevices> states{};
  return states;
}

enum class StreamKind { registers = 0, tma = 1, tma_winners = 2 };

KernelState* state_of(int device, StreamKind kind, Elem e, int ki) {
  if (device < 0 || device >= kMaxDevices) return nullptr;
  const int at = 2 * int(kind) * kNumStreamKSteps + (e == Elem::bf16 ? 0 : kNumStreamKSteps) + ki;
  return &kernel_states()[size_t(device)][size_t(at)];
}

bool kernel_has_sm90(const void* fn, KernelState* st) {
  if (st != nullptr) {
    const int known = st->has_sm90.load(std::memory_order_relaxed);
    if (known != 0) return known == 1;
  }
  cudaFuncAttributes attr{};
  const bool ok = cudaFuncGetAttributes(&attr, fn) == cudaSuccess && attr.binaryVersion >= 90;
  if (!ok) (void)cudaGetLastError();
  if (st != nullptr) st->has_sm90.store(ok ? 1 : 2, std::memory_order_relaxed);
  return ok;
}

// Shared memory of the TMA kernel: the rings, then their full/empty mbarriers.
size_t tma_smem_bytes(int ks, int team, int stages) {
  const int teams = (kStreamThreads / 32) / team;
  return size_t(teams) * (size_t(stages) * size_t(tma_stage_bytes(ks)) + size_t(2 * stages) * 8);
}

// Stages per team: the block's ring budget shared among its teams.
int tma_stages(int ks, int team) {
  const int teams = (kStreamThreads / 32) / team;
  return std::max(2, (kTmaRingBudget / teams) / tma_stage_bytes(ks));
}

int wg_index(int ks) {
  for (int i = 0; i < kNumWgKSteps; ++i) {
    if (kWgKSteps[i] == ks) return i;
  }
  return -1;
}

// Shared memory of the wgmma kernel with G warpgroups a block: G query operands (128 rows
// each), one ring, the mbarriers. G = 2 runs one block a multiprocessor (the registers of 256
// threads allow no second one), so it may take a larger budget.
int wg_query_bytes(int ks, int groups) {
  return groups * (ks / 4 + (ks % 4 ? 1 : 0)) * 128 * 128 + 1024;  // k-blocks, atom alignment
}
int wg_stages(int ks, int groups) {
  const int budget = (groups == 1 ? 110 : 200) * 1024;
  const int stage = 2048 * ks;
  return std::clamp((budget - wg_query_bytes(ks, groups)) / stage, 2, 8);
}
size_t wg_smem_bytes(int ks, int groups) {
  const int s = wg_stages(ks, groups);
  return size_t(wg_query_bytes(ks, groups)) + size_t(s) * size_t(2048 * ks) + size_t(2 * s) * 8;
}

// The query-rows wgmma kernel's ring: as many 64-token stages as fit beside its small static
// arrays (one block a multiprocessor: its 288 threads' registers leave room for no second).
int wgq_stages(int ks) {
  return std::clamp((200 * 1024 - 1024) / wgq_stage_bytes(ks), 2, 12);
}
size_t wgq_smem_bytes(int ks) {
  const int s = wgq_stages(ks);
  return size_t(1024) + size_t(s) * size_t(wgq_stage_bytes(ks)) + size_t(2 * s) * 8;
}

std::atomic<WgKernel>& wg_kernel_state() {
  static std::atomic<WgKernel> k{[] {
    const char* env = std::getenv("COLMAX_CUDA_WG");
    const std::string s(env == nullptr ? "" : env);
    return s == "docs" ? WgKernel::docs : s == "queries" ? WgKernel::queries : WgKernel::automatic;
  }()};
  return k;
}

std::atomic<uint64_t>& wgq_launches() {
  static std::atomic<uint64_t> n{0};
  return n;
}
// COLMAX_CUDA_CHAIN=0 runs each pair of the query-rows kernel on its own (A/B comparisons).
bool chain_pairs() {
  static const bool on = [] {
    const char* env = std::getenv("COLMAX_CUDA_CHAIN");
    return env == nullptr || std::string(env) != "0";
  }();
  return on;
}

std::atomic<uint64_t>& tma_winners_launches() {
  static std::atomic<uint64_t> n{0};
  return n;
}

// The document tokens as a 2-D tensor map for the query-rows kernel: rows of `dim` elements,
// token_stride apart, from the first token's row to the last row any document reaches; boxes
// of 64 x 64 elements in the 128-byte swizzle. False when the layout has no such view (a
// document start off the row grid, negative or unaligned strides, more than 2^31 rows).
bool doc_tensor_map(const SeqView& d, CUtensorMap& map) {
  using Encode = PFN_cuTensorMapEncodeTiled_v12000;
  static const Encode encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault,
                                         &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      (void)cudaGetLastError();
      return Encode(nullptr);
    }
    return reinterpret_cast<Encode>(fn);
  }();
  const int64_t ts = d.token_stride;
  if (encode == nullptr || d.data == nullptr || ts <= 0 || d.count <= 0) return false;
  if ((reinterpret_cast<uintptr_t>(d.data) & 15u) != 0 || (ts * d.elem_bytes) % 16 != 0) {
    return false;
  }
  int64_t rows = 0;
  if (d.cu != nullptr) {
    rows = d.total_tokens;
  } else {
    if (d.outer_stride < 0 || d.inner_stride < 0 || d.outer_stride % ts != 0 ||
        d.inner_stride % ts != 0 || d.inner < 1) {
      return false;
    }
    // The furthest document start: the last outer index with its last inner index, or the one
    // before it with every inner index.
    const int64_t last = d.count - 1, lo = last / d.inner, li = last % d.inner;
    int64_t far = lo * d.outer_stride + li * d.inner_stride;
    if (lo > 0) far = std::max(far, (lo - 1) * d.outer_stride + (d.inner - 1) * d.inner_stride);
    rows = far / ts + d.length;
  }
  if (rows <= 0 || rows > 0x7fffffffLL - 64) return false;
  const cuuint64_t dims[2] = {cuuint64_t(d.dim), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(ts * d.elem_bytes)};
  const cuuint32_t box[2] = {64, 64};
  const cuuint32_t estrides[2] = {1, 1};
  const CUtensorMapDataType type =
      d.elem == Elem::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  return encode(&map, type, 2, const_cast<unsigned char*>(d.data), dims, strides, box, estrides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// Launches the query-rows wgmma kernel when the problem suits it (no document mask, no
// normalisation, a tensor-map view of the documents); false otherwise, nothing launched.
bool launch_wgq(const ProblemView& v, StreamLaunch& plan, StreamParams p, int device,
                cudaStream_t stream, const char* fn) {
  if (wg_kernel() == WgKernel::docs || v.normalize || v.d.mask.data != nullptr) return false;
  alignas(64) CUtensorMap map{};
  if (!doc_tensor_map(v.d, map)) return false;
  const DeviceInfo& dev = device_info(device);
  const int wi = wg_index(plan.ks);
  const bool bf16 = v.q.elem == Elem::bf16, winners = p.winners != nullptr;
  // Pairs of more than 128 query rows: two row blocks a warpgroup (256 rows a pass) halve the
  // document reads.
  const int nb = !winners && plan.rows > 64 * kWgqWarpgroups ? 2 : 1;
  const void* kernel =
      bf16 ? stream_wgq_kernel_bf16(wi, winners, nb) : stream_wgq_kernel_f16(wi, winners, nb);
  const int threads = 128 * kWgqWarpgroups + 32;
  plan.stages = wgq_stages(plan.ks);
  const size_t smem = wgq_smem_bytes(plan.ks);
  static std::array<std::array<std::atomic<int>, 6 * kNumWgKSteps>, kMaxDevices> raised{};
  const int variant = (winners ? 2 : nb == 2 ? 4 : 0) + (bf16 ? 0 : 1);
  std::atomic<int>& done =
      raised[size_t(std::clamp(device, 0, kMaxDevices - 1))][size_t(variant * kNumWgKSteps + wi)];
  if (done.load(std::memory_order_relaxed) == 0) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
          "cudaFuncSetAttribute");
    done.store(1, std::memory_order_relaxed);
  }
  p.v = v;
  p.group = plan.group;
  p.team = 4;
  p.groups = plan.groups;
  p.pairs = plan.pairs;
  p.stages = plan.stages;
  plan.blocks = int(std::min<int64_t>(plan.pairs, dev.multiprocessors));
  // Cross pairs: a query group walks a tile of documents while its rows stay in registers;
  // the tile is as large as keeps every block's documents within about half of L2 (all of
  // them, query group after query group, when the documents fit).
  p.doc_major = 0;
  p.doc_tile = 0;
  p.chain = chain_pairs() ? 1 : 0;
  plan.doc_major = false;
  if (v.pairing == PairingKind::cross && plan.groups > 1) {
    const int64_t per_doc = std::max<int64_t>(
        1, (v.d.cu == nullptr ? v.d.length : (v.d.total_tokens + v.d.count - 1) / v.d.count) *
               v.d.dim * v.d.elem_bytes);
    const int64_t budget = int64_t(dev.l2_bytes > 0 ? dev.l2_bytes : 40 << 20) / 2;
    const int64_t all = per_doc * v.d.count;
    // (0 when one tile holds them all: pairs in plain order, no divisions to find them.)
    const int64_t tile = std::clamp<int64_t>(budget / (per_doc * plan.blocks), 1, v.d.count);
    p.doc_tile = all <= budget || tile == v.d.count ? 0 : tile;
    plan.doc_major = p.doc_tile > 0;
  }
  plan.wg_groups = kWgqWarpgroups * nb;
  plan.wgq = true;
  if (verbose()) {
    std::fprintf(stderr,
                 "colmax.%s: wgmma query-rows kernel%s, %s dim %d, group %d, document tile %lld, "
                 "%lld pairs, %d blocks, %d stages, %zu B shared\n",
                 fn, winners ? " with winners" : "", bf16 ? "bf16" : "fp16", plan.ks * 16,
                 plan.group, (long long)p.doc_tile, (long long)plan.pairs, plan.blocks, plan.stages,
                 smem);
  }
  if (plan.pairs == 0) return true;
  wgq_launches().fetch_add(1, std::memory_order_relaxed);
  void* args[] = {&p, &map};
  check(cudaLaunchKernel(kernel, dim3(unsigned(plan.blocks)), dim3(unsigned(threads)), args, smem,
                         stream),
        (std::string(fn) + ": launch").c_str());
  return true;
}

}  // namespace

void set_wg_kernel(WgKernel k) {
  wg_kernel_state().store(k);
}
WgKernel wg_kernel() {
  return wg_kernel_state().load();
}
uint64_t wgq_launch_count() {
  return wgq_launches().load(std::memory_order_relaxed);
}
uint64_t tma_winners_launch_count() {
  return tma_winners_launches().load(std::memory_order_relaxed);
}

bool wg_available(int device) {
  static std::array<std::atomic<int>, kMaxDevices> known{};  // 0 unknown, 1 yes, 2 no
  if (device < 0 || device >= kMaxDevices) return false;
  const int k = known[size_t(device)].load(std::memory_order_relaxed);
  if (k != 0) return k == 1;
  cudaFuncAttributes attr{};
  bool ok = device_info(device).compute_capability == 90 &&
            cudaFuncGetAttributes(&attr, stream_wg_kernel_bf16(0)) == cudaSuccess &&
            attr.binaryVersion == 90;
  if (!ok) (void)cudaGetLastError();
  known[size_t(device)].store(ok ? 1 : 2, std::memory_order_relaxed);
  return ok;
}

bool wg_plan(const ProblemView& v, StreamLaunch& plan) {
  if (v.q.elem != v.d.elem || v.q.elem == Elem::f32) return false;
  if (v.q.dim % 16 != 0 || wg_index(int(v.q.dim / 16)) < 0 || v.d.dim != v.q.dim) return false;
  if (v.q.copy_bytes < 16 || v.d.copy_bytes < 16 || v.d.token_stride != v.d.dim) return false;
  if (v.q.length > 0x7fffffffLL - 256 || v.d.length > 0x7fffffffLL - 256) return false;
  plan.ks = int(v.q.dim / 16);
  const int64_t nq = std::max<int64_t>(v.q.count, 1);
  const int64_t per_query =
      std::max<int64_t>(1, v.q.cu == nullptr ? v.q.length : (v.q.total_tokens + nq - 1) / nq);
  plan.group = 1;
  if (v.pairing == PairingKind::cross && v.q.count > 1 && per_query <= kStreamMaxTeamRows) {
    const int64_t limit = v.q.cu == nullptr ? kStreamMaxSlots : 32;
    plan.group = int(std::clamp<int64_t>(kStreamMaxTeamRows / per_query, 1,
                                         std::min<int64_t>(v.q.count, limit)));
  }
  plan.team = 4;
  plan.groups = 1;
  plan.doc_major = false;
  if (v.pairing == PairingKind::cross) {
    plan.groups = (v.q.count + plan.group - 1) / plan.group;
    plan.doc_major = plan.groups > 1;
  }
  plan.rows = int(std::min<int64_t>(per_query * plan.group, 1 << 30));
  plan.wg = true;
  plan.tma = true;
  // Measured on an H100 (docs/benchmarks.md): from 64 query rows a pair on, the wgmma kernel
  // beats the stream kernels (Lq = 128: 100 us against 159); at 32 rows they win (one
  // document read feeds too little tensor work to hide the wgmma pipeline's latency).
  plan.preferred = plan.rows > 32;
  // Queries all longer than one 128-row chunk: two warpgroups read each document stage for two
  // chunks, halving the document reads (Lq = 1,024 read each document 8 times).
  plan.wg_groups = v.q.cu == nullptr && plan.group == 1 && per_query > 128 ? 2 : 1;  // kWgRows
  plan.pairs = num_pairs(v, plan.group);
  return true;
}

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
  const int64_t per_query =
      std::max<int64_t>(1, v.q.cu == nullptr ? v.q.length : (v.q.total_tokens + nq - 1) / nq);
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
  // Contiguous documents can come in through the copy engine (sm_90; run_stream decides).
  plan.tma = v.d.token_stride == v.d.dim;
  plan.preferred = plan.groups <= 1;
  plan.pairs = num_pairs(v, plan.group);
  return true;
}

bool winners_on_stream(const ProblemView& v, StreamLaunch& plan) {
  StreamLaunch wg;
  if (!wg_plan(v, wg) || wg.preferred) return false;
  return stream_plan(v, plan) && plan.preferred && plan.tma && wg_index(plan.ks) >= 0;
}

namespace {

// Launches the wgmma kernel (with winners when p.winners is set) for a plan of wg_plan.
StreamLaunch launch_wg(const ProblemView& v, StreamLaunch plan, StreamParams p, int device,
                       cudaStream_t stream, const char* fn) {
  if (launch_wgq(v, plan, p, device, stream, fn)) return plan;
  const DeviceInfo& dev = device_info(device);
  const int wi = wg_index(plan.ks);
  const bool bf16 = v.q.elem == Elem::bf16, winners = p.winners != nullptr;
  if (winners) plan.wg_groups = 1;  // the winners' instantiation has one warpgroup
  const bool two = plan.wg_groups == 2;
  const void* kernel =
      winners ? (bf16 ? stream_wg_winners_kernel_bf16(wi) : stream_wg_winners_kernel_f16(wi))
      : two   ? (bf16 ? stream_wg2_kernel_bf16(wi) : stream_wg2_kernel_f16(wi))
              : (bf16 ? stream_wg_kernel_bf16(wi) : stream_wg_kernel_f16(wi));
  const int threads = kStreamThreads * plan.wg_groups;
  p.v = v;
  p.group = plan.group;
  p.team = 4;
  p.doc_major = plan.doc_major ? 1 : 0;
  p.groups = plan.groups;
  p.pairs = plan.pairs;
  p.stages = plan.stages = wg_stages(plan.ks, two ? 2 : 1);
  const size_t smem = wg_smem_bytes(plan.ks, two ? 2 : 1);
  static std::array<std::array<std::atomic<int>, 6 * kNumWgKSteps>, kMaxDevices> per_sm_cache{};
  const int variant = winners ? 2 : two ? 4 : 0;
  std::atomic<int>& cached =
      per_sm_cache[size_t(std::clamp(device, 0, kMaxDevices - 1))]
                  [size_t(variant * kNumWgKSteps + (bf16 ? 0 : kNumWgKSteps) + wi)];
  int per_sm = cached.load(std::memory_order_relaxed);
  if (per_sm == 0) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
          "cudaFuncSetAttribute");
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    per_sm = std::max(per_sm, 1);
    cached.store(per_sm, std::memory_order_relaxed);
  }
  plan.blocks = int(std::min<int64_t>(plan.pairs, int64_t(per_sm) * dev.multiprocessors));
  if (verbose()) {
    std::fprintf(stderr,
                 "colmax.%s: wgmma stream kernel%s%s, %s dim %d, group %d%s, %lld pairs, %d blocks "
                 "(%d per SM), %d stages, %zu B shared\n",
                 fn, winners ? " with winners" : "", two ? " (two warpgroups)" : "",
                 bf16 ? "bf16" : "fp16", plan.ks * 16, plan.group,
                 plan.doc_major ? " (document-major)" : "", (long long)plan.pairs, plan.blocks,
                 per_sm, plan.stages, smem);
  }
  if (plan.pairs == 0) return plan;
  void* args[] = {&p};
  check(cudaLaunchKernel(kernel, dim3(unsigned(plan.blocks)), dim3(unsigned(threads)), args, smem,
                         stream),
        (std::string(fn) + ": launch").c_str());
  return plan;
}

// Launches a stream kernel for a plan of stream_plan: the TMA kernel where the plan, the
// caller, the device and the binary allow it, else the register kernel. With winners
// (p.winners) only the TMA kernel has them: without it nothing is launched (plan.tma false).
StreamLaunch launch_stream(const ProblemView& v, StreamLaunch plan, bool allow_tma, StreamParams p,
                           int device, cudaStream_t stream, const char* fn) {
  const DeviceInfo& dev = device_info(device);
  int ki = 0;
  while (kStreamKSteps[ki] != plan.ks) ++ki;
  const bool bf16 = v.q.elem == Elem::bf16, winners = p.winners != nullptr;
  const int ti = team_index(plan.team);
  const int wi = wg_index(plan.ks);
  if (winners && wi < 0) plan.tma = false;

  const void* tma_kernel =
      !winners  ? (bf16 ? stream_tma_kernel_bf16(ki) : stream_tma_kernel_f16(ki))
      : wi >= 0 ? (bf16 ? stream_tma_winners_kernel_bf16(wi) : stream_tma_winners_kernel_f16(wi))
                : nullptr;
  KernelState* tma_state =
      state_of(device, winners ? StreamKind::tma_winners : StreamKind::tma, v.q.elem, ki);
  plan.tma = plan.tma && allow_tma && dev.compute_capability >= 90 &&
             kernel_has_sm90(tma_kernel, tma_state);
  if (winners && !plan.tma) return plan;
  const void* kernel =
      plan.tma ? tma_kernel : (bf16 ? stream_kernel_bf16(ki) : stream_kernel_f16(ki));
  KernelState* st = plan.tma ? tma_state : state_of(device, StreamKind::registers, v.q.elem, ki);

  p.v = v;
  p.group = plan.group;
  p.team = plan.team;
  p.doc_major = plan.doc_major ? 1 : 0;
  p.groups = plan.groups;
  p.pairs = plan.pairs;
  size_t smem = 0;
  if (plan.tma) {
    plan.stages = tma_stages(plan.ks, plan.team);
    p.stages = plan.stages;
    smem = tma_smem_bytes(plan.ks, plan.team, plan.stages);
    // The limit is per kernel: raise it once to what the largest team configuration needs,
    // never lower it (another thread may be launching a configuration that needs more).
    if (st == nullptr || st->smem_raised.load(std::memory_order_relaxed) == 0) {
      size_t most = 0;
      for (int team : {1, 2, 4}) {
        most = std::max(most, tma_smem_bytes(plan.ks, team, tma_stages(plan.ks, team)));
      }
      check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(most)),
            "cudaFuncSetAttribute");
      if (st != nullptr) st->smem_raised.store(1, std::memory_order_relaxed);
    }
  }
  int per_sm = st != nullptr ? st->per_sm[ti].load(std::memory_order_relaxed) : 0;
  if (per_sm == 0) {
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kStreamThreads, smem),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    per_sm = std::max(per_sm, 1);
    if (st != nullptr) st->per_sm[ti].store(per_sm, std::memory_order_relaxed);
  }
  const int teams_per_block = (kStreamThreads / 32) / plan.team;
  const int64_t wanted = (plan.pairs + teams_per_block - 1) / teams_per_block;
  plan.blocks = int(std::min(wanted, int64_t(per_sm) * dev.multiprocessors));
  if (verbose()) {
    std::fprintf(stderr,
                 "colmax.%s: stream kernel%s%s, %s dim %d, team %d warps, group %d%s, %lld pairs, "
                 "%d blocks of %d threads (%d per SM), %d stages, %zu B shared\n",
                 fn, plan.tma ? " (TMA)" : "", winners ? " with winners" : "",
                 bf16 ? "bf16" : "fp16", plan.ks * 16, plan.team, plan.group,
                 plan.doc_major ? " (document-major)" : "", (long long)plan.pairs, plan.blocks,
                 kStreamThreads, per_sm, plan.tma ? plan.stages : 0, smem);
  }
  if (plan.pairs == 0) return plan;
  if (winners) tma_winners_launches().fetch_add(1, std::memory_order_relaxed);
  void* args[] = {&p};
  check(cudaLaunchKernel(kernel, dim3(unsigned(plan.blocks)), dim3(unsigned(kStreamThreads)), args,
                         smem, stream),
        (std::string(fn) + ": launch").c_str());
  return plan;
}

}  // namespace

bool run_wg_winners(const ProblemView& v, void* winners, bool is16, int64_t width, int device,
                    cudaStream_t stream) {
  StreamLaunch plan;
  if (!wg_available(device) || !wg_plan(v, plan)) return false;
  StreamParams p;
  p.winners = winners;
  p.winners_is16 = is16 ? 1 : 0;
  p.winners_width = width;
  StreamLaunch sp;
  if (wg_kernel() == WgKernel::automatic && winners_on_stream(v, sp)) {
    if (launch_stream(v, sp, true, p, device, stream, "maxsim_forward").tma) return true;
  }
  launch_wg(v, plan, p, device, stream, "maxsim_forward");
  return true;
}

StreamLaunch run_stream(const ProblemView& v, StreamLaunch plan, bool allow_tma, int device,
                        cudaStream_t stream, const char* fn) {
  if (plan.pairs == 0) return plan;
  if (plan.wg) return launch_wg(v, plan, StreamParams{}, device, stream, fn);
  return launch_stream(v, plan, allow_tma, StreamParams{}, device, stream, fn);
}

}  // namespace colmax::cuda
