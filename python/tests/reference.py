"""The MaxSim definition in float64 NumPy, and random inputs of every layout.

Every test compares colmax against these loops; they follow the README's semantics table
literally (mask modes, normalize, NaN, empty sequences), not colmax's code.
"""

from __future__ import annotations

import numpy as np

# Relative tolerances by input dtype (the project's bounds), against the score's magnitude.
RTOL = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 1e-2}


def _normalize(x):
    norm = np.sqrt((x * x).sum(-1, keepdims=True))
    return np.where(norm > 0, x / np.where(norm > 0, norm, 1), 0.0)


def score(q, d, q_mask=None, d_mask=None, *, mode="exclude", normalize=False):
    """One query [Lq, dim] against one document [Ld, dim] -> float (float64 maths)."""
    q = np.asarray(q, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    lq, ld = q.shape[0], d.shape[0]
    qm = np.ones(lq, bool) if q_mask is None else np.asarray(q_mask) != 0
    dm = np.ones(ld, bool) if d_mask is None else np.asarray(d_mask) != 0
    # Masked tokens are never read: blank them so a NaN there cannot leak.
    q = np.where(qm[:, None], q, 0.0)
    d = np.where(dm[:, None], d, 0.0)
    if normalize:
        q, d = _normalize(q), _normalize(d)
    total = 0.0
    for t in range(lq):
        if not qm[t]:
            continue
        sims = d @ q[t]
        if mode == "exclude":
            valid = sims[dm]
            total += valid.max() if valid.size else 0.0
        else:  # zero: a masked similarity is 0 and joins the max
            if ld:
                total += np.where(dm, sims, 0.0).max()
    return total


def scale(q, d, q_mask=None, d_mask=None, normalize=False):
    """The magnitude a score's rounding error is relative to: sum over query tokens of the
    largest |similarity| (plus one, so that scores near zero keep an absolute floor)."""
    q = np.nan_to_num(np.asarray(q, dtype=np.float64))
    d = np.nan_to_num(np.asarray(d, dtype=np.float64))
    if normalize:
        q, d = _normalize(q), _normalize(d)
    if q.shape[0] == 0 or d.shape[0] == 0:
        return 1.0
    return 1.0 + np.abs(q @ d.T).max(axis=1).sum()


def cross(Q, D, q_mask=None, d_mask=None, **kw):
    """[Nq, Nd] (D 3-D) or [Nq, K] (D 4-D), and the matching error scales."""
    Q, D = np.asarray(Q), np.asarray(D)
    kd = D.ndim == 4
    nq = Q.shape[0]
    ncols = D.shape[1] if kd else D.shape[0]
    out = np.zeros((nq, ncols))
    tol = np.zeros((nq, ncols))
    for i in range(nq):
        for j in range(ncols):
            doc = D[i, j] if kd else D[j]
            dm = None if d_mask is None else (d_mask[i, j] if kd else d_mask[j])
            qm = None if q_mask is None else q_mask[i]
            out[i, j] = score(Q[i], doc, qm, dm, **kw)
            tol[i, j] = scale(Q[i], doc, qm, dm, kw.get("normalize", False))
    return out, tol


def pairs(Q, D, q_mask=None, d_mask=None, **kw):
    n = len(Q)
    out = np.array([score(Q[b], D[b], None if q_mask is None else q_mask[b],
                          None if d_mask is None else d_mask[b], **kw) for b in range(n)])
    tol = np.array([scale(Q[b], D[b], normalize=kw.get("normalize", False)) for b in range(n)])
    return out.reshape(n), tol.reshape(n)


def split(packed, offsets):
    return [packed[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def packed(Q, cu_q, D, cu_d, q_mask=None, d_mask=None, pair_q=None, pair_d=None, **kw):
    qs, ds = split(Q, cu_q), split(D, cu_d)
    qms = [None] * len(qs) if q_mask is None else split(q_mask, cu_q)
    dms = [None] * len(ds) if d_mask is None else split(d_mask, cu_d)
    if pair_q is None:
        pairs_ = [(i, j) for i in range(len(qs)) for j in range(len(ds))]
        shape = (len(qs), len(ds))
    else:
        pairs_ = list(zip(pair_q, pair_d))
        shape = (len(pairs_),)
    out = np.array([score(qs[i], ds[j], qms[i], dms[j], **kw) for i, j in pairs_])
    tol = np.array([scale(qs[i], ds[j], normalize=kw.get("normalize", False))
                    for i, j in pairs_])
    return out.reshape(shape), tol.reshape(shape)


def assert_close(got, want, tol, dtype="float32"):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(np.isnan(got), np.isnan(want)), "NaN pattern differs"
    err = np.abs(np.nan_to_num(got) - np.nan_to_num(want))
    bound = RTOL[dtype] * tol
    worst = np.argmax(err - bound) if err.size else None
    assert (err <= bound).all(), (
        f"max error {err.flat[worst]:.3g} > {bound.flat[worst]:.3g} at {worst}: "
        f"got {got.flat[worst]!r}, want {want.flat[worst]!r}")


class Cases:
    """Random inputs: values of both signs, masks with holes, fully masked sequences."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def tokens(self, *shape):
        return self.rng.standard_normal(shape).astype(np.float32)

    def mask(self, *shape, p_valid=0.7, empty_rows=True):
        m = self.rng.random(shape) < p_valid
        if empty_rows and m.ndim >= 2 and m.shape[0] > 1 and m.shape[-1] > 0:
            m.reshape(-1, m.shape[-1])[0] = False  # one fully masked sequence
        return m

    def offsets(self, n, low, high):
        lengths = self.rng.integers(low, high + 1, size=n)
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
