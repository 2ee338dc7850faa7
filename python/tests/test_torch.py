"""colmax on PyTorch CPU tensors: results against the float64 reference, dtype round trips
(bf16), the torch.library operators (opcheck), torch.compile(fullgraph=True), autograd and
MaxSimScorer."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import colmax  # noqa: E402
import reference as ref  # noqa: E402
from colmax import _torch_ops  # noqa: E402

MODES = ["exclude", "zero"]
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def tensors(*arrays, dtype=torch.float32):
    return [torch.from_numpy(np.ascontiguousarray(a)).to(dtype) for a in arrays]


def as64(t):
    return t.double().numpy() if t.is_floating_point() else t.numpy()


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("normalize", [False, True])
def test_cross_product_dtypes(dtype, mode, normalize):
    c = ref.Cases(30)
    Q, D = tensors(c.tokens(3, 9, 40), c.tokens(5, 21, 40), dtype=DTYPES[dtype])
    qm, dm = (torch.from_numpy(m) for m in (c.mask(3, 9), c.mask(5, 21)))
    got = colmax.maxsim(Q, D, qm, dm, mask_mode=mode, normalize=normalize)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    assert got.device == Q.device
    want, tol = ref.cross(as64(Q), as64(D), qm.numpy(), dm.numpy(), mode=mode,
                          normalize=normalize)
    ref.assert_close(got.numpy(), want, tol, dtype)


@pytest.mark.parametrize("mode", MODES)
def test_every_layout(mode):
    c = ref.Cases(31)
    Q, D4, Dp = tensors(c.tokens(3, 6, 16), c.tokens(3, 4, 11, 16), c.tokens(3, 11, 16))
    qm, dm4 = torch.from_numpy(c.mask(3, 6)), torch.from_numpy(c.mask(3, 4, 11))
    dm = dm4[:, 0]

    want, tol = ref.cross(as64(Q), as64(D4), qm.numpy(), dm4.numpy(), mode=mode)
    ref.assert_close(colmax.maxsim(Q, D4, qm, dm4, mask_mode=mode).numpy(), want, tol)

    want, tol = ref.pairs(as64(Q), as64(Dp), qm.numpy(), dm.numpy(), mode=mode)
    ref.assert_close(colmax.maxsim_pairs(Q, Dp, qm, dm, mask_mode=mode).numpy(), want, tol)

    cu_q = torch.tensor([0, 2, 2, 9], dtype=torch.int32)
    cu_d = torch.tensor([0, 5, 30, 33], dtype=torch.int32)
    Qp, Dpk = tensors(c.tokens(9, 16), c.tokens(33, 16))
    want, tol = ref.packed(as64(Qp), cu_q.numpy(), as64(Dpk), cu_d.numpy(), mode=mode)
    ref.assert_close(colmax.maxsim_varlen(Qp, Dpk, cu_q, cu_d, mask_mode=mode).numpy(),
                     want, tol)

    pq, pd = torch.tensor([2, 0, 1, 2]), torch.tensor([1, 1, 0, 2])
    want, tol = ref.packed(as64(Qp), cu_q.numpy(), as64(Dpk), cu_d.numpy(),
                           pair_q=pq.numpy(), pair_d=pd.numpy(), mode=mode)
    got = colmax.maxsim_packed_pairs(Qp, Dpk, cu_q, cu_d, pq, pd, mask_mode=mode)
    ref.assert_close(got.numpy(), want, tol)


def test_direct_path_and_operator_agree():
    c = ref.Cases(32)
    Q, D = tensors(c.tokens(2, 5, 8), c.tokens(3, 6, 8))
    direct = colmax.maxsim(Q, D)
    via_op = torch.ops.colmax.maxsim(Q, D, None, None, 0, False, 0, 0, 0)
    assert torch.equal(direct, via_op)


@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.float32, torch.int64, torch.bfloat16])
def test_mask_dtypes_and_strided_inputs(mask_dtype):
    c = ref.Cases(33)
    Qb, Db = tensors(c.tokens(4, 8, 32), c.tokens(6, 20, 32))
    Q, D = Qb[::2, 1:], Db.transpose(0, 1)[::3].transpose(0, 1)  # non-contiguous views
    qm = torch.from_numpy(c.mask(2, 7)).to(mask_dtype)
    dm = torch.from_numpy(c.mask(6, 7))
    want, tol = ref.cross(as64(Q), as64(D), qm.float().numpy(), dm.numpy())
    ref.assert_close(colmax.maxsim(Q, D, qm, dm).numpy(), want, tol)


def test_retrieve_and_single_sequences():
    c = ref.Cases(34)
    Q, D = tensors(c.tokens(2, 5, 8), c.tokens(30, 9, 8))
    s, i = colmax.retrieve(Q, D, top_k=4)
    full = colmax.maxsim(Q, D, normalize=True)
    ts, ti = full.topk(4, dim=1)
    assert torch.equal(i, ti) and torch.allclose(s, ts)
    s1, i1 = colmax.retrieve(Q[1], D, top_k=4)
    assert torch.equal(i1, ti[1])
    assert colmax.maxsim(Q[0], D[3]).shape == ()


def test_errors():
    Q, D = torch.ones(2, 3, 8), torch.ones(4, 5, 8)
    with pytest.raises(TypeError, match="Q"):
        colmax.maxsim(Q.int(), D)
    with pytest.raises(TypeError, match="unsupported dtype"):
        colmax.maxsim(Q.to(torch.complex64), D)
    with pytest.raises(ValueError, match="embedding dimension"):
        colmax.maxsim(Q, D[..., :4])
    with pytest.raises(ValueError, match="d_mask"):
        colmax.maxsim(Q, D, None, torch.ones(4, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="CPU or CUDA"):
        colmax.maxsim(Q.to("meta"), D.to("meta"))


# ---- torch.library operators ------------------------------------------------------------


def test_opcheck_every_operator():
    c = ref.Cases(35)
    Q, D, D4 = tensors(c.tokens(2, 5, 8), c.tokens(3, 6, 8), c.tokens(2, 3, 6, 8))
    qm, dm = torch.from_numpy(c.mask(2, 5)), torch.from_numpy(c.mask(3, 6))
    opts = (1, True, 0, 0, 0)
    cu_q, cu_d = torch.tensor([0, 4, 10]), torch.tensor([0, 0, 7, 18])
    Qp, Dp = tensors(c.tokens(10, 8), c.tokens(18, 8))
    tests = ["test_schema", "test_faketensor", "test_aot_dispatch_dynamic"]
    for op, args in [
        (torch.ops.colmax.maxsim.default, (Q, D, qm, dm, *opts)),
        (torch.ops.colmax.maxsim.default, (Q, D4, None, None, *opts)),
        (torch.ops.colmax.maxsim_pairs.default, (Q, D[:2], qm, dm[:2], *opts)),
        (torch.ops.colmax.maxsim_packed.default, (Qp, cu_q, Dp, cu_d, None, None, *opts)),
        (torch.ops.colmax.maxsim_packed_pairs.default,
         (Qp, cu_q, Dp, cu_d, torch.tensor([1, 0]), torch.tensor([2, 2]), None, None, *opts)),
        (torch.ops.colmax.retrieve.default, (Q, D, None, 2, qm, dm, *opts)),
    ]:
        torch.library.opcheck(op, args, test_utils=tests)


def test_compile_fullgraph_traces_the_operators():
    c = ref.Cases(36)
    Q, D = tensors(c.tokens(3, 5, 16), c.tokens(7, 9, 16))
    dm = torch.from_numpy(c.mask(7, 9))

    def scores_and_top(q, d, m):
        s = colmax.maxsim(q, d, None, m, normalize=True, mask_mode="zero")
        top = colmax.retrieve(q, d, 3, None, m)
        return torch.softmax(s / 0.05, dim=-1), top

    eager = scores_and_top(Q, D, dm)
    torch._dynamo.reset()
    compiled = torch.compile(scores_and_top, fullgraph=True, backend="aot_eager")
    got = compiled(Q, D, dm)
    torch.testing.assert_close(got[0], eager[0])
    assert torch.equal(got[1][1], eager[1][1])
    # Other shapes reuse or retrace the graph without breaking it.
    Q2, D2 = tensors(c.tokens(2, 4, 16), c.tokens(5, 9, 16))
    got2 = compiled(Q2, D2, dm[:5])
    torch.testing.assert_close(got2[0], scores_and_top(Q2, D2, dm[:5])[0])


def test_compile_inductor():
    c = ref.Cases(37)
    Q, D = tensors(c.tokens(2, 5, 16), c.tokens(4, 9, 16))
    torch._dynamo.reset()
    f = torch.compile(lambda q, d: colmax.maxsim(q, d).relu().sum(-1), fullgraph=True)
    torch.testing.assert_close(f(Q, D), colmax.maxsim(Q, D).relu().sum(-1))


# ---- autograd ---------------------------------------------------------------------------


def naive_score(q, d, qm, dm, mode, normalize):
    """One pair's MaxSim with PyTorch autograd in float64: the gradient reference."""
    q, d = q.double(), d.double()
    if normalize:
        q = torch.nn.functional.normalize(q, dim=-1)
        d = torch.nn.functional.normalize(d, dim=-1)
    sims = q @ d.T
    dm = torch.ones(d.shape[0], dtype=torch.bool) if dm is None else dm.bool()
    qm = torch.ones(q.shape[0], dtype=torch.bool) if qm is None else qm.bool()
    if mode == "exclude":
        if not dm.any():
            return sims.sum() * 0
        best = sims[:, dm].max(-1).values
    else:
        best = torch.where(dm, sims, torch.zeros_like(sims)).max(-1).values
    return best[qm].sum()


