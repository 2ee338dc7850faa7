#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU (sm_80 or newer), builds colmax with the CUDA
# kernels, runs the GPU tests, compute-sanitizer memcheck and racecheck on a reduced sweep,
# the GPU forward benchmark and the peers' benchmark in the same run, and writes JSON results
# and logs to OUTDIR. Prints a short table last.
#
#   scripts/gpu-check.sh OUTDIR
#
# OUTDIR receives (eight files): run.log (device, build, test and benchmark output),
# tests.json (gtest results), sanitizer.log, colmax.json, peers.json, results.json (merged
# benchmark with roofline percentages), profile.txt (Nsight Compute) and summary.txt (what is
# printed last).
#
# Environment:
#   COLMAX_BUILD_DIR   reuse this build when it already holds the test and benchmark binaries
#                      (default build/gpu, configured and built here otherwise)
#   COLMAX_CUDA_ARCHS  architectures to compile when building (default 90a-real)
#   COLMAX_PEER_WHEELS folder of wheels (late-interaction-kernels 0.4.5, flash-maxsim 0.3.0)
#                      installed into a private target before the peers' benchmark
#   COLMAX_COMMIT      commit recorded in results.json (default: git rev-parse HEAD)
#   COLMAX_GPU_STEPS   steps to run (default "tests,memcheck,bench,peers,profile,racecheck")
#   COLMAX_PROFILE_SPECS  benchmark specs (colmax_cuda_bench --tune) to profile with ncu
#   JOBS               parallel build jobs (default: all cores)
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 1
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$(dirname "$0")/.."
root=$(pwd)
build=${COLMAX_BUILD_DIR:-build/gpu}
steps=${COLMAX_GPU_STEPS:-tests,memcheck,bench,peers,profile,racecheck}
jobs=${JOBS:-$(nproc)}
commit=${COLMAX_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
log=$out/run.log
: >"$log"
export PYTHONUNBUFFERED=1
status=()
note() { echo "== $* ==" | tee -a "$log"; }
has() { [[ ",$steps," == *",$1,"* ]]; }

note "device"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nvcc --version | tail -2; } >>"$log" 2>&1

tests_bin=$build/tests/cuda/colmax_cuda_tests
bench_bin=$build/bench/cuda/colmax_cuda_bench
if [ ! -x "$tests_bin" ] || [ ! -x "$bench_bin" ]; then
  note "build ($build, ${COLMAX_CUDA_ARCHS:-90a-real})"
  t0=$(date +%s)
  if cmake -S . -B "$build" -G Ninja -DCOLMAX_CUDA=ON -DCOLMAX_WERROR=ON \
       -DCOLMAX_CUDA_ARCHS="${COLMAX_CUDA_ARCHS:-90a-real}" >>"$log" 2>&1 &&
     cmake --build "$build" -j "$jobs" --target colmax_cuda_tests colmax_cuda_bench >>"$log" 2>&1; then
    status+=("build: ok ($(( $(date +%s) - t0 )) s)")
  else
    status+=("build: FAILED (see run.log)")
    tail -30 "$log"
    printf '%s\n' "${status[@]}" | tee "$out/summary.txt"
    exit 1
  fi
fi

if has tests; then
  # One process per suite: a kernel fault poisons its CUDA context, not the other suites'.
  note "GPU tests"
  suites=$("$tests_bin" --gtest_list_tests | grep -E '^[A-Za-z0-9_]+\.$' | tr -d '.')
  parts=()
  for s in $suites; do
    timeout 150 "$tests_bin" --gtest_filter="$s.*" --gtest_output="json:$out/tests_$s.json" >>"$log" 2>&1
    rc=$?
    echo "suite $s: exit $rc" | tee -a "$log"
    parts+=("$out/tests_$s.json")
  done
  python3 - "$out/tests.json" "${parts[@]}" <<'EOF' | tee -a "$log"
import json, os, sys
merged = {"testsuites": []}
counts = {"tests": 0, "failures": 0, "skipped": 0}
for p in sys.argv[2:]:
    if not os.path.exists(p):
        print("missing", p)
        continue
    j = json.load(open(p))
    os.remove(p)
    for s in j.get("testsuites", []):
        merged["testsuites"].append(s)
        for t in s.get("testsuite", []):
            counts["tests"] += 1
            if t.get("failures"):
                counts["failures"] += 1
                print("FAILED", s["name"] + "." + t["name"], t["failures"][0]["failure"][:400])
            if t.get("result") == "SKIPPED":
                counts["skipped"] += 1
