"""colmax behind colpali-engine: its torch MaxSim against the colmax replacements on
zero-padded inputs (left-padded queries, as ColQwen pads), score_multi_vector on ragged
lists, the loss heads (values and gradients), enable()/disable() and the environment switch.
On the CPU, and on a CUDA GPU when there is one and colmax has its CUDA kernels."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("colpali_engine.loss")  # and everything it imports

import colmax  # noqa: E402
import colmax.integrations.colpali as cc  # noqa: E402
from colpali_engine.utils.processing_utils import BaseVisualRetrieverProcessor  # noqa: E402

ORIGINAL_SCORE = BaseVisualRetrieverProcessor.score_multi_vector
try:
    from colpali_engine.utils import maxsim as dispatch

    ORIGINAL_INBATCH, ORIGINAL_KD = dispatch._torch_maxsim, dispatch._torch_maxsim_kd
except ImportError:  # older 0.3.x: no dispatch module
    dispatch = None


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() and colmax.cuda_built() else [])


@pytest.fixture(autouse=True)
def _restore():
    yield
    cc.disable()


def padded(seed, n, lengths, dim=24, left=False, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, max(lengths), dim)
    for i, length in enumerate(lengths):
        x = torch.nn.functional.normalize(torch.randn(length, dim, generator=g), dim=-1)
        if left:
            out[i, out.shape[1] - length:] = x
        else:
            out[i, :length] = x
    return out.to(device, dtype)


def close(got, want, dtype):
    assert got.dtype == want.dtype
    tol = {torch.float32: 1e-5, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(got.float(), want.float(), rtol=tol, atol=tol * 8)


@pytest.mark.skipif(dispatch is None, reason="colpali-engine without utils.maxsim")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_inbatch_and_kd_match_colpali(dtype, device):
    Q = padded(1, 4, [5, 9, 2, 9], left=True, dtype=dtype, device=device)
    D = padded(2, 6, [30, 4, 17, 30, 1, 8], dtype=dtype, device=device)
    got = cc.maxsim_inbatch(Q, D)
    assert got.device == Q.device
    close(got, ORIGINAL_INBATCH(Q, D), dtype)
    Dk = padded(3, 12, [3, 7, 12, 2] * 3, dtype=dtype, device=device).view(4, 3, 12, -1)
    close(cc.maxsim_kd(Q, Dk), ORIGINAL_KD(Q, Dk), dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_score_multi_vector_matches_colpali_on_ragged_lists(device):
    g = torch.Generator().manual_seed(4)
    qs = [torch.randn(n, 16, generator=g) for n in (3, 11, 6, 1, 9)]
    ps = [torch.randn(n, 16, generator=g) for n in (40, 5, 22, 3, 60, 8, 13)]
    want = ORIGINAL_SCORE(qs, ps, batch_size=2, device=device)
    got = cc.score_multi_vector(qs, ps, batch_size=2, device=device)
    assert got.dtype == torch.float32 and got.device.type == "cpu"
    # colpali-engine's einsum on a GPU may run TF32; colmax's fp32 is exact.
    tol = 1e-5 if device == "cpu" else 2e-3
    torch.testing.assert_close(got, want, rtol=tol, atol=tol)
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
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("head", ["ColbertLoss", "ColbertPairwiseCELoss", "ColbertSigmoidLoss",
                                  "ColbertNegativeCELoss", "ColbertPairwiseNegativeCELoss"])
def test_loss_heads_match_colpali(head, device, monkeypatch):
    from colpali_engine import loss as losses

    monkeypatch.setenv("COLPALI_SCORES_BACKEND", "torch")  # colpali-engine's own einsum
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")  # colpali-engine's einsum in full fp32
    try:
        Q = padded(5, 4, [6, 3, 8, 8], left=True, device=device)
        D = padded(6, 4, [20, 9, 30, 14], device=device)
        negatives = padded(7, 8, [11, 30, 4, 19] * 2, device=device).view(4, 2, 30, -1)
        module = getattr(losses, head)()

        def value_and_grads():
            inputs = [x.clone().requires_grad_() for x in
                      ((Q, D, negatives) if "Negative" in head else (Q, D))]
            value = module(*inputs)
            value.backward()
            return value.detach(), [x.grad for x in inputs]

        want, want_grads = value_and_grads()
        cc.enable()
        got, got_grads = value_and_grads()
    finally:
        torch.set_float32_matmul_precision(precision)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # Gradients of the real tokens. A padding row (all zeros) ties at 0 with every document
    # token; which token "wins" it is arbitrary, and the model's zeroing of padding discards
    # that gradient anyway.
    inputs = (Q, D, negatives) if "Negative" in head else (Q, D)
    for x, a, b in zip(inputs, got_grads, want_grads):
        real = (x != 0).any(-1)
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a[real], b[real], rtol=1e-4, atol=1e-6)
