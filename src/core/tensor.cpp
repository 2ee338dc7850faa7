// TensorView construction and the DLPack bridge.
#include <sstream>

#include "colmax/error.hpp"
#include "colmax/tensor.hpp"

namespace colmax {

int dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::float64:
    case DType::int64:
      return 8;
    case DType::float32:
    case DType::int32:
      return 4;
    case DType::int16:
      return 2;
    case DType::float16:
    case DType::bfloat16:
      return 2;
    case DType::boolean:
    case DType::uint8:
    case DType::int8:
      return 1;
  }
  return 1;
}

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::float32:
      return "float32";
    case DType::float16:
      return "float16";
    case DType::bfloat16:
      return "bfloat16";
    case DType::float64:
      return "float64";
    case DType::boolean:
      return "bool";
    case DType::uint8:
      return "uint8";
    case DType::int8:
      return "int8";
    case DType::int32:
      return "int32";
    case DType::int64:
      return "int64";
    case DType::int16:
      return "int16";
  }
  return "unknown";
}

std::string device_name(Device device) {
  if (device.kind == DeviceKind::cpu) return "cpu";
  return "cuda:" + std::to_string(device.id);
}

TensorView::TensorView(const void* data, DType dtype, std::span<const int64_t> shape,
                       std::span<const int64_t> strides, Device device)
    : data_(const_cast<void*>(data)), dtype_(dtype), device_(device), present_(true) {
  if (shape.size() > size_t(kMaxRank)) {
    throw Error(ErrorKind::shape, "TensorView: rank " + std::to_string(shape.size()) +
                                      " exceeds the maximum of " + std::to_string(kMaxRank));
  }
  if (!strides.empty() && strides.size() != shape.size()) {
    throw Error(ErrorKind::shape, "TensorView: " + std::to_string(strides.size()) +
                                      " strides given for rank " + std::to_string(shape.size()));
  }
  rank_ = int(shape.size());
  int64_t running = 1;
  for (int i = rank_ - 1; i >= 0; --i) {
    if (shape[i] < 0) {
      throw Error(ErrorKind::shape, "TensorView: negative size " + std::to_string(shape[i]) +
                                        " in dimension " + std::to_string(i));
    }
    shape_[i] = shape[i];
    strides_[i] = strides.empty() ? running : strides[i];
    running *= shape[i];
  }
}

int64_t TensorView::numel() const noexcept {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= shape_[i];
  return n;
}

std::string TensorView::describe() const {
  if (!present_) return "absent";
  std::ostringstream s;
  s << '[';
  for (int i = 0; i < rank_; ++i) s << (i ? ", " : "") << shape_[i];
  s << "] " << dtype_name(dtype_) << ' ' << device_name(device_);
  return s.str();
}

}  // namespace colmax
