// The CUDA training entry points: cuda_maxsim_forward and cuda_maxsim_backward for a
// validated Training. Scratch memory, the pair-list inverse maps, recomputation of the
// winners, and the choice between tensor-core and FMA engines and between strategies.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "colmax/error.hpp"
#include "core/backends.hpp"
#include "core/training.hpp"
#include "cuda/backward/backward.cuh"
#include "cuda/backward/forward.cuh"
#include "cuda/backward/views_build.hpp"
#include "cuda/common/problem_view.hpp"
#include "cuda/forward.hpp"
#include "cuda/stream/stream_launch.hpp"

namespace colmax::detail {
namespace cuda_train {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw Error(ErrorKind::runtime,
                std::string("colmax CUDA training: ") + what + ": " + cudaGetErrorString(e));
  }
}

class DeviceGuard {
 public:
  explicit DeviceGuard(int id) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != id) check(cudaSetDevice(id), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

struct DeviceProps {
  int sm_count = 0;
  size_t smem_optin = 0;
  int compute_capability = 0;
};

const DeviceProps& device_props(int id) {
  static std::mutex mu;
  static std::vector<DeviceProps> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (size_t(id) >= cache.size()) cache.resize(size_t(id) + 1);
  DeviceProps& d = cache[size_t(id)];
  if (d.sm_count == 0) {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, id), "cudaGetDeviceProperties");
    d.sm_count = prop.multiProcessorCount;
    d.smem_optin = prop.sharedMemPerBlockOptin;
    d.compute_capability = prop.major * 10 + prop.minor;
  }
  if (d.compute_capability < 80) {
    throw Error(ErrorKind::unsupported, "colmax CUDA training: cuda:" + std::to_string(id) +
                                            " has compute capability " +
                                            std::to_string(d.compute_capability / 10) + "." +
                                            std::to_string(d.compute_capability % 10) +
                                            "; the kernels need 8.0 (Ampere) or newer");
  }
  return d;
}

size_t align256(size_t n) {
  return (n + 255) / 256 * 256;
}

// Offsets of the scratch buffers of one call, then one allocation that holds them all.
class Scratch {
 public:
  size_t add(size_t bytes) {
    const size_t at = total_;
    total_ += align256(bytes);
    return at;
  }
  void allocate(const Workspace& ws, cudaStream_t stream) {
    stream_ = stream;
    if (total_ == 0) return;
    // Options::workspace when it is large enough (its start aligned up to 256 bytes), else
    // CUDA's stream-ordered pool (cached by the driver across calls).
    const uintptr_t start = reinterpret_cast<uintptr_t>(ws.data);
    const uintptr_t aligned = (start + 255) / 256 * 256;
    if (ws.data != nullptr && ws.bytes >= total_ + (aligned - start)) {
      base_ = reinterpret_cast<unsigned char*>(aligned);
      return;
    }
    check(cudaMallocAsync(reinterpret_cast<void**>(&owned_), total_, stream), "cudaMallocAsync");
    base_ = owned_;
  }
  template <class T>
  T* at(size_t offset) const {
    return reinterpret_cast<T*>(base_ + offset);
  }
  ~Scratch() {
    if (owned_ != nullptr) cudaFreeAsync(owned_, stream_);
  }

