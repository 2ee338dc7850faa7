#!/usr/bin/env python3
"""NumPy baseline for the CPU training benchmark (bench/bench_backward_cpu.cpp).

The same in-batch shapes (B x B, Lq = 32, Ld in {180, 300}, dim 128, fp32, inputs uniform in
[-1, 1)), computed the way autograd computes MaxSim: the dense similarity tensor
[B, B, Lq, Ld] (one matmul), max and argmax over document tokens, sum over query tokens; the
backward scatters the incoming gradient into a dense one-hot tensor of the same size and
multiplies it back (two matmuls), as torch.autograd does for einsum + max + sum.

Reports the median and the minimum of repeated runs (the development machine is shared).

Usage: bench_backward_cpu_numpy.py OUT.json
"""
import json
import os
import platform
import sys
import time

import numpy as np

SHAPES = [(16, 300), (32, 180), (32, 300)]
LQ, DIM = 32, 128


def timed(fn, min_s=2.0):
    fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_s or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    # (median, min) in ms: the machine is shared, so the minimum is the steadier figure.
    return times[len(times) // 2] * 1e3, times[0] * 1e3


def main(out_path):
    rng = np.random.default_rng(42)
    results = []
    for b, ld in SHAPES:
        q = rng.uniform(-1, 1, (b, LQ, DIM)).astype(np.float32)
        d = rng.uniform(-1, 1, (b, ld, DIM)).astype(np.float32)
        g = np.full((b, b), 1.0 / b, dtype=np.float32)
        state = {}

        def forward():
            s = (q.reshape(b * LQ, DIM) @ d.reshape(b * ld, DIM).T).reshape(b, LQ, b, ld)
            s = s.transpose(0, 2, 1, 3)  # [Bq, Bd, Lq, Ld]
            state["arg"] = s.argmax(axis=3)
            state["scores"] = s.max(axis=3).sum(axis=2)

        def backward():
            arg = state["arg"]
            ds = np.zeros((b, b, LQ, ld), dtype=np.float32)
            np.put_along_axis(ds, arg[..., None], np.broadcast_to(g[:, :, None, None], arg.shape + (1,)), axis=3)
            # grad_Q[q, t] = sum_n ds[q, n, t, :] @ D[n]; grad_D[n, s] = sum_q ds[q, n, :, s]^T Q[q]
            gq = np.einsum("qnts,nsd->qtd", ds, d, optimize=True)
            gd = np.einsum("qnts,qtd->nsd", ds, q, optimize=True)
            state["grads"] = (gq, gd)

        forward()
        fwd, fwd_min = timed(forward)
        bwd, bwd_min = timed(backward)
        step, step_min = timed(lambda: (forward(), backward()))
        dense = b * b * LQ * ld * 4
        results.append({
            "b": b, "lq": LQ, "ld": ld, "dim": DIM, "dtype": "float32",
            "forward_ms": fwd, "backward_ms": bwd, "step_ms": step,
            "forward_min_ms": fwd_min, "backward_min_ms": bwd_min, "step_min_ms": step_min,
            "forward_gflop_s_at_min": 2 * b * b * LQ * ld * DIM / (fwd_min * 1e-3) / 1e9,
            "dense_intermediate_bytes": 2 * dense,
        })
        print(json.dumps(results[-1]), file=sys.stderr)
    doc = {
        "tool": "numpy", "numpy": np.__version__, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "results": results,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
