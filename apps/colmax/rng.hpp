// rng.hpp — a cheap, seedable random generator for synthetic data.
//
// Every document (or token block) gets its own stream derived from (seed, index), so the
// data does not depend on how many threads generate it.
#pragma once

#include <cstdint>

namespace colmax::cli {

inline uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// xoshiro256+ (Blackman and Vigna): a few instructions per 64 random bits.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) noexcept {
    uint64_t x = splitmix64(seed) ^ splitmix64(stream + 0x632be59bd9b4e019ull);
    for (uint64_t& w : s_) w = x = splitmix64(x);
  }

  uint64_t next() noexcept {
    const uint64_t r = s_[0] + s_[3];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = (s_[3] << 45) | (s_[3] >> 19);
    return r;
  }

  // Uniform in [0, 1).
  double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) noexcept {
    return lo + int64_t(uniform() * double(hi - lo + 1));
  }
  // Approximately standard normal: the sum of four 16-bit uniforms (Irwin-Hall), centred and
  // scaled to unit variance. One generator call per sample; tails end at ±3.46, which is
  // irrelevant for embeddings.
  float normal() noexcept {
    const uint64_t r = next();
    const uint32_t s = uint32_t(r & 0xffff) + uint32_t((r >> 16) & 0xffff) +
                       uint32_t((r >> 32) & 0xffff) + uint32_t(r >> 48);
    // Four uniforms on [0, 65536): mean 131070, variance 4 * 65536^2 / 12.
    return (float(s) - 131070.0f) * (1.7320508f / 65536.0f);
  }

 private:
  uint64_t s_[4];
};

// Eight xorshift32 lanes seeded from an Rng: normal-ish noise eight values at a time, in
// loops the compiler vectorises (shifts, xors and adds only). Each value is the Irwin-Hall
// sum of four 16-bit uniforms, like Rng::normal().
class NormalLanes {
 public:
  explicit NormalLanes(Rng& rng) noexcept {
    for (int j = 0; j < 8; j += 2) {
      const uint64_t r = rng.next();
      s_[j] = uint32_t(r) | 1u;  // xorshift needs a non-zero state
      s_[j + 1] = uint32_t(r >> 32) | 1u;
    }
  }

  void next8(float* out) noexcept {
    uint32_t a[8], b[8];
    step(a);
    step(b);
    for (int j = 0; j < 8; ++j) {
      const uint32_t sum = (a[j] & 0xffffu) + (a[j] >> 16) + (b[j] & 0xffffu) + (b[j] >> 16);
      out[j] = (float(sum) - 131070.0f) * (1.7320508f / 65536.0f);
    }
  }

 private:
  void step(uint32_t* out) noexcept {
    for (int j = 0; j < 8; ++j) {
      uint32_t x = s_[j];
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      s_[j] = x;
      out[j] = x;
    }
  }

  uint32_t s_[8];
};

}  // namespace colmax::cli
