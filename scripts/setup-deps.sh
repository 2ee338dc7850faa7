#!/usr/bin/env bash
# Installs what colmax builds and tests with, on Debian/Ubuntu, when it is missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
need=()
for pkg in cmake ninja-build g++ clang-format googletest libgtest-dev libbenchmark-dev libdlpack-dev python3-dev python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
