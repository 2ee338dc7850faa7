// The table of tile_kernel instantiations for one element type, one entry per compiled tile
// shape (kTileShapes). Each element type's table lives in its own .cu file so that the
// architectures and types compile in parallel.
#pragma once

#include <utility>

#include "cuda/tile/tile_kernel.cuh"
#include "cuda/tile/tile_kernels.hpp"

namespace colmax::cuda {

template <Elem E, int... I>
const void* tile_kernel_table(int shape, std::integer_sequence<int, I...>) {
  static const void* const table[] = {
      reinterpret_cast<const void*>(&tile::tile_kernel<E, kTileShapes[I].wm, kTileShapes[I].wn,
                                                       kTileShapes[I].mt, kTileShapes[I].nt>)...};
  return table[shape >= 0 && shape < kNumTileShapes ? shape : kNumTileShapes - 1];
}

template <Elem E>
const void* instantiate_tile_kernels(int shape) {
  return tile_kernel_table<E>(shape, std::make_integer_sequence<int, kNumTileShapes>{});
}

}  // namespace colmax::cuda
