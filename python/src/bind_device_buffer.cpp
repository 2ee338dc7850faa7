// Device memory for frameworks that cannot lend a writable buffer: JAX arrays are immutable,
// so colmax writes a JAX call's outputs into memory allocated here and JAX adopts it through
// DLPack without a copy (its deleter frees it). Only CUDA builds allocate anything.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
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

// An uninitialised C-contiguous array of float32 or int64 on one CUDA device, owning its
// memory. It speaks the DLPack protocol itself (__dlpack__ / __dlpack_device__) and hands out a
// new capsule on every call, each holding a reference to the buffer: colmax's own binding
// consumes one when it writes the outputs, JAX another when it adopts them. (A bare capsule can
// be consumed once only, and recent JAX accepts only objects with both protocol methods.)
struct DeviceBuffer {
  void* ptr = nullptr;
  std::vector<size_t> shape;
  bool f32 = true;
  int device = 0;

  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
#if defined(COLMAX_PY_CUDA)
    if (ptr != nullptr) (void)cudaFree(ptr);
#endif
  }
};

std::unique_ptr<DeviceBuffer> cuda_empty(const std::vector<size_t>& shape, const std::string& dtype,
                                         int device) {
#if defined(COLMAX_PY_CUDA)
  const bool f32 = dtype == "float32";
  if (!f32 && dtype != "int64") {
    throw std::invalid_argument("colmax: cuda_empty: dtype must be 'float32' or 'int64', got '" +
                                dtype + "'");
  }
  size_t count = 1;
  for (size_t n : shape) count *= n;
  const size_t bytes = count * (f32 ? 4 : 8);
  int previous = 0;
  cuda_check(cudaGetDevice(&previous), "cudaGetDevice");
  cuda_check(cudaSetDevice(device), "cudaSetDevice");
  auto buffer = std::make_unique<DeviceBuffer>();
  const cudaError_t err = cudaMalloc(&buffer->ptr, bytes > 0 ? bytes : 1);
  (void)cudaSetDevice(previous);
  cuda_check(err, "cudaMalloc");
  buffer->shape = shape;
  buffer->f32 = f32;
  buffer->device = device;
  return buffer;
#else
  (void)shape;
  (void)dtype;
  (void)device;
  throw std::runtime_error("colmax: this build has no CUDA support");
#endif
}

// A DLPack capsule viewing the buffer; the capsule keeps the Python object (and the memory)
// alive until its consumer releases it.
nb::ndarray<> export_buffer(nb::handle self) {
  const DeviceBuffer& b = nb::cast<const DeviceBuffer&>(self);
  return nb::ndarray<>(b.ptr, b.shape.size(), b.shape.data(), self, nullptr,
                       b.f32 ? nb::dtype<float>() : nb::dtype<int64_t>(), nb::device::cuda::value,
                       b.device);
}

}  // namespace

void bind_device_buffer(nb::module_& m) {
  nb::class_<DeviceBuffer>(m, "DeviceBuffer")
      .def("__dlpack__", [](nb::handle self, nb::kwargs) { return export_buffer(self); })
      .def("__dlpack_device__", [](const DeviceBuffer& b) {
        return nb::make_tuple(int(nb::device::cuda::value), b.device);
      });
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