def leaves(*tensors, dtype=torch.float32):
    return [t.detach().to(dtype).requires_grad_() for t in tensors]


def check_gradients(colmax_fn, naive_fn, inputs, dtype=torch.float32):
    """colmax's gradients of a random weighting of the scores against PyTorch float64."""
    got_in = leaves(*inputs, dtype=dtype)
    scores = colmax_fn(*got_in)
    weights = torch.randn(scores.shape, generator=torch.Generator().manual_seed(1),
                          dtype=torch.float64)
    (scores.double() * weights).sum().backward()
    want_in = leaves(*inputs, dtype=torch.float64)
    (naive_fn(*want_in) * weights).sum().backward()
    tol = {torch.float32: 1e-4, torch.bfloat16: 2e-2}[dtype]
    for got, want in zip(got_in, want_in):
        assert got.grad.dtype == dtype
        torch.testing.assert_close(got.grad.double(), want.grad, rtol=tol, atol=tol)


needs_backward = pytest.mark.skipif(not colmax.has_backward(),
                                    reason="this build has no backward pass")


@needs_backward
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gradients_cross_and_candidates(mode, normalize, dtype):
    c = ref.Cases(38)
    Q, D, D4 = tensors(c.tokens(3, 6, 16), c.tokens(4, 12, 16), c.tokens(3, 2, 12, 16))
    qm, dm, dm4 = (torch.from_numpy(m) for m in (c.mask(3, 6), c.mask(4, 12), c.mask(3, 2, 12)))
    kw = dict(mask_mode=mode, normalize=normalize)

    def naive_cross(q, d):
        return torch.stack([torch.stack([naive_score(q[i], d[j], qm[i], dm[j], mode, normalize)
                                         for j in range(len(d))]) for i in range(len(q))])

    check_gradients(lambda q, d: colmax.maxsim(q, d, qm, dm, **kw), naive_cross, (Q, D), dtype)

    def naive_kd(q, d):
        return torch.stack([torch.stack([naive_score(q[i], d[i, j], qm[i], dm4[i, j], mode,
                                                     normalize) for j in range(2)])
                            for i in range(3)])

    check_gradients(lambda q, d: colmax.maxsim(q, d, qm, dm4, **kw), naive_kd, (Q, D4), dtype)


