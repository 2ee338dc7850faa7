"""Training: MaxSim with gradients, as two PyTorch operators.

    colmax::maxsim_train     scores, plus the winners the backward needs (autograd registered)
    colmax::maxsim_backward  grad_Q, grad_D from the gradient of the scores

Both are torch.library custom ops with fake implementations, so torch.compile traces the
forward and the backward graph and CUDA graphs capture them; eager calls on plain tensors run
the same implementations through a torch.autograd.Function, skipping the dispatcher. Every
differentiable layout goes through `train` below, and every gradient through
`_backward_impl`.

Saved state: for the padded layouts (cross product, per-query candidates, pairs) the forward
saves each query token's winning document position (int16 when documents are shorter than
32,768 tokens: scores x Lq x 2 bytes). The packed layouts save nothing and the backward
recomputes the winners (one more forward pass), since their winner width depends on the data.
Gradients come from the native backward (colmax/backward.hpp); a build without it raises
NotImplementedError when a gradient is asked for, and only then.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import _C, _shapes

LAYOUTS = {"padded": 0, "pairs": 1, "packed": 2, "packed_pairs": 3}
_PADDED, _PAIRS, _PACKED, _PACKED_PAIRS = range(4)


def available() -> bool:
    """Whether this build of colmax has the native backward pass."""
    return hasattr(_C, "train_forward")


def _stream(t: Tensor) -> int:
    from ._torch_ops import _stream as stream

    return stream(t)


def _scores_shape(layout, Q, D, cu_q, cu_d, pair_q):
    if layout == _PADDED:
        return _shapes.cross(Q, D)
    if layout == _PAIRS:
        return _shapes.pairs(Q, D)
    if layout == _PACKED:
        return _shapes.packed(cu_q, cu_d)
    return _shapes.pair_list(pair_q)


def _saves_winners(layout) -> bool:
    return layout in (_PADDED, _PAIRS) and available()


def _winners_spec(layout, Q, D, scores_shape):
    """(shape, dtype) of the saved winners; packed layouts save none (recomputed)."""
    if not _saves_winners(layout):
        return (0,), torch.int16
    lq = Q.shape[-2] if Q.ndim >= 2 else 0
    ld = D.shape[-2] if D.ndim >= 2 else 0
    dtype = torch.int16 if _C.winners_dtype_code(ld) == 9 else torch.int32
    return (*scores_shape, lq), dtype


def _unavailable():
    return NotImplementedError(
        "colmax: this build has no MaxSim backward pass (colmax/backward.hpp); gradients "
        "need a colmax built with it")


def _forward_impl(Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d, q_mask, d_mask, layout,
                  mask_mode, normalize, fp32_precision, backend, num_threads, strategy):
    shape = _scores_shape(layout, Q, D, cu_seqlens_q, cu_seqlens_d, pair_q)
    scores = torch.empty(shape, dtype=torch.float32, device=Q.device)
    winners_shape, winners_dtype = _winners_spec(layout, Q, D, shape)
    winners = torch.empty(winners_shape, dtype=winners_dtype, device=Q.device)
    options = (mask_mode, normalize, fp32_precision, backend, num_threads, _stream(Q))
    if _saves_winners(layout):
        _C.train_forward(layout, Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d, scores,
                         winners, q_mask, d_mask, *options)
    elif layout == _PADDED:  # no backward in this build: it raises if a gradient is asked
        _C.maxsim(Q, D, scores, q_mask, d_mask, *options)
    elif layout == _PAIRS:
        _C.maxsim_pairs(Q, D, scores, q_mask, d_mask, *options)
    elif layout == _PACKED:  # winners recomputed by the backward
        _C.maxsim_packed(Q, cu_seqlens_q, D, cu_seqlens_d, scores, q_mask, d_mask, *options)
    else:
        _C.maxsim_packed_pairs(Q, cu_seqlens_q, D, cu_seqlens_d, pair_q, pair_d, scores,
                               q_mask, d_mask, *options)
    return scores, winners


@torch.library.custom_op("colmax::maxsim_train", mutates_args=())
def train_op(Q: Tensor, D: Tensor, cu_seqlens_q: Optional[Tensor],
             cu_seqlens_d: Optional[Tensor], pair_q: Optional[Tensor], pair_d: Optional[Tensor],
             q_mask: Optional[Tensor], d_mask: Optional[Tensor], layout: int, mask_mode: int,
             normalize: bool, fp32_precision: int, backend: int, num_threads: int,
             strategy: int) -> tuple[Tensor, Tensor]:
    return _forward_impl(Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d, q_mask, d_mask,
                         layout, mask_mode, normalize, fp32_precision, backend, num_threads,
                         strategy)


@train_op.register_fake
def _(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, layout, *options):
    shape = _scores_shape(layout, Q, D, cu_q, cu_d, pair_q)
    winners_shape, winners_dtype = _winners_spec(layout, Q, D, shape)
    return (Q.new_empty(shape, dtype=torch.float32),
            Q.new_empty(winners_shape, dtype=winners_dtype))


def _setup_context(ctx, inputs, output):
    Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, layout, *options = inputs
    ctx.save_for_backward(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, output[1])
    ctx.layout = layout
    ctx.options = tuple(options)  # mask_mode, normalize, fp32_precision, backend, threads,
    #                               strategy
    ctx.mark_non_differentiable(output[1])


def _gradients(ctx, grad_scores, backward):
    """The gradients of the 15 inputs of a training forward, through `backward` (the
    operator when tracing, its implementation in eager mode)."""
    Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, winners = ctx.saved_tensors
    need_q, need_d = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    if not (need_q or need_d):
        return (None,) * 15
    saved = winners if _saves_winners(ctx.layout) else None
    grad_q, grad_d = backward(grad_scores, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask,
                              saved, ctx.layout, *ctx.options, need_q, need_d)
    return (grad_q if need_q else None, grad_d if need_d else None) + (None,) * 13


def _train_backward(ctx, grad_scores, _grad_winners):
    return _gradients(ctx, grad_scores, backward_op)


train_op.register_autograd(_train_backward, setup_context=_setup_context)


class _EagerTrain(torch.autograd.Function):
    """The same forward and backward as the operators, without the dispatcher: eager calls on
    plain tensors take this road (a fraction of the per-call overhead)."""

    @staticmethod
    def forward(ctx, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, layout, *options):
        scores, winners = _forward_impl(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask,
                                        layout, *options)
        ctx.save_for_backward(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, winners)
        ctx.layout, ctx.options = layout, options
        return scores

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_scores):
        return _gradients(ctx, grad_scores, _backward_impl)


def train(layout: str, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, options: tuple,
          strategy: int) -> Tensor:
    """Differentiable scores of one layout; options are the forward's five native codes."""
    from ._torch_ops import plain_eager

    if plain_eager(Q, D):
        return _EagerTrain.apply(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask,
                                 LAYOUTS[layout], *options, strategy)
    scores, _ = train_op(Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, LAYOUTS[layout],
                         *options, strategy)
    return scores


