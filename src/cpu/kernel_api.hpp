// The interface between the engine (plain C++) and the SIMD kernels of one level.
//
// Query tokens sit in SIMD lanes: a query group is packed once into "panels" (Qᵀ in lane
// layout) and document rows are broadcast one element (fp32) or one pair (bf16) at a time
// from their own memory. A kernel keeps a register tile of panel_vectors x tile_rows
// similarity vectors, folds it into a running element-wise max per query lane, and never
// writes a similarity to memory.
//
// Panel layout, in elements of the kernel's format (float, or bf16 bits for bf16_pairs):
// the group's lanes form `vectors` vectors of `lanes` lanes; vectors are grouped into panels
// of panel_vectors (the last panel may be narrower). Panel p starts at element
// p * panel_vectors * lanes * pack * ksteps and holds, for every k step s, its vectors'
// lanes one after another: [s][m * lanes + lane][pack]. pack is 1 (fp32) or 2 (a bf16 pair
// along the embedding, k = 2s and 2s + 1, zero past dim). Lanes past the group are zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "colmax/tensor.hpp"
#include "cpu/simd_level.hpp"

namespace colmax::detail::cpu {

enum class KernelFormat : uint8_t {
  f32,         // fp32 panels and fp32 document rows (other dtypes are converted first)
  bf16_pairs,  // bf16 panels and bf16 document rows, VDPBF16PS (avx512-bf16 only)
};

struct PanelsView {
  const void* data = nullptr;  // 64-byte aligned
  int64_t dim = 0;
  int64_t ksteps = 0;   // dim (f32) or ceil(dim / 2) (bf16_pairs)
  int64_t vectors = 0;  // lane vectors in the group
};

// A kernel prefetches the rows this many tiles ahead of the tile it computes: far enough
// for memory latency to hide behind the tile's arithmetic.
inline constexpr int kPrefetchTiles = 2;

// Rows of one document chunk, in the kernel's format, valid tokens only.
struct RowsView {
  // count rows to fold, then ahead_count rows that come next (the next chunk or document),
  // which are only prefetched
  const void* const* rows = nullptr;
  const float* inv_norm = nullptr;  // per folded row, or nullptr: similarities are scaled by it
  int64_t count = 0;
  int64_t ahead_count = 0;
};

struct KernelSet {
  SimdLevel level;
  KernelFormat format;
  int lanes;          // fp32 lanes of a vector
  int panel_vectors;  // vectors of query lanes in a register tile
  int tile_rows;      // document rows in a register tile
  int pack;           // embedding elements per lane and k step (1, or 2 for bf16 pairs)

  // For every row and every query lane of vectors [v_begin, v_end) (v_begin a multiple of
  // panel_vectors): rmax[lane] = max(rmax[lane], similarity), and nan[lane] = ~0u when a
  // similarity is NaN. rmax and nan are indexed by the group's lane and 64-byte aligned.
  void (*fold)(const PanelsView& q, int64_t v_begin, int64_t v_end, const RowsView& rows,
               float* rmax, uint32_t* nan);
  // Converts `count` rows of a 16-bit float dtype (float16 or bfloat16) to fp32 rows at
  // dst + i * dst_stride (64-byte aligned, dst_stride a multiple of 16). f32 format only.
  void (*to_f32)(DType src, const void* const* rows, int64_t count, int64_t dim, float* dst,
                 int64_t dst_stride);
  // inv[i] = 1 / ||row i|| in the kernel's format; 1 for a zero (or NaN) row, as the
  // reference leaves those unscaled.
  void (*inv_norms)(const void* const* rows, int64_t count, int64_t dim, float* inv);
};

// The kernels of a level that this build contains, or nullptr. bf16_pairs exists only for
// avx512_bf16.
const KernelSet* find_kernels(SimdLevel level, KernelFormat format) noexcept;

// Per-level tables, defined in kernels_<level>.cpp when that level is built.
extern const KernelSet kScalarF32Kernels;
extern const KernelSet kAvx2F32Kernels;
extern const KernelSet kAvx512F32Kernels;
extern const KernelSet kAvx512Bf16Kernels;

}  // namespace colmax::detail::cpu
