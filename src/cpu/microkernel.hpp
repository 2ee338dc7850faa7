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

// Register arrays stay in registers only when every loop over them is fully unrolled.
#if defined(__clang__)
#define COLMAX_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define COLMAX_UNROLL _Pragma("GCC unroll 32")
#else
#define COLMAX_UNROLL
#endif

inline int64_t min_i64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// What one register tile works on.
template <class T>
struct TileArgs {
  const typename T::QElem* panel;  // M vectors per k step
  const void* const* rows;         // N document rows
  const float* inv_norm;           // N scales, or nullptr
  const void* const* ahead;        // rows kPrefetchTiles tiles on, prefetched into L1
  int n_ahead;
  int64_t dim;
  float* rmax;    // M * kLanes running maxima
  uint32_t* nan;  // M * kLanes NaN flags
};

// One register tile: M query vectors x N document rows over the whole embedding, folded
// into the running max of those M vectors.
template <class T, int M, int N>
void tile(const TileArgs<T>& a) {
  using Acc = typename T::Acc;
  using QVec = typename T::QVec;
  using DVec = typename T::DVec;
  using DElem = typename T::DElem;
  constexpr int kStep = T::kLanes * T::kPack;  // panel elements per vector and k step
  // k steps per 64-byte line of a document row: the next tile's rows are prefetched one line
  // per row every kLineSteps steps, so they arrive while this tile computes.
  constexpr int64_t kLineSteps = 64 / int64_t(sizeof(DElem) * T::kPack);
  const int64_t full_steps = a.dim / T::kPack;

  const DElem* r[N];
  COLMAX_UNROLL
  for (int n = 0; n < N; ++n) r[n] = static_cast<const DElem*>(a.rows[n]);
  Acc acc[M][N];
  COLMAX_UNROLL
  for (int m = 0; m < M; ++m) {
    COLMAX_UNROLL
    for (int n = 0; n < N; ++n) acc[m][n] = T::zero();
  }
  for (int n = 0; n < a.n_ahead; ++n) {  // a row's last line, which may start mid-way
    __builtin_prefetch(static_cast<const DElem*>(a.ahead[n]) + (a.dim - 1), 0, 3);
  }

  const typename T::QElem* __restrict q = a.panel;
  for (int64_t k0 = 0; k0 < full_steps; k0 += kLineSteps) {
    for (int n = 0; n < a.n_ahead; ++n) {
      __builtin_prefetch(static_cast<const DElem*>(a.ahead[n]) + k0 * T::kPack, 0, 3);
    }

    const int64_t k1 = min_i64(k0 + kLineSteps, full_steps);
    for (int64_t k = k0; k < k1; ++k, q += M * kStep) {
      QVec qv[M];
      COLMAX_UNROLL
      for (int m = 0; m < M; ++m) qv[m] = T::load_q(q + m * kStep);
      COLMAX_UNROLL
      for (int n = 0; n < N; ++n) {
        const DVec d = T::bcast(r[n] + k * T::kPack);
        COLMAX_UNROLL
        for (int m = 0; m < M; ++m) acc[m][n] = T::madd(acc[m][n], qv[m], d);
      }
    }
  }
  if constexpr (T::kPack == 2) {
    if (a.dim % 2 !=
        0) {  // the last element has no partner: broadcast (x, 0), read nothing past dim
      QVec qv[M];
      COLMAX_UNROLL
      for (int m = 0; m < M; ++m) qv[m] = T::load_q(q + m * kStep);
      COLMAX_UNROLL
      for (int n = 0; n < N; ++n) {
        const DVec d = T::bcast_last(r[n] + full_steps * 2);
        COLMAX_UNROLL
        for (int m = 0; m < M; ++m) acc[m][n] = T::madd(acc[m][n], qv[m], d);
      }
    }
  }

  if (a.inv_norm != nullptr) {
    COLMAX_UNROLL
    for (int n = 0; n < N; ++n) {
      const float s = a.inv_norm[n];
      COLMAX_UNROLL
      for (int m = 0; m < M; ++m) acc[m][n] = T::scale(acc[m][n], s);
    }
  }
  COLMAX_UNROLL
  for (int m = 0; m < M; ++m) {
    // NaN never survives a max instruction, so it is tracked apart: unordered(a, b) covers two
    // accumulators per compare.
    typename T::Flags f = T::unordered(acc[m][0], acc[m][N > 1 ? 1 : 0]);
    COLMAX_UNROLL
    for (int n = 2; n < N; n += 2) {
      f = T::flags_or(f, T::unordered(acc[m][n], acc[m][n + 1 < N ? n + 1 : n]));
    }
    Acc best = T::load_acc(a.rmax + m * T::kLanes);
    COLMAX_UNROLL
    for (int n = 0; n < N; ++n) best = T::max(acc[m][n], best);
    T::store_acc(a.rmax + m * T::kLanes, best);
    T::merge_flags(a.nan + m * T::kLanes, f);
  }
}

// Dispatches a tile of `nr` rows (1..N) to its instantiation.
template <class T, int M, int N = T::kTile>
inline void tile_rows(int nr, const TileArgs<T>& a) {
  if (nr == N) {
    tile<T, M, N>(a);
  } else if constexpr (N > 1) {
    tile_rows<T, M, N - 1>(nr, a);
  }
}

template <class T, int M = T::kPanel>
inline void tile_panel(int mv, int nr, const TileArgs<T>& a) {
  if (mv == M) {
    tile_rows<T, M>(nr, a);
  } else if constexpr (M > 1) {
    tile_panel<T, M - 1>(mv, nr, a);
  }
}

// KernelSet::fold: every tile of N rows against every panel of [v_begin, v_end). The rows of
// a tile stay in L1 while the panels of the block pass over them. The first panel prefetches
// the rows kPrefetchTiles tiles on (from this chunk, or the look-ahead rows after it).
template <class T>
void fold(const PanelsView& q, int64_t v_begin, int64_t v_end, const RowsView& rows, float* rmax,
          uint32_t* nan) {
  constexpr int M = T::kPanel, N = T::kTile, W = T::kLanes;
  const int64_t panel_elems = int64_t(M) * W * T::kPack * q.ksteps;
  const auto* base = static_cast<const typename T::QElem*>(q.data);
  const int64_t known = rows.count + rows.ahead_count;  // rows we may prefetch
  for (int64_t r0 = 0; r0 < rows.count; r0 += N) {
    const int nr = int(min_i64(N, rows.count - r0));
    const int64_t next = r0 + kPrefetchTiles * N;
    TileArgs<T> a{nullptr,
                  rows.rows + r0,
                  rows.inv_norm != nullptr ? rows.inv_norm + r0 : nullptr,
                  rows.rows + next,
                  int(next < known ? min_i64(N, known - next) : 0),
                  q.dim,
                  nullptr,
                  nullptr};
    for (int64_t v = v_begin; v < v_end; v += M) {
      a.panel = base + (v / M) * panel_elems;
      a.rmax = rmax + v * W;
      a.nan = nan + v * W;
      tile_panel<T>(int(min_i64(M, q.vectors - v)), nr, a);
      a.n_ahead = 0;  // prefetched once per tile
    }
  }
}

}  // namespace colmax::detail::cpu::COLMAX_KERNEL_NAMESPACE
