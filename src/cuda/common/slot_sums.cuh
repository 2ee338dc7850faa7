// The end of a pair's row chunk, shared by the tile and the stream kernels: the row maxima of
// the chunk sit in shared memory, and each query slot's rows are summed (in a fixed order, so
// results do not depend on the grid), added to the slot's partial sum, and written as its
// score after the last chunk.
#pragma once

#include <cstdint>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

// What the slot sums need to know of a pair.
struct SlotPair {
  int32_t nslots, nrows, nchunks;
  int64_t out, out_slot_stride;  // element offset of slot 0's score, between slots
  uint32_t bad_slots;            // bit s: slot s scores NaN
  const int32_t* prefix;         // stacked packed queries: slot s = rows [prefix[s], prefix[s+1])
};

// Rows [c * rows, c * rows + rows) of the pair's stacked query rows are in rowval[0, rows).
// Warp `first` of `step` warps takes slots first, first + step, ...; partial[s] carries each
// slot's sum across chunks.
__device__ __forceinline__ void sum_slot_rows(const ProblemView& v, const SlotPair& sp,
                                              const float* rowval, float* partial, int c, int rows,
                                              int first, int step, int lane) {
  const int c0 = c * rows;
  const int lq = int(v.q.length);
  for (int s = first; s < sp.nslots; s += step) {
    int lo, hi;
    if (sp.prefix != nullptr) {
      lo = sp.prefix[s];
      hi = sp.prefix[s + 1];
    } else if (v.q.cu == nullptr) {
      lo = s * lq;
      hi = lo + lq;
    } else {
      lo = 0;
      hi = sp.nrows;
    }
    lo = lo < c0 ? 0 : lo - c0;
    hi = hi > c0 + rows ? rows : hi - c0;
    float sum = 0.f;
    for (int r = lo + lane; r < hi; r += 32) sum += rowval[r];
#pragma unroll
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) {
      const float total = (c == 0 ? 0.f : partial[s]) + sum;
      partial[s] = total;
      if (c == sp.nchunks - 1) {
        v.out[sp.out + s * sp.out_slot_stride] = (sp.bad_slots >> (s & 31)) & 1u ? NAN : total;
      }
    }
  }
}

}  // namespace colmax::cuda
