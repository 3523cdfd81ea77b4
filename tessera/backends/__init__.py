"""``ts.backends``: PyTorch's per-backend flags (``cudnn``, ``mps``, ``mkldnn``, ``openmp``...).

Tessera computes on the CPU with NumPy and, for compiled code, C kernels parallelised with OpenMP. The
GPU backends are absent (``is_available()`` False) but their flags exist and can be set, with PyTorch's
defaults, so configuration code written for PyTorch runs unchanged.

Example:
    >>> ts.backends.cudnn.benchmark = True
    >>> ts.backends.cudnn.is_available(), ts.backends.mps.is_available()
    (False, False)
    >>> ts.backends.cudnn.benchmark = False
"""

from __future__ import annotations

import contextlib

__all__ = ["cudnn", "cuda", "mps", "mkldnn", "mkl", "openmp", "opt_einsum", "cpu", "disable_global_flags"]


class _Flags:
    """A backend namespace: a fixed set of settable flags (an unknown name is an AttributeError, as in
    PyTorch) and its query functions."""

    _FLAGS: dict = {}

    def __init__(self):
        object.__setattr__(self, "_values", dict(self._FLAGS))

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
        elif name in self._values:
            self._values[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")

    @contextlib.contextmanager
    def flags(self, **kw):
        """Context manager: set some flags for the duration of a block (e.g. ``cudnn.flags(enabled=False)``)."""
        kw = {k: v for k, v in kw.items() if v is not None}
        saved = {k: getattr(self, k) for k in kw}
        for k, v in kw.items():
            setattr(self, k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(self, k, v)


class _Cudnn(_Flags):
    """``ts.backends.cudnn``: cuDNN's flags; cuDNN itself is not available."""

    _FLAGS = {
        "enabled": True,
        "benchmark": False,
        "benchmark_limit": None,
        "deterministic": False,
        "allow_tf32": True,
        "fp32_precision": "none",
    }

    def is_available(self) -> bool:
        return False

    def version(self) -> int | None:
        return None

    def is_acceptable(self, tensor) -> bool:
        return False


class _CublasMatmul(_Flags):
    """``ts.backends.cuda.matmul``: cuBLAS's matmul flags. ``allow_tf32`` mirrors
    ``ts.set_float32_matmul_precision`` (``"highest"`` means no TF32), as in PyTorch."""

    _FLAGS = {
        "allow_fp16_reduced_precision_reduction": True,
        "allow_bf16_reduced_precision_reduction": True,
        "allow_fp16_accumulation": False,
        "fp32_precision": "none",
    }

    @property
    def allow_tf32(self) -> bool:
        from ..core import compat

        return compat.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        from ..core import compat

        compat.set_float32_matmul_precision("high" if value else "highest")


class _Cuda:
    """``ts.backends.cuda``: the CUDA backend's flags (``matmul``, scaled-dot-product kernels); not built."""

    def __init__(self):
        self.matmul = _CublasMatmul()
        self._sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}

    def is_built(self) -> bool:
        return False

    def preferred_linalg_library(self, backend=None) -> str:
        return "default"

    def preferred_blas_library(self, backend=None) -> str:
        return "cublas"

    def flash_sdp_enabled(self) -> bool:
        return self._sdp["flash"]

    def enable_flash_sdp(self, enabled: bool) -> None:
        self._sdp["flash"] = bool(enabled)

    def mem_efficient_sdp_enabled(self) -> bool:
        return self._sdp["mem_efficient"]

    def enable_mem_efficient_sdp(self, enabled: bool) -> None:
        self._sdp["mem_efficient"] = bool(enabled)

    def math_sdp_enabled(self) -> bool:
        return self._sdp["math"]

    def enable_math_sdp(self, enabled: bool) -> None:
        self._sdp["math"] = bool(enabled)

    def cudnn_sdp_enabled(self) -> bool:
        return self._sdp["cudnn"]

    def enable_cudnn_sdp(self, enabled: bool) -> None:
        self._sdp["cudnn"] = bool(enabled)

    @contextlib.contextmanager
    def sdp_kernel(self, enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
        saved = dict(self._sdp)
        self._sdp.update(
            flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient, cudnn=enable_cudnn
        )
        try:
            yield
        finally:
            self._sdp.update(saved)


class _Mps:
    """``ts.backends.mps``: Apple's GPU backend; neither built nor available."""

    def is_available(self) -> bool:
        return False

    def is_built(self) -> bool:
        return False

    def is_macos_or_newer(self, major: int, minor: int) -> bool:
        return False


class _Mkldnn(_Flags):
    """``ts.backends.mkldnn``: oneDNN's flags; Tessera does not use oneDNN (``is_available()`` False)."""

    _FLAGS = {"enabled": True, "deterministic": False, "allow_tf32": False, "fp32_precision": "none"}

    def is_available(self) -> bool:
        return False


class _Mkl:
    """``ts.backends.mkl``: Tessera calls NumPy's BLAS, whichever it is; MKL is not linked directly."""

    def is_available(self) -> bool:
        return False


class _OpenMP:
    """``ts.backends.openmp``: compiled kernels (``ts.compile``) run in parallel with OpenMP."""

    def is_available(self) -> bool:
        return True


class _OptEinsum(_Flags):
    """``ts.backends.opt_einsum``: Tessera's ``einsum`` does not use the opt_einsum package."""

    _FLAGS = {"enabled": False, "strategy": None}

    def is_available(self) -> bool:
        return False

    def get_opt_einsum(self):
        return None


class _Cpu:
    """``ts.backends.cpu``: the CPU's vector capability as NumPy reports it."""

    def get_cpu_capability(self) -> str:
        import numpy as np

        try:
            found = np._core._multiarray_umath.__cpu_features__
        except AttributeError:  # pragma: no cover - NumPy < 2
            return "DEFAULT"
        if found.get("AVX512F") and found.get("AVX512BW"):
            return "AVX512"
        if found.get("AVX2"):
            return "AVX2"
        return "DEFAULT"


cudnn = _Cudnn()
cuda = _Cuda()
mps = _Mps()
mkldnn = _Mkldnn()
mkl = _Mkl()
openmp = _OpenMP()
opt_einsum = _OptEinsum()
cpu = _Cpu()


def disable_global_flags() -> None:
    """PyTorch uses this to forbid changing flags globally; Tessera keeps them settable (a no-op)."""
