// Portable kernels: 8-lane fp32 vectors in the compiler's generic vector types, lowered to
// whatever SIMD the build's baseline target has (SSE2 on x86-64, NEON on AArch64). The
// fallback on CPUs without AVX2 and the only kernels of non-x86 builds. Without FMA in the
// baseline, multiplies and adds are separate roundings: within the tolerance every level is
// tested to.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/scalar.hpp"

#define COLMAX_KERNEL_NAMESPACE scalar
#include "cpu/microkernel.hpp"

namespace colmax::detail::cpu::scalar {
namespace {

constexpr int kW = 8;

#if defined(__GNUC__) || defined(__clang__)
// GCC and Clang vector extensions (the engine needs GCC or Clang anyway, for
// __builtin_prefetch and __builtin_cpu_supports). A 16-byte vector is one register on every
// SIMD baseline (SSE2 on x86-64, NEON on AArch64); 8 lanes are two of them, and a 1 x 6 tile
// keeps 12 accumulators in the 16 SSE registers. Plain arrays are not reliably vectorised
// through the traits' by-value interface (measured: scalar mulss/addss, 4.4 GFLOP/s), nor are
// 32-byte generic vectors without AVX (spilled through the stack, 1.8 GFLOP/s); this runs at
// 21-26 GFLOP/s on one Zen 3 core.
typedef float V4 __attribute__((vector_size(16)));
typedef int32_t M4 __attribute__((vector_size(16)));
struct Vec {
  V4 lo, hi;
};
struct Mask {
  M4 lo, hi;
};

struct F32 {
  static constexpr int kLanes = kW, kPanel = 1, kTile = 6, kPack = 1;
  using QElem = float;
  using DElem = float;
  using Acc = Vec;
  using QVec = Vec;
  using DVec = V4;
  using Flags = Mask;

  static Acc zero() { return Vec{}; }
  static QVec load_q(const float* p) {
    Vec r;
    std::memcpy(&r.lo, p, 16);
    std::memcpy(&r.hi, p + 4, 16);
    return r;
  }
  static DVec bcast(const float* p) {
    float x;
    std::memcpy(&x, p, 4);  // rows are only as aligned as the caller's tensor
    return V4{x, x, x, x};
  }
  static Acc madd(Acc a, QVec q, DVec d) { return {a.lo + q.lo * d, a.hi + q.hi * d}; }
  static Acc scale(Acc a, float s) { return {a.lo * s, a.hi * s}; }
  static Acc max(Acc a, Acc b) { return {a.lo < b.lo ? b.lo : a.lo, a.hi < b.hi ? b.hi : a.hi}; }
  static Acc load_acc(const float* p) { return load_q(p); }
  static void store_acc(float* p, Acc a) {
    std::memcpy(p, &a.lo, 16);
    std::memcpy(p + 4, &a.hi, 16);
  }
  static Flags unordered(Acc a, Acc b) {
    return {(a.lo != a.lo) | (b.lo != b.lo), (a.hi != a.hi) | (b.hi != b.hi)};
  }
  static Flags flags_or(Flags a, Flags b) { return {a.lo | b.lo, a.hi | b.hi}; }
  static void merge_flags(uint32_t* p, Flags f) {
    M4 lo, hi;
    std::memcpy(&lo, p, 16);
    std::memcpy(&hi, p + 4, 16);
    lo |= f.lo;
    hi |= f.hi;
    std::memcpy(p, &lo, 16);
    std::memcpy(p + 4, &hi, 16);
  }
};
#else
#error "the portable kernels need GCC or Clang vector extensions"
#endif

void to_f32(DType src, const void* const* rows, int64_t count, int64_t dim, float* dst,
            int64_t dst_stride) {
  for (int64_t i = 0; i < count; ++i) {
    const auto* in = static_cast<const std::byte*>(rows[i]);
    float* out = dst + i * dst_stride;
    for (int64_t k = 0; k < dim; ++k) {
      uint16_t h;
      std::memcpy(&h, in + 2 * k, 2);
      out[k] = src == DType::float16 ? half_to_float(h) : bf16_to_float(h);
    }
  }
}

void inv_norms(const void* const* rows, int64_t count, int64_t dim, float* inv) {
  for (int64_t i = 0; i < count; ++i) {
    const auto* row = static_cast<const std::byte*>(rows[i]);
    double n2 = 0;
    for (int64_t k = 0; k < dim; ++k) {
      float x;
      std::memcpy(&x, row + 4 * k, 4);
      n2 += double(x) * double(x);
    }
    inv[i] = n2 > 0 ? float(1.0 / std::sqrt(n2)) : 1.0f;
  }
}

}  // namespace
}  // namespace colmax::detail::cpu::scalar

namespace colmax::detail::cpu {

const KernelSet kScalarF32Kernels = {
    SimdLevel::scalar,          KernelFormat::f32,  scalar::F32::kLanes,
    scalar::F32::kPanel,        scalar::F32::kTile, scalar::F32::kPack,
    &scalar::fold<scalar::F32>, &scalar::to_f32,    &scalar::inv_norms};

}  // namespace colmax::detail::cpu
