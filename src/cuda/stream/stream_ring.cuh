// A team's ring of document stages in shared memory, filled by the copy engine (sm_90).
//
// S stages of ST tokens each (row bytes RB, contiguous documents), each with a "full"
// mbarrier (one arrival with the expected bytes, completed by the bulk copy) and an "empty"
// one (one arrival per consumer warp, or per consumer lane with kEveryLane: each lane's reads
// are then ordered before the refill by its own release-arrive, not through __syncwarp; the
// wgmma kernel uses it: compute-sanitizer's racecheck reported its warp-level release). Warp 0
// of the team is also the producer: it walks its own cursor over the team's (pair, row chunk,
// stage) sequence, up to S stages ahead of the consumers and across pair boundaries; every
// warp of the team consumes every stage in the same order. Stage and phase counters advance
// incrementally (no division by S per stage).
//
// kTensor: stages come through a 2-D tensor map over the document tokens instead (rows of
// `dim` elements, RB / 128 column boxes of 64 elements in the 128-byte swizzled layout the
// wgmma B operand reads), one box per 128 bytes of row; rows past the tensor arrive as zeros
// and rows past the document hold the next document's tokens (the consumers mask them). The
// producer may then be a warp of its own (produce_all) instead of a consumer that tops up.
#pragma once

#include "cuda/stream/stream_common.cuh"

namespace colmax::cuda::stream {

template <int ST, int RB, bool kEveryLane = false, bool kTensor = false>
struct StageRing {
  static constexpr int SB = ST * RB;  // bytes per stage
  static_assert(!kTensor || RB % 128 == 0, "whole 64-element column boxes");

  const StreamParams* p;
  uint32_t ring, full0, empty0;  // shared-memory addresses: stages, then 2 S mbarriers
  int S, TR;
  int64_t pe;  // end of the team's pairs

  uint32_t issued = 0, consumed = 0;
  uint32_t p_stage = 0, p_wraps = 0;  // producer: stage of tile `issued`, issued / S
  uint32_t c_stage = 0, c_phase = 0;  // consumer: stage of tile `consumed`, its full phase
  int64_t p_pp = 0;
  int p_c = 0, p_t = 0, p_ntiles = 0, p_nchunks = 0, p_dlen = 0;
  const unsigned char* p_doc = nullptr;
  int64_t p_row = 0;          // kTensor: the document's first row in the tensor map
  const void* map = nullptr;  // kTensor: the tensor map (a kernel parameter)
  bool p_done = false;

  // Stages (each rows x RB bytes) hold the tokens of a pair's document; a pair with no query
  // rows has none (the consumers skip it the same way).
  __device__ static int stages_of(const PairSeqs& ps) {
    return ps.nrows > 0 ? int((ps.dlen + ST - 1) / ST) : 0;
  }

  // Initialises the barriers of `teams` rings laid out one after the other from `bars` (one
  // thread of the block; the caller synchronises the block afterwards).
  __device__ static void init_barriers(uint32_t bars, int teams, int stages, int warps) {
    for (int t = 0; t < teams; ++t) {
      for (int s = 0; s < stages; ++s) {
        ptx::mbar_init(bars + uint32_t((t * 2 * stages + s) * 8), 1);
        ptx::mbar_init(bars + uint32_t((t * 2 * stages + stages + s) * 8),
                       uint32_t(kEveryLane ? 32 * warps : warps));
      }
    }
    ptx::mbar_init_fence();
  }

  // Moves the producer to the first pair at or after p_pp that has stages to copy.
  __device__ void producer_pair() {
    for (; p_pp < pe; ++p_pp) {
      const PairSeqs ps = resolve_stream_pair(*p, p_pp, nullptr);
      p_ntiles = stages_of(ps);
      if (p_ntiles == 0) continue;
      p_nchunks = chunks_of(ps, TR);
      p_dlen = int(ps.dlen);
      p_doc = p->v.d.data + ps.dtok * p->v.d.elem_bytes;
      if constexpr (kTensor) p_row = ps.dtok / p->v.d.token_stride;
      p_c = p_t = 0;
      return;
    }
    p_done = true;
  }

