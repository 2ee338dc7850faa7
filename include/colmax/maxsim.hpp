// colmax/maxsim.hpp — MaxSim scores for every layout.
//
//   score(q, d) = sum over query tokens t of max over document tokens s of <Q[t], D[s]>
//
// Inputs are float32, float16 or bfloat16 (query and documents may differ), accumulated in
// fp32; scores are float32. Strides on every dimension but the last (the embedding) are
// free. All tensors of one call live on one device; the call runs there (see Options::backend).
// CUDA calls are asynchronous on Options::stream. Bad input throws colmax::Error.
//
// NaN in a valid token makes NaN of every score that token takes part in. Masked tokens are
// never read, so padding may hold anything.
#pragma once

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax {

// Cross product:          Q [Nq, Lq, dim] x D [Nd, Ld, dim]     -> out [Nq, Nd]
// Per-query candidates:   Q [Nq, Lq, dim] x D [Nq, K, Ld, dim]  -> out [Nq, K]
//   masks: query [Nq, Lq]; document [Nd, Ld] or [Nq, K, Ld].
void maxsim(const TensorView& Q, const TensorView& D, const TensorView& out,
            const Masks& masks = {}, const Options& options = {});

// Pairs (the diagonal of the cross product): Q [B, Lq, dim] x D [B, Ld, dim] -> out [B]
void maxsim_pairs(const TensorView& Q, const TensorView& D, const TensorView& out,
                  const Masks& masks = {}, const Options& options = {});

// Packed (variable length) sequences, every query against every document:
//   Q tokens [Tq, dim] with cu_seqlens_q [Nq + 1], D tokens [Td, dim] with cu_seqlens_d
//   [Nd + 1] (int32 or int64, starting at 0, non-decreasing, ending at most at the token
//   count) -> out [Nq, Nd]. masks: query [Tq], document [Td].
void maxsim_packed(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                   const TensorView& cu_seqlens_d, const TensorView& out, const Masks& masks = {},
                   const Options& options = {});

// Pair list over packed sequences: out[p] = score(query pair_q[p], document pair_d[p]).
//   pair_q, pair_d [P] (int32 or int64) -> out [P].
void maxsim_packed_pairs(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                         const TensorView& cu_seqlens_d, const TensorView& pair_q,
                         const TensorView& pair_d, const TensorView& out, const Masks& masks = {},
                         const Options& options = {});

}  // namespace colmax
