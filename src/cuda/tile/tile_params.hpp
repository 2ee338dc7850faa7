// Parameters of the tile kernels, shared by the host launcher and the device code.
//
// A tile kernel computes scores for a contiguous range of "pairs" per block. A pair is a
// group of stacked queries (rows of the tensor-core M dimension) against one document.
// Document tokens stream through shared memory in tiles of BN tokens x 128 bytes of the
// embedding ("k-chunks"), several stages deep; queries sit in shared memory for as long as
// consecutive pairs share them. See docs/cuda.md.
#pragma once

#include <cstdint>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// Warp layout of a tile kernel: WM x WN warps; each warp owns MT m16 row tiles and NT n8
// column tiles, so a block covers M = WM*MT*16 query rows and BN = WN*NT*8 document tokens.
struct TileShape {
  int wm, wn, mt, nt;
  constexpr int threads() const { return 32 * wm * wn; }
  constexpr int rows() const { return wm * mt * 16; }
  constexpr int cols() const { return wn * nt * 8; }
};

// The shapes compiled into the library (indices are what the dispatch table stores).
inline constexpr TileShape kTileShapes[] = {
    {1, 4, 2, 2},  // 0: M=32,  BN=64, 128 threads  (short queries, memory-bound)
    {2, 4, 2, 2},  // 1: M=64,  BN=64, 256 threads
    {4, 2, 2, 4},  // 2: M=128, BN=64, 256 threads  (stacked queries, compute-bound)
    {4, 2, 4, 4},  // 3: M=256, BN=64, 256 threads  (long queries / many queries)
};
inline constexpr int kNumTileShapes = 4;

// Embedding bytes per k-chunk: whole rows up to 256 bytes (dim 128 in 16-bit), so that a
// stage moves BN x 256 bytes; longer rows take several chunks.
inline constexpr int kMaxChunkBytes = 256;
inline constexpr int kMaxStages = 4;
inline constexpr int kMaxQSlots = 4;
inline constexpr int kPairBatch = 64;  // pair descriptors resolved at once per block
inline constexpr int kMaxPackedGroup = 32;

// Column flags of a document tile.
inline constexpr uint8_t kColValid = 0, kColMasked = 1, kColOut = 2;

// A resolved pair as the kernel keeps it in shared memory.
struct PairDesc {
  int64_t qtok, qmask, dtok, dmask, out, out_slot_stride;
  int64_t q0;  // identity of the stacked queries (-1: bad pair)
  int32_t nrows, dlen, nslots, nchunks, ntiles;
  uint32_t bad_slots;  // bit s: slot s scores NaN (bad offsets or indices)
};

static_assert(sizeof(PairDesc) == 80, "scripts/tune_dispatch.py assumes 80-byte descriptors");

// Byte offsets into dynamic shared memory.
struct TileSmem {
  uint32_t q, d, colflag, colscale, desc, prefix, red, rowval, partial, total;
};

struct TileParams {
  ProblemView v;
  int32_t elem_bytes = 2;  // bytes per element in shared memory (2, or 4 for tf32)
  int32_t group = 1;       // queries stacked per cross pair
  int32_t prefix_len = 0;  // group + 1 when packed queries are stacked, else 0
  int32_t stages = 3;
  int32_t qslots = 2;
  int32_t kp = 16;    // padded embedding length (multiple of 16 elements)
  int32_t split = 0;  // tf32 kernels: three-pass split products (exact fp32)
  int64_t pairs = 0;
  TileSmem smem{};
};

inline constexpr uint32_t align16(uint32_t x) {
  return (x + 15u) & ~15u;
}

// Bytes of one k-chunk. Rows are padded to 16 elements, so this is a multiple of 32 and the
// shared-memory pitch (chunk + 16 bytes) is an odd number of 16-byte units: ldmatrix and the
// 16-byte copies are free of bank conflicts.
COLMAX_HOST_DEVICE inline constexpr uint32_t tile_chunk_bytes(int kp, int elem_bytes) {
  const uint32_t row = uint32_t(kp * elem_bytes);
  return row < uint32_t(kMaxChunkBytes) ? row : uint32_t(kMaxChunkBytes);
}

// The shared-memory layout of a shape for given runtime parameters.
inline TileSmem tile_smem_layout(const TileShape& s, int elem_bytes, int kp, int stages, int qslots,
                                 int prefix_len, int group) {
  TileSmem m{};
  const uint32_t qpitch = uint32_t(kp * elem_bytes + 16);
  const uint32_t dpitch = tile_chunk_bytes(kp, elem_bytes) + 16u;
  uint32_t at = 0;
  m.q = at;
  at = align16(at + uint32_t(qslots) * uint32_t(s.rows()) * qpitch);
  m.d = at;
  at = align16(at + uint32_t(stages) * uint32_t(s.cols()) * dpitch);
  m.colflag = at;
  at = align16(at + uint32_t(stages * s.cols()));
  m.colscale = at;
  at = align16(at + uint32_t(stages * s.cols()) * 4u);
  m.desc = at;
  at = align16(at + uint32_t(kPairBatch) * uint32_t(sizeof(PairDesc)));
  m.prefix = at;
  at = align16(at + uint32_t(kPairBatch * prefix_len) * 4u);
  m.red = at;
  at = align16(at + uint32_t(s.wn * s.rows()) * 4u);
  m.rowval = at;
  at = align16(at + uint32_t(s.rows()) * 4u);
  m.partial = at;
  at = align16(at + uint32_t(group > 0 ? group : 1) * 4u);
  m.total = at;
  return m;
}

}  // namespace colmax::cuda
