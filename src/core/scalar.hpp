// Scalar conversions between the storage dtypes and float, for host code that is not on a
// hot path (reference, validation, packing). SIMD engines convert with their own intrinsics.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "colmax/tensor.hpp"

namespace colmax::detail {

inline float bf16_to_float(uint16_t h) noexcept {
  return std::bit_cast<float>(uint32_t(h) << 16);
}

// Round to nearest even; NaN stays NaN (quietened).
inline uint16_t float_to_bf16(float f) noexcept {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float half_to_float(uint16_t h) noexcept {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {                                   // subnormal: renormalise
    int shift = std::countl_zero(man) - 21;  // leading zeros within 10 bits
    man = (man << shift) & 0x3ffu;
    bits = sign | (uint32_t(113 - shift) << 23) | (man << 13);
  }
  return std::bit_cast<float>(bits);
}

// Round to nearest even, with overflow to inf and gradual underflow.
inline uint16_t float_to_half(float f) noexcept {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);   // NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // overflow -> inf
  if (a < 0x33000001u) return uint16_t(sign);             // underflow -> 0
  int exp = int(a >> 23) - 127;
  uint32_t man = (a & 0x7fffffu) | 0x800000u;
  int shift = exp >= -14 ? 13 : 13 + (-14 - exp);  // subnormals shift further
  uint32_t half_man = man >> shift;
  const uint32_t rem = man & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (half_man & 1u))) ++half_man;
  uint32_t bits = exp >= -14 ? (uint32_t(exp + 15) << 10) + (half_man - 0x400u) : half_man;
  return uint16_t(sign | bits);  // a mantissa carry rolls into the exponent correctly
}

// One element of an embedding or mask tensor as double.
inline double load_as_double(const std::byte* p, DType dtype) noexcept {
  switch (dtype) {
    case DType::float32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::float64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DType::float16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return half_to_float(v);
    }
    case DType::bfloat16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return bf16_to_float(v);
    }
    case DType::boolean:
    case DType::uint8:
      return double(*reinterpret_cast<const uint8_t*>(p));
    case DType::int8:
      return double(*reinterpret_cast<const int8_t*>(p));
    case DType::int16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case DType::int32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::int64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return double(v);
    }
  }
  return 0.0;
}

inline float load_as_float(const std::byte* p, DType dtype) noexcept {
  return float(load_as_double(p, dtype));
}

}  // namespace colmax::detail
