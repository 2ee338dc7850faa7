#!/usr/bin/env bash
# GPU check of the training kernels (colmax/backward.hpp): builds colmax with CUDA for this
# GPU, runs the CUDA training tests, the training benchmark, and the peers' side of it
# (PyTorch naive and late-interaction-kernels, when importable), writing everything to
# OUTDIR:
#   system.txt                      GPU, driver, nvcc, cmake, commit
#   build.log                       configure and build
#   cuda_backward_tests.json/.log   GoogleTest results
#   bench_backward_cuda.json/.log   colmax: forward with winners, backward (fast,
#                                   deterministic, recompute), step, memory, GEMM/copy ceilings
#   bench_training_peers.json/.log  PyTorch naive and LIK contrastive steps, same shapes
#
# Usage: scripts/gpu-check-backward.sh OUTDIR [CUDA_ARCH]   (CUDA_ARCH default: 90a-real)
# LIK: install its wheel first (shared/tools/anchor-wheels.sh) and put it on PYTHONPATH.
# GTEST_SOURCE=DIR builds GoogleTest from source first (for machines without its package;
# Debian's libgtest-dev ships the source in /usr/src/googletest).
# Each phase has a time limit so that a slow one cannot take the others' results with it.
set -uo pipefail
out=$(realpath -m "${1:?usage: $0 OUTDIR [CUDA_ARCH]}")
arch=${2:-90a-real}
mkdir -p "$out"
cd "$(dirname "$0")/.."
build=build/gpu-backward
jobs=$(nproc)
{
  date -u
  git rev-parse HEAD 2>/dev/null || echo "(no git)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nvcc --version | tail -1
  cmake --version | head -1
} > "$out/system.txt" 2>&1

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
prefix=()
if [ -n "${GTEST_SOURCE:-}" ]; then
  echo "== GoogleTest from $GTEST_SOURCE"
  timeout 200 cmake -S "$GTEST_SOURCE" -B "$build/gtest" "${generator[@]}" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PWD/$build/gtest-install" \
      > "$out/build.log" 2>&1 &&
    timeout 200 cmake --build "$build/gtest" -j "$jobs" --target install >> "$out/build.log" 2>&1 ||
    { tail -30 "$out/build.log"; echo "GoogleTest build failed"; exit 1; }
  prefix=(-DCMAKE_PREFIX_PATH="$PWD/$build/gtest-install")
fi
echo "== build ($arch)"
if ! timeout 300 cmake -S . -B "$build" "${generator[@]}" "${prefix[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCOLMAX_CUDA=ON -DCOLMAX_CUDA_ARCHS="$arch" -DCOLMAX_APPS=OFF \
    -DCOLMAX_WERROR=ON >> "$out/build.log" 2>&1 ||
   ! timeout 400 cmake --build "$build" -j "$jobs" \
    --target colmax_cuda_backward_tests colmax_bench_backward_cuda >> "$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  echo "build failed"
  exit 1
fi

echo "== tests"
timeout "${TESTS_TIMEOUT:-240}" "$build/tests/cuda/backward/colmax_cuda_backward_tests" \
  --gtest_output="json:$out/cuda_backward_tests.json" > "$out/cuda_backward_tests.log" 2>&1
echo "tests rc=$?"
grep -E "^\[  (PASSED|FAILED|SKIPPED) |Failure|Which is|case [0-9]+:" "$out/cuda_backward_tests.log" | head -30

echo "== colmax benchmark"
timeout "${BENCH_TIMEOUT:-180}" "$build/bench/cuda_backward/colmax_bench_backward_cuda" \
  --min-ms "${BENCH_MIN_MS:-200}" --out "$out/bench_backward_cuda.json" > "$out/bench_backward_cuda.log" 2>&1
echo "bench rc=$?"

echo "== peers (PyTorch naive, late-interaction-kernels)"
PYTHONUNBUFFERED=1 timeout "${PEERS_TIMEOUT:-240}" python3 bench/python/bench_training_gpu_peers.py \
  --min-ms "${BENCH_MIN_MS:-200}" "$out/bench_training_peers.json" > "$out/bench_training_peers.log" 2>&1
echo "peers rc=$?"
tail -20 "$out/bench_training_peers.log"
