// tile_kernel instantiations for f16 shared-memory tiles (one file per element type so
// that the architectures compile in parallel).
#include "cuda/tile/tile_kernel.cuh"
#include "cuda/tile/tile_kernels.hpp"

namespace colmax::cuda {

namespace {
template <int I>
const void* kernel_at() {
  constexpr TileShape s = kTileShapes[I];
  return reinterpret_cast<const void*>(&tile::tile_kernel<Elem::f16, s.wm, s.wn, s.mt, s.nt>);
}
}  // namespace

const void* tile_kernel_f16(int shape) {
  static_assert(kNumTileShapes == 4, "one case per compiled shape");
  switch (shape) {
    case 0:
      return kernel_at<0>();
    case 1:
      return kernel_at<1>();
    case 2:
      return kernel_at<2>();
    default:
      return kernel_at<3>();
  }
}

}  // namespace colmax::cuda
