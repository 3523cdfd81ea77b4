"""Discrete Fourier transform ops (the registry side of ``ts.fft``) and the complex-number ops they need
(``real``/``imag`` views, ``view_as_real``/``view_as_complex``, ``conj``, ``angle``, ``polar``, ``complex``).

Complex tensors are forward-only: autograd records no history through a complex result, so the public
functions here raise a clear error when an input requires grad instead of silently dropping the gradient.
"""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, TensorMeta
from ..core.grad_mode import STATE as _GRAD
from ..core.tensor import Tensor
from ._util import apply, canonical_dim, check_tensor, method

__all__ = [
    "complex64", "complex128", "cfloat", "cdouble", "real", "imag", "view_as_real", "view_as_complex",
    "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "angle", "polar", "complex",
]  # fmt: skip

complex64, complex128, cfloat, cdouble = _dt.complex64, _dt.complex128, _dt.cfloat, _dt.cdouble

_NORMS = ("backward", "ortho", "forward")


def _no_grad_through_complex(opname: str, *tensors) -> None:
    """Complex results carry no autograd history: refuse an input that needs a gradient."""
    if _GRAD.enabled and any(isinstance(t, Tensor) and t.requires_grad for t in tensors):
        raise NotImplementedError(
            f"{opname}: gradients through complex tensors are not supported in Tessera yet; call it under "
            "ts.no_grad() or on a detached input (x.detach())"
        )


def _is_complex(t) -> bool:
    return t.dtype.category == _dt._COMPLEX


Tensor.is_complex = lambda self: self._data.dtype.kind == "c"
Tensor.is_complex.__doc__ = "Whether this tensor's dtype is complex (``complex64``/``complex128``)."
Tensor.cfloat = lambda self: self.to(_dt.complex64)
Tensor.cdouble = lambda self: self.to(_dt.complex128)


# -- complex views and elementwise ops ------------------------------------------------------------------
def _real_rule(x, **attrs):
    return TensorMeta(x.shape, x.dtype.to_real())


REAL = OpDef("real", lambda x: x.real, view=True, differentiable=False, shape_rule=_real_rule)
IMAG = OpDef("imag", lambda x: x.imag, view=True, differentiable=False, shape_rule=_real_rule)


def _view_as_real_forward(x):
    return x[..., None].view(x.real.dtype)


def _view_as_complex_forward(x):
    return x.view(np.complex128 if x.dtype == np.float64 else np.complex64)[..., 0]


VIEW_AS_REAL = OpDef(
    "view_as_real",
    _view_as_real_forward,
    view=True,
    differentiable=False,
    shape_rule=lambda x: TensorMeta(tuple(x.shape) + (2,), x.dtype.to_real()),
)
VIEW_AS_COMPLEX = OpDef(
    "view_as_complex",
    _view_as_complex_forward,
    view=True,
    differentiable=False,
    shape_rule=lambda x: TensorMeta(tuple(x.shape)[:-1], x.dtype.to_complex()),
)
CONJ = OpDef(
    "conj_physical", np.conj, differentiable=False, shape_rule=lambda x: TensorMeta(x.shape, x.dtype)
)


def _angle_forward(x):
    if x.dtype.kind == "c":
        return np.angle(x)
    out = np.where(x < 0, np.pi, 0.0).astype(x.dtype if x.dtype.kind in "fV" else _dt._default_float.np)
    return np.where(np.isnan(x), x, out) if x.dtype.kind == "f" else out


def _angle_rule(x):
    d = x.dtype
    return TensorMeta(
        x.shape, d.to_real() if d.is_complex else (d if d.is_floating_point else _dt._default_float)
    )


ANGLE = OpDef("angle", _angle_forward, shape_rule=_angle_rule)
ANGLE.defgrad(lambda ctx, g: (g * 0,))  # piecewise constant on real inputs


def _complex_forward(re, im):
    out = np.empty(
        np.broadcast_shapes(re.shape, im.shape), np.complex128 if re.dtype == np.float64 else np.complex64
    )
    out.real, out.imag = re, im
    return out


