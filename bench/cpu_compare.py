#!/usr/bin/env python3
"""CPU MaxSim side by side: NumPy/OpenBLAS (matmul + max + sum), maxsim-cpu, and colmax.

One run measures, on the same shapes and in the same run:
  * NumPy naive: one sgemm of the documents' tokens against the query tokens, then max over
    each document's tokens and a sum over query tokens;
  * maxsim-cpu (pip install maxsim-cpu): maxsim_scores / maxsim_scores_variable, fp32 only;
  * colmax: the Google Benchmark binary colmax_bench (its --benchmark_format=json output),
    because the Python bindings of colmax come later. Its inputs have the same distribution
    (L2-normalised Gaussian tokens) but are generated in C++, not shared arrays.
and the machine's FMA peak and memory read bandwidth (also from colmax_bench), for the
roofline of each shape: min(FMA peak, read bandwidth x FLOP per document byte).

Per shape the engines run in rounds, each once per round in turn (after warm-up calls), so
that a busy spell on a shared machine falls on all of them alike; every figure is the median
over rounds (the minimum is kept in the JSON too). Effective GFLOP/s =
2 * Nq * sum(Lq * Ld) * dim / time. Results go to <out-dir>/cpu-<date>.json and a markdown
table is printed.

    python3 bench/cpu_compare.py --bench build/cpu/bench/colmax_bench --out-dir bench/results
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DIM = 128


def machine_info() -> dict:
    info = {"platform": platform.platform(), "cpu": platform.processor(), "cores": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
            m = re.search(rf"^{re.escape(key)}:\s*(.+)$", lscpu, re.M)
            if m:
                info[key] = m.group(1).strip()
        flags = re.search(r"^Flags:\s*(.+)$", lscpu, re.M)
        if flags:
            have = set(flags.group(1).split())
            info["simd_flags"] = sorted(f for f in have if f.startswith("avx") or f in ("fma", "f16c"))
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        with open("/proc/loadavg") as f:
            info["loadavg_at_start"] = f.read().split()[:3]
    except OSError:
        pass
    return info


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def normalised(rng: np.random.Generator, shape) -> np.ndarray:
    x = rng.standard_normal(shape, dtype=np.float32)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x


def timed(fn, warmup: int, runs: int, min_seconds: float) -> dict:
    """Median (and min) seconds of `runs` or more calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < runs or (time.perf_counter() - start < min_seconds and len(times) < 200):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"seconds": statistics.median(times), "min_seconds": min(times), "runs": len(times)}


# ---- NumPy naive: matmul + max + sum ------------------------------------------------------