@needs_backward
@pytest.mark.parametrize("mode", MODES)
def test_gradients_pairs_and_packed(mode):
    c = ref.Cases(39)
    Q, D = tensors(c.tokens(3, 5, 8), c.tokens(3, 9, 8))
    qm, dm = torch.from_numpy(c.mask(3, 5)), torch.from_numpy(c.mask(3, 9))

    def naive_pairs(q, d):
        return torch.stack([naive_score(q[b], d[b], qm[b], dm[b], mode, True) for b in range(3)])

    check_gradients(lambda q, d: colmax.maxsim_pairs(q, d, qm, dm, mask_mode=mode,
                                                     normalize=True), naive_pairs, (Q, D))

    cu_q, cu_d = torch.tensor([0, 4, 4, 11]), torch.tensor([0, 6, 20, 23])
    Qp, Dp = tensors(c.tokens(11, 8), c.tokens(23, 8))
    qmp, dmp = torch.from_numpy(c.mask(11, empty_rows=False)), torch.from_numpy(c.mask(23))

    def seq(x, cu, i):
        return x[cu[i]:cu[i + 1]]

    def naive_packed(q, d):
        return torch.stack([torch.stack([
            naive_score(seq(q, cu_q, i), seq(d, cu_d, j), seq(qmp, cu_q, i), seq(dmp, cu_d, j),
                        mode, False) for j in range(3)]) for i in range(3)])

    check_gradients(lambda q, d: colmax.maxsim_varlen(q, d, cu_q, cu_d, q_mask=qmp, d_mask=dmp,
                                                      mask_mode=mode), naive_packed, (Qp, Dp))
    pq, pd = torch.tensor([2, 0, 2, 1]), torch.tensor([1, 1, 0, 2])

    def naive_pair_list(q, d):
        return torch.stack([naive_score(seq(q, cu_q, i), seq(d, cu_d, j), seq(qmp, cu_q, i),
                                        seq(dmp, cu_d, j), mode, False)
                            for i, j in zip(pq.tolist(), pd.tolist())])

    check_gradients(lambda q, d: colmax.maxsim_packed_pairs(q, d, cu_q, cu_d, pq, pd,
                                                            q_mask=qmp, d_mask=dmp,
                                                            mask_mode=mode),
                    naive_pair_list, (Qp, Dp))


