// half.hpp — float <-> bfloat16 / float16 bit conversions for the command line's host code.
#pragma once

#include <bit>
#include <cstdint>

namespace colmax::cli {

inline float bf16_to_float(uint16_t h) noexcept {
  return std::bit_cast<float>(uint32_t(h) << 16);
}

// Round to nearest even; NaN stays NaN.
inline uint16_t float_to_bf16(float f) noexcept {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float fp16_to_float(uint16_t h) noexcept {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return std::bit_cast<float>(sign);
  const int shift = std::countl_zero(man) - 21;  // subnormal: renormalise
  man = (man << shift) & 0x3ffu;
  return std::bit_cast<float>(sign | (uint32_t(113 - shift) << 23) | (man << 13));
}

// Round to nearest even, overflow to inf, gradual underflow.
inline uint16_t float_to_fp16(float f) noexcept {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (a < 0x33000001u) return uint16_t(sign);
  const int exp = int(a >> 23) - 127;
  const uint32_t man = (a & 0x7fffffu) | 0x800000u;
  const int shift = exp >= -14 ? 13 : 13 + (-14 - exp);
  uint32_t half_man = man >> shift;
  const uint32_t rem = man & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (half_man & 1u))) ++half_man;
  const uint32_t bits = exp >= -14 ? (uint32_t(exp + 15) << 10) + (half_man - 0x400u) : half_man;
  return uint16_t(sign | bits);
}

}  // namespace colmax::cli
