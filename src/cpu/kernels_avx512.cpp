// AVX-512 (F/BW/VL/DQ) kernels: 16 fp32 lanes, a 2 x 12 register tile (24 accumulators and
// 2 query vectors of the 32 zmm registers; the document element is an embedded broadcast
// operand of the FMA). Built with -mavx512f -mavx512bw -mavx512vl -mavx512dq and only called
// after a CPUID check.
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* idiom.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <cstring>

#define COLMAX_KERNEL_NAMESPACE avx512
#include "cpu/microkernel.hpp"

namespace colmax::detail::cpu::avx512 {
namespace {

struct F32 {
  static constexpr int kLanes = 16, kPanel = 2, kTile = 12, kPack = 1;
  using QElem = float;
  using DElem = float;
  using Acc = __m512;
  using QVec = __m512;
  using DVec = __m512;
  using Flags = __mmask16;

  static Acc zero() { return _mm512_setzero_ps(); }
  static QVec load_q(const float* p) { return _mm512_load_ps(p); }
  static DVec bcast(const float* p) {
    float x;
    std::memcpy(&x, p, 4);
    return _mm512_set1_ps(x);
  }
  static Acc madd(Acc a, QVec q, DVec d) { return _mm512_fmadd_ps(q, d, a); }
  static Acc scale(Acc a, float s) { return _mm512_mul_ps(a, _mm512_set1_ps(s)); }
  static Acc max(Acc a, Acc b) { return _mm512_max_ps(a, b); }
  static Acc load_acc(const float* p) { return _mm512_load_ps(p); }
  static void store_acc(float* p, Acc a) { _mm512_store_ps(p, a); }
  static Flags unordered(Acc a, Acc b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static Flags flags_or(Flags a, Flags b) { return Flags(a | b); }
  static void merge_flags(uint32_t* p, Flags f) {
    _mm512_mask_storeu_epi32(p, f, _mm512_set1_epi32(-1));
  }
};

// Loads 16-bit elements [k, k + n) of `in` (n <= 16) with the rest zero, as fp32.
__m512 load16_as_f32(const uint16_t* in, int n, bool half) {
  const __mmask16 m = __mmask16((1u << n) - 1u);
  const __m256i h = _mm256_maskz_loadu_epi16(m, in);
  return half ? _mm512_cvtph_ps(h)
              : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

void to_f32(DType src, const void* const* rows, int64_t count, int64_t dim, float* dst,
            int64_t dst_stride) {
  const bool half = src == DType::float16;
  for (int64_t i = 0; i < count; ++i) {
    const auto* in = static_cast<const uint16_t*>(rows[i]);
    float* out = dst + i * dst_stride;
    int64_t k = 0;
    for (; k + 16 <= dim; k += 16) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + k));
      _mm512_store_ps(out + k,
                      half ? _mm512_cvtph_ps(h)
                           : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
    }
    if (k < dim) {  // dst rows are padded to 16 floats: a full store stays inside the row
      _mm512_store_ps(out + k, load16_as_f32(in + k, int(dim - k), half));
    }
  }
}

float inv_norm_f32(const float* row, int64_t dim) {
  __m512 acc = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= dim; k += 16) {
    const __m512 x = _mm512_loadu_ps(row + k);
    acc = _mm512_fmadd_ps(x, x, acc);
  }
  if (k < dim) {
    const __m512 x = _mm512_maskz_loadu_ps(__mmask16((1u << (dim - k)) - 1u), row + k);
    acc = _mm512_fmadd_ps(x, x, acc);
  }
  const float n2 = _mm512_reduce_add_ps(acc);
  if (n2 >= 0x1p-100f && n2 <= 0x1p100f) return 1.0f / __builtin_sqrtf(n2);
  double d2 = 0;  // tiny, huge, inf or NaN: redo in float64 like the reference
  for (k = 0; k < dim; ++k) d2 += double(row[k]) * double(row[k]);
  return d2 > 0 ? float(1.0 / __builtin_sqrt(d2)) : 1.0f;
}

void inv_norms(const void* const* rows, int64_t count, int64_t dim, float* inv) {
  for (int64_t i = 0; i < count; ++i)
    inv[i] = inv_norm_f32(static_cast<const float*>(rows[i]), dim);
}

}  // namespace
}  // namespace colmax::detail::cpu::avx512

namespace colmax::detail::cpu {

const KernelSet kAvx512F32Kernels = {
    SimdLevel::avx512,          KernelFormat::f32,  avx512::F32::kLanes,
    avx512::F32::kPanel,        avx512::F32::kTile, avx512::F32::kPack,
    &avx512::fold<avx512::F32>, &avx512::to_f32,    &avx512::inv_norms};

}  // namespace colmax::detail::cpu