def _complex_rule(re, im):
    shape = np.broadcast_shapes(tuple(re.shape), tuple(im.shape))
    return TensorMeta(shape, re.dtype.to_complex())


COMPLEX = OpDef("complex", _complex_forward, differentiable=False, shape_rule=_complex_rule)


def _complex_part(opname, x):
    check_tensor(opname, "input", x)
    return x


Tensor.real = property(lambda self: real(self), doc="The real part (a view); the tensor itself if real.")
Tensor.imag = property(lambda self: imag(self), doc="The imaginary part of a complex tensor (a view).")


def real(input: Tensor) -> Tensor:
    """The real part of a complex tensor as a view (a real tensor is returned as is), as ``torch.real``.

    Example:
        >>> ts.real(ts.complex(ts.tensor([1.0]), ts.tensor([2.0])))
        tensor([1.])
    """
    _complex_part("real", input)
    return apply(REAL, (input,)) if _is_complex(input) else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor as a view, as ``torch.imag``."""
    _complex_part("imag", input)
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return apply(IMAG, (input,))


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor as a real view with a trailing dim of 2 (real, imaginary), ``torch.view_as_real``.

    Example:
        >>> ts.view_as_real(ts.complex(ts.tensor([1.0]), ts.tensor([2.0])))
        tensor([[1., 2.]])
    """
    check_tensor("view_as_real", "input", input)
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return apply(VIEW_AS_REAL, (input,))


