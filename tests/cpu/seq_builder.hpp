// Hand-built SeqSets for the engine's unit tests: padded [count, length, dim] tokens of one
// dtype with an optional uint8 mask, owning their storage.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/problem.hpp"
#include "core/scalar.hpp"

namespace colmax::test {

struct OwnedSeqs {
  std::vector<std::byte> data;
  std::vector<uint8_t> mask;
  std::vector<float> values;  // the stored values as fp32 (after rounding to the dtype)
  detail::SeqSet set;
};

// Values uniform in [-1, 1]; each token valid with probability `keep` (1: no mask).
inline OwnedSeqs make_seqs(DType dtype, int64_t count, int64_t length, int64_t dim, double keep,
                           std::mt19937_64& rng) {
  OwnedSeqs s;
  const int64_t n = count * length * dim;
  const int esize = dtype_size(dtype);
  s.data.resize(size_t(std::max<int64_t>(n, 1) * esize));
  s.values.resize(size_t(n));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    float x = u(rng);
    std::byte* p = s.data.data() + i * esize;
    if (dtype == DType::float32) {
      std::memcpy(p, &x, 4);
    } else {
      const uint16_t h =
          dtype == DType::bfloat16 ? detail::float_to_bf16(x) : detail::float_to_half(x);
      std::memcpy(p, &h, 2);
      x = dtype == DType::bfloat16 ? detail::bf16_to_float(h) : detail::half_to_float(h);
    }
    s.values[size_t(i)] = x;
  }
  s.set.data = s.data.data();
  s.set.dtype = dtype;
  s.set.dim = dim;
  s.set.count = count;
  s.set.token_stride = dim;
  s.set.length = length;
  s.set.outer_stride = length * dim;
  if (keep < 1.0) {
    s.mask.resize(size_t(std::max<int64_t>(count * length, 1)));
    std::bernoulli_distribution b(keep);
    for (auto& m : s.mask) m = b(rng) ? 1 : 0;
    s.set.mask = reinterpret_cast<const std::byte*>(s.mask.data());
    s.set.mask_dtype = DType::uint8;
    s.set.mask_token_stride = 1;
    s.set.mask_outer_stride = length;
  }
  return s;
}

}  // namespace colmax::test
