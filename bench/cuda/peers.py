#!/usr/bin/env python3
"""Times the peers on the GPU forward benchmark shapes, and measures the two ceilings.

    python3 bench/cuda/peers.py --out peers.json [--min-ms 300]

Peers: PyTorch naive einsum (what users have without a kernel: the similarity tensor in the
embedding dtype with fp32 accumulation inside the matrix product, then amax and an fp32 sum),
late-interaction-kernels (LIK) and flash-maxsim, each through its public API for the layout.
Inputs are uniform in [-1, 1) in bf16 (bench/cuda/bench_cuda.cpp draws colmax's the same
way), packed lengths follow the same formula. Every call is timed with its own pair of CUDA
events after a warm-up, the start event behind a spin kernel (device time: a peer's Python
launch cost is not counted as idle device time, as colmax's C++ launches are not); inputs that fit in L2 rotate among copies. Also measured here, in the
same run: device-to-device copy bandwidth (bytes read + written) and the dense bf16 matrix
multiply rate (8192^3), the two ceilings of the roofline.
"""
import argparse
import json
import math
import sys
import time
import traceback

import torch

SHAPES = [
    # name, layout, nq, nd, lq, ld, dim, lq_min, ld_min  (as bench_cuda.cpp)
    ("1_rerank", "cross", 1, 1000, 32, 300, 128, 0, 0),
    ("2_corpus_scan", "cross", 1, 100000, 32, 300, 128, 0, 0),
    ("3_long_docs", "cross", 1, 1000, 32, 1024, 128, 0, 0),
    ("4_colpali_rerank", "cross", 1, 1000, 128, 1024, 128, 0, 0),
    ("5_visual", "cross", 1, 1000, 1024, 1024, 128, 0, 0),
    ("6_batched_queries", "cross", 64, 10000, 32, 300, 128, 0, 0),
    ("7_in_batch", "cross", 256, 256, 32, 300, 128, 0, 0),
    ("8_distillation", "candidates", 64, 32, 32, 300, 128, 0, 0),
    ("9_pairs", "pairs", 5000, 5000, 32, 300, 128, 0, 0),
    ("10_packed", "packed", 32, 2000, 32, 512, 128, 8, 32),
    ("11_long_context", "cross", 16, 32, 32, 8192, 128, 0, 0),
    ("12a_dim48", "cross", 1, 10000, 32, 300, 48, 0, 0),
    ("12b_dim64", "cross", 1, 10000, 32, 300, 64, 0, 0),
]


def packed_length(i, lo, hi):
    return lo + (i * 7919 + 13) % (hi - lo + 1)


def uniform(shape, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.rand(shape, device="cuda", generator=g, dtype=torch.float32) * 2 - 1).to(torch.bfloat16)


def make_inputs(s, seed):
    name, layout, nq, nd, lq, ld, dim, lq_min, ld_min = s
    x = {"layout": layout}
    if layout == "packed":
        ql = [packed_length(i, lq_min, lq) for i in range(nq)]
        dl = [packed_length(i, ld_min, ld) for i in range(nd)]
        cu_q = torch.tensor([0] + list(_cumsum(ql)), dtype=torch.int32, device="cuda")
        cu_d = torch.tensor([0] + list(_cumsum(dl)), dtype=torch.int32, device="cuda")
        x.update(Q=uniform((sum(ql), dim), seed), D=uniform((sum(dl), dim), seed + 1), cu_q=cu_q,
                 cu_d=cu_d, ql=ql, dl=dl, max_q=max(ql), max_d=max(dl))
    elif layout == "candidates":
        x.update(Q=uniform((nq, lq, dim), seed), D=uniform((nq, nd, ld, dim), seed + 1))
    elif layout == "pairs":
        x.update(Q=uniform((nq, lq, dim), seed), D=uniform((nq, ld, dim), seed + 1))
    else:
        x.update(Q=uniform((nq, lq, dim), seed), D=uniform((nd, ld, dim), seed + 1))
    return x


def _cumsum(v):
    t = 0
    for a in v:
        t += a
        yield t


# ---- the peers, one callable per (peer, layout) ----

