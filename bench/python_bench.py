#!/usr/bin/env python3
"""MaxSim through colmax's Python API, so that the cost of the Python layer is visible.

    python bench/python_bench.py OUT_DIR [--device cuda|cpu] [--quick]

On a GPU: the shapes of the CUDA forward benchmark (bf16, dim 128 unless said), each timed
three ways in the same run:
  api     colmax.maxsim(...) called from Python, one call after another (what users get);
  graph   the same calls captured in a CUDA graph and replayed: device time alone;
  peers   PyTorch naive einsum (fp32 accumulate), late-interaction-kernels and flash-maxsim
          when installed (skipped otherwise, or where they run out of memory).
overhead = api - graph per call. Every timing starts behind a ~100 us spin kernel, so that the
host's work before the first launch is not timed as idle device time (with one call per timing,
on the long shapes, it otherwise was); the host's side is timed on its own below. The roofline (measured copy bandwidth and bf16 matmul rate
in the same run) gives % of the hardware's floor. A separate section times the host side
of a call on a tiny shape: colmax.maxsim, the native binding alone, and the torch.ops
operator (the path autograd and torch.compile take).

On a CPU: the CPU engine's shapes (fp32 and bf16) against NumPy matmul + max + sum and
PyTorch naive when installed, in effective GFLOP/s (2 * Nq * Nd * Lq * Ld * dim / time).

Writes OUT_DIR/python_bench_<device>.json and prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import colmax


def median_time(fn, repeats, warmup=3, sync=lambda: None):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---- shapes ------------------------------------------------------------------------------

def gpu_shapes(quick):
    shapes = [
        dict(name="text rerank", nq=1, nd=1000, lq=32, ld=300),
        dict(name="corpus scan", nq=1, nd=100_000, lq=32, ld=300),
        dict(name="long documents", nq=1, nd=1000, lq=32, ld=1024),
        dict(name="ColPali rerank", nq=1, nd=1000, lq=128, ld=1024),
        dict(name="visual, compute-bound", nq=1, nd=1000, lq=1024, ld=1024),
        dict(name="batched queries", nq=64, nd=10_000, lq=32, ld=300),
        dict(name="in-batch training forward", nq=256, nd=256, lq=32, ld=300),
        dict(name="knowledge distillation", nq=64, k=32, lq=32, ld=300),
        dict(name="pairs", pairs=5000, lq=32, ld=300),
        dict(name="packed", packed=(32, 8, 32, 2000, 32, 512)),
        dict(name="long context", nq=16, nd=32, lq=32, ld=8192),
        dict(name="dim 48", nq=1, nd=10_000, lq=32, ld=300, dim=48),
        dict(name="dim 64", nq=1, nd=10_000, lq=32, ld=300, dim=64),
    ]
    if quick:
        shapes = [s for s in shapes if s["name"] not in ("corpus scan", "batched queries")]
    return shapes


def cpu_shapes(quick):
    shapes = [
        dict(name="rerank", nq=1, nd=1000, lq=32, ld=300),
        dict(name="long documents", nq=1, nd=1000, lq=32, ld=1024),
        dict(name="16 queries", nq=16, nd=1000, lq=32, ld=1024),
        dict(name="variable lengths", packed=(1, 32, 32, 1000, 32, 512)),
    ]
    return shapes[:2] if quick else shapes


class Case:
    """Inputs of one shape on one device, and what it costs to move and multiply."""

    def __init__(self, torch, spec, device, dtype, seed=0):
        g = torch.Generator(device="cpu").manual_seed(seed)
        dim = spec.get("dim", 128)
        self.spec, self.dim = spec, dim

        def tokens(*shape):
            x = torch.randn(*shape, dim, generator=g)
            return torch.nn.functional.normalize(x, dim=-1).to(device=device, dtype=dtype)

        if "packed" in spec:
            nq, lq_lo, lq_hi, nd, ld_lo, ld_hi = spec["packed"]
            lq = torch.randint(lq_lo, lq_hi + 1, (nq,), generator=g)
            ld = torch.randint(ld_lo, ld_hi + 1, (nd,), generator=g)
            self.cu_q = torch.nn.functional.pad(lq.cumsum(0), (1, 0)).to(device)
            self.cu_d = torch.nn.functional.pad(ld.cumsum(0), (1, 0)).to(device)
            self.Q, self.D = tokens(int(lq.sum())), tokens(int(ld.sum()))
            self.layout = "packed"
            self.pairs_tokens = int(lq.sum()) * int(ld.sum())
            self.shape_text = f"{nq}q x {nd}d packed, Lq {lq_lo}..{lq_hi}, Ld {ld_lo}..{ld_hi}"
        elif "pairs" in spec:
            b = spec["pairs"]
            self.Q, self.D = tokens(b, spec["lq"]), tokens(b, spec["ld"])
            self.layout = "pairs"
            self.pairs_tokens = b * spec["lq"] * spec["ld"]
            self.shape_text = f"B={b}, Lq={spec['lq']}, Ld={spec['ld']}"
        elif "k" in spec:
            nq, k = spec["nq"], spec["k"]
            self.Q, self.D = tokens(nq, spec["lq"]), tokens(nq, k, spec["ld"])
            self.layout = "candidates"
            self.pairs_tokens = nq * k * spec["lq"] * spec["ld"]
            self.shape_text = f"{nq}x{k} candidates, Lq={spec['lq']}, Ld={spec['ld']}"
        else:
            nq, nd = spec["nq"], spec["nd"]
            self.Q, self.D = tokens(nq, spec["lq"]), tokens(nd, spec["ld"])
            self.layout = "cross"
            self.pairs_tokens = nq * nd * spec["lq"] * spec["ld"]
            self.shape_text = f"{nq}x{nd}, Lq={spec['lq']}, Ld={spec['ld']}"
        self.shape_text += f", dim {dim}"
        self.flops = 2.0 * self.pairs_tokens * dim
        out = self.run()
        self.bytes = (self.Q.numel() * self.Q.element_size()
                      + self.D.numel() * self.D.element_size() + out.numel() * 4)

    def run(self):
        if self.layout == "packed":
            return colmax.maxsim_varlen(self.Q, self.D, self.cu_q, self.cu_d)
        if self.layout == "pairs":
            return colmax.maxsim_pairs(self.Q, self.D)
        return colmax.maxsim(self.Q, self.D)

    def native(self, torch):
        """The same call through the native binding alone, output preallocated."""
        from colmax import _C, _torch_ops

        stream = _torch_ops._stream(self.Q)
        opts = (0, False, 0, 0, 0, stream)
        if self.layout == "packed":
            out = torch.empty(len(self.cu_q) - 1, len(self.cu_d) - 1, device=self.Q.device)
            return lambda: _C.maxsim_packed(self.Q, self.cu_q, self.D, self.cu_d, out, None,
                                            None, *opts)
        if self.layout == "pairs":
            out = torch.empty(self.Q.shape[0], device=self.Q.device)
            return lambda: _C.maxsim_pairs(self.Q, self.D, out, None, None, *opts)
        out = torch.empty(self.run().shape, device=self.Q.device)
        return lambda: _C.maxsim(self.Q, self.D, out, None, None, *opts)

    def naive(self, torch):
        """PyTorch without a kernel: similarities in fp32, max, sum."""
        Q, D = self.Q.float(), self.D.float()
        if self.layout == "cross":
            return lambda: torch.einsum("qld,nsd->qnls", Q, D).amax(-1).sum(-1)
        if self.layout == "candidates":
            return lambda: torch.einsum("qld,qksd->qkls", Q, D).amax(-1).sum(-1)
        if self.layout == "pairs":
            return lambda: torch.einsum("bld,bsd->bls", Q, D).amax(-1).sum(-1)
        return None

    def lik(self):
        try:
            import late_interaction_kernels as lik
        except ImportError:
            return None
        if self.D.numel() >= 2**31:
            # late-interaction-kernels 0.4.5 indexes with 32 bits: an illegal memory access
            # here (seen on an H100), which poisons the process's CUDA context.
            return "skipped: more than 2^31 document elements"
        if self.layout in ("cross", "candidates"):
            return lambda: lik.maxsim(self.Q, self.D)
        if self.layout == "pairs":
            return lambda: lik.maxsim_pairs(self.Q, self.D)
        return lambda: lik.maxsim_varlen(self.Q, self.D, self.cu_q.int(), self.cu_d.int())

    def flash(self):
        try:
            import flash_maxsim
        except ImportError:
            return None
        # flash_maxsim(Q [Lq, dim], D [B, Ld, dim]) -> [B]: one query at a time.
        if self.layout != "cross" or self.Q.shape[0] != 1:
            return None
        return lambda: flash_maxsim.flash_maxsim(self.Q[0], self.D)


# ---- GPU ---------------------------------------------------------------------------------

SPIN_CYCLES = 200_000  # about 100 us at H100 clocks: covers the host's work for the first call


def cuda_time(torch, fn, repeats, calls):
    """Median time per call of `calls` back-to-back calls, timed with CUDA events. The start
    event waits behind a spin kernel, so the device is busy while the host prepares the first
    call: what is timed is the device's time per call in a stream of calls."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        torch.cuda._sleep(SPIN_CYCLES)
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e-3 / calls)
    return statistics.median(times)


