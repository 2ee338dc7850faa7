// AVX2 + FMA + F16C kernels: 8 fp32 lanes, a 2 x 6 register tile (12 accumulators, 2 query
// vectors, 1 broadcast: 15 of the 16 ymm registers). Built with -mavx2 -mfma -mf16c and
// only called after a CPUID check.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define COLMAX_KERNEL_NAMESPACE avx2
#include "cpu/microkernel.hpp"

namespace colmax::detail::cpu::avx2 {
namespace {

struct F32 {
  static constexpr int kLanes = 8, kPanel = 2, kTile = 6, kPack = 1;
  using QElem = float;
  using DElem = float;
  using Acc = __m256;
  using QVec = __m256;
  using DVec = __m256;
  using Flags = __m256;

  static Acc zero() { return _mm256_setzero_ps(); }
  static QVec load_q(const float* p) { return _mm256_load_ps(p); }
  static DVec bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Acc madd(Acc a, QVec q, DVec d) { return _mm256_fmadd_ps(q, d, a); }
  static Acc scale(Acc a, float s) { return _mm256_mul_ps(a, _mm256_set1_ps(s)); }
  static Acc max(Acc a, Acc b) { return _mm256_max_ps(a, b); }
  static Acc load_acc(const float* p) { return _mm256_load_ps(p); }
  static void store_acc(float* p, Acc a) { _mm256_store_ps(p, a); }
  static Flags unordered(Acc a, Acc b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static Flags flags_or(Flags a, Flags b) { return _mm256_or_ps(a, b); }
  static void merge_flags(uint32_t* p, Flags f) {
    __m256i* v = reinterpret_cast<__m256i*>(p);
    _mm256_store_si256(v, _mm256_or_si256(_mm256_load_si256(v), _mm256_castps_si256(f)));
  }
};

float half_bits_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

float bf16_bits_to_float(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void to_f32(DType src, const void* const* rows, int64_t count, int64_t dim, float* dst,
            int64_t dst_stride) {
  const bool half = src == DType::float16;
  for (int64_t i = 0; i < count; ++i) {
    const auto* in = static_cast<const uint16_t*>(rows[i]);
    float* out = dst + i * dst_stride;
    int64_t k = 0;
    for (; k + 8 <= dim; k += 8) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + k));
      const __m256 f = half ? _mm256_cvtph_ps(h)
                            : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
      _mm256_store_ps(out + k, f);
    }
    for (; k < dim; ++k) out[k] = half ? half_bits_to_float(in[k]) : bf16_bits_to_float(in[k]);
  }
}

float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 1 / ||row||; squared norms outside [2^-100, 2^100] (tiny, huge, inf, NaN) are redone in
// float64 like the reference, so fp32 overflow or underflow never changes a result.
float inv_norm_f32(const float* row, int64_t dim) {
  __m256 acc = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= dim; k += 8) {
    const __m256 x = _mm256_loadu_ps(row + k);
    acc = _mm256_fmadd_ps(x, x, acc);
  }
  float n2 = horizontal_sum(acc);
  for (; k < dim; ++k) n2 += row[k] * row[k];
  if (n2 >= 0x1p-100f && n2 <= 0x1p100f) return 1.0f / __builtin_sqrtf(n2);
  double d2 = 0;
  for (k = 0; k < dim; ++k) d2 += double(row[k]) * double(row[k]);
  return d2 > 0 ? float(1.0 / __builtin_sqrt(d2)) : 1.0f;
}

void inv_norms(const void* const* rows, int64_t count, int64_t dim, float* inv) {
  for (int64_t i = 0; i < count; ++i)
    inv[i] = inv_norm_f32(static_cast<const float*>(rows[i]), dim);
}

}  // namespace
}  // namespace colmax::detail::cpu::avx2

namespace colmax::detail::cpu {

const KernelSet kAvx2F32Kernels = {SimdLevel::avx2,        KernelFormat::f32, avx2::F32::kLanes,
                                   avx2::F32::kPanel,      avx2::F32::kTile,  avx2::F32::kPack,
                                   &avx2::fold<avx2::F32>, &avx2::to_f32,     &avx2::inv_norms};

}  // namespace colmax::detail::cpu