 private:
  size_t total_ = 0;
  unsigned char* base_ = nullptr;
  unsigned char* owned_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

bool aligned16(const SeqSet& s) {
  if (reinterpret_cast<uintptr_t>(s.data) % 16 != 0) return false;
  if (s.token_stride % 8 != 0) return false;
  if (!s.packed() && (s.outer_stride % 8 != 0 || s.inner_stride % 8 != 0)) return false;
  return true;
}

Engine choose_engine(const Problem& p, const DeviceProps& dev) {
  if (p.q.dtype == p.d.dtype && p.q.dim % 16 == 0 &&
      (p.q.dtype == DType::bfloat16 || p.q.dtype == DType::float16)) {
    const Engine e = p.q.dtype == DType::bfloat16 ? Engine::tensor_bf16 : Engine::tensor_f16;
    // Leave room for the kernel's static shared memory.
    if (forward_smem_bytes(e, p.q.dim) + 8192 <= dev.smem_optin) return e;
  }
  return Engine::fma;
}

// The longest query of a packed family whose offsets are on the device: reads them back
// (one synchronisation; only the recomputing backward of packed layouts needs it).
int64_t longest_on_device(const SeqSet& s, cudaStream_t stream) {
  std::vector<int64_t> cu(size_t(s.count) + 1, 0);
  if (s.cu_dtype == DType::int64) {
    check(cudaMemcpyAsync(cu.data(), s.cu, cu.size() * 8, cudaMemcpyDeviceToHost, stream),
          "cudaMemcpyAsync");
  } else {
    std::vector<int32_t> c32(cu.size());
    check(cudaMemcpyAsync(c32.data(), s.cu, c32.size() * 4, cudaMemcpyDeviceToHost, stream),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    std::copy(c32.begin(), c32.end(), cu.begin());
  }
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  int64_t longest = 0;
  for (size_t i = 0; i + 1 < cu.size(); ++i) {
    const int64_t a = std::clamp<int64_t>(cu[i], 0, s.total_tokens);
    const int64_t b = std::clamp<int64_t>(cu[i + 1], 0, s.total_tokens);
    longest = std::max(longest, b - a);
  }
  return longest;
}

// Buffers of a forward pass.
struct ForwardScratch {
  size_t inv_q = 0, inv_d = 0, partial = 0;
  bool normalize = false, chunked = false;
};

ForwardScratch plan_forward(Scratch& s, const Problem& p, int64_t width) {
  ForwardScratch f;
  f.normalize = p.options.normalize;
  if (f.normalize) {
    f.inv_q = s.add(size_t(make_seqs(p.q).rows) * 4);
    f.inv_d = s.add(size_t(make_seqs(p.d).rows) * 4);
  }
  f.chunked = width > kRows;
  if (f.chunked)
    f.partial = s.add(size_t(p.num_outputs()) * size_t((width + kRows - 1) / kRows) * 4);
  return f;
}

void compute_inverse_norms(const Scratch& s, const ForwardScratch& f, const Problem& p,
                           cudaStream_t stream) {
  if (!f.normalize) return;
  launch_inverse_norms(make_seqs(p.q), s.at<float>(f.inv_q), stream);
  launch_inverse_norms(make_seqs(p.d), s.at<float>(f.inv_d), stream);
}

void run_forward(const Scratch& s, const ForwardScratch& f, const Problem& p,
                 const WinnerView& winners, const Scores& out, const DeviceProps& dev,
                 cudaStream_t stream) {
  // The wgmma stream kernel with winners wherever it runs (sm_90a, both sides bf16 or both
  // fp16, dim 64/96/128, contiguous documents); COLMAX_CUDA_KERNEL=tile keeps the kernel below.
  if (cuda::forward_family() != cuda::ForwardFamily::tile) {
    cuda::ProblemView v = cuda::make_problem_view(p);
    v.out = out.data;
    v.out_stride0 = out.stride0;
    v.out_stride1 = out.stride1;
    if (cuda::run_wg_winners(v, winners.data, winners.is16 != 0, winners.width, p.device.id,
                             stream)) {
      return;
    }
  }
  ForwardParams fp;
  fp.q = make_seqs(p.q);
  fp.d = make_seqs(p.d);
  fp.pairs = make_pairs(p);
  fp.out = out;
  fp.winners = winners;
  if (f.normalize) {
    fp.inv_q = s.at<float>(f.inv_q);
    fp.inv_d = s.at<float>(f.inv_d);
  }
  fp.zero_mode = p.options.mask_mode == MaskMode::zero ? 1 : 0;
  if (f.chunked) fp.partial = s.at<float>(f.partial);
  fp.aligned16 = aligned16(p.q) && aligned16(p.d) ? 1 : 0;
  launch_forward(fp, choose_engine(p, dev), dev.sm_count, stream);
  check(cudaGetLastError(), "forward kernel launch");
}

}  // namespace
}  // namespace cuda_train

void cuda_maxsim_forward(const Training& tr) {
  using namespace cuda_train;
  const Problem& p = tr.p;
  DeviceGuard guard(p.device.id);
  const DeviceProps& dev = device_props(p.device.id);
  const auto stream = static_cast<cudaStream_t>(p.options.stream);
  if (p.num_outputs() == 0) return;
  Scratch scratch;
  const ForwardScratch f = plan_forward(scratch, p, tr.winners.width);
  scratch.allocate(p.options.workspace, stream);
  compute_inverse_norms(scratch, f, p, stream);
  run_forward(scratch, f, p, make_winners(tr.winners), make_scores(p), dev, stream);
}