  // Producer: copies the next stage into the ring once every consumer released its previous
  // use, and moves the cursor on.
  __device__ void issue_next(int lane) {
    const uint32_t s = p_stage;
    if (p_wraps > 0) ptx::mbar_wait(empty0 + 8 * s, (p_wraps - 1) & 1u);
    if (lane == 0) {
      if constexpr (kTensor) {
        ptx::mbar_arrive_expect_tx(full0 + 8 * s, uint32_t(SB));
#pragma unroll
        for (int kb = 0; kb < RB / 128; ++kb) {
          ptx::tensor_copy_2d(ring + s * uint32_t(SB) + uint32_t(kb * ST * 128), map, kb * 64,
                              int(p_row + int64_t(p_t) * ST), full0 + 8 * s);
        }
      } else {
        const int tokens = min(ST, p_dlen - p_t * ST);
        const uint32_t bytes = uint32_t(tokens * RB);
        ptx::mbar_arrive_expect_tx(full0 + 8 * s, bytes);
        ptx::bulk_copy_g2s(ring + s * uint32_t(SB), p_doc + int64_t(p_t) * SB, bytes,
                           full0 + 8 * s);
      }
    }
    ++issued;
    if (++p_stage == uint32_t(S)) {
      p_stage = 0;
      ++p_wraps;
    }
    if (++p_t == p_ntiles) {
      p_t = 0;
      if (++p_c == p_nchunks) {
        ++p_pp;
        producer_pair();
      }
    }
  }

  // Producer (all lanes of warp 0): issues stages while fewer than S are ahead of this warp's
  // consumption.
  __device__ void produce(int lane) {
    while (!p_done && issued < consumed + uint32_t(S)) issue_next(lane);
  }

  // A producer warp of its own: every stage of the team's pairs, each as soon as its slot is
  // free.
  __device__ void produce_all(int64_t pb, int lane) {
    p_pp = pb;
    producer_pair();
    while (!p_done) issue_next(lane);
  }

  // The producer's start: its first pair, and the first S stages.
  __device__ void start(int64_t pb, int lane) {
    p_pp = pb;
    producer_pair();
    produce(lane);
  }

  // Consumer: waits for the next stage and returns its shared-memory address.
  __device__ uint32_t wait_full() const {
    ptx::mbar_wait(full0 + 8 * c_stage, c_phase);
    return ring + c_stage * uint32_t(SB);
  }

  // Consumer: waits for the stage after the one wait_full returns (a consumer that keeps two
  // stages in flight), and returns its shared-memory address.
  __device__ uint32_t wait_full_next() const {
    const bool wrap = c_stage + 1 == uint32_t(S);
    const uint32_t s = wrap ? 0u : c_stage + 1;
    ptx::mbar_wait(full0 + 8 * s, wrap ? c_phase ^ 1u : c_phase);
    return ring + s * uint32_t(SB);
  }

  // Consumer: this warp is done with the stage wait_full returned; warp 0 then tops up.
  __device__ void release(int lane, bool producer) {
    release_only();
    if (producer) produce(lane);
  }

  // Consumer with a producer warp of its own: releases without topping up.
  __device__ void release_only() {
    if constexpr (kEveryLane) {
      ptx::mbar_arrive(empty0 + 8 * c_stage);
    } else {
      __syncwarp();
      if ((threadIdx.x & 31) == 0) ptx::mbar_arrive(empty0 + 8 * c_stage);
    }
    ++consumed;
    if (++c_stage == uint32_t(S)) {
      c_stage = 0;
      c_phase ^= 1u;
    }
  }
};

}  // namespace colmax::cuda::stream
