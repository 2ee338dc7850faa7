"""PyTorch operators for scoring: torch.library custom ops with fake (meta) implementations.

Every layout is one operator in the `colmax` namespace (torch.ops.colmax.*), so
torch.compile(fullgraph=True) traces through them and CUDA graphs capture them. Work runs on
the current CUDA stream of the input's device. Options travel as the integer codes of
colmax._options. Calls that need gradients go through colmax._backward instead.

Eager calls that need no gradient skip the dispatcher and call the native function
directly: same result, less per-call overhead.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import _C, _backward, _shapes

# Tensors reach the native code through their attributes rather than DLPack (cheaper per
# call); the codes are colmax::DType's order.
_C.register_torch(torch.Tensor, [
    (torch.float32, 0), (torch.float16, 1), (torch.bfloat16, 2), (torch.float64, 3),
    (torch.bool, 4), (torch.uint8, 5), (torch.int8, 6), (torch.int32, 7), (torch.int64, 8),
] + ([(torch.int16, 9)] if _backward.available() else []))  # int16: saved winners

_raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)
_transforms_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: False)
_is_compiling = torch.compiler.is_compiling


def _stream(t: Tensor) -> int:
    """The current CUDA stream of t's device (0 for CPU tensors), without building a device
    or Stream object."""
    if not t.is_cuda:
        return 0
    if _raw_stream is not None:
        return _raw_stream(t.get_device())
    return torch.cuda.current_stream(t.device).cuda_stream


def needs_grad(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def plain_eager(*tensors: Tensor) -> bool:
    """True when a call may skip the dispatcher: plain tensors, not tracing (torch.compile,
    export, functorch transforms)."""
    for t in tensors:
        if type(t) is not Tensor:
            return False
    return not _is_compiling() and not _transforms_active()


def direct(*tensors: Tensor) -> bool:
    """True when an eager call needs neither the dispatcher nor autograd."""
    return plain_eager(*tensors) and not needs_grad(*tensors)


# ---- implementations: allocate in torch, write through colmax._C --------------------------


def maxsim_impl(Q, D, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend, threads):
    out = Q.new_empty(_shapes.cross(Q, D), dtype=torch.float32)
    _C.maxsim(Q, D, out, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend,
              threads, _stream(Q))
    return out


def pairs_impl(Q, D, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend, threads):
    out = Q.new_empty(_shapes.pairs(Q, D), dtype=torch.float32)
    _C.maxsim_pairs(Q, D, out, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend,
                    threads, _stream(Q))
    return out


def packed_impl(Q, cu_q, D, cu_d, q_mask, d_mask, mask_mode, normalize, fp32_precision,
                backend, threads):
    out = Q.new_empty(_shapes.packed(cu_q, cu_d), dtype=torch.float32)
    _C.maxsim_packed(Q, cu_q, D, cu_d, out, q_mask, d_mask, mask_mode, normalize,
                     fp32_precision, backend, threads, _stream(Q))
    return out


def packed_pairs_impl(Q, cu_q, D, cu_d, pair_q, pair_d, q_mask, d_mask, mask_mode, normalize,
                      fp32_precision, backend, threads):
    out = Q.new_empty(_shapes.pair_list(pair_q), dtype=torch.float32)
    _C.maxsim_packed_pairs(Q, cu_q, D, cu_d, pair_q, pair_d, out, q_mask, d_mask, mask_mode,
                           normalize, fp32_precision, backend, threads, _stream(Q))
    return out


def retrieve_impl(Q, D, cu_d, k, q_mask, d_mask, mask_mode, normalize, fp32_precision,
                  backend, threads):
    shape = _shapes.topk(Q, D, cu_d, _C.retrieve_count(k, _shapes.num_documents(D, cu_d)))
    scores = torch.empty(shape, dtype=torch.float32, device=Q.device)
    indices = torch.empty(shape, dtype=torch.int64, device=Q.device)
    _C.retrieve(Q, D, cu_d, k, scores, indices, q_mask, d_mask, mask_mode, normalize,
                fp32_precision, backend, threads, _stream(Q))
    return scores, indices


# ---- the operators ------------------------------------------------------------------------

@torch.library.custom_op("colmax::maxsim", mutates_args=())
def maxsim_op(Q: Tensor, D: Tensor, q_mask: Optional[Tensor], d_mask: Optional[Tensor],
              mask_mode: int, normalize: bool, fp32_precision: int, backend: int,
              num_threads: int) -> Tensor:
    return maxsim_impl(Q, D, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend,
                       num_threads)


@maxsim_op.register_fake
def _(Q, D, q_mask, d_mask, *options):
    return Q.new_empty(_shapes.cross(Q, D), dtype=torch.float32)


@torch.library.custom_op("colmax::maxsim_pairs", mutates_args=())
def pairs_op(Q: Tensor, D: Tensor, q_mask: Optional[Tensor], d_mask: Optional[Tensor],
             mask_mode: int, normalize: bool, fp32_precision: int, backend: int,
             num_threads: int) -> Tensor:
    return pairs_impl(Q, D, q_mask, d_mask, mask_mode, normalize, fp32_precision, backend,
                      num_threads)


@pairs_op.register_fake
def _(Q, D, q_mask, d_mask, *options):
    return Q.new_empty(_shapes.pairs(Q, D), dtype=torch.float32)


@torch.library.custom_op("colmax::maxsim_packed", mutates_args=())
def packed_op(Q: Tensor, cu_seqlens_q: Tensor, D: Tensor, cu_seqlens_d: Tensor,
              q_mask: Optional[Tensor], d_mask: Optional[Tensor], mask_mode: int,
              normalize: bool, fp32_precision: int, backend: int, num_threads: int) -> Tensor:
    return packed_impl(Q, cu_seqlens_q, D, cu_seqlens_d, q_mask, d_mask, mask_mode, normalize,
                       fp32_precision, backend, num_threads)


@packed_op.register_fake
def _(Q, cu_q, D, cu_d, q_mask, d_mask, *options):
    return Q.new_empty(_shapes.packed(cu_q, cu_d), dtype=torch.float32)


@torch.library.custom_op("colmax::maxsim_packed_pairs", mutates_args=())
def packed_pairs_op(Q: Tensor, cu_seqlens_q: Tensor, D: Tensor, cu_seqlens_d: Tensor,
                    pair_q: Tensor, pair_d: Tensor, q_mask: Optional[Tensor],
                    d_mask: Optional[Tensor], mask_mode: int, normalize: bool,
                    fp32_precision: int, backend: int, num_threads: int) -> Tensor:
    return packed_pairs_impl(Q, cu_seqlens_q, D, cu_seqlens_d, pair_q, pair_d, q_mask, d_mask,
                             mask_mode, normalize, fp32_precision, backend, num_threads)


@packed_pairs_op.register_fake
def _(Q, cu_q, D, cu_d, pair_q, pair_d, q_mask, d_mask, *options):
    return Q.new_empty(_shapes.pair_list(pair_q), dtype=torch.float32)


@torch.library.custom_op("colmax::retrieve", mutates_args=())
def retrieve_op(Q: Tensor, D: Tensor, cu_seqlens_d: Optional[Tensor], k: int,
                q_mask: Optional[Tensor], d_mask: Optional[Tensor], mask_mode: int,
                normalize: bool, fp32_precision: int, backend: int,
                num_threads: int) -> tuple[Tensor, Tensor]:
    return retrieve_impl(Q, D, cu_seqlens_d, k, q_mask, d_mask, mask_mode, normalize,
                         fp32_precision, backend, num_threads)


@retrieve_op.register_fake
def _(Q, D, cu_d, k, q_mask, d_mask, *options):
    shape = _shapes.topk(Q, D, cu_d, torch.sym_min(max(k, 0), _shapes.num_documents(D, cu_d)))
    return Q.new_empty(shape, dtype=torch.float32), Q.new_empty(shape, dtype=torch.int64)
