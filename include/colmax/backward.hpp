// colmax/backward.hpp — MaxSim gradients for training, for every layout.
//
// Two calls per layout, so that any framework can wire its autograd:
//   *_forward   the scores of maxsim.hpp plus the saved state (the winners, below);
//   *_backward  dL/dQ and dL/dD from dL/dscores, Q, D and the saved winners.
// Arguments come in the order of maxsim.hpp and take the same Masks and Options; outputs are
// allocated by the caller. Nothing of size [Nq, Nd, Lq, Ld] is ever written: training needs
// memory for the inputs, the scores and (optionally) the winners only.
//
// ## The gradient
//   score(q, d) = sum over valid query tokens t of max over document tokens s of <Q[t], D[s]>
// The max passes its gradient to one document token, the query token's *winner* w(t):
//   grad_Q[q][t]    = sum over scored pairs (q, d) of g(q, d) * D_d[w_qd(t)]
//   grad_D[d][s]    = sum over scored pairs (q, d) and tokens t with w_qd(t) = s of
//                     g(q, d) * Q_q[t]
// where g = grad_out, the gradient of the loss with respect to the scores. All sums are in
// fp32; the gradients are written in the dtype of their input (fp32, fp16 or bf16).
//
// ## The winner rule (every backend)
// - Among document tokens of equal, maximal similarity the FIRST (lowest position) wins.
//   (PyTorch's amax splits the gradient among ties; colmax never does.)
// - NaN ranks above every number: when a query token's similarities hold a NaN, the first NaN
//   wins, so the NaN reaches the gradients as it reached the score.
// - MaskMode::exclude: masked document tokens never win; a query token with no valid document
//   token has no winner.
// - MaskMode::zero: every masked document position takes part in the max with similarity 0,
//   under the same first-position rule. When such a 0 wins (every valid similarity is below 0,
//   or a valid 0 sits at a later position than the first masked one), the query token has no
//   winner: its term is the constant 0 and contributes nothing to any gradient.
// - Masked query tokens have no winner.
// A query token without a winner contributes nothing. Masked tokens, and rows of packed
// tensors that belong to no sequence, receive exactly zero gradient.
//
// ## Fused normalisation (Options::normalize)
// Scores use Q^ = Q / |Q| and D^ = D / |D|. The backward applies the normalisation's
// Jacobian: with G the gradient with respect to the normalised token x^ = x / |x|,
//   grad_x = (G - x^ <x^, G>) / |x|.
// A zero vector is normalised to zero and gets zero gradient.
//
// ## Saved state: winners
// winners has the shape of the scores plus a trailing query-token axis, [*out.shape, W]:
//   cross [Nq, Nd, Lq], per-query candidates [Nq, K, Lq], pairs [B, Lq],
//   packed [Nq, Nd, W], pair list [P, W],
// row-major contiguous, int16 or int32 (see winners_dtype()). For padded layouts W = Lq; for
// packed layouts W is any width at least the longest query sequence. Entry [..., t] holds the
// position of query token t's winner inside its document (0-based, counting masked
// positions), or -1 when the token has no winner (and for t beyond the query's length).
//
// Memory of the saved state: (number of scores) x W x 2 bytes in int16 — e.g. 64 MiB for an
// in-batch step of B = 1,024 queries and documents with Lq = 32. Recomputing instead (pass an
// absent winners view to the backward) saves that memory and costs one more forward pass:
// the backward runs the forward internally and keeps the winners in scratch memory for the
// duration of the call. docs/training.md gives measured times and memory of both.
//
// Limits checked on the host: W must hold every query (W >= longest query) and int16 winners
// need every document shorter than 32,768 tokens. When packed offsets live on the GPU these
// are checked by the kernels instead: the score of a pair that does not fit is NaN (so it
// never passes silently) and its tokens beyond W get no gradient.
//
// ## Strategies and determinism
// The backward overwrites every element of grad_Q and grad_D. The CPU backward is always
// deterministic: bitwise identical results run after run and for any thread count. On CUDA,
// BackwardStrategy chooses between floating-point atomics (fast) and a fixed summation order
// (deterministic); see the enum. Gradients from different backends agree to rounding, not
// bitwise.
//
// Scratch memory (CUDA): Options::workspace when it is given and large enough, else colmax's
// cached per-device pool. Bad input throws colmax::Error naming the argument.
#pragma once

#include <cstdint>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax {

