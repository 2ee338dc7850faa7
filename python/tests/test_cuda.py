"""colmax on CUDA tensors (skipped without a GPU or without colmax's CUDA kernels): results
against the CPU engine, the caller's stream, CUDA graphs, torch.compile with CUDA graphs,
and a PyLate contrastive step with colmax against PyLate's own (same loss and gradients,
less memory, less time)."""

import copy
import statistics
import time

import pytest

torch = pytest.importorskip("torch")

import colmax  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and colmax.cuda_built()),
    reason="needs a CUDA GPU and colmax built with its CUDA kernels")

MODES = ["exclude", "zero"]
TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}


def inputs(seed, nq=5, nd=40, lq=32, ld=300, dim=128, dtype=torch.bfloat16, device="cuda"):
    g = torch.Generator().manual_seed(seed)
    Q = torch.randn(nq, lq, dim, generator=g).to(device, dtype)
    D = torch.randn(nd, ld, dim, generator=g).to(device, dtype)
    qm = (torch.rand(nq, lq, generator=g) < 0.8).to(device)
    dm = (torch.rand(nd, ld, generator=g) < 0.7).to(device)
    return Q, D, qm, dm


def close_to_cpu(got, Q, D, *args, fn=colmax.maxsim, **kw):
    cpu = [a.cpu() if isinstance(a, torch.Tensor) else a for a in (Q, D, *args)]
    want = fn(*cpu, **kw)
    assert got.device == Q.device and got.dtype == torch.float32
    # |<q, d>| <= |q| |d|: a bound on any score's magnitude, whatever the layout.
    q_norms, d_norms = cpu[0].float().norm(dim=-1), cpu[1].float().norm(dim=-1)
    scale = 1 + q_norms.reshape(q_norms.shape[0], -1).sum(-1).max() * d_norms.max()
    tol = TOL[Q.dtype] * float(scale)
    torch.testing.assert_close(got.cpu(), want, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", list(TOL))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("normalize", [False, True])
def test_cross_product_matches_cpu(dtype, mode, normalize):
    Q, D, qm, dm = inputs(1, dtype=dtype)
    got = colmax.maxsim(Q, D, qm, dm, mask_mode=mode, normalize=normalize)
    close_to_cpu(got, Q, D, qm, dm, mask_mode=mode, normalize=normalize)


@pytest.mark.parametrize("mode", MODES)
def test_other_layouts_match_cpu(mode):
    Q, D, qm, dm = inputs(2, nq=6, nd=6)
    close_to_cpu(colmax.maxsim_pairs(Q, D, qm, dm, mask_mode=mode), Q, D, qm, dm,
                 fn=colmax.maxsim_pairs, mask_mode=mode)
    D4 = D.view(2, 3, *D.shape[1:])
    close_to_cpu(colmax.maxsim(Q[:2], D4, qm[:2], dm.view(2, 3, -1), mask_mode=mode),
                 Q[:2], D4, qm[:2], dm.view(2, 3, -1), mask_mode=mode)
    cu_q = torch.tensor([0, 10, 40, 64], device="cuda")
    cu_d = torch.tensor([0, 300, 301, 1000], device="cuda")
    Qp, Dp = Q.reshape(-1, 128)[:64], D.reshape(-1, 128)[:1000]
    close_to_cpu(colmax.maxsim_varlen(Qp, Dp, cu_q, cu_d, mask_mode=mode), Qp, Dp, cu_q, cu_d,
                 fn=colmax.maxsim_varlen, mask_mode=mode)


def test_retrieve_matches_cpu():
    Q, D, _, dm = inputs(3, nd=500)
    s, i = colmax.retrieve(Q, D, 10, None, dm)
    s_cpu, i_cpu = colmax.retrieve(Q.cpu(), D.cpu(), 10, None, dm.cpu())
    assert i.device == Q.device
    torch.testing.assert_close(s.cpu(), s_cpu, rtol=1e-2, atol=1e-2)
    assert (i.cpu() == i_cpu).float().mean() > 0.95  # bf16 rounding may swap near-ties


def test_runs_on_the_current_stream():
    Q, D, _, _ = inputs(4, nd=2000)
    fresh = torch.randn_like(Q)
    want = colmax.maxsim(fresh, D)
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # keep the side stream busy
        Q.copy_(fresh)  # ordered after the sleep on the side stream only
        got = colmax.maxsim(Q, D)  # must read Q after the copy: same stream
    side.synchronize()
    torch.testing.assert_close(got, want)


def test_cuda_graph_capture_and_replay():
    Q, D, qm, dm = inputs(5)
    static_q = Q.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        colmax.maxsim(static_q, D, qm, dm)  # warm-up outside the capture
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = colmax.maxsim(static_q, D, qm, dm, normalize=True)
    for seed in range(3):
        new_q = torch.randn(Q.shape, generator=torch.Generator().manual_seed(seed)).to(Q)
        static_q.copy_(new_q)
        graph.replay()
        torch.testing.assert_close(static_out, colmax.maxsim(new_q, D, qm, dm, normalize=True))


def test_compile_with_cuda_graphs():
    Q, D, qm, dm = inputs(6)
    torch._dynamo.reset()
    f = torch.compile(lambda q, d, m: colmax.maxsim(q, d, None, m).softmax(-1),
                      fullgraph=True, mode="reduce-overhead")
    for _ in range(3):
        got = f(Q, D, dm)
    torch.testing.assert_close(got, colmax.maxsim(Q, D, None, dm).softmax(-1))


def test_opcheck_on_cuda():
    Q, D, qm, dm = inputs(7, nq=2, nd=3, lq=5, ld=9, dim=16)
    torch.library.opcheck(torch.ops.colmax.maxsim.default, (Q, D, qm, dm, 1, True, 0, 0, 0),
                          test_utils=["test_schema", "test_faketensor",
                                      "test_aot_dispatch_dynamic"])


@pytest.mark.skipif(not colmax.has_backward(), reason="this build has no backward pass")
@pytest.mark.parametrize("mode", MODES)
def test_gradients_match_cpu(mode):
    Q, D, qm, dm = inputs(8, nq=4, nd=6, lq=8, ld=40, dtype=torch.float32)
    w = torch.randn(4, 6, device="cuda")
    grads = []
    for device in ("cuda", "cpu"):
        q = Q.detach().to(device).requires_grad_()
        d = D.detach().to(device).requires_grad_()
        (colmax.maxsim(q, d, qm.to(device), dm.to(device), mask_mode=mode, normalize=True)
         * w.to(device)).sum().backward()
        grads.append((q.grad.cpu(), d.grad.cpu()))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cupy_arrays_stay_cupy():
    cupy = pytest.importorskip("cupy")
    Q, D, _, _ = inputs(9, dtype=torch.float32)
    got = colmax.maxsim(cupy.asarray(Q), cupy.asarray(D))
    assert isinstance(got, cupy.ndarray)
    torch.testing.assert_close(torch.as_tensor(got, device="cuda"), colmax.maxsim(Q, D))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_second_gpu():
    Q, D, qm, dm = inputs(10, device="cuda:1")
    got = colmax.maxsim(Q, D, qm, dm)
    assert got.device == torch.device("cuda:1")
    close_to_cpu(got, Q, D, qm, dm)


# ---- PyLate contrastive step, with and without colmax -----------------------------------


@pytest.mark.skipif(not colmax.has_backward(), reason="this build has no backward pass")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_pylate_contrastive_step_with_colmax(dtype):
    """A PyLate contrastive step (64 queries, 3 documents each) with and without colmax.

    float32: the same loss and gradients. bfloat16: the same loss; PyTorch rounds the
    similarities to bf16 before the max, which creates ties that colmax (fp32 similarities,
    first maximum wins) resolves differently, so a few embedding rows get their gradient from
    another, equally good token: at most 1% of the gradient elements may differ. And colmax
    takes less memory and less time."""
    pytest.importorskip("pylate.losses")
    from pylate import losses
    from test_pylate import TinyColBERT, features

    import colmax.integrations.pylate as cp

    torch.manual_seed(0)
    model = TinyColBERT(0, vocab=1000, dim=128).cuda().to(dtype)
    batch = [{k: v.cuda() for k, v in features(s, 64, n, vocab=1000).items()}
             for s, n in ((1, 32), (2, 180), (3, 180), (4, 180))]  # 3 documents per query

    def step(loss):
        model.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        value = loss(batch)
        value.backward()
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() - base
        return value.detach().float(), [p.grad.float() for p in model.parameters()], peak, \
            elapsed

    # PyTorch in full fp32 (importing PyLate's stack may have switched matmuls to TF32,
    # which moved PyTorch's loss by 2e-4 relative on an H100); colmax is exact by default.
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    runs = {}
    try:
        for name, metric in (("pylate", None), ("colmax", cp.ColBERTScores())):
            loss = losses.Contrastive(model=model, **({} if metric is None else
                                                      {"score_metric": metric}))
            results = [step(loss) for _ in range(6)]
            runs[name] = (results[-1], statistics.median(r[3] for r in results[1:]))
    finally:
        torch.set_float32_matmul_precision(precision)
    (loss_p, grads_p, mem_p, _), time_p = runs["pylate"]
    (loss_c, grads_c, mem_c, _), time_c = runs["colmax"]
    print(f"PyLate {dtype} step: {time_p * 1e3:.2f} ms, {mem_p / 2**20:.1f} MiB; "
          f"colmax: {time_c * 1e3:.2f} ms, {mem_c / 2**20:.1f} MiB")
    if dtype == torch.float32:
        # Against PyLate's own step in float64 (on the CPU: PyLate scores CUDA tensors with a
        # Triton kernel that has no float64): colmax to fp32 accuracy. PyLate's fp32 step on
        # the GPU was 2e-4 relative off the float64 loss on an H100, so the two fp32 steps are
        # not compared with each other at fp32 tolerance.
        ref_model = copy.deepcopy(model).double().cpu()
        ref = losses.Contrastive(model=ref_model)(
            [{k: v.cpu() for k, v in features.items()} for features in batch])
        ref.backward()
        loss_r, grads_r = ref.detach(), [p.grad for p in ref_model.parameters()]
        print(f"loss: float64 {loss_r.item():.8f}, colmax {loss_c.item():.8f}, "
              f"PyLate fp32 {loss_p.item():.8f}")
        torch.testing.assert_close(loss_c.cpu().double(), loss_r, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(loss_p.cpu().double(), loss_r, rtol=1e-3, atol=1e-3)
        for a, b in zip(grads_c, grads_r):
            torch.testing.assert_close(a.cpu().double(), b, rtol=1e-3,
                                       atol=1e-3 * float(b.abs().max()))
    else:
        torch.testing.assert_close(loss_c, loss_p, rtol=2e-2, atol=2e-2)
        for a, b in zip(grads_c, grads_p):
            tol = 5e-2 * float(b.abs().max())
            off = ((a - b).abs() > tol + 5e-2 * b.abs()).float().mean().item()
            assert off <= 0.01, f"{off:.2%} of the gradient elements differ"
        assert mem_c < mem_p
        assert time_c < time_p
