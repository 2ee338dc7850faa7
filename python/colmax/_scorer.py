"""MaxSimScorer: a stateless torch.nn.Module over colmax.maxsim (late-interaction-kernels'
names and defaults: normalize=True)."""

from __future__ import annotations

import torch

from . import _api


class MaxSimScorer(torch.nn.Module):
    """Late-interaction scoring as a module without parameters.

        scorer = MaxSimScorer()
        scores = scorer(Q, D, q_mask=q_mask, d_mask=d_mask)   # [Nq, Nd], differentiable
        scores, ids = scorer.retrieve(Q, D, top_k=10)

    Keywords beyond late-interaction-kernels': mask_mode, fp32_precision, num_threads.
    """

    def __init__(self, *, normalize=True, backward="auto", mask_pad_token=None,
                 mask_mode="exclude", fp32_precision="exact", num_threads=0):
        super().__init__()
        from . import _options

        _options.backward_strategy(backward)  # reject unknown names now, not at first call
        _options.encode(mask_mode, normalize, fp32_precision, "auto", num_threads)
        self.normalize = normalize
        self.backward = backward
        self.mask_pad_token = mask_pad_token
        self.mask_mode = mask_mode
        self.fp32_precision = fp32_precision
        self.num_threads = num_threads

    def extra_repr(self) -> str:
        return (f"normalize={self.normalize}, backward={self.backward!r}, "
                f"mask_mode={self.mask_mode!r}, mask_pad_token={self.mask_pad_token!r}")

    def _options(self):
        return dict(normalize=self.normalize, mask_mode=self.mask_mode,
                    fp32_precision=self.fp32_precision, num_threads=self.num_threads)

    def forward(self, Q, D, q_mask=None, d_mask=None):
        """Scores [Nq, Nd] (or [Nq, K] for D [Nq, K, Ld, dim]); gradients flow."""
        return _api.maxsim(Q, D, q_mask, d_mask, backward=self.backward, **self._options())

    def score(self, Q, D, q_mask=None, d_mask=None):
        """Scores for inference: never records autograd."""
        with torch.no_grad():
            return _api.maxsim(Q, D, q_mask, d_mask, **self._options())

    def retrieve(self, Q, D, top_k, q_mask=None, d_mask=None, *, chunk=None):
        """(scores, indices) of the top_k documents per query; see colmax.retrieve."""
        return _api.retrieve(Q, D, top_k, q_mask, d_mask, chunk=chunk, **self._options())

    def forward_with_ids(self, Q, D, q_ids, d_ids):
        """forward() with masks derived as ids != mask_pad_token."""
        if self.mask_pad_token is None:
            raise ValueError("colmax.MaxSimScorer.forward_with_ids: set mask_pad_token first")
        return self.forward(Q, D, q_ids != self.mask_pad_token, d_ids != self.mask_pad_token)
