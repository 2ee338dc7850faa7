#!/usr/bin/env bash
# The Python tests: builds the colmax package with pip (scikit-build-core + nanobind) into a
# virtual environment under build/, adds PyTorch, PyLate, colpali-engine and JAX from PyPI, and
# runs pytest (its summary line is the last line printed).
#
#   COLMAX_PYTHON_FRAMEWORKS=0   skip PyTorch / PyLate / colpali-engine / JAX (their tests skip)
#   COLMAX_PYTHON_CUDA=AUTO      build the extension with the CUDA kernels (default OFF here:
#                                the C++ build has compiled them already, and tests that need
#                                a GPU skip without one; on a GPU machine set AUTO)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/build/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
pip=("$py" -m pip install -q --disable-pip-version-check)

if [ "${COLMAX_PYTHON_FRAMEWORKS:-1}" = 1 ]; then
  # One resolver run, so that the PyTorch picked satisfies PyLate and colpali-engine both.
  "${pip[@]}" "pylate>=1.4,<1.7" "colpali-engine>=0.3,<0.4" jax
fi
COLMAX_CUDA="${COLMAX_PYTHON_CUDA:-OFF}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "${pip[@]}" ".[test]"
# Run from outside the source tree so that the installed package is the one imported.
cd python/tests
"$py" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning .
