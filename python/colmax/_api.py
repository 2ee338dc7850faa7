"""The public functions. Names and keyword signatures follow late-interaction-kernels 0.4.5
where it has the function, so that porting code is one import change; colmax adds
`mask_mode`, `fp32_precision`, `num_threads` and `backend` keywords.

Arrays of any framework go in (NumPy, PyTorch, CuPy, JAX) and arrays of the same framework
come out, on the same device. PyTorch tensors go through the torch.ops.colmax operators
(autograd, torch.compile, CUDA graphs); everything else calls the native code directly.
"""

from __future__ import annotations

from . import _C, _options, _shapes
from ._arrays import framework_of

_torch_ops = None  # colmax._torch_ops, imported on the first PyTorch call


def _ops():
    global _torch_ops
    if _torch_ops is None:
        from . import _torch_ops as module

        _torch_ops = module
    return _torch_ops


def _check_backward(backward):
    """late-interaction-kernels rejects an unknown `backward=` even when no gradient is taken."""
    if backward is not None:
        _options.backward_strategy(backward)


def _train(layout, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, opts, backward):
    """Differentiable scores (PyTorch inputs that require grad)."""
    from . import _backward

    return _backward.train(layout, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask, opts,
                           _options.backward_strategy(backward))


def _run(fw, native, shape, like, arrays, opts):
    """Allocate out like `like`, let the native function fill it, hand it back."""
    out = fw.empty(shape, "float32", like)
    fw.ready(arrays)
    native(*arrays[:-2], out, *arrays[-2:], *opts, fw.stream(like))
    return fw.finish(out, like)


def _lift(x, mask):
    """A single sequence [L, dim] (mask [L]) as a batch of one."""
    return x[None], (mask[None] if mask is not None and mask.ndim == 1 else mask)


def maxsim(Q, D, q_mask=None, d_mask=None, *, normalize=False, backward=None,
           mask_mode="exclude", fp32_precision="exact", num_threads=0, backend="auto"):
    """MaxSim scores, fp32: the sum over query tokens of the best dot product with a document
    token.

    Q: [Nq, Lq, dim] or [Lq, dim]. D: [Nd, Ld, dim] (cross product -> [Nq, Nd]),
    [Nq, K, Ld, dim] (per-query candidates -> [Nq, K]) or [Ld, dim] (one document). A 2-D
    Q or D drops the matching output dimension. q_mask [Nq, Lq], d_mask [Nd, Ld] or
    [Nq, K, Ld]: any dtype, non-zero = valid, any pattern (holes too).

    mask_mode: "exclude" (masked document tokens never win; an all-masked document scores 0)
    or "zero" (PyLate: a masked similarity is 0 and joins the max). normalize: fused L2
    normalisation of every token. fp32_precision: "exact" or "tf32" (fp32 inputs on
    tensor-core GPUs). backward: gradient strategy, "auto", "fast" or "deterministic"
    (LIK's "unified" and "lowmem" map to the last two). PyTorch inputs are differentiable.
    """
    fw = framework_of(Q)
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    _check_backward(backward)
    q_single = Q.ndim == 2
    d_single = D.ndim == 2
    if q_single:
        Q, q_mask = _lift(Q, q_mask)
    if d_single:
        D, d_mask = _lift(D, d_mask)
    if fw.name == "torch":
        ops = _ops()
        if ops.direct(Q, D):
            out = ops.maxsim_impl(Q, D, q_mask, d_mask, *opts)
        elif ops.needs_grad(Q, D):
            out = _train("padded", Q, D, None, None, None, None, q_mask, d_mask, opts, backward)
        else:
            out = ops.maxsim_op(Q, D, q_mask, d_mask, *opts)
    else:
        out = _run(fw, _C.maxsim, _shapes.cross(Q, D), Q, (Q, D, q_mask, d_mask), opts)
    if q_single and d_single:
        return out.reshape(())
    if q_single:
        return out[0]
    if d_single:
        return out[:, 0]
    return out


