// tile_kernel instantiations for bf16 shared-memory tiles.
#include "cuda/tile/tile_instantiate.cuh"

namespace colmax::cuda {

const void* tile_kernel_bf16(int shape) {
  return instantiate_tile_kernels<Elem::bf16>(shape);
}

}  // namespace colmax::cuda
