#!/usr/bin/env bash
# A/B on a GPU machine: builds the CUDA benchmarks of a base revision (in a git worktree) and of
# this working tree, then times both on the same device in the same run, alternating base and
# new, and prints one table of medians and ratios (new / base: below 1 is faster).
#
#   scripts/gpu-ab.sh OUTDIR BASE
#
# BASE is a git revision (checked out into a temporary worktree), a directory holding the
# base's source tree (for machines that get a copy of the files without the git history:
# `git archive --prefix=base/ REV | tar x -C SOMEWHERE` beforehand), or a build directory that
# already holds the two benchmarks (bench/cuda/colmax_cuda_bench and
# bench/cuda_backward/colmax_bench_backward_cuda: built elsewhere and copied, for machines
# without Google Benchmark or GoogleTest to configure with). COLMAX_BUILD_DIR likewise names
# prebuilt benchmarks of this tree.
#
# Times: the forward benchmark's 13 issue shapes (colmax_cuda_bench --shapes) and the training
# benchmark's shapes (colmax_bench_backward_cuda: forward with winners, backward, step), each
# ROUNDS times (default 2) per side. OUTDIR receives the JSON of every run, the build logs and
# ab.txt (the table). Environment: COLMAX_CUDA_ARCHS (default 90a-real), ROUNDS, MIN_MS
# (per-shape timing budget, default 100), JOBS.
#
# Set-up-free: needs cmake, ninja or make, nvcc, GoogleTest (for the configure step) and git.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 OUTDIR BASE (a git revision or a source directory)" >&2
  exit 1
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
base=$2
[ -d "$base" ] && base=$(cd "$base" && pwd)
cd "$(dirname "$0")/.."
root=$(pwd)
archs=${COLMAX_CUDA_ARCHS:-90a-real}
rounds=${ROUNDS:-2}
min_ms=${MIN_MS:-100}
jobs=${JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

prebuilt() { [ -x "$1/bench/cuda/colmax_cuda_bench" ] && [ -x "$1/bench/cuda_backward/colmax_bench_backward_cuda" ]; }
build() {  # SOURCE_DIR BUILD_DIR LOG
  if prebuilt "$2"; then
    echo "prebuilt: $2" >"$3"
    return 0
  fi
  cmake -S "$1" -B "$2" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCOLMAX_CUDA=ON \
    -DCOLMAX_CUDA_ARCHS="$archs" -DCOLMAX_APPS=OFF -DCOLMAX_TESTS=OFF >"$3" 2>&1 &&
    cmake --build "$2" -j "$jobs" --target colmax_cuda_bench colmax_bench_backward_cuda >>"$3" 2>&1
}

base_build=
if [ -d "$base" ] && prebuilt "$base"; then
  worktree=$base
  base_build=$base
elif [ -d "$base" ]; then
  worktree=$base
else
  worktree=$(mktemp -d /tmp/colmax-base.XXXXXX)
  if ! git worktree add -q --detach "$worktree" "$base" 2>"$out/build-base.log"; then
    echo "cannot check out $base"
    exit 1
  fi
  trap 'git worktree remove --force "$worktree" >/dev/null 2>&1' EXIT
fi
echo "== build base ($base) and new (this tree), $archs"
base_build=${base_build:-$worktree/build/ab}
new_build=${COLMAX_BUILD_DIR:-$root/build/ab}
build "$worktree" "$base_build" "$out/build-base.log" &
base_pid=$!
build "$root" "$new_build" "$out/build-new.log"
new_ok=$?
wait $base_pid
base_ok=$?
if [ $base_ok -ne 0 ] || [ $new_ok -ne 0 ]; then
  tail -20 "$out/build-base.log" "$out/build-new.log"
  echo "build failed"
  exit 1
fi

declare -A dir=([base]="$base_build" [new]="$new_build")
for r in $(seq 1 "$rounds"); do
  for side in base new; do
    echo "== round $r: $side"
    timeout 300 "${dir[$side]}/bench/cuda/colmax_cuda_bench" --shapes --min-ms "$min_ms" \
      --out "$out/forward-$side-$r.json" >"$out/forward-$side-$r.log" 2>&1 ||
      echo "forward benchmark ($side) failed: $out/forward-$side-$r.log"
    timeout 300 "${dir[$side]}/bench/cuda_backward/colmax_bench_backward_cuda" --min-ms "$min_ms" \
      >"$out/training-$side-$r.json" 2>"$out/training-$side-$r.log" ||
      echo "training benchmark ($side) failed: $out/training-$side-$r.log"
  done
done

python3 - "$out" "$rounds" <<'EOF' | tee "$out/ab.txt"
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def medians(kind, side):
    """name -> list of medians (one per round)."""
    got = {}
    for r in range(1, rounds + 1):
        d = load(f"{out}/{kind}-{side}-{r}.json")
        if not d:
            continue
        for s in d.get("shapes", []):
            if kind == "forward":
                got.setdefault(s["name"], []).append(s["median_us"])
            else:
                for key, v in s.items():
                    if isinstance(v, dict) and "median_us" in v:
                        got.setdefault(f'{s["name"]} {key}', []).append(v["median_us"])
    return got

for kind in ("forward", "training"):
    base, new = medians(kind, "base"), medians(kind, "new")
    print(f"{kind}: median over rounds, µs (new / base)")
    for name in base:
        if name not in new:
            continue
        b, n = statistics.median(base[name]), statistics.median(new[name])
        print(f"  {name:<48} base {b:10.1f}  new {n:10.1f}  {n / b:6.3f}")
EOF
