"""Output shapes of each layout, from input shapes alone (works on fake tensors too).
Where the ranks are wrong the shape is a placeholder: the native validation then reports the
rank error with its own message."""

from __future__ import annotations


def cross(Q, D):
    if Q.ndim != 3 or D.ndim not in (3, 4):
        return (0,)
    return (Q.shape[0], D.shape[0] if D.ndim == 3 else D.shape[1])


def pairs(Q, D):
    return (Q.shape[0],) if Q.ndim >= 1 else (0,)


def count(offsets) -> int:
    """Sequences described by cu_seqlens offsets [n + 1]."""
    return max(offsets.shape[0] - 1, 0) if offsets.ndim == 1 else 0


def packed(cu_q, cu_d):
    return (count(cu_q), count(cu_d))


def pair_list(pair_q):
    return (pair_q.shape[0],) if pair_q.ndim == 1 else (0,)


def topk(Q, D, cu_d, n):
    return (Q.shape[0] if Q.ndim == 3 else 0, n)


def num_documents(D, cu_d) -> int:
    return D.shape[0] if cu_d is None else count(cu_d)
