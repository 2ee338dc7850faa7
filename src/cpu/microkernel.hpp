// The register-tile micro-kernel, written once over a small SIMD-traits type and compiled
// once per instruction-set level (kernels_<level>.cpp includes it with its own flags).
//
// Everything here lives in the namespace named by COLMAX_KERNEL_NAMESPACE so that two
// levels never share a symbol: the linker keeps one copy of an inline function or template
// instance, and a copy built for AVX-512 must never serve the AVX2 or scalar path. For the
// same reason this header uses nothing from the C++ standard library beyond <cstdint>.
//
// Traits T provide:
//   kLanes, kPanel (query vectors M), kTile (document rows N), kPack (1, or 2 for bf16 pairs)
//   QElem / DElem: panel and document element types
//   Acc (fp32 vector), QVec (panel vector), DVec (broadcast document element), Flags
//   zero(), load_q(const QElem*), bcast(const DElem*), bcast_last(const DElem*) (kPack 2),
//   madd(acc, q, d) = acc + q·d, scale(acc, float), max(a, b), load_acc(const float*),
//   store_acc(float*, acc), unordered(a, b) (a or b is NaN), flags_or, merge_flags(uint32_t*)
#ifndef COLMAX_KERNEL_NAMESPACE
#error "define COLMAX_KERNEL_NAMESPACE before including cpu/microkernel.hpp"
#endif

#include <cstdint>

#include "cpu/kernel_api.hpp"

namespace colmax::detail::cpu::COLMAX_KERNEL_NAMESPACE {

inline int64_t min_i64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// One register tile: M query vectors x N document rows over the whole embedding, folded
// into the running max of those M vectors. `panel` holds M vectors per k step.
template <class T, int M, int N>
void tile(const typename T::QElem* __restrict panel, const void* const* rows, const float* inv_norm,
          int64_t full_steps, bool odd_dim, float* __restrict rmax, uint32_t* __restrict nan) {
  using Acc = typename T::Acc;
  using QVec = typename T::QVec;
  using DVec = typename T::DVec;
  using DElem = typename T::DElem;
  constexpr int kStep = T::kLanes * T::kPack;  // panel elements per vector and k step

  const DElem* r[N];
  for (int n = 0; n < N; ++n) r[n] = static_cast<const DElem*>(rows[n]);
  Acc acc[M][N];
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) acc[m][n] = T::zero();

  const typename T::QElem* q = panel;
  for (int64_t k = 0; k < full_steps; ++k, q += M * kStep) {
    QVec qv[M];
    for (int m = 0; m < M; ++m) qv[m] = T::load_q(q + m * kStep);
    for (int n = 0; n < N; ++n) {
      const DVec d = T::bcast(r[n] + k * T::kPack);
      for (int m = 0; m < M; ++m) acc[m][n] = T::madd(acc[m][n], qv[m], d);
    }
  }
  if constexpr (T::kPack == 2) {
    if (odd_dim) {  // the last element has no partner: broadcast (x, 0) so nothing is read past dim
      QVec qv[M];
      for (int m = 0; m < M; ++m) qv[m] = T::load_q(q + m * kStep);
      for (int n = 0; n < N; ++n) {
        const DVec d = T::bcast_last(r[n] + full_steps * 2);
        for (int m = 0; m < M; ++m) acc[m][n] = T::madd(acc[m][n], qv[m], d);
      }
    }
  } else {
    (void)odd_dim;
  }

  if (inv_norm != nullptr) {
    for (int n = 0; n < N; ++n) {
      const float s = inv_norm[n];
      for (int m = 0; m < M; ++m) acc[m][n] = T::scale(acc[m][n], s);
    }
  }
  for (int m = 0; m < M; ++m) {
    // NaN never survives a max instruction, so it is tracked apart: unordered(a, b) covers two
    // accumulators per compare.
    typename T::Flags f = T::unordered(acc[m][0], acc[m][N > 1 ? 1 : 0]);
    for (int n = 2; n < N; n += 2)
      f = T::flags_or(f, T::unordered(acc[m][n], acc[m][n + 1 < N ? n + 1 : n]));
    // Pairwise max tree, then the running max.
    for (int width = 1; width < N; width *= 2)
      for (int n = 0; n + width < N; n += 2 * width)
        acc[m][n] = T::max(acc[m][n], acc[m][n + width]);
    float* rm = rmax + m * T::kLanes;
    T::store_acc(rm, T::max(acc[m][0], T::load_acc(rm)));
    T::merge_flags(nan + m * T::kLanes, f);
  }
}

// Dispatches a tile of `nr` rows (1..N) to its instantiation.
template <class T, int M, int N = T::kTile>
inline void tile_rows(int nr, const typename T::QElem* panel, const void* const* rows,
                      const float* inv_norm, int64_t full_steps, bool odd_dim, float* rmax,
                      uint32_t* nan) {
  if (nr == N) {
    tile<T, M, N>(panel, rows, inv_norm, full_steps, odd_dim, rmax, nan);
  } else if constexpr (N > 1) {
    tile_rows<T, M, N - 1>(nr, panel, rows, inv_norm, full_steps, odd_dim, rmax, nan);
  }
}

template <class T, int M = T::kPanel>
inline void tile_panel(int mv, int nr, const typename T::QElem* panel, const void* const* rows,
                       const float* inv_norm, int64_t full_steps, bool odd_dim, float* rmax,
                       uint32_t* nan) {
  if (mv == M) {
    tile_rows<T, M>(nr, panel, rows, inv_norm, full_steps, odd_dim, rmax, nan);
  } else if constexpr (M > 1) {
    tile_panel<T, M - 1>(mv, nr, panel, rows, inv_norm, full_steps, odd_dim, rmax, nan);
  }
}

// KernelSet::fold: every tile of N rows against every panel of [v_begin, v_end). The rows of
// a tile stay in L1 while the panels of the block pass over them.
template <class T>
void fold(const PanelsView& q, int64_t v_begin, int64_t v_end, const RowsView& rows, float* rmax,
          uint32_t* nan) {
  constexpr int M = T::kPanel, N = T::kTile, W = T::kLanes;
  const int64_t panel_elems = int64_t(M) * W * T::kPack * q.ksteps;
  const int64_t full_steps = q.dim / T::kPack;
  const bool odd_dim = q.dim % T::kPack != 0;
  const auto* base = static_cast<const typename T::QElem*>(q.data);
  for (int64_t r0 = 0; r0 < rows.count; r0 += N) {
    const int nr = int(min_i64(N, rows.count - r0));
    const float* inv = rows.inv_norm != nullptr ? rows.inv_norm + r0 : nullptr;
    for (int64_t v = v_begin; v < v_end; v += M) {
      const int mv = int(min_i64(M, q.vectors - v));
      tile_panel<T>(mv, nr, base + (v / M) * panel_elems, rows.rows + r0, inv, full_steps, odd_dim,
                    rmax + v * W, nan + v * W);
    }
  }
}

}  // namespace colmax::detail::cpu::COLMAX_KERNEL_NAMESPACE