def torch_naive(x):
    Q, D = x["Q"], x["D"]
    lay = x["layout"]
    if lay == "cross":
        return torch.einsum("qtd,nsd->qnts", Q, D).amax(-1).sum(-1, dtype=torch.float32)
    if lay == "candidates":
        return torch.einsum("qtd,qksd->qkts", Q, D).amax(-1).sum(-1, dtype=torch.float32)
    if lay == "pairs":
        return torch.einsum("btd,bsd->bts", Q, D).amax(-1).sum(-1, dtype=torch.float32)
    # packed: pad (PyLate's path: multiply by the masks, max, sum)
    qp, qm = x["Q_padded"], x["q_mask"]
    dp, dm = x["D_padded"], x["d_mask"]
    s = torch.einsum("qtd,nsd->qnts", qp, dp) * dm[None, :, None, :]
    return (s.amax(-1) * qm[:, None, :]).sum(-1, dtype=torch.float32)


def lik(x):
    import late_interaction_kernels as L
    lay = x["layout"]
    if lay in ("cross", "candidates"):
        return L.maxsim(x["Q"], x["D"])
    if lay == "pairs":
        return L.maxsim_pairs(x["Q"], x["D"])
    return L.maxsim_varlen(x["Q"], x["D"], x["cu_q"], x["cu_d"], x["max_q"], x["max_d"])


def flash(x):
    import flash_maxsim as F
    lay = x["layout"]
    Q, D = x["Q"], x["D"]
    if lay == "cross":
        if Q.shape[0] == 1:
            return F.flash_maxsim(Q[0], D)
        return F.flash_maxsim_batched(Q, D)
    if lay == "candidates":
        return F.flash_maxsim_batched(Q, D, shared_docs=False)
    if lay == "pairs":
        return F.flash_maxsim_pairs(Q, D)
    # packed cross product: flash-maxsim has shared-query x packed-documents; one call a query.
    cu = x["cu_q_host"]
    return torch.stack([F.flash_maxsim(Q[cu[i]:cu[i + 1]], D, x["cu_d"]) for i in range(len(cu) - 1)])


PEERS = {"torch_einsum": torch_naive, "lik": lik, "flash_maxsim": flash}
NOTES = {
    ("flash_maxsim", "packed"): "one flash_maxsim(Q_i, D_packed, cu_seqlens_d) call per query "
                                "(no packed-queries x packed-documents API)",
    ("torch_einsum", "packed"): "padded to [32, 32] / [2000, 512] with masks, PyLate's mask products",
}


def add_padding(x, s):
    if x["layout"] != "packed":
        return
    name, layout, nq, nd, lq, ld, dim, _, _ = s
    ql, dl = x["ql"], x["dl"]
    cu_q = [0] + list(_cumsum(ql))
    cu_d = [0] + list(_cumsum(dl))
    x["cu_q_host"] = cu_q
    qp = torch.zeros((nq, lq, dim), dtype=torch.bfloat16, device="cuda")
    dp = torch.zeros((nd, ld, dim), dtype=torch.bfloat16, device="cuda")
    qm = torch.zeros((nq, lq), dtype=torch.bfloat16, device="cuda")
    dm = torch.zeros((nd, ld), dtype=torch.bfloat16, device="cuda")
    for i in range(nq):
        qp[i, :ql[i]] = x["Q"][cu_q[i]:cu_q[i + 1]]
        qm[i, :ql[i]] = 1
    for i in range(nd):
        dp[i, :dl[i]] = x["D"][cu_d[i]:cu_d[i + 1]]
        dm[i, :dl[i]] = 1
    x.update(Q_padded=qp, D_padded=dp, q_mask=qm, d_mask=dm)


def input_bytes(x):
    return sum(v.numel() * v.element_size() for k, v in x.items() if torch.is_tensor(v))


SPIN_CYCLES = 1_000_000  # about 0.5 ms at H100 clocks


