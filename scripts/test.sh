#!/usr/bin/env bash
# The test command: installs dependencies, builds colmax (with the CUDA kernels for every
# architecture when nvcc is present), and runs every test suite that this machine can run:
# the C++ tests, the same tests under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# Python tests. Prints each runner's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
jobs=$(nproc)

echo "== format (clang-format, .clang-format) =="
git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh' | xargs clang-format --dry-run -Werror
echo "format: ok"

echo "== C++ tests (release) =="
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

echo "== C++ tests (AddressSanitizer + UndefinedBehaviorSanitizer) =="
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

echo "== Python tests =="
scripts/test-python.sh
