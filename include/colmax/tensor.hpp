// colmax/tensor.hpp — non-owning views of strided tensors, built from DLPack or raw pointers.
//
// Every colmax function takes TensorView arguments, so NumPy, PyTorch, CuPy and JAX arrays
// reach the kernels through DLPack without copies. A view never owns memory; the caller
// keeps the storage alive for the duration of the call (and of any asynchronous CUDA work
// it enqueued).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace colmax {

enum class DType : uint8_t {
  float32,
  float16,
  bfloat16,
  float64,
  boolean,  // one byte per element, 0 or 1
  uint8,
  int8,
  int32,
  int64,
  int16,  // saved winner positions (colmax/backward.hpp)
};

// Bytes per element; every colmax dtype is a whole number of bytes.
int dtype_size(DType dtype) noexcept;
// "float32", "bfloat16", ... for messages.
const char* dtype_name(DType dtype) noexcept;

enum class DeviceKind : uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int id = 0;
  friend bool operator==(const Device&, const Device&) = default;
};

std::string device_name(Device device);  // "cpu", "cuda:0"

// A strided view of up to four dimensions. A default-constructed view is *absent*: it
// stands for an optional argument that was not given (a mask, for instance).
class TensorView {
 public:
  static constexpr int kMaxRank = 4;

  TensorView() = default;

  // Strides are in elements. An empty `strides` span means row-major contiguous.
  TensorView(const void* data, DType dtype, std::span<const int64_t> shape,
             std::span<const int64_t> strides = {}, Device device = {});
  TensorView(const void* data, DType dtype, std::initializer_list<int64_t> shape,
             Device device = {})
      : TensorView(data, dtype, std::span<const int64_t>(shape.begin(), shape.size()), {}, device) {
  }

  // Wraps a DLPack tensor: a DLTensor from <dlpack/dlpack.h> of any version (or any struct
  // with its fields). byte_offset is applied and NULL strides read as row-major. Throws
  // colmax::Error naming `name` when the tensor has a type or device colmax cannot read, or
  // more than kMaxRank dimensions.
  template <class DLTensorT>
  static TensorView from_dlpack(const DLTensorT& t, const char* name = "tensor") {
    return from_dlpack_fields(
        {t.data, int(t.device.device_type), int(t.device.device_id), int(t.ndim),
         uint8_t(t.dtype.code), uint8_t(t.dtype.bits), uint16_t(t.dtype.lanes), t.shape, t.strides,
         uint64_t(t.byte_offset)},
        name);
  }

  // The fields of a DLTensor, for from_dlpack without a dependency on one DLPack version.
  struct DLPackFields {
    void* data;
    int device_type;  // DLDeviceType: 1 CPU, 2 CUDA, 3 CUDA host, 13 CUDA managed
    int device_id;
    int ndim;
    uint8_t code;  // DLDataTypeCode: 0 int, 1 uint, 2 float, 4 bfloat, 6 bool
    uint8_t bits;
    uint16_t lanes;
    const int64_t* shape;
    const int64_t* strides;  // may be null: row-major
    uint64_t byte_offset;
  };
  static TensorView from_dlpack_fields(const DLPackFields& t, const char* name);

  bool present() const noexcept { return present_; }
  void* data() const noexcept { return data_; }
  DType dtype() const noexcept { return dtype_; }
  Device device() const noexcept { return device_; }
  int rank() const noexcept { return rank_; }
  int64_t size(int dim) const noexcept { return shape_[dim]; }
  int64_t stride(int dim) const noexcept { return strides_[dim]; }
  int64_t numel() const noexcept;
  std::span<const int64_t> shape() const noexcept { return {shape_.data(), size_t(rank_)}; }
  std::span<const int64_t> strides() const noexcept { return {strides_.data(), size_t(rank_)}; }

  // "[2, 32, 128] bfloat16 cpu" for messages.
  std::string describe() const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::float32;
  Device device_{};
  int rank_ = 0;
  bool present_ = false;
  std::array<int64_t, kMaxRank> shape_{};
  std::array<int64_t, kMaxRank> strides_{};
};

}  // namespace colmax
