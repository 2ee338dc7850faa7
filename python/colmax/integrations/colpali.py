"""colpali-engine (0.3.x) on colmax.

    import colmax.integrations.colpali as colmax_colpali
    colmax_colpali.enable()    # score_multi_vector and the late-interaction losses on colmax
    colmax_colpali.disable()

`enable()` replaces `BaseVisualRetrieverProcessor.score_multi_vector` (every processor
inherits it) and, where colpali-engine routes its late-interaction losses through
`colpali_engine.utils.maxsim` (`maxsim_inbatch`, `maxsim_kd`), those functions wherever they
are bound. Versions whose loss heads compute MaxSim inline get score_multi_vector only, with
a warning.

colpali-engine has no masks: padding is zero vectors, so a padded query token adds 0 and a
padded document token offers a similarity of 0 to the max. colmax reproduces this by scoring
the same zero-padded tensors with every token valid. Results keep colpali-engine's dtypes
(the losses' scores in the embedding dtype, score_multi_vector in float32 on the CPU). The
gradient of a max goes to the first maximal document token (torch's amax splits ties).
COLMAX_DISABLE_INTEGRATIONS=1 makes `enable()` do nothing.
"""

from __future__ import annotations

import sys

import torch

from .. import _api
from . import _patch

_PATCH = _patch.Patch("colpali_engine")

_MODULES = (
    "colpali_engine.utils.maxsim",
    "colpali_engine.utils.processing_utils",
    "colpali_engine.loss",
    "colpali_engine.loss.late_interaction_losses",
)


def maxsim_inbatch(query, doc):
    """colpali-engine's in-batch MaxSim: query [Bq, Lq, d] x doc [Bd, Ld, d] -> [Bq, Bd]."""
    return _api.maxsim(query, doc).to(torch.promote_types(query.dtype, doc.dtype))


def maxsim_kd(query, doc):
    """colpali-engine's per-query candidates: query [B, Lq, d] x doc [B, N, Ld, d] -> [B, N]."""
    return _api.maxsim(query, doc).to(torch.promote_types(query.dtype, doc.dtype))


def score_multi_vector(qs, ps, batch_size: int = 128, device=None):
    """BaseVisualRetrieverProcessor.score_multi_vector on colmax: lists of [L_i, d] tensors
    or padded [N, L, d] tensors -> [len(qs), len(ps)] float32 scores on the CPU. Batches are
    zero-padded exactly as colpali-engine pads them, so scores are the same numbers."""
    from colpali_engine.utils.torch_utils import get_torch_device

    device = device or get_torch_device("auto")
    if len(qs) == 0:
        raise ValueError("No queries provided")
    if len(ps) == 0:
        raise ValueError("No passages provided")
    pad = torch.nn.utils.rnn.pad_sequence
    rows = []
    for i in range(0, len(qs), batch_size):
        q = pad(qs[i:i + batch_size], batch_first=True, padding_value=0).to(device)
        row = [_api.maxsim(q, pad(ps[j:j + batch_size], batch_first=True,
                                  padding_value=0).to(device))
               for j in range(0, len(ps), batch_size)]
        rows.append(torch.cat(row, dim=1).cpu())
    return torch.cat(rows, dim=0).to(torch.float32)


def enable() -> bool:
    """Routes colpali-engine's MaxSim through colmax. Returns False (and changes nothing)
    when COLMAX_DISABLE_INTEGRATIONS is set. Calling it twice is harmless."""
    if _patch.disabled_by_environment():
        return False
    if _PATCH.active:
        return True
    _PATCH.import_modules(_MODULES)
    processing = sys.modules.get("colpali_engine.utils.processing_utils")
    if processing is None:
        raise ImportError("colmax: colpali_engine.utils.processing_utils was not found")
    processor = processing.BaseVisualRetrieverProcessor
    _PATCH.set(processor, "score_multi_vector", staticmethod(score_multi_vector))
    dispatch = sys.modules.get("colpali_engine.utils.maxsim")
    if dispatch is not None:
        _PATCH.replace({dispatch.maxsim_inbatch: maxsim_inbatch, dispatch.maxsim_kd: maxsim_kd})
    else:
        _patch.warn("this colpali-engine computes its loss heads inline; only "
                    "score_multi_vector runs on colmax")
    return True


def disable() -> None:
    """Restores every binding enable() replaced."""
    _PATCH.undo()


def enabled() -> bool:
    return _PATCH.active