enum class BackwardStrategy : uint8_t {
  // Deterministic (on CUDA it was the faster of the two on every shape measured,
  // docs/training.md). Choose `deterministic` explicitly when reproducibility must not depend
  // on this choice.
  automatic,
  // Allows floating-point atomics (the last bits may then differ between runs). The current
  // CUDA and CPU kernels sum in a fixed order either way, so it gives the deterministic
  // results today.
  fast,
  // Bitwise identical gradients run after run: every gradient row is owned by one thread
  // group and summed in a fixed order; no floating-point atomics.
  deterministic,
};

// The smallest winners dtype for documents of up to `max_document_length` tokens: int16 when
// every position fits (max_document_length <= 32,768), else int32.
DType winners_dtype(int64_t max_document_length) noexcept;

// ---- forward with saved state --------------------------------------------------------------
// The same scores as maxsim.hpp (same arguments), plus winners [*out.shape, W]. Pass the same
// masks and options (mask mode, normalize) to the backward.

// Cross product Q [Nq, Lq, dim] x D [Nd, Ld, dim] -> out [Nq, Nd], winners [Nq, Nd, Lq];
// per-query candidates D [Nq, K, Ld, dim] -> out [Nq, K], winners [Nq, K, Lq].
void maxsim_forward(const TensorView& Q, const TensorView& D, const TensorView& out,
                    const TensorView& winners, const Masks& masks = {},
                    const Options& options = {});

// Pairs Q [B, Lq, dim] x D [B, Ld, dim] -> out [B], winners [B, Lq].
void maxsim_pairs_forward(const TensorView& Q, const TensorView& D, const TensorView& out,
                          const TensorView& winners, const Masks& masks = {},
                          const Options& options = {});

// Packed -> out [Nq, Nd], winners [Nq, Nd, W].
void maxsim_packed_forward(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                           const TensorView& cu_seqlens_d, const TensorView& out,
                           const TensorView& winners, const Masks& masks = {},
                           const Options& options = {});

// Pair list over packed sequences -> out [P], winners [P, W].
void maxsim_packed_pairs_forward(const TensorView& Q, const TensorView& cu_seqlens_q,
                                 const TensorView& D, const TensorView& cu_seqlens_d,
                                 const TensorView& pair_q, const TensorView& pair_d,
                                 const TensorView& out, const TensorView& winners,
                                 const Masks& masks = {}, const Options& options = {});

// ---- backward --------------------------------------------------------------------------------
// grad_out: float32 with the scores' shape (any strides, 0 included, so an expanded gradient
// works). winners: from the matching *_forward with the same inputs, masks and options, or
// absent to recompute them. grad_Q / grad_D: the shape and dtype of Q / D (last dimension
// contiguous, other strides free), overwritten; an absent one is not computed (at least one
// must be given).

void maxsim_backward(const TensorView& Q, const TensorView& D, const TensorView& grad_out,
                     const TensorView& winners, const TensorView& grad_Q, const TensorView& grad_D,
                     const Masks& masks = {}, const Options& options = {},
                     BackwardStrategy strategy = BackwardStrategy::automatic);

void maxsim_pairs_backward(const TensorView& Q, const TensorView& D, const TensorView& grad_out,
                           const TensorView& winners, const TensorView& grad_Q,
                           const TensorView& grad_D, const Masks& masks = {},
                           const Options& options = {},
                           BackwardStrategy strategy = BackwardStrategy::automatic);

void maxsim_packed_backward(const TensorView& Q, const TensorView& cu_seqlens_q,
                            const TensorView& D, const TensorView& cu_seqlens_d,
                            const TensorView& grad_out, const TensorView& winners,
                            const TensorView& grad_Q, const TensorView& grad_D,
                            const Masks& masks = {}, const Options& options = {},
                            BackwardStrategy strategy = BackwardStrategy::automatic);

void maxsim_packed_pairs_backward(const TensorView& Q, const TensorView& cu_seqlens_q,
                                  const TensorView& D, const TensorView& cu_seqlens_d,
                                  const TensorView& pair_q, const TensorView& pair_d,
                                  const TensorView& grad_out, const TensorView& winners,
                                  const TensorView& grad_Q, const TensorView& grad_D,
                                  const Masks& masks = {}, const Options& options = {},
                                  BackwardStrategy strategy = BackwardStrategy::automatic);

}  // namespace colmax
