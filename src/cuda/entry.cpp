// The CUDA backend's entry points: cuda_maxsim / cuda_topk for validated problems, and what
// the build and the machine offer (runtime.hpp).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "colmax/runtime.hpp"
#include "core/backends.hpp"
#include "cuda/common/check.hpp"
#include "cuda/common/problem_view.hpp"
#include "cuda/common/workspace.hpp"
#include "cuda/forward.hpp"
#include "cuda/topk/topk_kernels.hpp"

namespace colmax {

bool cuda_built() noexcept {
  return true;
}

std::vector<std::string> cuda_archs() {
  // COLMAX_CUDA_ARCH_LIST is CMake's list, comma-separated:
  // "80-real,86-real,89-real,90a-real,90-virtual".
  std::vector<std::string> archs;
  const std::string list = COLMAX_CUDA_ARCH_LIST;
  size_t at = 0;
  while (at <= list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(at, end - at);
    if (!item.empty()) {
      const size_t dash = item.find('-');
      const std::string num = item.substr(0, dash);
      const std::string kind = dash == std::string::npos ? "" : item.substr(dash + 1);
      archs.push_back((kind == "virtual" ? "compute_" : "sm_") + num);
    }
    at = end + 1;
  }
  return archs;
}

std::vector<GpuInfo> cuda_devices() {
  std::vector<GpuInfo> out;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    GpuInfo g;
    g.id = i;
    g.name = prop.name;
    g.compute_capability = prop.major * 10 + prop.minor;
    g.multiprocessors = prop.multiProcessorCount;
    g.memory_bytes = prop.totalGlobalMem;
    out.push_back(g);
  }
  return out;
}

namespace detail {
namespace {

void require_supported(int device, const char* fn) {
  const cuda::DeviceInfo& info = cuda::device_info(device);
  if (info.compute_capability < 80) {
    throw Error(ErrorKind::unsupported,
                std::string("colmax.") + fn + ": cuda:" + std::to_string(device) +
                    " has compute capability " + std::to_string(info.compute_capability / 10) +
                    "." + std::to_string(info.compute_capability % 10) +
                    "; the CUDA kernels need 8.0 (Ampere) or newer");
  }
}

// The sequences [i0, i0 + n) of a set, as a set of their own.
cuda::SeqView slice(cuda::SeqView s, int64_t i0, int64_t n) {
  if (s.cu != nullptr) {
    s.cu = static_cast<const unsigned char*>(s.cu) + i0 * (s.cu_is64 ? 8 : 4);
  } else {
    // Retrieve's sets are rank 3 (inner == 1): sequence i starts at i * outer_stride.
    s.data += i0 * s.outer_stride * s.elem_bytes;
    if (s.mask.data != nullptr) s.mask.data += i0 * s.mask.outer_stride * s.mask.bytes;
  }
  s.count = n;
  return s;
}

}  // namespace

void cuda_maxsim(const Problem& p) {
  if (p.num_outputs() == 0) return;
  cuda::DeviceGuard guard(p.device.id);
  require_supported(p.device.id, "maxsim");
  cuda::run_forward(cuda::make_problem_view(p), p.options.fp32_precision == Fp32Precision::exact,
                    p.device.id, static_cast<cudaStream_t>(p.options.stream), "maxsim");
}

// Documents are scored in chunks into scratch memory and merged into running top-k lists,
// so memory stays bounded: about qb * (4 * chunk + 16 * k) bytes.
void cuda_topk(const Problem& p, const TopK& t) {
  const int64_t nq = p.q.count, nd = p.d.count, k = t.k;
  if (nq == 0 || k == 0) return;
  if (nd > int64_t(0xffffffffLL)) {
    throw Error(ErrorKind::unsupported,
                "colmax.retrieve: the CUDA top-k indexes documents with 32 bits; got " +
                    std::to_string(nd) + " documents");
  }
  cuda::DeviceGuard guard(p.device.id);
  require_supported(p.device.id, "retrieve");
  const auto stream = static_cast<cudaStream_t>(p.options.stream);
  const bool exact = p.options.fp32_precision == Fp32Precision::exact;
  const cuda::ProblemView v = cuda::make_problem_view(p);

  const int64_t chunk = std::min<int64_t>(nd, 8 * cuda::kTopkSortChunk);
  int64_t qb = std::clamp<int64_t>((int64_t(1) << 22) / chunk, 1, nq);
  qb = std::min<int64_t>(qb, std::max<int64_t>(1, (int64_t(1) << 24) / k));
  const size_t score_bytes = (size_t(qb * chunk) * 4 + 255) / 256 * 256;
  const size_t bytes = score_bytes + size_t(2 * qb * k) * 8;
  auto* ws = static_cast<unsigned char*>(
      cuda::acquire_workspace(p.options.workspace, bytes, p.device.id, stream, "retrieve"));
  auto* scores = reinterpret_cast<float*>(ws);
  auto* lists = reinterpret_cast<uint64_t*>(ws + score_bytes);

  for (int64_t q0 = 0; q0 < nq; q0 += qb) {
    const int64_t qn = std::min(qb, nq - q0);
    int parity = 0;
    int64_t have = 0;
    for (int64_t c0 = 0; c0 < nd; c0 += chunk) {
      const int64_t cn = std::min(chunk, nd - c0);
      cuda::ProblemView sub = v;
      sub.q = slice(v.q, q0, qn);
      sub.d = slice(v.d, c0, cn);
      sub.pairing = cuda::PairingKind::cross;
      sub.out = scores;
      sub.out_rows = qn;
      sub.out_cols = cn;
      sub.out_stride0 = chunk;
      sub.out_stride1 = 1;
      cuda::run_forward(sub, exact, p.device.id, stream, "retrieve");
      cuda::launch_topk_merge(scores, chunk, cn, c0, lists, qn, k, have, parity, stream);
      const int64_t sorts = (cn + cuda::kTopkSortChunk - 1) / cuda::kTopkSortChunk;
      parity ^= int(sorts & 1);
      have = std::min(k, have + cn);
    }
    cuda::launch_topk_write(lists, qn, k, parity, t.scores, t.scores_stride0, t.scores_stride1,
                            t.indices, t.indices_stride0, t.indices_stride1, q0, stream);
  }
}

}  // namespace detail
}  // namespace colmax
