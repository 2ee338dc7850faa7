"""colmax behind PyLate: its own torch scoring functions against the colmax replacements
(random masks with holes, bf16, ragged lists), enable()/disable() reaching every binding,
the environment switch, and a tiny training step through PyLate's own losses."""

import importlib
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pylate.losses")  # PyLate and everything it imports

import colmax  # noqa: E402
import colmax.integrations.pylate as cp  # noqa: E402

_scores = (importlib.import_module("pylate.scores.colbert")
           if importlib.util.find_spec("pylate.scores.colbert")
           else importlib.import_module("pylate.scores.scores"))
# PyLate's own functions, kept before any test enables the integration.
ORIGINAL = {name: getattr(_scores, name) for name in
            ("colbert_scores", "colbert_kd_scores", "colbert_scores_pairwise")}
ORIGINAL_COLBERT_SCORES = getattr(_scores, "ColBERTScores", None)


def pylate(name, *args, **kwargs):
    """PyLate's pure-torch path (its `backend=` keyword arrived in 1.5)."""
    try:
        return ORIGINAL[name](*args, backend="torch", **kwargs)
    except TypeError:
        return ORIGINAL[name](*args, **kwargs)


@pytest.fixture(autouse=True)
def _restore():
    yield
    cp.disable()


def random_inputs(seed, nq=4, nd=6, lq=8, ld=6, dim=16, dtype=torch.float32, k=None):
    # Few document tokens with holes: the best valid similarity is often negative, where
    # PyLate's masking (mode "zero") and mode "exclude" differ.
    g = torch.Generator().manual_seed(seed)
    Q = torch.nn.functional.normalize(torch.randn(nq, lq, dim, generator=g), dim=-1)
    shape = (nd, ld) if k is None else (nq, k, ld)
    D = torch.nn.functional.normalize(torch.randn(*shape, dim, generator=g), dim=-1)
    q_mask = torch.rand(nq, lq, generator=g) < 0.8
    d_mask = torch.rand(*shape, generator=g) < 0.7  # holes, as punctuation skip-lists make
    d_mask.view(-1, ld)[0] = False  # one fully masked document
    return Q.to(dtype), D.to(dtype), q_mask, d_mask


