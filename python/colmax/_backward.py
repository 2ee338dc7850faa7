"""The MaxSim backward pass as one PyTorch operator, colmax::maxsim_backward.

Autograd of every forward layout (colmax._torch_ops) calls `maxsim_backward` below; it is an
operator too, so torch.compile traces the backward graph and CUDA graphs capture it. The
gradients come from the native backward of the C++ library (colmax/backward.hpp); a build
without it raises NotImplementedError here, and only here.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import _C

LAYOUTS = {"padded": 0, "pairs": 1, "packed": 2, "packed_pairs": 3}


def available() -> bool:
    """Whether this build of colmax has the native backward pass."""
    return hasattr(_C, "maxsim_backward")


def maxsim_backward(layout: str, grad: Tensor, Q: Tensor, D: Tensor, q_mask, d_mask, cu_q,
                    cu_d, pair_q, pair_d, options: tuple, need_q: bool, need_d: bool):
    """(grad_Q, grad_D) of the scores of one forward call, given the gradient of its scores.
    `options` are the forward's (mask_mode, normalize, fp32_precision, backend, num_threads,
    backward strategy) codes."""
    return torch.ops.colmax.maxsim_backward(grad, Q, D, q_mask, d_mask, cu_q, cu_d, pair_q,
                                            pair_d, LAYOUTS[layout], *options, need_q, need_d)


def _grad_shapes(Q: Tensor, D: Tensor, need_q: bool, need_d: bool):
    return (Q.shape if need_q else (0,)), (D.shape if need_d else (0,))


@torch.library.custom_op("colmax::maxsim_backward", mutates_args=())
def backward_op(grad: Tensor, Q: Tensor, D: Tensor, q_mask: Optional[Tensor],
                d_mask: Optional[Tensor], cu_seqlens_q: Optional[Tensor],
                cu_seqlens_d: Optional[Tensor], pair_q: Optional[Tensor],
                pair_d: Optional[Tensor], layout: int, mask_mode: int, normalize: bool,
                fp32_precision: int, backend: int, num_threads: int, strategy: int,
                need_q: bool, need_d: bool) -> tuple[Tensor, Tensor]:
    if not available():
        raise NotImplementedError(
            "colmax: this build has no MaxSim backward pass; gradients need a colmax built "
            "with colmax/backward.hpp")
    from ._torch_ops import _stream

    shape_q, shape_d = _grad_shapes(Q, D, need_q, need_d)
    grad_q = torch.empty(shape_q, dtype=Q.dtype, device=Q.device)
    grad_d = torch.empty(shape_d, dtype=D.dtype, device=D.device)
    _C.maxsim_backward(layout, grad.contiguous(), Q, D, q_mask, d_mask, cu_seqlens_q,
                       cu_seqlens_d, pair_q, pair_d, grad_q if need_q else None,
                       grad_d if need_d else None, mask_mode, normalize, fp32_precision,
                       backend, num_threads, strategy, _stream(Q))
    return grad_q, grad_d


@backward_op.register_fake
def _(grad, Q, D, q_mask, d_mask, cu_q, cu_d, pair_q, pair_d, layout, mask_mode, normalize,
      fp32_precision, backend, num_threads, strategy, need_q, need_d):
    shape_q, shape_d = _grad_shapes(Q, D, need_q, need_d)
    return Q.new_empty(shape_q), D.new_empty(shape_d)