merged["counts"] = counts
json.dump(merged, open(sys.argv[1], "w"), indent=1)
print("tests: %(tests)d run, %(failures)d failed, %(skipped)d skipped" % counts)
EOF
  status+=("$(python3 -c "import json;c=json.load(open('$out/tests.json'))['counts'];print('tests: %d run, %d failed, %d skipped' % (c['tests'], c['failures'], c['skipped']))" 2>/dev/null || echo 'tests: no results')")
fi

sanitize() {  # tool, filter, cases, seconds
  note "compute-sanitizer $1"
  echo "== compute-sanitizer --tool $1 ($2, $3 sweep cases) ==" >>"$out/sanitizer.log"
  COLMAX_SWEEP_CASES=$3 timeout "$4" compute-sanitizer --tool "$1" --error-exitcode 9 \
    "$tests_bin" --gtest_filter="$2" >>"$out/sanitizer.log" 2>&1
  local rc=$?
  local summary
  summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$out/sanitizer.log" | tail -1)
  status+=("$1: exit $rc ${summary}")
}
if has memcheck; then
  COLMAX_STREAM_CASES=14 sanitize memcheck 'CudaSweep.MatchesReference:CudaSweep.EdgeCases:CudaGuards.*:CudaTopK.MatchesCpuEngine:CudaStream.*:CudaStreamKernel.*Reference' 40 150
fi

if has bench; then
  note "colmax benchmark"
  if timeout 150 "$bench_bin" --shapes --out "$out/colmax.json" --min-ms 200 >>"$log" 2>&1; then
    status+=("colmax benchmark: ok")
  else
    status+=("colmax benchmark: FAILED")
  fi
fi

if has peers; then
  note "peers benchmark"
  if [ -n "${COLMAX_PEER_WHEELS:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/colmax-peers \
      "$COLMAX_PEER_WHEELS"/late_interaction_kernels*.whl "$COLMAX_PEER_WHEELS"/flash_maxsim*.whl >>"$log" 2>&1
    export PYTHONPATH=/tmp/colmax-peers${PYTHONPATH:+:$PYTHONPATH}
  fi
  if timeout 320 python3 bench/cuda/peers.py --out "$out/peers.json" --min-ms 200 >>"$log" 2>&1; then
    status+=("peers benchmark: ok")
  else
    status+=("peers benchmark: FAILED or timed out")
  fi
fi

if has profile; then
  # Nsight Compute on one memory-bound and one compute-bound shape: speed of light, occupancy,
  # warp stall reasons, memory traffic (the third launch: after the first call and warm-up).
  note "profile (ncu)"
  for spec in ${COLMAX_PROFILE_SPECS:-cross,128,1,32,1000,300 cross,128,1,1024,1000,1024}; do
    echo "== ncu: $spec ==" >>"$out/profile.txt"
    timeout 90 ncu --kernel-name regex:'tile_kernel|stream_kernel|stream_tma_kernel|stream_wgq?_kernel' --launch-skip 2 --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
      --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
      "$bench_bin" --tune "$spec" --repeat 3 >>"$out/profile.txt" 2>&1
    status+=("profile $spec: exit $?")
  done
fi

if has racecheck; then
  COLMAX_STREAM_CASES=8 sanitize racecheck 'CudaSweep.MatchesReference:CudaGuards.Bad*:CudaStreamKernel.*Reference' 12 150
fi

{
  printf '%s\n' "${status[@]}"
  if [ -f "$out/colmax.json" ] && [ -f "$out/peers.json" ]; then
    python3 bench/cuda/report.py "$out/colmax.json" "$out/peers.json" --out "$out/results.json" \
      --commit "$commit" 2>&1
  elif [ -f "$out/colmax.json" ]; then
    python3 -c "
import json; c = json.load(open('$out/colmax.json'))
print(c['device'], 'copy %.0f GB/s' % c['copy_gbps'])
for s in c['shapes']: print('%-20s %10.1f us' % (s['name'], s['median_us']))"
  fi
} | tee "$out/summary.txt"
