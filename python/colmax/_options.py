"""Keyword options -> the integer codes the native functions take (see python/src/arrays.hpp)."""

from __future__ import annotations

MASK_MODES = {"exclude": 0, "zero": 1}
FP32_PRECISIONS = {"exact": 0, "ieee": 0, "tf32": 1}
BACKENDS = {"auto": 0, "cpu": 1, "cuda": 2, "reference": 3}
# Gradient strategies of the backward pass; LIK's names map onto colmax's.
BACKWARD_STRATEGIES = {
    None: 0,
    "auto": 0,
    "fast": 1,
    "deterministic": 2,
    "unified": 1,  # late-interaction-kernels: atomics
    "lowmem": 2,  # late-interaction-kernels: deterministic
}


def _code(table: dict, value, name: str) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        choices = ", ".join(repr(k) for k in table if k is not None)
        raise ValueError(f"colmax: {name}: expected one of {choices}, got {value!r}") from None


def encode(mask_mode, normalize, fp32_precision, backend, num_threads) -> tuple:
    """(mask_mode, normalize, fp32_precision, backend, num_threads) as the native codes."""
    if not isinstance(num_threads, int) or num_threads < 0:
        raise ValueError(f"colmax: num_threads: expected an int >= 0, got {num_threads!r}")
    return (
        _code(MASK_MODES, mask_mode, "mask_mode"),
        bool(normalize),
        _code(FP32_PRECISIONS, fp32_precision, "fp32_precision"),
        _code(BACKENDS, backend, "backend"),
        num_threads,
    )


def backward_strategy(value) -> int:
    return _code(BACKWARD_STRATEGIES, value, "backward")
