#!/usr/bin/env python3
"""Merges colmax's and the peers' GPU benchmark results into one JSON and a table.

    python3 bench/cuda/report.py colmax.json peers.json --out results.json [--commit SHA]

Floor of a shape = max(bytes moved once / copy bandwidth, FLOPs / bf16 matmul rate), both
ceilings measured by peers.py in the same run; "% roofline" = floor / median time.
Speed-up = the faster of LIK and flash-maxsim over colmax.
"""
import argparse
import datetime
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("colmax")
    ap.add_argument("peers")
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", default="")
    a = ap.parse_args()
    c = json.load(open(a.colmax))
    p = json.load(open(a.peers))
    bw = p["copy_gbps"] * 1e9
    mm = p["bf16_matmul_tflops"] * 1e12
    peers = {s["name"]: s["peers"] for s in p["shapes"]}
    rows = []
    for s in c["shapes"]:
        floor_us = max(s["bytes"] / bw, s["flops"] / mm) * 1e6
        bound = "memory" if s["bytes"] / bw >= s["flops"] / mm else "compute"
        pe = peers.get(s["name"], {})
        def t(name):
            v = pe.get(name, {})
            return v.get("median_us")
        best_peer = min([x for x in (t("lik"), t("flash_maxsim")) if x], default=None)
        rows.append({
            "name": s["name"], "floor_us": floor_us, "bound": bound,
            "colmax_us": s["median_us"], "colmax_p10_us": s["p10_us"], "colmax_p90_us": s["p90_us"],
            "colmax_roofline_pct": 100 * floor_us / s["median_us"],
            "colmax_first_call_us": s["first_call_us"], "colmax_extra_bytes": s["extra_bytes"],
            "lik_us": t("lik"), "flash_maxsim_us": t("flash_maxsim"), "torch_einsum_us": t("torch_einsum"),
            "speedup_vs_best_peer": (best_peer / s["median_us"]) if best_peer else None,
            "peers": pe, "shape": {k: s[k] for k in ("layout", "nq", "nd", "lq", "ld", "dim", "lq_min", "ld_min")},
            "bytes": s["bytes"], "flops": s["flops"],
        })
    out = {
        "date": datetime.date.today().isoformat(), "commit": a.commit, "device": c["device"],
        "copy_gbps_torch": p["copy_gbps"], "copy_gbps_cuda": c["copy_gbps"],
        "bf16_matmul_tflops": p["bf16_matmul_tflops"], "versions": p["versions"],
        "method": "CUDA events around each call, median after warm-up; inputs rotated when they fit "
                  "in L2; bf16 uniform [-1, 1) inputs; colmax timed from the C++ benchmark binary, "
                  "peers from Python in the same run",
        "rows": rows,
    }
    json.dump(out, open(a.out, "w"), indent=1)

    def f(x, fmt="%.1f"):
        return "-" if x is None else fmt % x
    print("\n%s | copy %.0f GB/s | bf16 mm %.0f TFLOP/s | %s" % (c["device"], p["copy_gbps"],
                                                               p["bf16_matmul_tflops"], p["versions"]))
    print("| shape | bound | floor us | colmax us | roofline | LIK us | flash us | torch us | vs best peer | first call us |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s | %s%% | %s | %s | %s | %s | %s |" % (
            r["name"], r["bound"], f(r["floor_us"]), f(r["colmax_us"]), f(r["colmax_roofline_pct"], "%.0f"),
            f(r["lik_us"]), f(r["flash_maxsim_us"]), f(r["torch_einsum_us"]),
            f(r["speedup_vs_best_peer"], "%.2fx"), f(r["colmax_first_call_us"], "%.0f")))


if __name__ == "__main__":
    main()