def graph_time(torch, fn, repeats, calls):
    """Device time per call: the calls captured once in a CUDA graph, then replayed."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            fn()
    return cuda_time(torch, graph.replay, repeats, 1) / calls


def peak_extra_memory(torch, fn):
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def ceilings(torch):
    """Measured device-to-device copy bandwidth (bytes read + written) and bf16 matmul rate."""
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy = cuda_time(torch, lambda: dst.copy_(src), 10, 5)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    mm = cuda_time(torch, lambda: a @ a, 5, 3)
    del src, dst, a
    return 2 * (1 << 30) / copy, 2 * 8192 ** 3 / mm


def host_overhead(torch, device, repeats):
    """Host-side cost of one call on a tiny shape (device time negligible; one CPU thread so
    that no thread start-up is timed)."""
    from colmax import _C, _torch_ops

    Q = torch.randn(1, 4, 128, device=device, dtype=torch.bfloat16)
    D = torch.randn(4, 8, 128, device=device, dtype=torch.bfloat16)
    out = torch.empty(1, 4, device=device)
    stream = _torch_ops._stream(Q)
    # No query: the call validates its arguments and returns, so what is timed is the
    # overhead alone (Python layer, binding, validation), with no kernel.
    Q0, out0 = Q[:0], out[:0]
    loops = {
        "colmax.maxsim": lambda: colmax.maxsim(Q, D, num_threads=1),
        "native binding (output preallocated)":
            lambda: _C.maxsim(Q, D, out, None, None, 0, False, 0, 0, 1, stream),
        "colmax.maxsim, no query (overhead alone)": lambda: colmax.maxsim(Q0, D),
        "native binding, no query (binding + validation)":
            lambda: _C.maxsim(Q0, D, out0, None, None, 0, False, 0, 0, 0, stream),
        "torch.ops.colmax.maxsim (compile path)":
            lambda: torch.ops.colmax.maxsim(Q, D, None, None, 0, False, 0, 0, 1),
        "torch.empty (for scale)": lambda: torch.empty(1, 4, device=device),
    }
    result = {}
    calls = 2000 if device == "cuda" else 500
    for name, fn in loops.items():
        def batch(fn=fn):
            for _ in range(calls):
                fn()
        result[name] = median_time(batch, repeats) / calls * 1e6
    result["python layer = colmax.maxsim - native binding"] = (
        result["colmax.maxsim"] - result["native binding (output preallocated)"])
    Qg = Q.clone().requires_grad_()
    with torch.enable_grad():
        def train_batch():
            for _ in range(calls):
                colmax.maxsim(Qg, D, num_threads=1)
        result["colmax.maxsim, Q requires grad (autograd path)"] = \
            median_time(train_batch, repeats) / calls * 1e6
    return result


def run_gpu(args, torch):
    bandwidth, tensor_rate = ceilings(torch)
    results = []
    for spec in gpu_shapes(args.quick):
        try:
            case = Case(torch, spec, "cuda", torch.bfloat16)
        except torch.cuda.OutOfMemoryError:
            results.append(dict(name=spec["name"], error="out of memory creating inputs"))
            continue
        calls = max(1, min(200, int(2e-3 / max(case.bytes / bandwidth, 1e-6))))
        row = dict(name=spec["name"], shape=case.shape_text, calls_per_timing=calls)
        row["api_us"] = cuda_time(torch, case.run, args.repeats, calls) * 1e6
        row["native_us"] = cuda_time(torch, case.native(torch), args.repeats, calls) * 1e6
        row["graph_us"] = graph_time(torch, case.run, args.repeats, calls) * 1e6
        row["overhead_us"] = row["api_us"] - row["graph_us"]
        row["python_layer_us"] = row["api_us"] - row["native_us"]
        floor = max(case.bytes / bandwidth, case.flops / tensor_rate)
        row["floor_us"] = floor * 1e6
        row["roofline_pct"] = 100 * floor / (row["graph_us"] * 1e-6)
        row["peak_extra_bytes"] = peak_extra_memory(torch, case.run)
        for peer, fn in (("torch_naive", case.naive(torch)), ("lik", case.lik()),
                         ("flash_maxsim", case.flash())):
            if fn is None:
                continue
            if isinstance(fn, str):
                row[f"{peer}_error"] = fn
                continue
            try:
                row[f"{peer}_us"] = cuda_time(torch, fn, args.repeats, 1) * 1e6
                row[f"{peer}_peak_extra_bytes"] = peak_extra_memory(torch, fn)
            except (torch.cuda.OutOfMemoryError, RuntimeError) as e:
                row[f"{peer}_error"] = type(e).__name__
                torch.cuda.empty_cache()
        results.append(row)
        print_row(row)
        del case
        torch.cuda.empty_cache()
    return dict(ceilings=dict(copy_bytes_per_s=bandwidth, bf16_flops_per_s=tensor_rate),
                shapes=results)


# ---- CPU ---------------------------------------------------------------------------------

def run_cpu(args, torch):
    results = []
    threads = colmax.get_num_threads()
    for spec in cpu_shapes(args.quick):
        for dtype in ("float32", "bfloat16"):
            case = Case(torch, spec, "cpu", getattr(torch, dtype))
            row = dict(name=spec["name"], shape=case.shape_text, dtype=dtype, threads=threads)
            t = median_time(case.run, args.repeats)
            row["api_us"] = t * 1e6
            row["gflops"] = case.flops / t * 1e-9
            if dtype == "float32" and case.layout == "cross":
                Qn, Dn = case.Q.numpy(), case.D.numpy()

                def numpy_naive():
                    sims = np.matmul(Qn[:, None], Dn[None].transpose(0, 1, 3, 2))
                    return sims.max(-1).sum(-1)

                tn = median_time(numpy_naive, max(3, args.repeats // 4))
                row["numpy_naive_us"] = tn * 1e6
                row["speedup_vs_numpy"] = tn / t
            naive = case.naive(torch)
            if naive is not None and case.Q.shape[0] * case.D.shape[0] <= 16_000:
                row["torch_naive_us"] = median_time(naive, max(3, args.repeats // 4)) * 1e6
            results.append(row)
            print_row(row)
    return dict(shapes=results)


# ---- report ------------------------------------------------------------------------------

def print_row(row):
    keys = [k for k in ("api_us", "graph_us", "native_us", "overhead_us", "python_layer_us",
                        "roofline_pct", "gflops", "torch_naive_us", "numpy_naive_us", "lik_us",
                        "flash_maxsim_us") if k in row]
    fields = "  ".join(f"{k}={row[k]:.1f}" for k in keys)
    label = row["name"] + (f" [{row['dtype']}]" if "dtype" in row else "")
    print(f"{label:34s} {row.get('shape', ''):48s} {fields}", flush=True)


def environment(torch, device):
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = ""
    versions = {"colmax": colmax.__version__, "torch": torch.__version__,
                "numpy": np.__version__, "python": platform.python_version()}
    for name in ("late_interaction_kernels", "flash_maxsim"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
        except Exception:  # noqa: BLE001 - not installed
            pass
    info = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                commit=commit, versions=versions, machine=platform.machine(),
                cpu_simd_level=colmax.cpu_simd_level(), threads=colmax.get_num_threads())
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["colmax_cuda_devices"] = colmax.cuda_devices()
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder for the JSON results")
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None,
                        help="default: cuda when a GPU is visible and colmax has CUDA kernels")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="fewer shapes")
    args = parser.parse_args()

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() and colmax.cuda_built()
                             else "cpu")
    if device == "cuda" and not colmax.cuda_built():
        sys.exit("colmax was built without CUDA kernels (pip install . on a machine with nvcc)")
    report = dict(environment=environment(torch, device), device=device, dtype="bfloat16"
                  if device == "cuda" else "float32 and bfloat16")
    with torch.inference_mode():
        report.update(run_gpu(args, torch) if device == "cuda" else run_cpu(args, torch))
    report["host_overhead_us"] = host_overhead(torch, device, args.repeats)
    print("host overhead per call (us):")
    for name, us in report["host_overhead_us"].items():
        print(f"  {name:52s} {us:8.2f}")
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, f"python_bench_{device}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
