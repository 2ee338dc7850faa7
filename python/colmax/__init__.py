"""colmax: fused late-interaction (MaxSim) kernels for CPUs and NVIDIA GPUs.

    import colmax
    scores = colmax.maxsim(Q, D, q_mask, d_mask)          # [Nq, Nd] fp32
    scores, ids = colmax.retrieve(Q, D, top_k=10)          # best first

NumPy, PyTorch, CuPy and JAX arrays go in through DLPack without copies; the result is an
array of the same framework on the same device (PyTorch: on the current CUDA stream, with
autograd, torch.compile and CUDA-graph support). `import colmax` never needs a GPU, nor
PyTorch. Integrations: colmax.integrations.pylate, colmax.integrations.colpali.
"""

from __future__ import annotations

from . import _C
from ._api import (
    maxsim,
    maxsim_packed_pairs,
    maxsim_padded,
    maxsim_pairs,
    maxsim_varlen,
    retrieve,
    retrieve_packed,
    score_pairs_packed,
)

__version__ = _C.version()


def cpu_simd_level() -> str:
    """The SIMD level the CPU engine runs at on this machine ("avx512-bf16", "avx2", ...)."""
    return _C.cpu_simd_level()


def cuda_built() -> bool:
    """Whether this build carries the CUDA kernels."""
    return _C.cuda_built()


def cuda_devices() -> list:
    """The GPUs colmax sees: dicts of id, name, compute_capability, multiprocessors,
    memory_bytes. Empty without a driver or GPU."""
    return _C.cuda_devices()


def get_num_threads() -> int:
    """CPU worker threads used when num_threads=0 (COLMAX_NUM_THREADS, else all cores)."""
    return _C.default_num_threads()


def set_num_threads(threads: int) -> None:
    """Sets the default CPU worker threads; 0 restores the automatic choice."""
    _C.set_default_num_threads(threads)


def has_backward() -> bool:
    """Whether this build has the native MaxSim backward pass (gradients in PyTorch)."""
    return hasattr(_C, "train_forward")


def __getattr__(name):
    # MaxSimScorer needs PyTorch: import it only when asked for.
    if name == "MaxSimScorer":
        from ._scorer import MaxSimScorer

        return MaxSimScorer
    raise AttributeError(f"module 'colmax' has no attribute {name!r}")


__all__ = [
    "__version__",
    "MaxSimScorer",
    "maxsim",
    "maxsim_pairs",
    "maxsim_varlen",
    "maxsim_packed_pairs",
    "score_pairs_packed",
    "maxsim_padded",
    "retrieve",
    "retrieve_packed",
    "cpu_simd_level",
    "cuda_built",
    "cuda_devices",
    "get_num_threads",
    "set_num_threads",
    "has_backward",
]
