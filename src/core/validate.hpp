// Turns the public arguments of each layout into a validated Problem, or throws
// colmax::Error naming the argument, what was expected and what came. `out_name` names the
// scores argument in messages ("grad_out" when the backward validates its incoming gradient).
#pragma once

#include <cstdint>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"
#include "core/problem.hpp"

namespace colmax::detail {

// Q [Nq, Lq, dim] x D [Nd, Ld, dim] -> [Nq, Nd], or D [Nq, K, Ld, dim] -> [Nq, K].
void build_padded(Problem& p, const char* fn, const TensorView& Q, const TensorView& D,
                  const TensorView& out, const Masks& masks, const Options& options,
                  const char* out_name = "out");

// Q [B, Lq, dim] x D [B, Ld, dim] -> [B].
void build_pairs(Problem& p, const char* fn, const TensorView& Q, const TensorView& D,
                 const TensorView& out, const Masks& masks, const Options& options,
                 const char* out_name = "out");

// Packed queries and documents; out [Nq, Nd], or [P] when pair_q / pair_d are present.
void build_packed(Problem& p, const char* fn, const TensorView& Q, const TensorView& cu_q,
                  const TensorView& D, const TensorView& cu_d, const TensorView& pair_q,
                  const TensorView& pair_d, const TensorView& out, const Masks& masks,
                  const Options& options, const char* out_name = "out");

// Top-k over padded (cu_d absent) or packed documents: fills p (cross pairing, out unset)
// and t (k clamped, outputs checked).
void build_topk(Problem& p, TopK& t, const char* fn, const TensorView& Q, const TensorView& D,
                const TensorView& cu_d, int64_t k, const TensorView& scores,
                const TensorView& indices, const Masks& masks, const Options& options);

// The backend a validated problem runs on (never Backend::automatic).
Backend resolve_backend(const Problem& p, const char* fn);

}  // namespace colmax::detail