def _grad_shapes(Q, D, need_q, need_d):
    return (Q.shape if need_q else (0,)), (D.shape if need_d else (0,))


def _backward_impl(grad_scores, Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d, q_mask,
                   d_mask, winners, layout, mask_mode, normalize, fp32_precision, backend,
                   num_threads, strategy, need_q, need_d):
    """(grad_Q, grad_D) of one forward call given the gradient of its scores, from the
    native backward: the one place gradients come from."""
    if not available():
        raise _unavailable()
    shape_q, shape_d = _grad_shapes(Q, D, need_q, need_d)
    grad_q = torch.empty(shape_q, dtype=Q.dtype, device=Q.device)
    grad_d = torch.empty(shape_d, dtype=D.dtype, device=D.device)
    _C.train_backward(layout, Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d,
                      grad_scores.float(), winners, grad_q if need_q else None,
                      grad_d if need_d else None, q_mask, d_mask, mask_mode, normalize,
                      fp32_precision, backend, num_threads, strategy, _stream(Q))
    return grad_q, grad_d


@torch.library.custom_op("colmax::maxsim_backward", mutates_args=())
def backward_op(grad_scores: Tensor, Q: Tensor, D: Tensor, cu_seqlens_q: Optional[Tensor],
                cu_seqlens_d: Optional[Tensor], pair_q: Optional[Tensor],
                pair_d: Optional[Tensor], q_mask: Optional[Tensor], d_mask: Optional[Tensor],
                winners: Optional[Tensor], layout: int, mask_mode: int, normalize: bool,
                fp32_precision: int, backend: int, num_threads: int, strategy: int,
                need_q: bool, need_d: bool) -> tuple[Tensor, Tensor]:
    return _backward_impl(grad_scores, Q, D, cu_seqlens_q, cu_seqlens_d, pair_q, pair_d,
                          q_mask, d_mask, winners, layout, mask_mode, normalize,
                          fp32_precision, backend, num_threads, strategy, need_q, need_d)


@backward_op.register_fake
def _(grad_scores, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, winners, layout,
      mask_mode, normalize, fp32_precision, backend, num_threads, strategy, need_q, need_d):
    shape_q, shape_d = _grad_shapes(Q, D, need_q, need_d)
    return Q.new_empty(shape_q), D.new_empty(shape_d)
