#include "bench_inputs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <tuple>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace colmax::bench {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

uint16_t to_bf16(float f) {  // round to nearest even; inputs are finite
  uint32_t u = bits(f);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

uint16_t to_half(float f) {  // round to nearest even; normalised inputs never overflow
  const uint32_t u = bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a < 0x33000001u) return uint16_t(sign);  // below half the smallest subnormal
  const int exp = int(a >> 23) - 127;
  const uint32_t man = (a & 0x7fffffu) | 0x800000u;
  const int shift = exp >= -14 ? 13 : 13 + (-14 - exp);
  uint32_t h = man >> shift;
  const uint32_t rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1u))) ++h;
  const uint32_t out = exp >= -14 ? (uint32_t(exp + 15) << 10) + (h - 0x400u) : h;
  return uint16_t(sign | out);
}

// Normalised Gaussian rows written in `dtype`.
void fill(Tokens& t, int64_t rows, uint64_t seed) {
  const int64_t dim = t.dim;
  const int esize = dtype_size(t.dtype);
  t.bytes.assign(size_t(rows * dim * esize));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t r = 0; r < rows; ++r) {
    double n2 = 0;
    for (float& x : row) {
      x = normal(rng);
      n2 += double(x) * x;
    }
    const float inv = float(1.0 / std::sqrt(n2));
    std::byte* out = t.bytes.data() + r * dim * esize;
    for (int64_t k = 0; k < dim; ++k) {
      const float x = row[size_t(k)] * inv;
      if (t.dtype == DType::float32) {
        std::memcpy(out + 4 * k, &x, 4);
      } else {
        const uint16_t h = t.dtype == DType::bfloat16 ? to_bf16(x) : to_half(x);
        std::memcpy(out + 2 * k, &h, 2);
      }
    }
  }
}

std::mutex g_mutex;
std::map<std::tuple<int, int64_t, int64_t, int64_t, int64_t, uint64_t>, std::unique_ptr<Tokens>>
    g_cache;

}  // namespace

void HugePageBytes::assign(size_t n) {
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t bytes = std::max<size_t>((n + kHuge - 1) / kHuge * kHuge, kHuge);
  ptr_.reset(static_cast<std::byte*>(std::aligned_alloc(kHuge, bytes)));
  if (!ptr_) throw std::bad_alloc();
#if defined(__linux__)
  madvise(ptr_.get(), bytes, MADV_HUGEPAGE);  // a hint: fine if the kernel declines
#endif
  std::memset(ptr_.get(), 0, bytes);
  size_ = n;
}

void HugePageBytes::Free::operator()(std::byte* p) const noexcept {
  std::free(p);
}

TensorView Tokens::padded() const {
  return TensorView(bytes.data(), dtype, {count, length, dim});
}
TensorView Tokens::packed() const {
  return TensorView(bytes.data(), dtype, {total_tokens, dim});
}
TensorView Tokens::cu() const {
  return TensorView(cu_seqlens.data(), DType::int64, {int64_t(cu_seqlens.size())});
}

double Tokens::token_pairs_per_query(int64_t query_len) const {
  return double(query_len) * double(total_tokens);
}

const Tokens& padded_tokens(DType dtype, int64_t count, int64_t length, int64_t dim,
                            uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& slot = g_cache[{int(dtype), count, length, -1, dim, seed}];
  if (!slot) {
    slot = std::make_unique<Tokens>();
    slot->dtype = dtype;
    slot->count = count;
    slot->length = length;
    slot->dim = dim;
    slot->total_tokens = count * length;
    fill(*slot, count * length, seed);
  }
  return *slot;
}

const Tokens& packed_tokens(DType dtype, int64_t count, int64_t min_len, int64_t max_len,
                            int64_t dim, uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& slot = g_cache[{int(dtype), count, min_len, max_len, dim, seed}];
  if (!slot) {
    slot = std::make_unique<Tokens>();
    slot->dtype = dtype;
    slot->count = count;
    slot->dim = dim;
    std::mt19937_64 rng(seed ^ 0x5bd1e995u);
    std::uniform_int_distribution<int64_t> len(min_len, max_len);
    slot->cu_seqlens.assign(1, 0);
    for (int64_t i = 0; i < count; ++i)
      slot->cu_seqlens.push_back(slot->cu_seqlens.back() + len(rng));
    slot->total_tokens = slot->cu_seqlens.back();
    fill(*slot, slot->total_tokens, seed);
  }
  return *slot;
}

}  // namespace colmax::bench
