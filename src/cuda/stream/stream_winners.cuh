// What the stream kernels' winners variants share (training's forward with saved state,
// StreamParams::winners): where a pair's winners go, writing them, and the end of a pair.
#pragma once

#include <climits>

#include "cuda/common/winner_rule.cuh"
#include "cuda/stream/stream_common.cuh"

namespace colmax::cuda::stream {

// Slot s of a pair holds rows [lo, hi) of its stacked query rows (the sum_slots rule).
__device__ __forceinline__ void slot_rows(const ProblemView& v, const PairSeqs& ps,
                                          const int32_t* prefix, bool stacked_prefix, int s,
                                          int& lo, int& hi) {
  if (stacked_prefix) {
    lo = prefix[s];
    hi = prefix[s + 1];
  } else if (v.q.cu == nullptr) {
    lo = s * int(v.q.length);
    hi = lo + int(v.q.length);
  } else {
    lo = 0;
    hi = int(ps.nrows);
  }
  hi = min(hi, int(ps.nrows));
  lo = min(lo, hi);
}

// Where the winners of a pair's slots go: slot s is output first + s * stride (the winners'
// first axis). Once per pair: pair_at and the split of a cross pair take 64-bit divisions.
struct WinnerOutputs {
  int64_t first = 0, stride = 0;
};
__device__ __forceinline__ WinnerOutputs winner_outputs(const StreamParams& p, int64_t pp) {
  const int64_t pr = pair_at(p, pp);
  if (p.v.pairing != PairingKind::cross) return {pr, 0};
  const int64_t g = div_nonneg(pr, p.v.d.count), di = pr - g * p.v.d.count;
  return {g * p.group * p.v.d.count + di, p.v.d.count};
}

__device__ __forceinline__ void store_winner(const StreamParams& p, int64_t o, int64_t t, int w) {
  const int64_t i = o * p.winners_width + t;
  if (p.winners_is16) {
    static_cast<int16_t*>(p.winners)[i] = int16_t(w);
  } else {
    static_cast<int32_t*>(p.winners)[i] = w;
  }
}

// Row r (< nrows) of the pair: its slot and token, and its winner when the token fits W.
__device__ __forceinline__ void write_winner(const StreamParams& p, const PairSeqs& ps,
                                             WinnerOutputs wo, const int32_t* prefix,
                                             bool stacked_prefix, int r, int win) {
  int s = 0, t = r;
  if (stacked_prefix) {
    while (s + 1 < ps.nslots && prefix[s + 1] <= r) ++s;
    t = r - prefix[s];
  } else if (p.v.q.cu == nullptr && p.v.q.length > 0) {
    s = r / int(p.v.q.length);
    t = r - s * int(p.v.q.length);
  }
  if (t < p.winners_width) store_winner(p, wo.first + s * wo.stride, t, win);
}

// Merges running results (best, arg) across the lanes whose indices differ only in the bits
// from kFirst up to (not including) kEnd: each lane ends with the merge of them all.
template <int kFirst, int kEnd>
__device__ __forceinline__ void winner_merge_lanes(float& best, int& arg) {
#pragma unroll
  for (int o = kFirst; o < kEnd; o *= 2) {
    const float b2 = __shfl_xor_sync(0xffffffffu, best, o);
    const int a2 = __shfl_xor_sync(0xffffffffu, arg, o);
    winner_merge(best, arg, b2, a2);
  }
}

// A valid query row's score term and winner from its running result over the valid tokens
// (best at position arg; arg < 0: none) and the first masked position fm (INT_MAX: none), as
// the training forward decides it (src/cuda/backward/forward.cu): in mask mode zero a masked
// position (similarity 0) wins over negative maxima and over a 0 at a later position, and
// then the token has no winner. An invalid row adds 0 and has no winner.
__device__ __forceinline__ void row_result(bool row_valid, bool zero_mode, int fm, float best,
                                           int arg, float& term, int& win) {
  term = 0.f;
  win = -1;
  if (!row_valid || arg < 0) return;
  win = arg;
  term = best;
  if (zero_mode && fm != INT_MAX && !isnan(term) && (term < 0.f || (term == 0.f && fm < win))) {
    win = -1;
    term = 0.f;
  }
}

// After the pair's last pass, warp wt of the team's `step` warps: positions past each of its
// slots' query length get -1; a query longer than W, or a document longer than int16 winners
// hold, cannot be represented and scores NaN (as the training forward does). Each slot is
// finished by the warp that summed it (sum_slot_rows), after its score was written.
__device__ __forceinline__ void finish_winners(const StreamParams& p, const PairSeqs& ps,
                                               WinnerOutputs wo, const int32_t* prefix,
                                               bool stacked_prefix, int wt, int lane,
                                               int step = 4) {
  for (int s = wt; s < ps.nslots; s += step) {
    int lo, hi;
    slot_rows(p.v, ps, prefix, stacked_prefix, s, lo, hi);
    const int64_t o = wo.first + s * wo.stride;
    for (int64_t t = (hi - lo) + lane; t < p.winners_width; t += 32) store_winner(p, o, t, -1);
    const bool unrepresentable = hi - lo > p.winners_width || (p.winners_is16 && ps.dlen > 32768);
    if (lane == 0 && unrepresentable) p.v.out[ps.out + s * ps.out_slot_stride] = NAN;
  }
}

}  // namespace colmax::cuda::stream
