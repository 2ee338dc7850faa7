// stream_wgq_kernel instantiations for bf16 inputs (a file of their own: they compile in
// parallel with the other stream kernels).
#include "cuda/stream/stream_instantiate.cuh"

namespace colmax::cuda {

const void* stream_wgq_kernel_bf16(int wg_index, bool winners, int blocks) {
  if (winners) return instantiate_stream_wgq_kernels<Elem::bf16, true>(wg_index);
  return blocks == 2 ? instantiate_stream_wgq_kernels<Elem::bf16, false, 2>(wg_index)
                     : instantiate_stream_wgq_kernels<Elem::bf16, false>(wg_index);
}

}  // namespace colmax::cuda