@needs_backward
def test_gradient_of_a_tie_goes_to_the_first_maximum():
    Q = torch.tensor([[[1.0, 0.0]]], requires_grad=True)
    D = torch.tensor([[[0.5, 0.0], [1.0, 0.0], [1.0, 0.0]]], requires_grad=True)
    colmax.maxsim(Q, D).sum().backward()
    torch.testing.assert_close(D.grad[0], torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))
    torch.testing.assert_close(Q.grad[0], torch.tensor([[1.0, 0.0]]))


@needs_backward
def test_deterministic_strategy_and_only_what_is_needed():
    c = ref.Cases(40)
    Q, D = tensors(c.tokens(4, 8, 32), c.tokens(9, 40, 32))
    grads = []
    for strategy in ("deterministic", "deterministic", "lowmem", "fast", "auto"):
        d = D.clone().requires_grad_()
        colmax.maxsim(Q, d, normalize=True, backward=strategy).sum().backward()
        grads.append(d.grad)
    assert all(torch.equal(g, grads[0]) for g in grads[1:3])
    torch.testing.assert_close(grads[3], grads[0])
    q = Q.clone().requires_grad_()
    colmax.maxsim(q, D).sum().backward()  # D needs no gradient
    assert q.grad is not None and D.grad is None


@needs_backward
def test_compile_traces_forward_and_backward():
    c = ref.Cases(41)
    Q, D = tensors(c.tokens(3, 5, 16), c.tokens(6, 9, 16))
    dm = torch.from_numpy(c.mask(6, 9))

    def loss_fn(q, d):
        s = colmax.maxsim(q, d, None, dm, normalize=True)
        return torch.nn.functional.cross_entropy(s / 0.05, torch.arange(3))

    eager = [t.clone().requires_grad_() for t in (Q, D)]
    loss_fn(*eager).backward()
    torch._dynamo.reset()
    compiled = [t.clone().requires_grad_() for t in (Q, D)]
    torch.compile(loss_fn, fullgraph=True, backend="aot_eager")(*compiled).backward()
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a.grad, b.grad)


@needs_backward
def test_opcheck_training_operators():
    c = ref.Cases(42)
    Q, D = tensors(c.tokens(2, 5, 8), c.tokens(3, 6, 8))
    Q.requires_grad_(), D.requires_grad_()
    dm = torch.from_numpy(c.mask(3, 6))
    torch.library.opcheck(torch.ops.colmax.maxsim_train.default,
                          (Q, D, None, None, None, None, None, dm, 0, 1, True, 0, 0, 0, 2))


@pytest.mark.skipif(colmax.has_backward(), reason="this build has the backward pass")
def test_backward_without_native_support_says_so():
    Q = torch.ones(1, 2, 4, requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward"):
        colmax.maxsim(Q, torch.ones(2, 3, 4)).sum().backward()


def test_no_grad_and_score_record_nothing():
    Q = torch.randn(2, 3, 8, requires_grad=True)
    D = torch.randn(4, 5, 8)
    assert colmax.maxsim(Q, D).grad_fn is not None
    with torch.no_grad():
        assert colmax.maxsim(Q, D).grad_fn is None
    assert colmax.MaxSimScorer().score(Q, D).grad_fn is None


def test_maxsim_scorer():
    c = ref.Cases(39)
    Q, D = tensors(c.tokens(2, 5, 8), c.tokens(6, 7, 8))
    scorer = colmax.MaxSimScorer(mask_pad_token=0)
    assert isinstance(scorer, torch.nn.Module) and not list(scorer.parameters())
    torch.testing.assert_close(scorer(Q, D), colmax.maxsim(Q, D, normalize=True))
    q_ids = torch.tensor([[5, 6, 7, 0, 0], [1, 2, 3, 4, 5]])
    d_ids = torch.randint(0, 3, (6, 7))
    torch.testing.assert_close(scorer.forward_with_ids(Q, D, q_ids, d_ids),
                               colmax.maxsim(Q, D, q_ids != 0, d_ids != 0, normalize=True))
    s, i = scorer.retrieve(Q, D, top_k=2)
    assert s.shape == i.shape == (2, 2)
    with pytest.raises(ValueError, match="backward"):
        colmax.MaxSimScorer(backward="sometimes")
