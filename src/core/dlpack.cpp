// TensorView::from_dlpack: the bridge from any DLPack producer (NumPy, PyTorch, CuPy, JAX).
#include "colmax/error.hpp"
#include "colmax/tensor.hpp"

namespace colmax {

namespace {

DType dtype_from_dlpack(const TensorView::DLPackFields& t, const char* name) {
  auto fail = [&]() -> DType {
    throw Error(ErrorKind::dtype, std::string(name) + ": unsupported DLPack dtype (code " +
                                      std::to_string(t.code) + ", bits " + std::to_string(t.bits) +
                                      ", lanes " + std::to_string(t.lanes) + ")");
  };
  if (t.lanes != 1) return fail();
  // DLPack's type codes; bool (6) arrived in DLPack 0.8.
  enum : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBoolCode = 6 };
  switch (t.code) {
    case kDLFloat:
      if (t.bits == 32) return DType::float32;
      if (t.bits == 16) return DType::float16;
      if (t.bits == 64) return DType::float64;
      break;
    case kDLBfloat:
      if (t.bits == 16) return DType::bfloat16;
      break;
    case kDLInt:
      if (t.bits == 64) return DType::int64;
      if (t.bits == 32) return DType::int32;
      if (t.bits == 16) return DType::int16;
      if (t.bits == 8) return DType::int8;
      break;
    case kDLUInt:
      if (t.bits == 8) return DType::uint8;
      break;
    case kDLBoolCode:
      if (t.bits == 8) return DType::boolean;
      break;
    default:
      break;
  }
  return fail();
}

}  // namespace

TensorView TensorView::from_dlpack_fields(const DLPackFields& tensor, const char* name) {
  Device device;
  enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLCUDAManaged = 13 };
  switch (tensor.device_type) {
    case kDLCPU:
    case kDLCUDAHost:
      device = {DeviceKind::cpu, 0};
      break;
    case kDLCUDA:
    case kDLCUDAManaged:
      device = {DeviceKind::cuda, tensor.device_id};
      break;
    default:
      throw Error(ErrorKind::device, std::string(name) + ": unsupported DLPack device type " +
                                         std::to_string(tensor.device_type) +
                                         " (expected CPU or CUDA memory)");
  }
  if (tensor.ndim < 0 || tensor.ndim > kMaxRank) {
    throw Error(ErrorKind::shape, std::string(name) + ": expected at most " +
                                      std::to_string(kMaxRank) + " dimensions, got " +
                                      std::to_string(tensor.ndim));
  }
  DType dtype = dtype_from_dlpack(tensor, name);
  auto* base = static_cast<std::byte*>(tensor.data) + tensor.byte_offset;
  std::span<const int64_t> shape(tensor.shape, size_t(tensor.ndim));
  std::span<const int64_t> strides;
  if (tensor.strides != nullptr) strides = {tensor.strides, size_t(tensor.ndim)};
  return TensorView(base, dtype, shape, strides, device);
}

}  // namespace colmax
