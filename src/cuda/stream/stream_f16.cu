// stream_kernel and stream_tma_kernel instantiations for f16 inputs.
#include "cuda/stream/stream_instantiate.cuh"

namespace colmax::cuda {

const void* stream_kernel_f16(int ks_index) {
  return instantiate_stream_kernels<Elem::f16>(ks_index);
}

const void* stream_tma_kernel_f16(int ks_index) {
  return instantiate_stream_tma_kernels<Elem::f16>(ks_index);
}

const void* stream_tma_winners_kernel_f16(int wg_index) {
  return instantiate_stream_tma_winners_kernels<Elem::f16>(wg_index);
}

const void* stream_wg_kernel_f16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::f16, false>(wg_index);
}

const void* stream_wg_winners_kernel_f16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::f16, true>(wg_index);
}

const void* stream_wg2_kernel_f16(int wg_index) {
  return instantiate_stream_wg_kernels<Elem::f16, false, 2>(wg_index);
}

}  // namespace colmax::cuda
