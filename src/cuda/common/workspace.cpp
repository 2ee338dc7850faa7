#include "cuda/common/workspace.hpp"

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "cuda/common/check.hpp"

namespace colmax::cuda {
namespace {

struct Pool {
  std::mutex mutex;
  std::map<std::pair<int, cudaStream_t>, std::pair<void*, size_t>> buffers;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: buffers live until the process exits
  return *p;
}

}  // namespace

void* acquire_workspace(const Workspace& given, size_t bytes, int device, cudaStream_t stream,
                        const char* fn) {
  if (bytes == 0) return nullptr;
  if (given.data != nullptr) {
    if (given.bytes < bytes) {
      throw Error(ErrorKind::value, std::string("colmax.") + fn + ": options.workspace: needs " +
                                        std::to_string(bytes) + " bytes, got " +
                                        std::to_string(given.bytes));
    }
    return given.data;
  }
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto& slot = p.buffers[{device, stream}];
  if (slot.second >= bytes) return slot.first;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  check(cudaStreamIsCapturing(stream, &capture), "cudaStreamIsCapturing");
  if (capture != cudaStreamCaptureStatusNone) {
    throw Error(ErrorKind::unsupported,
                std::string("colmax.") + fn + ": needs " + std::to_string(bytes) +
                    " bytes of scratch memory, which cannot be allocated during CUDA graph "
                    "capture; pass options.workspace or make one call before capturing");
  }
  if (slot.first != nullptr) {
    check(cudaFree(slot.first), "cudaFree (workspace pool)");
    slot = {nullptr, 0};
  }
  // Round up so that slowly growing requests do not reallocate every call.
  size_t want = 1;
  while (want < bytes) want *= 2;
  void* ptr = nullptr;
  check(cudaMalloc(&ptr, want), (std::string(fn) + ": cudaMalloc (workspace pool)").c_str());
  slot = {ptr, want};
  return ptr;
}

}  // namespace colmax::cuda
