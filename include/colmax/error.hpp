// colmax/error.hpp — the one exception type colmax throws for bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace colmax {

// What kind of mistake the caller made; lets bindings map errors onto their own
// exception classes (Python: dtype -> TypeError, everything else -> ValueError).
enum class ErrorKind {
  shape,        // rank, sizes, dimension mismatch
  dtype,        // unsupported or mismatched element type
  device,       // tensors on different devices, or a device that was not built in
  layout,       // strides the engine cannot read (last dimension not contiguous)
  value,        // offsets, indices or scalars out of range
  unsupported,  // a valid request this build cannot serve
  runtime,      // a failure below colmax (CUDA launch error, out of memory)
};

// Thrown for every invalid argument. The message names the argument, what was expected
// and what came, e.g. "maxsim: D: expected rank 3 or 4, got rank 2 [300, 128]".
class Error : public std::invalid_argument {
 public:
  Error(ErrorKind kind, const std::string& message) : std::invalid_argument(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace colmax
