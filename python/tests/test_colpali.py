"""colmax behind colpali-engine: its torch MaxSim against the colmax replacements on
zero-padded inputs (left-padded queries, as ColQwen pads), score_multi_vector on ragged
lists, the loss heads, enable()/disable() and the environment switch."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("colpali_engine.loss")  # and everything it imports

import colmax.integrations.colpali as cc  # noqa: E402
from colpali_engine.utils.processing_utils import BaseVisualRetrieverProcessor  # noqa: E402

ORIGINAL_SCORE = BaseVisualRetrieverProcessor.score_multi_vector
try:
    from colpali_engine.utils import maxsim as dispatch

    ORIGINAL_INBATCH, ORIGINAL_KD = dispatch._torch_maxsim, dispatch._torch_maxsim_kd
except ImportError:  # older 0.3.x: no dispatch module
    dispatch = None


@pytest.fixture(autouse=True)
def _restore():
    yield
    cc.disable()


def padded(seed, n, lengths, dim=24, left=False, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, max(lengths), dim)
    for i, length in enumerate(lengths):
        x = torch.nn.functional.normalize(torch.randn(length, dim, generator=g), dim=-1)
        if left:
            out[i, out.shape[1] - length:] = x
        else:
            out[i, :length] = x
    return out.to(dtype)


def close(got, want, dtype):
    assert got.dtype == want.dtype
    tol = {torch.float32: 1e-5, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(got.float(), want.float(), rtol=tol, atol=tol * 8)


@pytest.mark.skipif(dispatch is None, reason="colpali-engine without utils.maxsim")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_inbatch_and_kd_match_colpali(dtype):
    Q = padded(1, 4, [5, 9, 2, 9], left=True, dtype=dtype)
    D = padded(2, 6, [30, 4, 17, 30, 1, 8], dtype=dtype)
    close(cc.maxsim_inbatch(Q, D), ORIGINAL_INBATCH(Q, D), dtype)
    Dk = padded(3, 12, [3, 7, 12, 2] * 3, dtype=dtype).view(4, 3, 12, -1)
    close(cc.maxsim_kd(Q, Dk), ORIGINAL_KD(Q, Dk), dtype)


def test_score_multi_vector_matches_colpali_on_ragged_lists():
    g = torch.Generator().manual_seed(4)
    qs = [torch.randn(n, 16, generator=g) for n in (3, 11, 6, 1, 9)]
    ps = [torch.randn(n, 16, generator=g) for n in (40, 5, 22, 3, 60, 8, 13)]
    want = ORIGINAL_SCORE(qs, ps, batch_size=2, device="cpu")
    got = cc.score_multi_vector(qs, ps, batch_size=2, device="cpu")
    assert got.dtype == torch.float32 and got.device.type == "cpu"
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="No queries"):
        cc.score_multi_vector([], ps)


def test_enable_and_disable():
    assert cc.enable() and cc.enabled() and cc.enable()
    assert BaseVisualRetrieverProcessor.score_multi_vector is cc.score_multi_vector
    if dispatch is not None:
        import colpali_engine.loss.late_interaction_losses as heads

        assert heads.maxsim_inbatch is cc.maxsim_inbatch and heads.maxsim_kd is cc.maxsim_kd
    cc.disable()
    assert BaseVisualRetrieverProcessor.score_multi_vector is ORIGINAL_SCORE
    qs = [torch.randn(3, 8)]
    assert BaseVisualRetrieverProcessor.score_multi_vector(qs, qs, device="cpu").shape == (1, 1)


def test_environment_switch(monkeypatch):
    monkeypatch.setenv("COLMAX_DISABLE_INTEGRATIONS", "1")
    assert cc.enable() is False
    assert BaseVisualRetrieverProcessor.score_multi_vector is ORIGINAL_SCORE


@pytest.mark.skipif(dispatch is None, reason="colpali-engine without utils.maxsim")
@pytest.mark.parametrize("head", ["ColbertLoss", "ColbertPairwiseCELoss", "ColbertSigmoidLoss",
                                  "ColbertNegativeCELoss", "ColbertPairwiseNegativeCELoss"])
def test_loss_heads_match_colpali(head, monkeypatch):
    from colpali_engine import loss as losses

    monkeypatch.setenv("COLPALI_SCORES_BACKEND", "torch")  # colpali-engine's own einsum
    Q = padded(5, 4, [6, 3, 8, 8], left=True)
    D = padded(6, 4, [20, 9, 30, 14])
    negatives = padded(7, 8, [11, 30, 4, 19] * 2).view(4, 2, 30, -1)
    args = (Q, D, negatives) if "Negative" in head else (Q, D)
    module = getattr(losses, head)()
    want = module(*args)
    cc.enable()
    got = module(*args)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
