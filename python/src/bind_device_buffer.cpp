// Device memory for frameworks that cannot lend a writable buffer: JAX arrays are immutable,
// so colmax writes a JAX call's outputs into memory allocated here and JAX adopts it through
// DLPack without a copy (its deleter frees it). Only CUDA builds allocate anything.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"

#if defined(COLMAX_PY_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace colmax::python {

namespace nb = nanobind;

namespace {

#if defined(COLMAX_PY_CUDA)
void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw std::runtime_error(std::string("colmax: ") + what + ": " + cudaGetErrorString(err));
  }
}
#endif

// An uninitialised C-contiguous array of float32 ("float32") or int64 on CUDA device
// `device`, as a DLPack-exporting ndarray that owns its memory.
nb::ndarray<> cuda_empty(const std::vector<size_t>& shape, const std::string& dtype, int device) {
#if defined(COLMAX_PY_CUDA)
  const bool f32 = dtype == "float32";
  if (!f32 && dtype != "int64") throw std::invalid_argument("colmax: cuda_empty: bad dtype");
  size_t count = 1;
  for (size_t n : shape) count *= n;
  const size_t bytes = count * (f32 ? 4 : 8);
  int previous = 0;
  cuda_check(cudaGetDevice(&previous), "cudaGetDevice");
  cuda_check(cudaSetDevice(device), "cudaSetDevice");
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, bytes > 0 ? bytes : 1);
  (void)cudaSetDevice(previous);
  cuda_check(err, "cudaMalloc");
  nb::capsule owner(ptr, [](void* p) noexcept { (void)cudaFree(p); });
  return nb::ndarray<>(ptr, shape.size(), shape.data(), owner, nullptr,
                       f32 ? nb::dtype<float>() : nb::dtype<int64_t>(), nb::device::cuda::value,
                       device);
#else
  (void)shape;
  (void)dtype;
  (void)device;
  throw std::runtime_error("colmax: this build has no CUDA support");
#endif
}

}  // namespace

void bind_device_buffer(nb::module_& m) {
  m.def("cuda_empty", &cuda_empty, nb::arg("shape"), nb::arg("dtype"), nb::arg("device"));
  m.def("cuda_synchronize", [](int device) {
#if defined(COLMAX_PY_CUDA)
    int previous = 0;
    cuda_check(cudaGetDevice(&previous), "cudaGetDevice");
    cuda_check(cudaSetDevice(device), "cudaSetDevice");
    const cudaError_t err = cudaDeviceSynchronize();
    (void)cudaSetDevice(previous);
    cuda_check(err, "cudaDeviceSynchronize");
#else
    (void)device;
#endif
  });
}

}  // namespace colmax::python
