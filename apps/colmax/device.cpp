// Device choice and memory. The CUDA runtime calls are compiled in only when colmax is built
// with CUDA (COLMAX_CLI_WITH_CUDA); they are the only CUDA code of the command line.
#include "device.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#ifdef COLMAX_CLI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace colmax::cli {
namespace {

size_t row_major_bytes(const TensorView& t) {
  return size_t(t.numel()) * size_t(dtype_size(t.dtype()));
}

void require_contiguous(const TensorView& t) {
  int64_t expect = 1;
  for (int d = t.rank() - 1; d >= 0; --d) {
    if (t.size(d) > 1 && t.stride(d) != expect) {
      throw std::logic_error("Arena: expected a row-major tensor, got " + t.describe());
    }
    expect *= t.size(d);
  }
}

#ifdef COLMAX_CLI_WITH_CUDA
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
  }
}
#endif

}  // namespace

Device choose_device(const std::string& setting) {
  const bool gpu_built = cuda_built();
  const auto gpus = gpu_built ? cuda_devices() : std::vector<GpuInfo>{};
  if (setting == "auto") {
    if (!gpus.empty()) return {DeviceKind::cuda, gpus.front().id};
    return {};
  }
  if (setting == "cpu") return {};
  if (setting == "cuda" || setting.rfind("cuda:", 0) == 0) {
    if (!gpu_built) {
      throw std::runtime_error("--device " + setting +
                               ": this colmax was built without CUDA (build with the release "
                               "preset on a machine with nvcc)");
    }
    if (gpus.empty()) {
      throw std::runtime_error("--device " + setting + ": no NVIDIA GPU is visible");
    }
    if (setting == "cuda") return {DeviceKind::cuda, gpus.front().id};
    const std::string n = setting.substr(5);
    char* end = nullptr;
    const long id = std::strtol(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || id < 0 || id >= long(gpus.size())) {
      throw std::runtime_error("--device " + setting + ": expected cuda:0.." +
                               std::to_string(gpus.size() - 1));
    }
    return {DeviceKind::cuda, int(id)};
  }
  throw std::runtime_error("--device: expected auto, cpu, cuda or cuda:N, got '" + setting + "'");
}

std::string describe_device(Device device, int threads) {
  if (device.kind == DeviceKind::cpu) {
    return "cpu (" + cpu_simd_level() + ", " + std::to_string(threads) + " thread" +
           (threads == 1 ? "" : "s") + ")";
  }
  for (const GpuInfo& g : cuda_devices()) {
    if (g.id == device.id) {
      return device_name(device) + " (" + g.name + ", sm_" + std::to_string(g.compute_capability) +
             ")";
    }
  }
  return device_name(device);
}

Arena::Arena(Device device) : device_(device) {
#ifdef COLMAX_CLI_WITH_CUDA
  if (on_gpu()) check(cudaSetDevice(device.id), "cudaSetDevice");
#else
  if (on_gpu()) throw std::runtime_error("this colmax was built without CUDA");
#endif
}

Arena::~Arena() {
  for (void* p : blocks_) {
#ifdef COLMAX_CLI_WITH_CUDA
    if (on_gpu()) {
      cudaFree(p);
      continue;
    }
#endif
    std::free(p);
  }
}

void* Arena::raw_allocate(size_t bytes) {
  void* p = nullptr;
  const size_t size = bytes == 0 ? 1 : bytes;
#ifdef COLMAX_CLI_WITH_CUDA
  if (on_gpu()) {
    check(cudaMalloc(&p, size), "cudaMalloc");
    blocks_.push_back(p);
    return p;
  }
#endif
  p = std::aligned_alloc(64, (size + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  blocks_.push_back(p);
  return p;
}

TensorView Arena::upload(const TensorView& host) {
  if (!host.present()) return {};
  if (!on_gpu()) return host;
  require_contiguous(host);
  const size_t bytes = row_major_bytes(host);
  void* p = raw_allocate(bytes);
#ifdef COLMAX_CLI_WITH_CUDA
  check(cudaMemcpy(p, host.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the GPU");
#endif
  return TensorView(p, host.dtype(), host.shape(), {}, device_);
}

TensorView Arena::allocate(DType dtype, std::vector<int64_t> shape) {
  size_t bytes = size_t(dtype_size(dtype));
  for (int64_t s : shape) bytes *= size_t(s);
  void* p = raw_allocate(bytes);
  return TensorView(p, dtype, std::span<const int64_t>(shape), {}, device_);
}

void Arena::copy_in(const void* host, const TensorView& dst) {
  require_contiguous(dst);
  const size_t bytes = row_major_bytes(dst);
  if (bytes == 0) return;
#ifdef COLMAX_CLI_WITH_CUDA
  if (on_gpu()) {
    check(cudaMemcpy(dst.data(), host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the GPU");
    return;
  }
#endif
  if (host != dst.data()) std::memcpy(dst.data(), host, bytes);
}

void Arena::download(const TensorView& src, void* host) {
  require_contiguous(src);
  const size_t bytes = row_major_bytes(src);
  if (bytes == 0) return;
#ifdef COLMAX_CLI_WITH_CUDA
  if (on_gpu()) {
    check(cudaMemcpy(host, src.data(), bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from the GPU");
    return;
  }
#endif
  if (host != src.data()) std::memcpy(host, src.data(), bytes);
}

void Arena::synchronize() {
#ifdef COLMAX_CLI_WITH_CUDA
  if (on_gpu()) check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
#endif
}

}  // namespace colmax::cli
