// npy.hpp — reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Arrays are returned in C (row-major) order and native (little-endian) byte order:
// Fortran-order files are transposed and big-endian files are byte-swapped on reading.
// Every problem with a file throws NpyError naming the file and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace colmax::cli {

// The element types a .npy file may hold that colmax reads. `void16` is NumPy's '|V2', what
// an ml_dtypes bfloat16 array becomes when saved.
enum class NpyType : uint8_t {
  boolean,
  int8,
  uint8,
  int16,
  uint16,
  int32,
  uint32,
  int64,
  uint64,
  float16,
  float32,
  float64,
  void16,
};

int npy_type_size(NpyType type) noexcept;
const char* npy_type_name(NpyType type) noexcept;  // "float32", "bool", ...
std::string npy_descr(NpyType type);               // "<f4", "|b1", ...

class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NpyArray {
  NpyType type = NpyType::float32;
  std::vector<int64_t> shape;   // empty for a 0-d array
  std::vector<std::byte> data;  // C order, native byte order

  int64_t numel() const noexcept;
  int rank() const noexcept { return int(shape.size()); }
  template <class T>
  const T* as() const noexcept {
    return reinterpret_cast<const T*>(data.data());
  }
};

// "[2, 32, 128]" for messages.
std::string shape_string(std::span<const int64_t> shape);

// Parses the bytes of a whole .npy file; `name` is used in error messages.
NpyArray parse_npy(std::span<const std::byte> file, const std::string& name);
// Reads a .npy file from disk (the data goes straight into the array, no second copy).
NpyArray read_npy(const std::string& path);

// The bytes of a .npy file (version 1.0, or 2.0 when the header needs it) holding `data`,
// which is in C order unless `fortran_order` says it is in Fortran order.
std::vector<std::byte> serialize_npy(NpyType type, std::span<const int64_t> shape,
                                     std::span<const std::byte> data, bool fortran_order = false);
void write_npy(const std::string& path, NpyType type, std::span<const int64_t> shape,
               std::span<const std::byte> data);

}  // namespace colmax::cli
