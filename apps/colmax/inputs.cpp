// Checks and conversions between .npy arrays and what colmax takes.
#include "inputs.hpp"

#include <algorithm>
#include <cstring>

#include "half.hpp"

namespace colmax::cli {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& message) {
  throw InputError(what + ": " + message);
}

template <class T>
bool nonzero_at(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v != T(0);
}

bool nonzero_fp16(const std::byte* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return fp16_to_float(bits) != 0.0f;  // NaN counts as non-zero
}

}  // namespace

TensorView HostTensor::view() const {
  return TensorView(data.data(), dtype, std::span<const int64_t>(shape));
}

HostTensor embeddings_from_npy(NpyArray array, const std::string& what,
                               std::initializer_list<int> ranks, const std::string& layout,
                               bool bf16, std::ostream& notes) {
  if (std::find(ranks.begin(), ranks.end(), array.rank()) == ranks.end()) {
    fail(what, "expected an array " + layout + ", got " + std::to_string(array.rank()) + "-d " +
                   shape_string(array.shape));
  }
  if (array.shape.back() == 0) fail(what, "the embedding dimension (last axis) is 0");
  HostTensor t;
  t.shape = array.shape;
  switch (array.type) {
    case NpyType::float32:
      t.dtype = DType::float32;
      break;
    case NpyType::float16:
      t.dtype = DType::float16;
      break;
    case NpyType::uint16:
    case NpyType::void16:
      if (!bf16) {
        fail(what, std::string("holds ") + npy_type_name(array.type) +
                       " values; if they are bfloat16 bits, pass --bf16");
      }
      t.dtype = DType::bfloat16;
      break;
    case NpyType::float64: {
      notes << "note: " << what << " is float64; converted to float32 (colmax computes in fp32)\n";
      std::vector<std::byte> f32(size_t(array.numel()) * 4);
      const double* src = array.as<double>();
      for (int64_t i = 0; i < array.numel(); ++i) {
        const float v = float(src[i]);
        std::memcpy(f32.data() + size_t(i) * 4, &v, 4);
      }
      array.data = std::move(f32);
      t.dtype = DType::float32;
      break;
    }
    default:
      fail(what, std::string("expected float32, float16 or bfloat16 embeddings (bfloat16 as "
                             "uint16 with --bf16), got ") +
                     npy_type_name(array.type));
  }
  t.data = std::move(array.data);
  return t;
}

HostTensor mask_from_npy(const NpyArray& array, const std::string& what,
                         std::span<const int64_t> expected, const std::string& matching) {
  if (!std::equal(array.shape.begin(), array.shape.end(), expected.begin(), expected.end())) {
    fail(what, "expected a mask of shape " + shape_string(expected) + " (" + matching + "), got " +
                   shape_string(array.shape));
  }
  bool (*nonzero)(const std::byte*) = nullptr;
  switch (array.type) {
    case NpyType::boolean:
    case NpyType::int8:
    case NpyType::uint8:
      nonzero = nonzero_at<uint8_t>;
      break;
    case NpyType::int16:
    case NpyType::uint16:
      nonzero = nonzero_at<uint16_t>;
      break;
    case NpyType::int32:
    case NpyType::uint32:
      nonzero = nonzero_at<uint32_t>;
      break;
    case NpyType::int64:
    case NpyType::uint64:
      nonzero = nonzero_at<uint64_t>;
      break;
    case NpyType::float32:
      nonzero = nonzero_at<float>;
      break;  // -0.0 == 0: masked
    case NpyType::float64:
      nonzero = nonzero_at<double>;
      break;
    case NpyType::float16:
      nonzero = nonzero_fp16;
      break;
    case NpyType::void16:
      fail(what, "expected a bool, integer or float mask, got void16");
  }
  HostTensor t;
  t.dtype = DType::uint8;
  t.shape = array.shape;
  t.data.resize(size_t(array.numel()));
  const int elem = npy_type_size(array.type);
  for (int64_t i = 0; i < array.numel(); ++i) {
    t.data[size_t(i)] = std::byte(nonzero(array.data.data() + i * elem) ? 1 : 0);
  }
  return t;
}

}  // namespace colmax::cli