def maxsim_pairs(Q, D, q_mask=None, d_mask=None, *, normalize=False, backward=None,
                 mask_mode="exclude", fp32_precision="exact", num_threads=0, backend="auto"):
    """Paired MaxSim: score(Q[b], D[b]) for Q [B, Lq, dim], D [B, Ld, dim] -> [B] fp32."""
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    _check_backward(backward)
    fw = framework_of(Q)
    if fw.name == "torch":
        ops = _ops()
        if ops.direct(Q, D):
            return ops.pairs_impl(Q, D, q_mask, d_mask, *opts)
        if ops.needs_grad(Q, D):
            return _train("pairs", Q, D, None, None, None, None, q_mask, d_mask, opts, backward)
        return ops.pairs_op(Q, D, q_mask, d_mask, *opts)
    return _run(fw, _C.maxsim_pairs, _shapes.pairs(Q, D), Q, (Q, D, q_mask, d_mask), opts)


def maxsim_varlen(Q_packed, D_packed, cu_seqlens_q, cu_seqlens_d, max_seqlen_q=None,
                  max_seqlen_d=None, *, q_mask=None, d_mask=None, normalize=False,
                  backward=None, mask_mode="exclude", fp32_precision="exact", num_threads=0,
                  backend="auto"):
    """MaxSim over packed sequences, every query against every document -> [Nq, Nd] fp32.

    Q_packed [Tq, dim] with cu_seqlens_q [Nq + 1], D_packed [Td, dim] with cu_seqlens_d
    [Nd + 1] (int32 or int64 offsets). max_seqlen_q / max_seqlen_d are accepted for
    compatibility and not needed. Masks: q_mask [Tq], d_mask [Td].
    """
    del max_seqlen_q, max_seqlen_d
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    _check_backward(backward)
    fw = framework_of(Q_packed)
    args = (Q_packed, cu_seqlens_q, D_packed, cu_seqlens_d, q_mask, d_mask)
    if fw.name == "torch":
        ops = _ops()
        if ops.direct(Q_packed, D_packed):
            return ops.packed_impl(*args, *opts)
        if ops.needs_grad(Q_packed, D_packed):
            return _train("packed", Q_packed, D_packed, cu_seqlens_q, cu_seqlens_d, None, None,
                          q_mask, d_mask, opts, backward)
        return ops.packed_op(*args, *opts)
    return _run(fw, _C.maxsim_packed, _shapes.packed(cu_seqlens_q, cu_seqlens_d), Q_packed,
                args, opts)


def maxsim_packed_pairs(Q_packed, D_packed, cu_seqlens_q, cu_seqlens_d, pair_q_idx,
                        pair_d_idx, max_seqlen_q=None, max_seqlen_d=None, *, q_mask=None,
                        d_mask=None, normalize=False, backward=None, mask_mode="exclude",
                        fp32_precision="exact", num_threads=0, backend="auto"):
    """Pair list over packed sequences: out[p] = score(query pair_q_idx[p], document
    pair_d_idx[p]) -> [P] fp32 (LIK: late_interaction_kernels.score_pairs.score_pairs_packed).
    """
    del max_seqlen_q, max_seqlen_d
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    _check_backward(backward)
    fw = framework_of(Q_packed)
    args = (Q_packed, cu_seqlens_q, D_packed, cu_seqlens_d, pair_q_idx, pair_d_idx, q_mask,
            d_mask)
    if fw.name == "torch":
        ops = _ops()
        if ops.direct(Q_packed, D_packed):
            return ops.packed_pairs_impl(*args, *opts)
        if ops.needs_grad(Q_packed, D_packed):
            return _train("packed_pairs", Q_packed, D_packed, cu_seqlens_q, cu_seqlens_d,
                          pair_q_idx, pair_d_idx, q_mask, d_mask, opts, backward)
        return ops.packed_pairs_op(*args, *opts)
    return _run(fw, _C.maxsim_packed_pairs, _shapes.pair_list(pair_q_idx), Q_packed, args,
                opts)


score_pairs_packed = maxsim_packed_pairs


def _length_mask(fw, lengths, size, like, validate, name):
    if validate and bool(((lengths < 0) | (lengths > size)).any()):
        raise ValueError(f"colmax.maxsim_padded: {name}: expected lengths in [0, {size}]")
    return fw.arange(size, like) < lengths[..., None]


