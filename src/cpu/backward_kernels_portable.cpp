// Portable versions of the CPU training loops (any CPU; also what COLMAX_SIMD=scalar picks).
#include <cmath>

#include "cpu/backward_kernels.hpp"

namespace colmax::detail::cpu_train {
namespace {

void scan(const float* qt, int64_t lq_pad, int64_t dim, const float* doc, const int32_t* positions,
          int64_t n, float* best, int32_t* arg) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = doc + int64_t(positions[i]) * dim;
    for (int64_t t0 = 0; t0 < lq_pad; t0 += 16) {
      float dot[16] = {};
      for (int64_t k = 0; k < dim; ++k) {
        const float* q = qt + k * lq_pad + t0;
        for (int l = 0; l < 16; ++l) dot[l] += q[l] * row[k];
      }
      for (int l = 0; l < 16; ++l) {
        const int64_t t = t0 + l;
        const bool take =
            arg[t] < 0 || (!std::isnan(best[t]) && (std::isnan(dot[l]) || dot[l] > best[t]));
        if (take) best[t] = dot[l], arg[t] = positions[i];
      }
    }
  }
}

void axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
}

}  // namespace

Kernels portable_kernels() {
  return {"scalar", scan, axpy};
}

}  // namespace colmax::detail::cpu_train
