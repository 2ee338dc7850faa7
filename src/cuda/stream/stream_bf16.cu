// stream_kernel and stream_tma_kernel instantiations for bf16 inputs.
#include "cuda/stream/stream_instantiate.cuh"

namespace colmax::cuda {

const void* stream_kernel_bf16(int ks_index) {
  return instantiate_stream_kernels<Elem::bf16>(ks_index);
}

const void* stream_tma_kernel_bf16(int ks_index) {
  return instantiate_stream_tma_kernels<Elem::bf16>(ks_index);
}

const void* stream_tma_winners_kernel_bf16(int wg_index) {
  return instantiate_stream_tma_winners_kernels<Elem::bf16>(wg_index);
}

const void* stream_wg_kernel_bf16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::bf16, false>(wg_index);
}

const void* stream_wg_winners_kernel_bf16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::bf16, true>(wg_index);
}

const void* stream_wg2_kernel_bf16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::bf16, false, 2>(wg_index);
}

}  // namespace colmax::cuda
