// AVX-512 BF16 kernel: bf16 x bf16 dot products with VDPBF16PS, 16 fp32 lanes that each
// take a pair of embedding elements per instruction (twice the work of an fp32 FMA). Used
// when queries and documents are both bfloat16. Built with the AVX-512 flags plus
// -mavx512bf16 and only called after a CPUID check.
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

#define COLMAX_KERNEL_NAMESPACE avx512bf16
#include "cpu/microkernel.hpp"

namespace colmax::detail::cpu::avx512bf16 {
namespace {

struct Bf16Pairs {
  static constexpr int kLanes = 16, kPanel = 2, kTile = 12, kPack = 2;
  using QElem = uint16_t;  // bf16 bits
  using DElem = uint16_t;
  using Acc = __m512;
  using QVec = __m512bh;
  using DVec = __m512bh;
  using Flags = __mmask16;

  static Acc zero() { return _mm512_setzero_ps(); }
  static QVec load_q(const uint16_t* p) { return (__m512bh)_mm512_load_si512(p); }
  // The pair (x[0], x[1]) in every lane. Document rows are only 2-byte aligned.
  static DVec bcast(const uint16_t* p) {
    int32_t pair;
    std::memcpy(&pair, p, 4);
    return (__m512bh)_mm512_set1_epi32(pair);
  }
  // (x[0], 0): the last element of an odd-length row; nothing past it is read.
  static DVec bcast_last(const uint16_t* p) {
    uint16_t x;
    std::memcpy(&x, p, 2);
    return (__m512bh)_mm512_set1_epi32(int32_t(x));
  }
  static Acc madd(Acc a, QVec q, DVec d) { return _mm512_dpbf16_ps(a, q, d); }
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

// 1 / ||row|| of a bf16 row, widened to fp32 (exact); float64 outside the safe range.
float inv_norm_bf16(const uint16_t* row, int64_t dim) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t k = 0; k < dim; k += 16) {
    const int n = int(dim - k < 16 ? dim - k : 16);
    const __m256i h = _mm256_maskz_loadu_epi16(__mmask16((1u << n) - 1u), row + k);
    const __m512 x = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    acc = _mm512_fmadd_ps(x, x, acc);
  }
  const float n2 = _mm512_reduce_add_ps(acc);
  if (n2 >= 0x1p-100f && n2 <= 0x1p100f) return 1.0f / __builtin_sqrtf(n2);
  double d2 = 0;
  for (int64_t k = 0; k < dim; ++k) {
    const uint32_t u = uint32_t(row[k]) << 16;
    float x;
    std::memcpy(&x, &u, 4);
    d2 += double(x) * double(x);
  }
  return d2 > 0 ? float(1.0 / __builtin_sqrt(d2)) : 1.0f;
}

void inv_norms(const void* const* rows, int64_t count, int64_t dim, float* inv) {
  for (int64_t i = 0; i < count; ++i) {
    inv[i] = inv_norm_bf16(static_cast<const uint16_t*>(rows[i]), dim);
  }
}

}  // namespace
}  // namespace colmax::detail::cpu::avx512bf16

namespace colmax::detail::cpu {

// Documents of this format are always bf16 already: no conversion entry.
const KernelSet kAvx512Bf16Kernels = {SimdLevel::avx512_bf16,
                                      KernelFormat::bf16_pairs,
                                      avx512bf16::Bf16Pairs::kLanes,
                                      avx512bf16::Bf16Pairs::kPanel,
                                      avx512bf16::Bf16Pairs::kTile,
                                      avx512bf16::Bf16Pairs::kPack,
                                      &avx512bf16::fold<avx512bf16::Bf16Pairs>,
                                      nullptr,
                                      &avx512bf16::inv_norms};

}  // namespace colmax::detail::cpu
