// half.hpp — float <-> bfloat16 / float16 bit conversions for the command line's host code:
// the library's own (src/core/scalar.hpp, tested exhaustively), under the names used here.
#pragma once

#include <cstdint>

#include "core/scalar.hpp"

namespace colmax::cli {

using detail::bf16_to_float;
using detail::float_to_bf16;
inline float fp16_to_float(uint16_t h) noexcept {
  return detail::half_to_float(h);
}
inline uint16_t float_to_fp16(float f) noexcept {
  return detail::float_to_half(f);
}

}  // namespace colmax::cli
