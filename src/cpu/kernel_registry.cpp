// Which kernel table serves a level and format in this build.
#include "cpu/kernel_api.hpp"

namespace colmax::detail::cpu {

const KernelSet* find_kernels(SimdLevel level, KernelFormat format) noexcept {
  if (format == KernelFormat::bf16_pairs) {
#if defined(COLMAX_CPU_AVX512BF16)
    if (level == SimdLevel::avx512_bf16) return &kAvx512Bf16Kernels;
#endif
    return nullptr;
  }
  switch (level) {
    case SimdLevel::scalar:
      return &kScalarF32Kernels;
#if defined(COLMAX_CPU_AVX2)
    case SimdLevel::avx2:
      return &kAvx2F32Kernels;
#endif
#if defined(COLMAX_CPU_AVX512)
    case SimdLevel::avx512:
    case SimdLevel::avx512_bf16:
      return &kAvx512F32Kernels;
#endif
    default:
      return nullptr;
  }
}

}  // namespace colmax::detail::cpu
