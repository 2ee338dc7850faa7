"""PyLate (1.4 to 1.6) on colmax.

    import colmax.integrations.pylate as colmax_pylate
    colmax_pylate.enable()     # every PyLate MaxSim call now runs on colmax
    colmax_pylate.disable()    # back to PyLate's own code

`enable()` replaces `colbert_scores`, `colbert_scores_pairwise`, `colbert_kd_scores` and
`ColBERTScores` wherever PyLate binds them: the scores module, `pylate.scores`, the
similarity functions, `rank`, the evaluators, the losses' module globals and the loss
constructors' default arguments. Losses built before `enable()` keep the score object they
were given; build them after, or pass a colmax score object yourself:

    losses.Contrastive(model, score_metric=colmax_pylate.ColBERTScores())
    losses.CachedContrastive(model, score_metric=colmax_pylate.ColBERTScores())
    losses.Distillation(model, score_metric=colmax_pylate.colbert_kd_scores)

The replacements follow PyLate's semantics: masks multiply the similarities (colmax mask
mode "zero"), the result dtype follows torch type promotion of the embeddings and masks, and
the `backend=` keyword (and PYLATE_SCORES_BACKEND) is accepted and ignored. They are
differentiable. COLMAX_DISABLE_INTEGRATIONS=1 makes `enable()` do nothing.
"""

from __future__ import annotations

import torch

from .. import _api
from . import _patch

_PATCH = _patch.Patch("pylate")

# Where PyLate binds its scoring functions (modules missing in a version are skipped).
_MODULES = (
    "pylate.scores",
    "pylate.scores.scores",  # PyLate <= 1.4
    "pylate.scores.colbert",  # PyLate >= 1.5
    "pylate.scores.similarity_functions",
    "pylate.rank",
    "pylate.rank.rank",
    "pylate.evaluation",
    "pylate.evaluation.colbert_distillation",
    "pylate.evaluation.colbert_triplet",
    "pylate.losses",
    "pylate.losses.contrastive",
    "pylate.losses.cached_contrastive",
    "pylate.losses.distillation",
)


def _tensor(x):
    """PyLate's own conversion of lists and NumPy arrays (so inputs are read as it reads them)."""
    if x is None or isinstance(x, torch.Tensor):
        return x
    from pylate.utils.tensor import convert_to_tensor

    return convert_to_tensor(x)


def _result_dtype(*tensors):
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        if t is not None:
            dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def colbert_scores(queries_embeddings, documents_embeddings, queries_mask=None,
                   documents_mask=None, backend=None):
    """PyLate's colbert_scores on colmax: Q [Nq, Lq, H] x D [Nd, Ld, H] -> [Nq, Nd]."""
    del backend
    Q, D = _tensor(queries_embeddings), _tensor(documents_embeddings)
    q_mask, d_mask = _tensor(queries_mask), _tensor(documents_mask)
    scores = _api.maxsim(Q, D, q_mask, d_mask, mask_mode="zero")
    return scores.to(_result_dtype(Q, D, q_mask, d_mask))


def colbert_kd_scores(queries_embeddings, documents_embeddings, queries_mask=None,
                      documents_mask=None, backend=None):
    """PyLate's colbert_kd_scores on colmax: Q [Nq, Lq, H] x D [Nq, K, Ld, H] -> [Nq, K]."""
    return colbert_scores(queries_embeddings, documents_embeddings, queries_mask,
                          documents_mask, backend)


def colbert_scores_pairwise(queries_embeddings, documents_embeddings, backend=None):
    """PyLate's colbert_scores_pairwise on colmax: score(Q[i], D[i]) -> [B]. Takes batched
    tensors or lists of sequences of different lengths (as the evaluators pass them)."""
    del backend
    if (isinstance(queries_embeddings, torch.Tensor) and queries_embeddings.ndim == 3
            and isinstance(documents_embeddings, torch.Tensor)
            and documents_embeddings.ndim == 3):
        Q, D = queries_embeddings, documents_embeddings
        return _api.maxsim_pairs(Q, D).to(_result_dtype(Q, D))
    queries = [_tensor(q) for q in queries_embeddings]
    documents = [_tensor(d) for d in documents_embeddings]
    n = min(len(queries), len(documents))  # PyLate zips the two lists
    if n == 0:
        return torch.stack([])  # PyLate's own error for empty input
    queries, documents = queries[:n], documents[:n]
    device = queries[0].device
    cu_q = _offsets(queries, device)
    cu_d = _offsets(documents, device)
    pairs = torch.arange(n, device=device)
    scores = _api.maxsim_packed_pairs(torch.cat(queries), torch.cat(documents), cu_q, cu_d,
                                      pairs, pairs)
    return scores.to(_result_dtype(queries[0], documents[0]))


def _offsets(sequences, device):
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    return torch.nn.functional.pad(lengths.cumsum(0), (1, 0)).to(device)


class ColBERTScores:
    """PyLate's ColBERTScores on colmax, one fused call for all document groups:
    Q [Bq, Lq, H] x D [B, N, Ld, H] (masks [B, N, Ld]) -> [Bq, B * N], query-major (the
    positive of query i at column i * N). A 3-D D is scored like colbert_scores, as PyLate
    1.4's losses pass one group at a time: so one object serves every PyLate version."""

    def __call__(self, queries_embeddings, documents_embeddings, queries_mask=None,
                 documents_mask=None, backend=None):
        D = _tensor(documents_embeddings)
        d_mask = _tensor(documents_mask)
        if D.ndim == 4:
            groups = D.shape[0] * D.shape[1]
            D = D.reshape(groups, *D.shape[2:])
            if d_mask is not None:
                d_mask = d_mask.reshape(groups, d_mask.shape[-1])
        return colbert_scores(queries_embeddings, D, queries_mask, d_mask, backend)


def enable() -> bool:
    """Routes PyLate's MaxSim through colmax. Returns False (and changes nothing) when
    COLMAX_DISABLE_INTEGRATIONS is set. Calling it twice is harmless."""
    if _patch.disabled_by_environment():
        return False
    if _PATCH.active:
        return True
    _PATCH.import_modules(_MODULES)
    import sys

    defining = sys.modules.get("pylate.scores.colbert") or sys.modules.get("pylate.scores.scores")
    if defining is None:
        raise ImportError("colmax: PyLate's scores module was not found (PyLate 1.4 to 1.6)")
    replacements = {
        defining.colbert_scores: colbert_scores,
        defining.colbert_kd_scores: colbert_kd_scores,
    }
    if hasattr(defining, "colbert_scores_pairwise"):
        replacements[defining.colbert_scores_pairwise] = colbert_scores_pairwise
    if hasattr(defining, "ColBERTScores"):
        replacements[defining.ColBERTScores] = ColBERTScores
    _PATCH.replace(replacements)
    return True


def disable() -> None:
    """Restores every binding enable() replaced."""
    _PATCH.undo()


def enabled() -> bool:
    return _PATCH.active