void cuda_maxsim_backward(const Training& tr) {
  using namespace cuda_train;
  const Problem& p = tr.p;
  DeviceGuard guard(p.device.id);
  const DeviceProps& dev = device_props(p.device.id);
  const auto stream = static_cast<cudaStream_t>(p.options.stream);
  const int64_t outputs = p.num_outputs();
  const bool recompute = !tr.winners.present();
  const int64_t width = !recompute     ? tr.winners.width
                        : p.q.packed() ? longest_on_device(p.q, stream)
                                       : p.q.length;

  Scratch scratch;
  const ForwardScratch f = plan_forward(scratch, p, recompute ? width : 0);
  size_t winners_at = 0, scores_at = 0;
  if (recompute) {
    winners_at = scratch.add(size_t(outputs * width) * 4);
    scores_at = scratch.add(size_t(outputs) * 4);
  }
  const bool list = p.pairing == Pairing::list;
  size_t map_scratch = 0, q_begin = 0, q_order = 0, d_begin = 0, d_order = 0;
  if (list) {
    map_scratch = scratch.add(std::max(inverse_map_bytes(p.num_pairs, p.q.count),
                                       inverse_map_bytes(p.num_pairs, p.d.count)));
    q_begin = scratch.add(size_t(p.q.count + 1) * 8);
    q_order = scratch.add(size_t(std::max<int64_t>(p.num_pairs, 1)) * 8);
    d_begin = scratch.add(size_t(p.d.count + 1) * 8);
    d_order = scratch.add(size_t(std::max<int64_t>(p.num_pairs, 1)) * 8);
  }
  const Seqs q = make_seqs(p.q), d = make_seqs(p.d);
  const bool wide = p.q.dim > kDimChunk;
  size_t ws_q = 0, ws_d = 0;
  if (wide && tr.grad_q.present()) ws_q = scratch.add(size_t(q.rows * p.q.dim) * 4);
  if (wide && tr.grad_d.present()) ws_d = scratch.add(size_t(d.rows * p.d.dim) * 4);
  scratch.allocate(p.options.workspace, stream);

  compute_inverse_norms(scratch, f, p, stream);
  BackwardParams bp;
  bp.q = q;
  bp.d = d;
  bp.pairs = make_pairs(p);
  bp.grad_out = make_scores(p);
  bp.winners = make_winners(tr.winners);
  if (recompute) {
    bp.winners = {scratch.at<void>(winners_at), 0, width};
    const Scores scores{scratch.at<float>(scores_at), p.out_cols, p.out_cols, 1};
    run_forward(scratch, f, p, bp.winners, scores, dev, stream);
  }
  if (f.normalize) {
    bp.inv_q = scratch.at<float>(f.inv_q);
    bp.inv_d = scratch.at<float>(f.inv_d);
  }
  if (list) {
    build_inverse_map(p.pair_q, p.pair_dtype == DType::int64, p.num_pairs, p.q.count,
                      scratch.at<void>(map_scratch), scratch.at<int64_t>(q_begin),
                      scratch.at<int64_t>(q_order), stream);
    build_inverse_map(p.pair_d, p.pair_dtype == DType::int64, p.num_pairs, p.d.count,
                      scratch.at<void>(map_scratch), scratch.at<int64_t>(d_begin),
                      scratch.at<int64_t>(d_order), stream);
    bp.pairs.q_begin = scratch.at<int64_t>(q_begin);
    bp.pairs.q_order = scratch.at<int64_t>(q_order);
    bp.pairs.d_begin = scratch.at<int64_t>(d_begin);
    bp.pairs.d_order = scratch.at<int64_t>(d_order);
  }
  // Every strategy takes the same kernels: they sum in a fixed order without atomics, which
  // measured faster than the atomics `fast` used to allow (docs/training.md).
  if (tr.grad_q.present()) {
    bp.gq = make_grad_seqs(tr.grad_q);
    if (wide) bp.ws_q = scratch.at<float>(ws_q);
    launch_grad_q(bp, stream);
    check(cudaGetLastError(), "grad_Q kernel launch");
  }
  if (tr.grad_d.present()) {
    bp.gd = make_grad_seqs(tr.grad_d);
    if (wide) bp.ws_d = scratch.at<float>(ws_d);
    launch_grad_d(bp, stream);
    check(cudaGetLastError(), "grad_D kernel launch");
  }
}

}  // namespace colmax::detail
