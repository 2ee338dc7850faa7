// The inner loops of the CPU forward-with-winners and backward, one set per instruction set.
//
// The rest of the CPU training code (backward.cpp) prepares fp32 tokens and walks the pairs;
// these two loops are where the time goes, so they exist as a portable version and an
// AVX2 + FMA version chosen at run time.
#pragma once

#include <cstdint>

namespace colmax::detail::cpu_train {

struct Kernels {
  const char* name;
  // Running maximum over document tokens for query tokens [0, lq_pad): `qt` is the query
  // transposed, [dim][lq_pad] (lq_pad a multiple of 16); the document's token p is the row
  // doc + p * dim; `positions` lists the n valid positions in increasing order. Updates
  // best[t] / arg[t] (initialised by the caller to -inf / -1) with the rule of
  // colmax/backward.hpp: NaN ranks first, the first position among equals wins. Similarities
  // are fp32 dot products summed over k in increasing order.
  void (*scan)(const float* qt, int64_t lq_pad, int64_t dim, const float* doc,
               const int32_t* positions, int64_t n, float* best, int32_t* arg);
  // y[0..n) += a * x[0..n)
  void (*axpy)(float* y, float a, const float* x, int64_t n);
};

Kernels portable_kernels();
Kernels avx2_kernels();  // x86-64 builds only; call on CPUs with AVX2 and FMA

// AVX2 + FMA when the CPU has them and COLMAX_SIMD does not ask for "scalar".
const Kernels& kernels();

}  // namespace colmax::detail::cpu_train
