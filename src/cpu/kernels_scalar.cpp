// Portable kernels: plain C++ over 8-lane arrays that the compiler vectorises for whatever
// baseline the build targets (SSE2 on x86-64, NEON on AArch64). The fallback on CPUs
// without AVX2 and the only kernels of non-x86 builds. Multiplies and adds are separate
// operations here (ISO C++ forbids contracting them), which is as exact as the FMA levels
// within the tolerance every level is tested to.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/scalar.hpp"

#define COLMAX_KERNEL_NAMESPACE scalar
#include "cpu/microkernel.hpp"

namespace colmax::detail::cpu::scalar {
namespace {

constexpr int kW = 8;

struct Vec {
  float v[kW];
};
struct Mask {
  uint32_t v[kW];
};

struct F32 {
  static constexpr int kLanes = kW, kPanel = 2, kTile = 4, kPack = 1;
  using QElem = float;
  using DElem = float;
  using Acc = Vec;
  using QVec = Vec;
  using DVec = float;
  using Flags = Mask;

  static Acc zero() { return Vec{}; }
  static QVec load_q(const float* p) {
    Vec r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static DVec bcast(const float* p) {
    float x;
    std::memcpy(&x, p, 4);  // rows are only as aligned as the caller's tensor
    return x;
  }
  static Acc madd(Acc a, const QVec& q, DVec d) {
    for (int i = 0; i < kW; ++i) a.v[i] += q.v[i] * d;
    return a;
  }
  static Acc scale(Acc a, float s) {
    for (int i = 0; i < kW; ++i) a.v[i] *= s;
    return a;
  }
  static Acc max(Acc a, const Acc& b) {
    for (int i = 0; i < kW; ++i) a.v[i] = a.v[i] < b.v[i] ? b.v[i] : a.v[i];
    return a;
  }
  static Acc load_acc(const float* p) { return load_q(p); }
  static void store_acc(float* p, const Acc& a) { std::memcpy(p, a.v, sizeof a.v); }
  static Flags unordered(const Acc& a, const Acc& b) {
    Mask m;
    for (int i = 0; i < kW; ++i) m.v[i] = (a.v[i] != a.v[i] || b.v[i] != b.v[i]) ? ~0u : 0u;
    return m;
  }
  static Flags flags_or(Flags a, const Flags& b) {
    for (int i = 0; i < kW; ++i) a.v[i] |= b.v[i];
    return a;
  }
  static void merge_flags(uint32_t* p, const Flags& f) {
    for (int i = 0; i < kW; ++i) p[i] |= f.v[i];
  }
};

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
