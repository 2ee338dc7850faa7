#!/usr/bin/env python3
"""The Python side of the GPU training benchmark: a contrastive step (scores -> cross-entropy
-> backward) in bf16, dim 128, with PyTorch naive (einsum + max + sum, autograd),
late-interaction-kernels (LIK) and colmax.maxsim (autograd), when importable, on the shapes of
bench/cuda_backward/bench_backward_cuda.cpp.

Per shape and method: the median step time (CUDA events; the start event waits behind a spin
kernel so that the host has issued the step's launches before the timed interval starts: device
time, not Python's launch cost), the first call's wall time (LIK
compiles and autotunes on a new shape), and the peak memory beyond the inputs
(torch.cuda.max_memory_allocated during the step minus what was allocated before it).
Out-of-memory is recorded as such. Results are written after every shape.

Usage: bench_training_gpu_peers.py OUT.json [--min-ms 200] [--shape NAME ...]
"""
import argparse
import json
import time

import torch

SHAPES = [
    # name, kd, nq, nd (K for kd), lq, ld; most telling first, in case time runs out
    ("in_batch_256", False, 256, 256, 32, 300),
    ("kd_64x32", True, 64, 32, 32, 300),
    ("colpali_64", False, 64, 64, 32, 1030),
    ("long_doc_32", False, 32, 32, 128, 8192),
    ("in_batch_64", False, 64, 64, 32, 300),
    ("colpali_32", False, 32, 32, 32, 1030),
    ("in_batch_1024", False, 1024, 1024, 32, 300),
]
DIM = 128


def naive_scores(q, d, kd):
    if kd:
        s = torch.einsum("qtd,qksd->qkts", q, d)
    else:
        s = torch.einsum("qtd,nsd->qnts", q, d)
    return s.max(dim=-1).values.float().sum(dim=-1)


def lik_scores(q, d, kd):
    import late_interaction_kernels as lik

    return lik.maxsim(q, d)


def colmax_scores(q, d, kd):
    import colmax

    return colmax.maxsim(q, d)


SPIN_CYCLES = 4_000_000  # about 2 ms at H100 clocks: longer than a step's Python launch work


def step(score_fn, q, d, kd):
    scores = score_fn(q, d, kd)
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device) if kd else torch.arange(
        q.shape[0], device=q.device)
    loss = torch.nn.functional.cross_entropy(scores, labels)
    loss.backward()


def measure(score_fn, q, d, kd, min_ms):
    q.grad = None
    d.grad = None
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    step(score_fn, q, d, kd)
    torch.cuda.synchronize()
    first_ms = (time.perf_counter() - t0) * 1e3
    q.grad = None
    d.grad = None
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step(score_fn, q, d, kd)
    torch.cuda.synchronize()
    peak_extra = torch.cuda.max_memory_allocated() - base
    times = []
    start = time.perf_counter()
    while (time.perf_counter() - start) * 1e3 < min_ms or len(times) < 5:
        q.grad = None
        d.grad = None
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(SPIN_CYCLES)
        a.record()
        step(score_fn, q, d, kd)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e3)
        if len(times) >= 200:
            break
    times.sort()
    return {"median_us": times[len(times) // 2], "p10_us": times[len(times) // 10],
            "p90_us": times[len(times) * 9 // 10], "runs": len(times), "first_call_ms": first_ms,
            "peak_extra_bytes": peak_extra}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--min-ms", type=float, default=200)
    ap.add_argument("--shape", action="append")
    args = ap.parse_args()
    doc = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "shapes": []}
    try:
        import late_interaction_kernels as lik

        doc["late_interaction_kernels"] = lik.__version__
    except Exception as e:  # noqa: BLE001
        doc["late_interaction_kernels"] = f"unavailable: {e}"
    for name, kd, nq, nd, lq, ld in SHAPES:
        if args.shape and name not in args.shape:
            continue
        g = torch.Generator(device="cuda").manual_seed(0)
        q = (torch.rand(nq, lq, DIM, device="cuda", generator=g) * 2 - 1).bfloat16().requires_grad_()
        dshape = (nq, nd, ld, DIM) if kd else (nd, ld, DIM)
        d = (torch.rand(*dshape, device="cuda", generator=g) * 2 - 1).bfloat16().requires_grad_()
        entry = {"name": name, "layout": "candidates" if kd else "cross", "nq": nq, "nd": nd,
                 "lq": lq, "ld": ld, "dim": DIM, "dtype": "bfloat16"}
        for method, fn in (("torch_naive", naive_scores), ("lik", lik_scores),
                           ("colmax_python", colmax_scores)):
            try:
                entry[method] = measure(fn, q, d, kd, args.min_ms)
            except torch.cuda.OutOfMemoryError:
                entry[method] = "out of memory"
            except Exception as e:  # noqa: BLE001
                entry[method] = f"error: {type(e).__name__}: {e}"[:300]
            q.grad = None
            d.grad = None
            torch.cuda.empty_cache()
            print(name, method, entry[method], flush=True)
        doc["shapes"].append(entry)
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
        del q, d
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