def maxsim_padded(queries, documents, query_lengths, doc_lengths, *, validate=False,
                  normalize=False, backward=None, mask_mode="exclude", fp32_precision="exact",
                  num_threads=0, backend="auto"):
    """Reranking candidates given as right-padded tensors: queries [B, Lq, dim] with
    query_lengths [B], documents [B, C, Ld, dim] with doc_lengths [B, C] -> [B, C] fp32.
    Tokens past a sequence's length are never read."""
    fw = framework_of(queries)
    q_mask = _length_mask(fw, query_lengths, queries.shape[-2], queries, validate,
                          "query_lengths")
    d_mask = _length_mask(fw, doc_lengths, documents.shape[-2], queries, validate,
                          "doc_lengths")
    return maxsim(queries, documents, q_mask, d_mask, normalize=normalize, backward=backward,
                  mask_mode=mask_mode, fp32_precision=fp32_precision,
                  num_threads=num_threads, backend=backend)


def _retrieve(Q, D, cu_seqlens_d, top_k, q_mask, d_mask, opts):
    fw = framework_of(Q)
    q_single = Q.ndim == 2
    if q_single:
        Q, q_mask = _lift(Q, q_mask)
    if D.ndim == 2 and cu_seqlens_d is None:
        D, d_mask = _lift(D, d_mask)
    if fw.name == "torch":
        ops = _ops()
        args = (Q, D, cu_seqlens_d, top_k, q_mask, d_mask, *opts)
        scores, indices = (ops.retrieve_impl(*args) if ops.direct(Q, D)
                           else ops.retrieve_op(*args))
    else:
        shape = _shapes.topk(Q, D, cu_seqlens_d,
                             _C.retrieve_count(top_k, _shapes.num_documents(D, cu_seqlens_d)))
        scores = fw.empty(shape, "float32", Q)
        indices = fw.empty(shape, "int64", Q)
        fw.ready((Q, D, cu_seqlens_d, q_mask, d_mask))
        _C.retrieve(Q, D, cu_seqlens_d, top_k, scores, indices, q_mask, d_mask, *opts,
                    fw.stream(Q))
        scores, indices = fw.finish(scores, Q), fw.finish(indices, Q)
    if q_single:
        return scores[0], indices[0]
    return scores, indices


def _smallest(scores, k):
    """Ascending top-k of a full score matrix (the fused top-k keeps the largest)."""
    if framework_of(scores).name == "torch":
        return scores.topk(min(k, scores.shape[-1]), dim=-1, largest=False)
    order = scores.argsort(axis=-1, kind="stable")[..., :k]
    import numpy as np

    return np.take_along_axis(scores, order, axis=-1), order.astype("int64")


def retrieve(Q, D, top_k, q_mask=None, d_mask=None, *, normalize=True, chunk=None,
             largest=True, sorted=True, mask_mode="exclude", fp32_precision="exact",
             num_threads=0, backend="auto"):
    """Top-k documents per query, best first: (scores [Nq, n] fp32, indices [Nq, n] int64)
    with n = min(top_k, Nd) ([n] each when Q is 2-D). Ties go to the lower index; NaN ranks
    first. Memory stays bounded whatever Nd, so `chunk` is accepted and not needed; results
    are always sorted. No autograd."""
    del chunk, sorted
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    if not largest:
        scores = maxsim(Q, D, q_mask, d_mask, normalize=normalize, mask_mode=mask_mode,
                        fp32_precision=fp32_precision, num_threads=num_threads,
                        backend=backend)
        return _smallest(scores, top_k)
    return _retrieve(Q, D, None, top_k, q_mask, d_mask, opts)


def retrieve_packed(Q, D_packed, cu_seqlens_d, top_k, q_mask=None, d_mask=None, *,
                    normalize=True, mask_mode="exclude", fp32_precision="exact",
                    num_threads=0, backend="auto"):
    """retrieve() over a packed corpus: D_packed [Td, dim] with cu_seqlens_d [Nd + 1]."""
    opts = _options.encode(mask_mode, normalize, fp32_precision, backend, num_threads)
    return _retrieve(Q, D_packed, cu_seqlens_d, top_k, q_mask, d_mask, opts)
