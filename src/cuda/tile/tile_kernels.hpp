// The compiled tile kernels, by element type and shape (kTileShapes index).
#pragma once

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// Host-side handle of tile_kernel<E, shape>; pass to cudaLaunchKernel & co.
const void* tile_kernel_bf16(int shape);
const void* tile_kernel_f16(int shape);
const void* tile_kernel_tf32(int shape);

inline const void* tile_kernel_for(Elem e, int shape) {
  switch (e) {
    case Elem::bf16:
      return tile_kernel_bf16(shape);
    case Elem::f16:
      return tile_kernel_f16(shape);
    default:
      return tile_kernel_tf32(shape);
  }
}

}  // namespace colmax::cuda
