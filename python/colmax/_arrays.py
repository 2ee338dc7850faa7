"""Which framework an array comes from, and how to make outputs of the same kind.

colmax reads every input through DLPack without copying; outputs are allocated here, in the
caller's framework and on the caller's device, then written in place by the native code.
Nothing imports a framework the caller did not already use.
"""

from __future__ import annotations

import sys

import numpy as np


class Framework:
    """How to allocate outputs like `like`, and which CUDA stream to enqueue work on."""

    name = "?"

    def empty(self, shape, dtype: str, like):  # dtype: "float32" or "int64"
        raise NotImplementedError

    def stream(self, like) -> int:
        return 0

    def ready(self, arrays):
        """Make the inputs' values available to colmax's own stream (JAX: wait for them)."""

    def arange(self, n: int, like):
        raise NotImplementedError

    def finish(self, out, like):
        """Turn the written output into what the caller gets back."""
        return out


class _NumPy(Framework):
    name = "numpy"

    def empty(self, shape, dtype, like):
        return np.empty(shape, dtype=dtype)

    def arange(self, n, like):
        return np.arange(n)


class _Torch(Framework):
    """PyTorch calls go through colmax._torch_ops (operators, autograd), which allocate and
    pick the stream themselves; here only what the Python layer builds (length masks)."""

    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def arange(self, n, like):
        return self.torch.arange(n, device=like.device)


class _CuPy(Framework):
    name = "cupy"

    def __init__(self):
        import cupy

        self.cupy = cupy

    def empty(self, shape, dtype, like):
        with like.device:
            return self.cupy.empty(shape, dtype=dtype)

    def stream(self, like) -> int:
        with like.device:
            return self.cupy.cuda.get_current_stream().ptr

    def arange(self, n, like):
        with like.device:
            return self.cupy.arange(n)


class _Jax(Framework):
    """JAX arrays are immutable: colmax writes into a buffer of its own (NumPy memory for CPU
    arrays, device memory from colmax._C.cuda_empty for GPU arrays) that JAX then adopts
    through DLPack without a copy. JAX runs asynchronously on streams of its own, so a GPU
    call waits for its inputs first and for its own kernels before handing the result over."""

    name = "jax"

    def __init__(self):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.jnp = jnp

    def _gpu(self, like):
        devices = like.devices()
        if len(devices) != 1:
            raise ValueError("colmax: JAX arrays sharded over several devices are not "
                             "supported; pass one device's shard")
        device = next(iter(devices))
        if device.platform == "cpu":
            return None
        if device.platform not in ("gpu", "cuda"):
            raise NotImplementedError(f"colmax: JAX arrays on {device.platform} are not supported")
        return device

    def ready(self, arrays):
        for a in arrays:
            if a is not None and hasattr(a, "block_until_ready"):
                a.block_until_ready()

    def empty(self, shape, dtype, like):
        device = self._gpu(like)
        if device is None:
            return np.empty(shape, dtype=dtype)
        from colmax import _C

        return _C.cuda_empty([int(n) for n in shape], dtype, device.id)

    def arange(self, n, like):
        return self.jnp.arange(n)

    def finish(self, out, like):
        device = self._gpu(like)
        if device is None:
            # On the input's device (jnp.asarray would pick the default one, maybe a GPU).
            return self.jax.device_put(out, next(iter(like.devices())))
        from colmax import _C

        _C.cuda_synchronize(device.id)
        return self.jax.dlpack.from_dlpack(out)


_NUMPY = _NumPy()
_by_type: dict[type, Framework] = {np.ndarray: _NUMPY}


def _lookup(cls: type) -> Framework:
    module = cls.__module__.split(".")[0]
    torch = sys.modules.get("torch")
    if torch is not None and issubclass(cls, torch.Tensor):
        return _Torch()
    if module == "cupy":
        return _CuPy()
    if module in ("jax", "jaxlib"):
        return _Jax()
    if issubclass(cls, np.ndarray):
        return _NUMPY
    raise TypeError(
        f"colmax: expected a NumPy, PyTorch, CuPy or JAX array, got {cls.__module__}.{cls.__name__}"
    )


def framework_of(array) -> Framework:
    cls = type(array)
    framework = _by_type.get(cls)
    if framework is None:
        framework = _by_type[cls] = _lookup(cls)
    return framework


def is_torch(array) -> bool:
    return framework_of(array).name == "torch"