def time_peer(fn, sets, min_ms):
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    t0 = time.perf_counter()
    out = fn(sets[0])
    torch.cuda.synchronize()
    first_ms = (time.perf_counter() - t0) * 1e3
    for i in range(3):
        fn(sets[i % len(sets)])
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for i in range(3):
        fn(sets[i % len(sets)])
    b.record()
    b.synchronize()
    est = max(a.elapsed_time(b) / 3, 1e-3)
    n = int(min(max(min_ms / est, 20), 1000))
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
    for i in range(n):
        # Device time: each call's start event waits behind a spin kernel long enough for the
        # host to have issued the call, so a peer's Python launch cost (which can exceed its
        # kernel on short shapes) is not timed as idle device time. colmax's side comes from
        # the C++ benchmark, whose launch cost is below its kernels'.
        torch.cuda._sleep(SPIN_CYCLES)
        ev[i][0].record()
        fn(sets[i % len(sets)])
        ev[i][1].record()
    torch.cuda.synchronize()
    us = sorted(e0.elapsed_time(e1) * 1e3 for e0, e1 in ev)
    peak = torch.cuda.max_memory_allocated() - base
    return {"median_us": us[n // 2], "p10_us": us[n // 10], "p90_us": us[(9 * n) // 10],
            "iterations": n, "first_call_ms": first_ms, "extra_bytes": int(peak)}, out


def ceilings():
    n = 1 << 29  # 1 GiB of bf16
    x = torch.empty(n, dtype=torch.bfloat16, device="cuda").uniform_(-1, 1)
    y = torch.empty_like(x)
    for _ in range(3):
        y.copy_(x)
    runs = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        y.copy_(x)
        b.record()
        b.synchronize()
        runs.append(2 * x.numel() * 2 / (a.elapsed_time(b) * 1e-3) / 1e9)
    del x, y
    m = 8192
    A = torch.rand((m, m), device="cuda", dtype=torch.bfloat16) * 2 - 1
    B = torch.rand((m, m), device="cuda", dtype=torch.bfloat16) * 2 - 1
    for _ in range(3):
        A @ B
    torch.cuda.synchronize()
    rates = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        A @ B
        b.record()
        b.synchronize()
        rates.append(2 * m ** 3 / (a.elapsed_time(b) * 1e-3) / 1e12)
    del A, B
    torch.cuda.empty_cache()
    return sorted(runs)[5], sorted(rates)[5]


def versions():
    v = {"torch": torch.__version__}
    for mod, name in (("late_interaction_kernels", "lik"), ("flash_maxsim", "flash_maxsim"), ("triton", "triton")):
        try:
            v[name] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            v[name] = "unavailable: %s" % e
    return v


def run_isolated(a):
    """Each shape in its own process: a peer that faults (an illegal address, say) poisons its
    CUDA context, and must not take the other shapes down with it."""
    import subprocess
    import tempfile
    copy_gbps, mm_tflops = ceilings()
    print("ceilings: copy %.0f GB/s, bf16 matmul %.0f TFLOP/s" % (copy_gbps, mm_tflops), file=sys.stderr)
    res = {"device": torch.cuda.get_device_name(0), "versions": versions(), "copy_gbps": copy_gbps,
           "bf16_matmul_tflops": mm_tflops, "shapes": []}
    for s in SHAPES:
        if a.only and s[0] not in a.only.split(","):
            continue
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            r = subprocess.run([sys.executable, __file__, "--shape", s[0], "--out", tmp.name,
                                "--min-ms", str(a.min_ms)])
            try:
                res["shapes"].append(json.load(open(tmp.name))["shapes"][0])
            except Exception as e:  # noqa: BLE001
                res["shapes"].append({"name": s[0], "error": "process exit %d: %s" % (r.returncode, e),
                                      "peers": {}})
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-ms", type=float, default=300)
    ap.add_argument("--only", default="")
    ap.add_argument("--shape", default="", help="run one shape in this process (internal)")
    a = ap.parse_args()
    if not a.shape:
        run_isolated(a)
        return
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    res = {"shapes": []}
    for s in SHAPES:
        if s[0] != a.shape:
            continue
        x0 = make_inputs(s, 1)
        rot = int(min(max(4 * l2 / max(input_bytes(x0), 1) + 1, 1), 16))
        sets = [x0] + [make_inputs(s, 1 + 10 * r) for r in range(1, rot)]
        for x in sets:
            add_padding(x, s)
        entry = {"name": s[0], "rotations": rot, "peers": {}}
        ref = None
        for peer, fn in PEERS.items():
            try:
                t, out = time_peer(fn, sets, a.min_ms)
                out = out.float().reshape(-1)
                if ref is None:
                    ref = out
                else:
                    t["max_rel_diff_vs_torch"] = float((out - ref).abs().max() / ref.abs().max().clamp_min(1))
                note = NOTES.get((peer, s[1]))
                if note:
                    t["note"] = note
                entry["peers"][peer] = t
                print("%-20s %-13s %10.1f us  first call %.0f ms" % (s[0], peer, t["median_us"], t["first_call_ms"]),
                      file=sys.stderr)
            except Exception as e:  # noqa: BLE001
                entry["peers"][peer] = {"error": "%s: %s" % (type(e).__name__, str(e)[:300])}
                print("%-20s %-13s failed: %s" % (s[0], peer, e), file=sys.stderr)
                traceback.print_exc(limit=1)
            torch.cuda.empty_cache()
        res["shapes"].append(entry)
        del sets, x0
        torch.cuda.empty_cache()
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
