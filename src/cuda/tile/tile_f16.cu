// tile_kernel instantiations for f16 shared-memory tiles.
#include "cuda/tile/tile_instantiate.cuh"

namespace colmax::cuda {

const void* tile_kernel_f16(int shape) {
  return instantiate_tile_kernels<Elem::f16>(shape);
}

}  // namespace colmax::cuda
