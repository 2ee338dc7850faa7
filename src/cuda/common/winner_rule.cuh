// The winner rule of colmax/backward.hpp on the device, shared by the training forward's own
// kernel (src/cuda/backward/forward.cu) and the wgmma stream kernel's winners variant: which
// document token a query token's maximum comes from.
#pragma once

#include <cuda_runtime.h>

namespace colmax::cuda {

// Folds candidate (v at position s, s above every position seen so far) into best / arg:
// NaN ranks first, the first position among equals stays.
__device__ __forceinline__ void winner_fold(float& best, int& arg, float v, int s) {
  const bool take = arg < 0 || (!isnan(best) && (isnan(v) || v > best));
  if (take) {
    best = v;
    arg = s;
  }
}

// Merges two running results over disjoint positions (arg < 0: nothing seen yet).
__device__ __forceinline__ void winner_merge(float& best, int& arg, float b2, int a2) {
  if (a2 < 0) return;
  if (arg < 0) {
    best = b2;
    arg = a2;
    return;
  }
  const bool n1 = isnan(best), n2 = isnan(b2);
  bool take;
  if (n1 || n2) {
    take = n1 && n2 ? a2 < arg : n2;
  } else {
    take = b2 > best || (b2 == best && a2 < arg);
  }
  if (take) {
    best = b2;
    arg = a2;
  }
}

}  // namespace colmax::cuda