def numpy_padded(Q: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Q [Nq, Lq, dim], D [Nd, Ld, dim] -> [Nq, Nd]; documents in slices to bound memory."""
    nq, lq, _ = Q.shape
    nd, ld, _ = D.shape
    q2 = Q.reshape(nq * lq, DIM)
    step = max(1, (256 << 20) // (ld * nq * lq * 4))  # <= 256 MiB of similarities at a time
    out = np.empty((nq, nd), np.float32)
    for d0 in range(0, nd, step):
        d = D[d0:d0 + step]
        s = d.reshape(-1, DIM) @ q2.T                     # [n * Ld, Nq * Lq]
        out[:, d0:d0 + len(d)] = s.reshape(len(d), ld, nq, lq).max(axis=1).sum(axis=2).T
    return out


def numpy_packed(q: np.ndarray, D: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """q [Lq, dim], D [T, dim] split by offsets -> [Nd]."""
    s = D @ q.T                                           # [T, Lq]
    return np.maximum.reduceat(s, offsets[:-1], axis=0).sum(axis=1)


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


# ---- colmax via Google Benchmark ----------------------------------------------------------

def run_bench(bench: Path, name: str, repetitions: int) -> dict:
    """Median real time (seconds) and label of one colmax_bench benchmark."""
    cmd = [str(bench), f"--benchmark_filter=^{re.escape(name)}$",
           f"--benchmark_repetitions={repetitions}", "--benchmark_format=json"]
    if repetitions > 1:
        cmd.append("--benchmark_report_aggregates_only=true")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    if repetitions > 1:
        agg = {b.get("aggregate_name"): b for b in data["benchmarks"] if b.get("run_type") == "aggregate"}
        if "median" not in agg:
            raise RuntimeError(f"no median for {name}: {out[:500]}")
        b = agg["median"]
    else:
        runs = [b for b in data["benchmarks"] if b.get("run_type") == "iteration"]
        if not runs:
            raise RuntimeError(f"no result for {name}: {out[:500]}")
        b = runs[0]
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return {"seconds": b["real_time"] * scale, "label": b.get("label", ""),
            "counters": {k: v for k, v in b.items() if k in ("GFLOP/s", "GB/s")},
            "repetitions": repetitions, "iterations_per_repetition": b.get("iterations")}


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=repo / "build/cpu/bench/colmax_bench")
    ap.add_argument("--out-dir", type=Path, default=repo / "bench/results")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per engine and shape (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="fewer shapes, for a smoke test")
    args = ap.parse_args()
    if not args.bench.exists():
        print(f"colmax_bench not found at {args.bench}: build the cpu preset first", file=sys.stderr)
        return 2
    try:
        import maxsim_cpu  # noqa: F401
        from importlib.metadata import version
        maxsim_version = version("maxsim-cpu")
    except ImportError:
        maxsim_cpu = None
        maxsim_version = None
        print("maxsim-cpu is not installed (pip install maxsim-cpu): its column stays empty",
              file=sys.stderr)

    threads = args.threads
    rng = np.random.default_rng(2026)
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": git_commit(repo),
        "machine": machine_info(),
        "numpy": np.__version__,
        "numpy_blas": (np.show_config(mode="dicts") or {}).get("Build Dependencies", {}).get("blas", {})
        if hasattr(np, "show_config") else {},
        "maxsim_cpu": maxsim_version,
        "threads": threads,
        "method": "per shape, rounds in which each engine runs once in turn (NumPy and maxsim-cpu: "
                  "one call after warm-up calls; colmax: one colmax_bench repetition, the mean of "
                  "its iterations, on identically distributed inputs generated in C++); the figure "
                  "is the median over rounds",
        "peaks": {},
        "shapes": [],
    }

    a = rng.standard_normal((2048, 2048), dtype=np.float32)

    def machine_peaks() -> dict:
        fma = run_bench(args.bench, f"BM_FmaPeak/threads:{threads}/real_time", 5)
        bw = run_bench(args.bench, f"BM_ReadBandwidth/threads:{threads}/real_time", 5)
        sgemm = timed(lambda: a @ a, 1, 5, 0.0)
        return {"fma_gflops": fma["counters"]["GFLOP/s"], "fma_isa": fma["label"],
                "read_gbs": bw["counters"]["GB/s"],
                "numpy_sgemm_2048_gflops": 2 * 2048 ** 3 / sgemm["seconds"] / 1e9}

    # The peaks are measured before and after the shapes; the roofline uses the higher of the
    # two (what the machine can do), so a busy moment shows as a low % of roofline.
    print("measuring the machine: FMA peak, read bandwidth, sgemm ...", file=sys.stderr)
    results["peaks_before"] = machine_peaks()
    peak_gflops = results["peaks_before"]["fma_gflops"]
    read_gbs = results["peaks_before"]["read_gbs"]

    shapes = [
        # name, dtype, Nq, Nd, Lq, Ld (or (min, max)), k
        ("1x1000, Lq 32, Ld 300", "float32", 1, 1000, 32, 300, None),
        ("1x1000, Lq 32, Ld 300", "bfloat16", 1, 1000, 32, 300, None),
        ("1x1000, Lq 32, Ld 1024", "float32", 1, 1000, 32, 1024, None),
        ("1x1000, Lq 32, Ld 1024", "bfloat16", 1, 1000, 32, 1024, None),
        ("16x1000, Lq 32, Ld 1024", "float32", 16, 1000, 32, 1024, None),
        ("1x1000, Lq 32, Ld 32..512", "float32", 1, 1000, 32, (32, 512), None),
        ("top-10 of 1x1000, Lq 32, Ld 300", "float32", 1, 1000, 32, 300, 10),
    ]
    if args.quick:
        shapes = shapes[:1]
    dcode = {"float32": 0, "bfloat16": 1}

    for name, dtype, nq, nd, lq, ld, k in shapes:
        print(f"{name} {dtype} ...", file=sys.stderr)
        variable = isinstance(ld, tuple)
        if variable:
            lens = rng.integers(ld[0], ld[1] + 1, nd)
            offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
            Dp = normalised(rng, (int(offsets[-1]), DIM))
            token_pairs = lq * int(offsets[-1])
        else:
            D = normalised(rng, (nd, ld, DIM))
            token_pairs = lq * nd * ld
        Q = normalised(rng, (nq, lq, DIM))
        flop = 2.0 * nq * token_pairs * DIM
        row = {"shape": name, "dtype": dtype, "Nq": nq, "Nd": nd, "Lq": lq,
               "Ld": list(ld) if variable else ld, "k": k, "flop": flop, "engines": {}}

        # NumPy and maxsim-cpu take fp32; for a bf16 row they run on fp32 inputs.
        if variable:
            np_fn = lambda: numpy_packed(Q[0], Dp, offsets)
        elif k:
            np_fn = lambda: topk(numpy_padded(Q, D)[0], k)
        else:
            np_fn = lambda: numpy_padded(Q, D)
        ms_fn = None
        if maxsim_cpu is not None:
            if variable:
                docs = [Dp[offsets[i]:offsets[i + 1]] for i in range(nd)]
                ms_fn = lambda: maxsim_cpu.maxsim_scores_variable(Q[0], docs)
            elif k:
                ms_fn = lambda: topk(maxsim_cpu.maxsim_scores(Q[0], D), k)
            else:
                ms_fn = lambda: [maxsim_cpu.maxsim_scores(Q[i], D) for i in range(nq)]
            # agreement check against NumPy on the fp32 inputs
            if not variable and not k:
                want = numpy_padded(Q, D)
                got = np.stack([maxsim_cpu.maxsim_scores(Q[i], D) for i in range(nq)])
                row["maxsim_cpu_max_abs_diff"] = float(np.abs(got - want).max())
        if variable:
            bname = (f"BM_MaxSimVariable/dtype:{dcode[dtype]}/Nq:{nq}/Nd:{nd}/Lq:{lq}/"
                     f"Ld_min:{ld[0]}/Ld_max:{ld[1]}/threads:{threads}/real_time")
        elif k:
            bname = (f"BM_Retrieve/dtype:{dcode[dtype]}/Nq:{nq}/Nd:{nd}/Lq:{lq}/Ld:{ld}/k:{k}/"
                     f"threads:{threads}/real_time")
        else:
            bname = (f"BM_MaxSim/dtype:{dcode[dtype]}/Nq:{nq}/Nd:{nd}/Lq:{lq}/Ld:{ld}/"
                     f"threads:{threads}/real_time")

        # Rounds: each engine once per round, in turn, so that a busy spell on the machine
        # falls on all of them alike; the figure is the median over rounds. colmax_bench runs
        # one repetition per round (several iterations, their mean).
        for _ in range(args.warmup):
            np_fn()
            if ms_fn is not None:
                ms_fn()
        t_np, t_ms, t_cm, labels, cm_rates = [], [], [], set(), []
        for _ in range(args.runs):
            t = time.perf_counter()
            np_fn()
            t_np.append(time.perf_counter() - t)
            if ms_fn is not None:
                t = time.perf_counter()
                ms_fn()
                t_ms.append(time.perf_counter() - t)
            cb = run_bench(args.bench, bname, 1)
            t_cm.append(cb["seconds"])
            cm_rates.append(cb["counters"]["GFLOP/s"])
            labels.add(cb["label"])

        def summary(times):
            return {"seconds": statistics.median(times), "min_seconds": min(times), "runs": len(times)}

        row["engines"]["numpy"] = {**summary(t_np), "input_dtype": "float32"}
        if t_ms:
            row["engines"]["maxsim-cpu"] = {**summary(t_ms), "input_dtype": "float32"}
        # colmax's variable-length documents are its own draw of the same distribution: its
        # FLOP count comes from its own GFLOP/s counter.
        cflop = statistics.median(r * s for r, s in zip(cm_rates, t_cm)) * 1e9 if variable else flop
        row["engines"]["colmax"] = {**summary(t_cm), "flop": cflop, "label": " ".join(sorted(labels)),
                                    "input_dtype": dtype, "benchmark": bname}
        row["flop_per_document_byte"] = flop / (token_pairs / lq * DIM * (4 if dtype == "float32" else 2))
        results["shapes"].append(row)

    results["peaks_after"] = machine_peaks()
    results["machine"]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3] \
        if os.path.exists("/proc/loadavg") else []
    pb, pa = results["peaks_before"], results["peaks_after"]
    peak_gflops = max(pb["fma_gflops"], pa["fma_gflops"])
    read_gbs = max(pb["read_gbs"], pa["read_gbs"])
    results["peaks"] = {"fma_gflops": peak_gflops, "fma_isa": pb["fma_isa"], "read_gbs": read_gbs,
                        "numpy_sgemm_2048_gflops": max(pb["numpy_sgemm_2048_gflops"],
                                                       pa["numpy_sgemm_2048_gflops"])}
    for row in results["shapes"]:
        row["roofline_gflops"] = min(peak_gflops, read_gbs * row["flop_per_document_byte"])

    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"cpu-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")

    # Markdown table.
    p = results["peaks"]
    print(f"\nMachine: {results['machine'].get('Model name', '?')}, {threads} threads; "
          f"FMA peak {p['fma_gflops']:.0f} GFLOP/s ({p['fma_isa']}), read bandwidth "
          f"{p['read_gbs']:.1f} GB/s, NumPy sgemm 2048³ {p['numpy_sgemm_2048_gflops']:.0f} GFLOP/s. "
          f"Commit {results['commit']}, {results['date']}, load average "
          f"{' '.join(results['machine'].get('loadavg_at_start', []))} at start, "
          f"{' '.join(results['machine'].get('loadavg_at_end', []))} at end. FMA peak before/after: "
          f"{pb['fma_gflops']:.0f}/{pa['fma_gflops']:.0f} GFLOP/s.\n")
    print("| shape | dtype | NumPy ms (GFLOP/s) | maxsim-cpu ms (GFLOP/s) | colmax ms (GFLOP/s) "
          "| colmax vs NumPy | vs maxsim-cpu | roofline GFLOP/s | colmax % of roofline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results["shapes"]:
        e = r["engines"]

        def cell(key):
            if key not in e:
                return "—"
            f = e[key].get("flop", r["flop"])
            return f"{e[key]['seconds'] * 1e3:.1f} ({f / e[key]['seconds'] / 1e9:.0f})"

        c = e["colmax"]
        c_rate = c["flop"] / c["seconds"]
        def speedup(key):
            if key not in e:
                return "—"
            return f"{c_rate / (r['flop'] / e[key]['seconds']):.1f}×"
        dtype = r["dtype"] + (" (peers fp32)" if r["dtype"] != "float32" else "")
        print(f"| {r['shape']} | {dtype} | {cell('numpy')} | {cell('maxsim-cpu')} | {cell('colmax')} "
              f"| {speedup('numpy')} | {speedup('maxsim-cpu')} | {r['roofline_gflops']:.0f} "
              f"| {100 * c_rate / 1e9 / r['roofline_gflops']:.0f} % |")
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