def view_as_complex(input: Tensor) -> Tensor:
    """A real tensor whose last dim has size 2 (and stride 1) as a complex view, ``torch.view_as_complex``."""
    check_tensor("view_as_complex", "input", input)
    _no_grad_through_complex("view_as_complex", input)
    if input.dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(
            f"view_as_complex is only supported for float and double tensors, but got a tensor of scalar type: "
            f"{input.dtype.name}"
        )
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride(-1) != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if input.ndim > 1 and any(s % 2 for s in input.stride()[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return apply(VIEW_AS_COMPLEX, (input,))


@method("conj")
def conj(input: Tensor) -> Tensor:
    """Complex conjugate (a real tensor is returned as is), as ``torch.conj``; Tessera has no lazy
    conjugate bit, so the result is materialised and ``is_conj`` is always False."""
    check_tensor("conj", "input", input)
    return apply(CONJ, (input,)) if _is_complex(input) else input


@method("conj_physical")
def conj_physical(input: Tensor) -> Tensor:
    """Complex conjugate, computed eagerly (``torch.conj_physical``)."""
    check_tensor("conj_physical", "input", input)
    return apply(CONJ, (input,)) if _is_complex(input) else input


@method("resolve_conj")
def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: conjugation is never lazy here (``torch.resolve_conj``)."""
    check_tensor("resolve_conj", "input", input)
    return input


@method("resolve_neg")
def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: negation is never lazy here (``torch.resolve_neg``)."""
    check_tensor("resolve_neg", "input", input)
    return input


@method("is_conj")
def is_conj(input: Tensor) -> bool:
    """Always False: Tessera has no lazy conjugate bit."""
    check_tensor("is_conj", "input", input)
    return False


@method("is_neg")
def is_neg(input: Tensor) -> bool:
    """Always False: Tessera has no lazy negation bit."""
    check_tensor("is_neg", "input", input)
    return False


@method("angle")
def angle(input: Tensor) -> Tensor:
    """Argument of complex entries in radians; for real inputs 0 (>= 0) or pi (< 0), as ``torch.angle``.

    Example:
        >>> ts.angle(ts.tensor([-1.0, 2.0]))
        tensor([3.1416, 0.0000])
    """
    check_tensor("angle", "input", input)
    return apply(ANGLE, (input,))


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """A complex tensor from real and imaginary parts of one float dtype, as ``torch.complex``.

    Example:
        >>> ts.complex(ts.tensor([1.0]), ts.tensor([2.0]))
        tensor([1.+2.j], dtype=tessera.complex64)
    """
    return _make_complex("complex", real, imag, ("real", "imag"))


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``, as ``torch.polar``."""
    _make_complex("polar", abs, angle, ("abs", "angle"))
    return apply(COMPLEX, (abs * angle.cos(), abs * angle.sin()))


def _make_complex(opname, a, b, names):
    check_tensor(opname, names[0], a)
    check_tensor(opname, names[1], b)
    _no_grad_through_complex(opname, a, b)
    if a.dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(
            f"{opname}: Expected both inputs to be Float or Double tensors but got {a.dtype.name}"
        )
    if b.dtype is not a.dtype:
        raise RuntimeError(
            f"{opname}: Expected object of scalar type {a.dtype.name} but got scalar type {b.dtype.name} for "
            f"second argument"
        )
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise RuntimeError(
            f"{opname}: the shapes of {names[0]} {list(a.shape)} and {names[1]} {list(b.shape)} are not "
            "broadcastable"
        ) from None
    return apply(COMPLEX, (a, b))


# -- the transforms -------------------------------------------------------------------------------------------
def _c2c_forward(x, s, dims, norm, inverse):
    f = np.fft.ifftn if inverse else np.fft.fftn
    return f(x, s=s, axes=dims, norm=norm)


def _fft_shape(x, s, dims, kind):
    shape = list(x.shape)
    for n, d in zip(s, dims):
        shape[d] = n
    if kind == "r2c":
        shape[dims[-1]] = s[-1] // 2 + 1
    base = x.dtype
    dt = base.to_real() if kind == "c2r" else (base if base.is_complex else base.to_complex())
    return TensorMeta(tuple(shape), dt)


FFT_C2C = OpDef(
    "fft_c2c",
    _c2c_forward,
    differentiable=False,
    shape_rule=lambda x, s, dims, norm, inverse: _fft_shape(x, s, dims, "c2c"),
)
FFT_R2C = OpDef(
    "fft_r2c",
    lambda x, s, dims, norm: np.fft.rfftn(x, s=s, axes=dims, norm=norm),
    differentiable=False,
    shape_rule=lambda x, s, dims, norm: _fft_shape(x, s, dims, "r2c"),
)
FFT_C2R = OpDef(
    "fft_c2r",
    lambda x, s, dims, norm: np.fft.irfftn(x, s=s, axes=dims, norm=norm),
    differentiable=False,
    shape_rule=lambda x, s, dims, norm: _fft_shape(x, s, dims, "c2r"),
)


def _fft_input(opname, x, *, real_only=False):
    check_tensor(opname, "input", x)
    _no_grad_through_complex(opname, x)
    d = x.dtype
    if real_only and d.is_complex:
        raise RuntimeError(f"{opname} expects a real input tensor, but got {d.name}")
    if d in (_dt.float16, _dt.bfloat16):
        raise RuntimeError(f"{opname}: Unsupported dtype {d.name}")
    if not d.is_floating_point and not d.is_complex:
        x = x.to(_dt.get_default_dtype())
    return x


def _norm_arg(opname, norm):
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise ValueError(f"{opname}: Invalid normalization mode: {norm}")
    return norm


def _dims_and_sizes(opname, x, s, dim, *, one_d=False, default_all=True, c2r=False):
    """Canonical ``(sizes, dims)`` for a transform, by PyTorch's rules for ``s``/``n`` and ``dim``."""
    nd = x.ndim
    if one_d:
        d = canonical_dim(opname, dim, nd)
        dims = (d,)
        s = None if s is None else (s,)
    else:
        if isinstance(dim, int):
            dim = (dim,)
        if s is not None:
            s = tuple(int(v) for v in s)
            if dim is None:
                if len(s) > nd:
                    raise RuntimeError(
                        f"{opname}: Got shape with {len(s)} values but input tensor only has {nd} dimensions."
                    )
                dims = tuple(range(nd - len(s), nd))
            else:
                dims = tuple(canonical_dim(opname, v, nd) for v in dim)
                if len(dims) != len(s):
                    raise RuntimeError(
                        f"{opname}: When given, dim and shape arguments must have the same length, got "
                        f"{len(dims)} and {len(s)}"
                    )
        else:
            dims = tuple(range(nd)) if dim is None else tuple(canonical_dim(opname, v, nd) for v in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{opname}: FFT dims must be unique")
    if not dims:
        raise RuntimeError(f"{opname}: at least one dimension must be transformed")
    if s is None:
        sizes = [x.shape[d] for d in dims]
        if c2r:
            sizes[-1] = 2 * (x.shape[dims[-1]] - 1)
        s = tuple(sizes)
    else:
        s = tuple(x.shape[d] if v == -1 else v for v, d in zip(s, dims))
        if c2r and s[-1] == -1:
            s = s[:-1] + (2 * (x.shape[dims[-1]] - 1),)
    for v in s:
        if v < 1:
            raise RuntimeError(f"{opname}: Invalid number of data points ({v}) specified")
    return s, dims


def _c2c(opname, x, s, dim, norm, inverse, one_d=False):
    x = _fft_input(opname, x)
    s, dims = _dims_and_sizes(opname, x, s, dim, one_d=one_d)
    return apply(FFT_C2C, (x,), {"s": s, "dims": dims, "norm": _norm_arg(opname, norm), "inverse": inverse})


def _r2c(opname, x, s, dim, norm, one_d=False):
    x = _fft_input(opname, x, real_only=True)
    s, dims = _dims_and_sizes(opname, x, s, dim, one_d=one_d)
    return apply(FFT_R2C, (x,), {"s": s, "dims": dims, "norm": _norm_arg(opname, norm)})


def _c2r(opname, x, s, dim, norm, one_d=False):
    x = _fft_input(opname, x)
    if not x.dtype.is_complex:
        x = x.to(x.dtype.to_complex())
    s, dims = _dims_and_sizes(opname, x, s, dim, one_d=one_d, c2r=True)
    return apply(FFT_C2R, (x,), {"s": s, "dims": dims, "norm": _norm_arg(opname, norm)})


_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def fft(input, n=None, dim=-1, norm=None):
    """1-D discrete Fourier transform along ``dim`` (``n``: crop or zero-pad to that length), as
    ``torch.fft.fft``; ``norm`` is 'backward' (default), 'ortho' or 'forward'.

    Example:
        >>> ts.fft.fft(ts.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=tessera.complex64)
    """
    return _c2c("fft.fft", input, n, dim, norm, False, one_d=True)


def ifft(input, n=None, dim=-1, norm=None):
    """1-D inverse discrete Fourier transform (``torch.fft.ifft``)."""
    return _c2c("fft.ifft", input, n, dim, norm, True, one_d=True)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D discrete Fourier transform (``torch.fft.fft2``)."""
    return _c2c("fft.fft2", input, s, dim, norm, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D inverse discrete Fourier transform (``torch.fft.ifft2``)."""
    return _c2c("fft.ifft2", input, s, dim, norm, True)


def fftn(input, s=None, dim=None, norm=None):
    """N-D discrete Fourier transform over ``dim`` (default: all, or the last ``len(s)``), ``torch.fft.fftn``."""
    return _c2c("fft.fftn", input, s, dim, norm, False)


def ifftn(input, s=None, dim=None, norm=None):
    """N-D inverse discrete Fourier transform (``torch.fft.ifftn``)."""
    return _c2c("fft.ifftn", input, s, dim, norm, True)


def rfft(input, n=None, dim=-1, norm=None):
    """Transform of a real signal: the ``n // 2 + 1`` non-negative frequencies (``torch.fft.rfft``).

    Example:
        >>> ts.fft.rfft(ts.tensor([1.0, 1.0, 1.0, 1.0]))
        tensor([4.+0.j, 0.+0.j, 0.+0.j], dtype=tessera.complex64)
    """
    return _r2c("fft.rfft", input, n, dim, norm, one_d=True)


def irfft(input, n=None, dim=-1, norm=None):
    """Inverse of ``rfft``: a real signal of length ``n`` (default ``2 * (m - 1)``), ``torch.fft.irfft``."""
    return _c2r("fft.irfft", input, n, dim, norm, one_d=True)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D transform of a real signal (``torch.fft.rfft2``)."""
    return _r2c("fft.rfft2", input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """Inverse of ``rfft2`` (``torch.fft.irfft2``)."""
    return _c2r("fft.irfft2", input, s, dim, norm)


def rfftn(input, s=None, dim=None, norm=None):
    """N-D transform of a real signal (``torch.fft.rfftn``)."""
    return _r2c("fft.rfftn", input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None):
    """Inverse of ``rfftn`` (``torch.fft.irfftn``)."""
    return _c2r("fft.irfftn", input, s, dim, norm)


def hfft(input, n=None, dim=-1, norm=None):
    """Transform of a Hermitian-symmetric signal given by its first half: a real result of length ``n``
    (``torch.fft.hfft``)."""
    x = _fft_input("fft.hfft", input)
    return _c2r("fft.hfft", conj(x), n, dim, _SWAP[_norm_arg("fft.hfft", norm)], one_d=True)


def ihfft(input, n=None, dim=-1, norm=None):
    """Inverse of ``hfft``: the first ``n // 2 + 1`` entries of the inverse transform of a real signal
    (``torch.fft.ihfft``)."""
    return conj(_r2c("fft.ihfft", input, n, dim, _SWAP[_norm_arg("fft.ihfft", norm)], one_d=True))


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D ``hfft`` (``torch.fft.hfft2``)."""
    x = _fft_input("fft.hfft2", input)
    return _c2r("fft.hfft2", conj(x), s, dim, _SWAP[_norm_arg("fft.hfft2", norm)])


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D ``ihfft`` (``torch.fft.ihfft2``)."""
    return conj(_r2c("fft.ihfft2", input, s, dim, _SWAP[_norm_arg("fft.ihfft2", norm)]))


def hfftn(input, s=None, dim=None, norm=None):
    """N-D ``hfft`` (``torch.fft.hfftn``)."""
    x = _fft_input("fft.hfftn", input)
    return _c2r("fft.hfftn", conj(x), s, dim, _SWAP[_norm_arg("fft.hfftn", norm)])


def ihfftn(input, s=None, dim=None, norm=None):
    """N-D ``ihfft`` (``torch.fft.ihfftn``)."""
    return conj(_r2c("fft.ihfftn", input, s, dim, _SWAP[_norm_arg("fft.ihfftn", norm)]))


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Sample frequencies of an ``n``-point transform with spacing ``d`` (``torch.fft.fftfreq``).

    Example:
        >>> ts.fft.fftfreq(4)
        tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    return _freq("fft.fftfreq", np.fft.fftfreq, n, d, dtype, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Sample frequencies of ``rfft`` (``torch.fft.rfftfreq``)."""
    return _freq("fft.rfftfreq", np.fft.rfftfreq, n, d, dtype, requires_grad)


def _freq(opname, fn, n, d, dtype, requires_grad):
    from ..core.creation import tensor

    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise RuntimeError(f"{opname}: n must be a non-negative int, got {n!r}")
    dt = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    return tensor(fn(n, d), dtype=dt, requires_grad=requires_grad)


def _shift(opname, x, dim, sign):
    check_tensor(opname, "input", x)
    if dim is None:
        dims = tuple(range(x.ndim))
    else:
        dims = tuple(canonical_dim(opname, d, x.ndim) for d in ((dim,) if isinstance(dim, int) else dim))
    if not dims:
        return x
    shifts = tuple(sign * (x.shape[d] // 2) for d in dims)
    return x.roll(shifts, dims)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre (``torch.fft.fftshift``)."""
    return _shift("fft.fftshift", input, dim, 1)


def ifftshift(input, dim=None):
    """Inverse of ``fftshift`` (``torch.fft.ifftshift``)."""
    return _shift("fft.ifftshift", input, dim, -1)


FFT_NAMES = (
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
    "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
)  # fmt: skip