def close(got, want, dtype):
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = {torch.float32: 1e-5, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(got.float(), want.float(), rtol=tol, atol=tol * 8)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.float32])
def test_colbert_scores_match_pylate(seed, dtype, mask_dtype):
    Q, D, qm, dm = random_inputs(seed, dtype=dtype)
    qm, dm = qm.to(mask_dtype), dm.to(mask_dtype)
    want = pylate("colbert_scores", Q, D, qm, dm)
    close(cp.colbert_scores(Q, D, qm, dm, backend="flash"), want, dtype)
    close(cp.colbert_scores(Q, D), pylate("colbert_scores", Q, D), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kd_scores_and_colbert_scores_object_match_pylate(dtype):
    Q, D, qm, dm = random_inputs(5, k=3, dtype=dtype)
    close(cp.colbert_kd_scores(Q, D, qm, dm), pylate("colbert_kd_scores", Q, D, qm, dm), dtype)
    # ColBERTScores: groups [B, N, Ld, H] -> [Bq, B * N], query-major.
    Qc, Dc, qmc, _ = random_inputs(6, nq=5, nd=4, dtype=dtype)
    groups = torch.stack([Dc, Dc.flip(0), Dc.roll(1, 0)], dim=1)
    gmask = torch.rand(groups.shape[:3]) < 0.75
    got = cp.ColBERTScores()(Qc, groups, qmc, gmask)
    if ORIGINAL_COLBERT_SCORES is not None:
        want = ORIGINAL_COLBERT_SCORES()(Qc, groups, qmc, gmask, backend="torch")
    else:  # PyLate 1.4: one colbert_scores call per group, concatenated group-major
        want = torch.stack([pylate("colbert_scores", Qc, groups[:, j], qmc, gmask[:, j])
                            for j in range(3)], dim=2).reshape(5, -1)
    assert got.shape == (5, 12)
    close(got, want, dtype)


def test_pairwise_tensors_and_ragged_lists():
    Q, D, _, _ = random_inputs(7)
    close(cp.colbert_scores_pairwise(Q, D[:4]), pylate("colbert_scores_pairwise", Q, D[:4]),
          torch.float32)
    g = torch.Generator().manual_seed(8)
    queries = [torch.randn(n, 16, generator=g) for n in (3, 8, 1)]
    documents = [torch.randn(n, 16, generator=g) for n in (40, 2, 17)]
    close(cp.colbert_scores_pairwise(queries, documents),
          pylate("colbert_scores_pairwise", queries, documents), torch.float32)
    numpy_docs = [d.numpy() for d in documents]
    close(cp.colbert_scores_pairwise(queries, numpy_docs),
          pylate("colbert_scores_pairwise", queries, numpy_docs), torch.float32)


def test_enable_reaches_every_binding_and_disable_restores():
    import pylate.losses.distillation as distillation
    import pylate.rank.rank as rank
    import pylate.scores as scores
    import pylate.scores.similarity_functions as similarity

    assert cp.enable() and cp.enabled() and cp.enable()
    assert scores.colbert_scores is cp.colbert_scores
    assert _scores.colbert_kd_scores is cp.colbert_kd_scores
    assert rank.colbert_scores is cp.colbert_scores
    assert similarity.SimilarityFunction.to_similarity_fn("MaxSim") is cp.colbert_scores
    assert similarity.SimilarityFunction.to_similarity_pairwise_fn("MaxSim") is \
        cp.colbert_scores_pairwise
    assert cp.colbert_kd_scores in distillation.Distillation.__init__.__defaults__
    for name in ("pylate.evaluation.colbert_triplet", "pylate.evaluation.colbert_distillation"):
        module = sys.modules[name]
        for attr in ("colbert_scores_pairwise", "colbert_kd_scores"):
            if hasattr(module, attr):
                assert getattr(module, attr) is getattr(cp, attr)
    cp.disable()
    assert not cp.enabled()
    assert scores.colbert_scores is ORIGINAL["colbert_scores"]
    assert rank.colbert_scores is ORIGINAL["colbert_scores"]
    assert ORIGINAL["colbert_kd_scores"] in distillation.Distillation.__init__.__defaults__


def test_rerank_runs_on_colmax():
    from pylate import rank

    g = torch.Generator().manual_seed(9)
    q = [torch.randn(4, 8, generator=g)]
    docs = [[torch.randn(n, 8, generator=g) for n in (5, 9, 2)]]
    ids = [["a", "b", "c"]]
    want = rank.rerank(ids, q, docs)
    cp.enable()
    got = rank.rerank(ids, q, docs)
    assert [r["id"] for r in got[0]] == [r["id"] for r in want[0]]


def test_environment_switch_turns_integrations_off(monkeypatch):
    import pylate.scores as scores

    monkeypatch.setenv("COLMAX_DISABLE_INTEGRATIONS", "1")
    assert cp.enable() is False and not cp.enabled()
    assert scores.colbert_scores is ORIGINAL["colbert_scores"]


# ---- a tiny training step through PyLate's own losses -----------------------------------


class TinyColBERT(torch.nn.Module):
    """What PyLate's losses need of a model: token embeddings, a skiplist, query expansion."""

    def __init__(self, seed, vocab=50, dim=16, do_query_expansion=False):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = torch.nn.Embedding(vocab, dim)
        self.proj = torch.nn.Linear(dim, dim)
        self.skiplist = [3, 7]  # "punctuation": holes in the document masks
        self.do_query_expansion = do_query_expansion

    def forward(self, features):
        return {"token_embeddings": self.proj(self.embed(features["input_ids"]))}


def features(seed, batch, length, vocab=50):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, length), generator=g)
    attention = torch.ones(batch, length, dtype=torch.long)
    for b in range(batch):
        attention[b, length - b % length:] = 0  # right padding of various lengths
    return {"input_ids": ids, "attention_mask": attention}


def run_step(loss, batch):
    """Loss value and, when colmax has its backward pass, the gradients of the model."""
    loss.model.zero_grad()
    if colmax.has_backward():
        value = loss(*batch)
        value.backward()
        grads = [p.grad.clone() for p in loss.model.parameters()]
        return value.detach(), grads
    with torch.no_grad():
        return loss(*batch), None


def compare_steps(make_loss, batch, colmax_metric):
    from_pylate = run_step(make_loss(None), batch)
    from_colmax = run_step(make_loss(colmax_metric), batch)
    torch.testing.assert_close(from_colmax[0], from_pylate[0], rtol=1e-5, atol=1e-6)
    if from_pylate[1] is not None:
        for a, b in zip(from_colmax[1], from_pylate[1]):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("query_expansion", [False, True])
def test_contrastive_step_matches_pylate(query_expansion):
    from pylate import losses

    model = TinyColBERT(10, do_query_expansion=query_expansion)
    batch = ([features(1, 6, 8), features(2, 6, 20), features(3, 6, 20)],)

    def make(metric):
        kwargs = {} if metric is None else {"score_metric": metric}
        return losses.Contrastive(model=model, **kwargs)

    compare_steps(make, batch, cp.ColBERTScores())


def test_distillation_step_matches_pylate():
    from pylate import losses

    model = TinyColBERT(11)
    nq, k = 3, 4
    teacher = torch.randn(nq, k, generator=torch.Generator().manual_seed(4))
    batch = ([features(5, nq, 8), features(6, nq * k, 24)], teacher)

    def make(metric):
        return losses.Distillation(model=model) if metric is None else \
            losses.Distillation(model=model, score_metric=metric)

    compare_steps(make, batch, cp.colbert_kd_scores)


def test_losses_built_after_enable_use_colmax():
    from pylate import losses

    cp.enable()
    model = TinyColBERT(12)
    assert losses.Distillation(model=model).score_metric is cp.colbert_kd_scores
    metric = losses.Contrastive(model=model).score_metric
    assert metric is cp.colbert_scores or isinstance(metric, cp.ColBERTScores)
