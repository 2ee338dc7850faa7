// AVX2 + FMA versions of the CPU training loops. This file is compiled with -mavx2 -mfma and
// only called after a CPUID check (backward_kernels.cpp).
#include <immintrin.h>

#include "cpu/backward_kernels.hpp"

namespace colmax::detail::cpu_train {
namespace {

// Folds the similarities of document token `pos` for 8 query tokens into best / arg.
inline void fold(__m256 v, int32_t pos, __m256& best, __m256i& arg) {
  const __m256 v_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  const __m256 best_num = _mm256_cmp_ps(best, best, _CMP_ORD_Q);
  const __m256 greater = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
  const __m256 none = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_setzero_si256(), arg));
  const __m256 take = _mm256_or_ps(none, _mm256_and_ps(best_num, _mm256_or_ps(v_nan, greater)));
  best = _mm256_blendv_ps(best, v, take);
  arg = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(arg),
                                             _mm256_castsi256_ps(_mm256_set1_epi32(pos)), take));
}

// S document tokens against 16 query tokens (two registers of 8), then folded in position
// order.
template <int S>
inline void tile(const float* qt, int64_t lq_pad, int64_t dim, const float* const* rows,
                 const int32_t* pos, __m256& b0, __m256& b1, __m256i& a0, __m256i& a1) {
  __m256 acc0[S], acc1[S];
  for (int s = 0; s < S; ++s) acc0[s] = acc1[s] = _mm256_setzero_ps();
  for (int64_t k = 0; k < dim; ++k) {
    const __m256 q0 = _mm256_loadu_ps(qt + k * lq_pad);
    const __m256 q1 = _mm256_loadu_ps(qt + k * lq_pad + 8);
    for (int s = 0; s < S; ++s) {
      const __m256 d = _mm256_broadcast_ss(rows[s] + k);
      acc0[s] = _mm256_fmadd_ps(q0, d, acc0[s]);
      acc1[s] = _mm256_fmadd_ps(q1, d, acc1[s]);
    }
  }
  for (int s = 0; s < S; ++s) {
    fold(acc0[s], pos[s], b0, a0);
    fold(acc1[s], pos[s], b1, a1);
  }
}

void scan(const float* qt, int64_t lq_pad, int64_t dim, const float* doc, const int32_t* positions,
          int64_t n, float* best, int32_t* arg) {
  constexpr int kTile = 6;
  for (int64_t t0 = 0; t0 < lq_pad; t0 += 16) {
    __m256 b0 = _mm256_loadu_ps(best + t0), b1 = _mm256_loadu_ps(best + t0 + 8);
    __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(arg + t0));
    __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(arg + t0 + 8));
    const float* q = qt + t0;
    int64_t i = 0;
    const float* rows[kTile];
    for (; i + kTile <= n; i += kTile) {
      for (int s = 0; s < kTile; ++s) rows[s] = doc + int64_t(positions[i + s]) * dim;
      tile<kTile>(q, lq_pad, dim, rows, positions + i, b0, b1, a0, a1);
    }
    for (; i < n; ++i) {
      rows[0] = doc + int64_t(positions[i]) * dim;
      tile<1>(q, lq_pad, dim, rows, positions + i, b0, b1, a0, a1);
    }
    _mm256_storeu_ps(best + t0, b0);
    _mm256_storeu_ps(best + t0 + 8, b1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(arg + t0), a0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(arg + t0 + 8), a1);
  }
}

void axpy(float* y, float a, const float* x, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm256_storeu_ps(y + k, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k)));
  }
  for (; k < n; ++k) y[k] = __builtin_fmaf(a, x[k], y[k]);
}

}  // namespace

Kernels avx2_kernels() {
  return {"avx2", scan, axpy};
}

}  // namespace colmax::detail::cpu_train
