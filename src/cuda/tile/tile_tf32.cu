// tile_kernel instantiations for tf32 shared-memory tiles.
#include "cuda/tile/tile_instantiate.cuh"

namespace colmax::cuda {

const void* tile_kernel_tf32(int shape) {
  return instantiate_tile_kernels<Elem::f32>(shape);
}

}  // namespace colmax::cuda
