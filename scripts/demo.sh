#!/usr/bin/env bash
# The main job: installs what is missing, builds the `colmax` command line and runs
# `colmax demo`. Extra arguments go to the demo, e.g. `scripts/demo.sh --docs 50000`.
#
# With an NVIDIA GPU visible (nvidia-smi) it builds the release preset, whose CUDA kernels
# for every architecture take a while to compile the first time; otherwise the cpu preset.
# Re-runs configure nothing and rebuild only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh

preset=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  preset=release
fi
build="build/$preset"
if [ ! -f "$build/build.ninja" ]; then
  echo "demo: configuring the $preset preset"
  cmake --preset "$preset" >/dev/null
fi
# Only the command line and the library it needs (ninja re-runs cmake if a CMakeLists.txt
# changed).
cmake --build --preset "$preset" --target colmax_cli_main -j "$(nproc)"
exec "$build/apps/colmax/colmax" demo "$@"
