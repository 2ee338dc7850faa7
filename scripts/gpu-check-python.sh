#!/usr/bin/env bash
# Python GPU check: on a machine with an NVIDIA GPU and PyTorch, builds the colmax package
# with the CUDA kernels, runs the Python tests (NumPy, PyTorch, CUDA, PyLate, colpali-engine
# where installed) and the Python benchmark, and writes the results to OUTDIR.
#
#   scripts/gpu-check-python.sh OUTDIR
#
# OUTDIR receives build.log, pytest.log, pytest.xml (JUnit), python_bench_cuda.json,
# python_bench.log, bench_training_peers.json/.log (step "training") and summary.txt (what
# is printed last).
#
# Environment:
#   COLMAX_CUDA_ARCHS      architectures to compile (default 90a-real)
#   COLMAX_PYTHON_WHEELS   folder of extra wheels to install first without dependencies
#                          (PyLate and its missing requirements, the peers' packages)
#   COLMAX_PYTHON_STEPS    steps to run (default "tests,bench"; "training" adds the contrastive
#                          step benchmark, bench/python/bench_training_gpu_peers.py)
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 1
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$(dirname "$0")/.."
root=$(pwd)
steps=${COLMAX_PYTHON_STEPS:-tests,bench}
site=$(mktemp -d /tmp/colmax-site.XXXXXX)
export PYTHONUNBUFFERED=1
status=()
has() { [[ ",$steps," == *",$1,"* ]]; }

if [ -n "${COLMAX_PYTHON_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" \
    "$COLMAX_PYTHON_WHEELS"/*.whl >"$out/build.log" 2>&1 || status+=("extra wheels: FAILED")
fi
t0=$(date +%s)
if COLMAX_CUDA=ON CMAKE_ARGS="-DCOLMAX_CUDA_ARCHS=${COLMAX_CUDA_ARCHS:-90a-real}" \
   CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
   python3 -m pip install --no-deps --no-build-isolation --target "$site/colmax-pkg" . \
   >>"$out/build.log" 2>&1; then
  status+=("build: ok ($(( $(date +%s) - t0 )) s)")
else
  status+=("build: FAILED (see build.log)")
  tail -30 "$out/build.log"
  printf '%s\n' "${status[@]}" | tee "$out/summary.txt"
  exit 1
fi
export PYTHONPATH="$site/colmax-pkg:$site${PYTHONPATH:+:$PYTHONPATH}"

if has tests; then
  # From outside the source tree, so that the installed package is the one imported.
  (cd python/tests && timeout 400 python3 -m pytest -q -p no:cacheprovider -rs \
     -W ignore::DeprecationWarning --junitxml="$out/pytest.xml" . ) >"$out/pytest.log" 2>&1
  status+=("pytest: exit $? — $(tail -1 "$out/pytest.log")")
fi

if has bench; then
  if timeout 400 python3 bench/python_bench.py "$out" --device cuda >"$out/python_bench.log" 2>&1; then
    status+=("python benchmark: ok")
  else
    status+=("python benchmark: FAILED or timed out (see python_bench.log)")
  fi
fi

if has training; then
  # Contrastive steps through colmax.maxsim (autograd), PyTorch naive and LIK (when importable).
  if timeout 300 python3 bench/python/bench_training_gpu_peers.py "$out/bench_training_peers.json" \
     >"$out/bench_training_peers.log" 2>&1; then
    status+=("training benchmark: ok")
  else
    status+=("training benchmark: FAILED or timed out (see bench_training_peers.log)")
  fi
fi

{
  printf '%s\n' "${status[@]}"
  grep -E "PyLate step|SKIPPED|FAILED" "$out/pytest.log" | head -20
  tail -25 "$out/python_bench.log" 2>/dev/null || true  # (absent without the bench step)
} | tee "$out/summary.txt"
