"""Helpers shared by the op modules: binding op entry points onto ``Tensor``, normalising arguments, and
the builders of shape/dtype rules (``elementwise_rule``, ``unary_rule``, ``reduction_rule``...).

A shape rule receives the op's inputs as tensors, ``TensorMeta``s or Python scalars, reads only their shape
and dtype, and returns the output's ``TensorMeta``; it must agree exactly with what eager execution
produces. Eager execution never calls it on success: it answers ``infer_meta``, in-place castability checks
and explains failures (``OpError``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpError, TensorMeta, apply
from ..core.tensor import Tensor, _canonical_dim, _inplace, check_tensor

__all__ = [
    "method",
    "matmul_arrays",
    "bind_binary",
    "bind_inplace",
    "canonical_dim",
    "canonical_dims",
    "shape_args",
    "check_tensor",
    "OpError",
    "OpTypeError",
    "OpShapeError",
    "TensorMeta",
    "is_meta",
    "broadcast_shape",
    "numpy_result_dtype",
    "elementwise_rule",
    "unary_rule",
    "reduced_shape",
    "reduction_rule",
    "no_bool",
    "float_only",
    "apply",
    "Tensor",
]


def method(*names):
    """Decorator: also expose a function as ``Tensor.<name>`` for each name."""

    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn

    return deco


def bind_binary(op, name=None, rname=None):
    """Bind ``Tensor.<name>(self, other)`` and the reflected ``Tensor.<rname>(self, other)`` to ``op``."""
    if name:
        setattr(Tensor, name, lambda self, other: apply(op, (self, other)))
    if rname:
        setattr(Tensor, rname, lambda self, other: apply(op, (other, self)))


def bind_inplace(op, *names):
    """Bind in-place methods (``add_``, ``__iadd__``...) that write ``op``'s result into ``self``."""

    def inplace(self, *args, **attrs):
        return _inplace(self, op, args, attrs)

    for n in names:
        setattr(Tensor, n, inplace)


def canonical_dim(opname: str, dim, ndim: int) -> int:
    """``dim`` as a non-negative int, or an IndexError naming ``opname`` and the valid range."""
    return _canonical_dim(opname, dim, ndim)


def canonical_dims(opname: str, dim, ndim: int):
    """``dim`` (None, int, or a sequence of ints) as a sorted tuple of non-negative dims, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral):
        return (_canonical_dim(opname, dim, ndim),)
    dims = tuple(_canonical_dim(opname, d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{opname}: dim {tuple(dim)} appears multiple times in the list of dims")
    return tuple(sorted(dims))


def shape_args(opname: str, args) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(ts.Size)``; validate the entries."""
    if len(args) == 1 and not isinstance(args[0], numbers.Integral):
        args = args[0]
        if isinstance(args, Tensor):
            args = args.tolist()
    try:
        shape = tuple(int(s) if not isinstance(s, bool) else None for s in args)
    except TypeError:
        raise TypeError(f"{opname}: size must be a sequence of ints, got {args!r}") from None
    if any(s is None for s in shape) or not all(isinstance(s, numbers.Integral) for s in args):
        raise TypeError(f"{opname}: size must be a sequence of ints, got {args!r}")
    return shape


# -- shape/dtype rules --------------------------------------------------------------------------------------
class OpTypeError(OpError, TypeError):
    """An op rejects an input dtype. Also a ``TypeError``: the eager checks it mirrors raise one."""


class OpShapeError(OpError, ValueError):
    """Input shapes an op cannot combine. Also a ``ValueError``, which NumPy's broadcasting failure was."""


_META = (Tensor, TensorMeta)


def is_meta(a) -> bool:
    """True for what a shape rule sees of a tensor input (a ``Tensor`` or a ``TensorMeta``)."""
    return isinstance(a, _META)


def broadcast_shape(opname: str, *args) -> tuple:
    """The broadcast shape of the tensor arguments among ``args`` (scalars and None are skipped)."""
    shapes = [tuple(a.shape) for a in args if isinstance(a, _META)]
    if not shapes:
        return ()
    first = shapes[0]
    for s in shapes[1:]:
        if s != first:
            break
    else:
        return first
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise OpShapeError(
            f"{opname}: the shapes {' and '.join(str(list(s)) for s in shapes)} are not broadcastable"
        ) from None


def numpy_result_dtype(*args):
    """The dtype NumPy gives an elementwise kernel on ``args`` (ops without PyTorch promotion run their
    NumPy kernel on the arrays as they are; Python scalars are weak, as in NumPy 2)."""
    items = []
    for a in args:
        if isinstance(a, _META):
            items.append(a.dtype.np)
        elif a is not None:
            items.append(a)
    return _dt._FROM_NP[np.result_type(*items)]


def _promoted(args):
    return _dt.result_type(*(a for a in args if a is not None))


def elementwise_rule(opname: str, *, dtype=None, to_float=False, promote=True, dtype_of=None, check=None):
    """Rule of a broadcasting elementwise op over all its inputs.

    The result dtype is ``dtype`` when given (comparisons: bool), or that of input ``dtype_of`` (fused
    backward kernels that compute in the gradient's dtype), else PyTorch's promotion of the inputs
    (``promote``; NumPy's when the op runs its kernel without promotion); ``to_float`` turns integer and
    bool results into the default float dtype. ``check(opname, dtype)`` may reject the result dtype."""

    def rule(*args, **attrs):
        shape = broadcast_shape(opname, *args)
        if dtype is not None:
            dt = dtype
        elif dtype_of is not None:
            dt = args[dtype_of].dtype
        else:
            dt = _promoted(args) if promote else numpy_result_dtype(*args)
            if to_float and not dt.is_floating_point:
                dt = _dt._default_float
            if check is not None:
                check(opname, dt)
        return TensorMeta(shape, dt)

    return rule


def unary_rule(opname: str, *, dtype=None, to_float=False, check=None, real=False):
    """Rule of a one-input elementwise op: ``input``'s shape, and its dtype (``to_float``: integers and
    bools give the default float dtype; ``dtype``: a fixed result dtype; ``real``: a complex input gives
    its real dtype, as ``abs``). ``check(opname, dtype)`` may reject the input dtype."""

    def rule(x, *rest, **attrs):
        dt = x.dtype
        if check is not None:
            check(opname, dt)
        if dtype is not None:
            dt = dtype
        elif real and dt.is_complex:
            dt = dt.to_real()
        elif to_float and not dt.is_floating_point:
            dt = _dt._default_float
        return TensorMeta(x.shape, dt)

    return rule


def no_bool(opname: str, dt) -> None:
    """Dtype check: bool inputs raise the message of the kernels' own check."""
    if dt is _dt.bool:
        raise OpTypeError(f"{opname}: \"{opname}\" not implemented for 'Bool'")


def float_only(opname: str, dt) -> None:
    """Dtype check: only floating inputs."""
    if not dt.is_floating_point:
        raise OpTypeError(f"{opname}: \"{opname}\" not implemented for '{dt.name}'")


def reduced_shape(shape, dims, keepdim: bool) -> tuple:
    """``shape`` reduced over ``dims`` (sorted non-negative ints; None: all), kept as size 1 with
    ``keepdim``."""
    if dims is None:
        return (1,) * len(shape) if keepdim else ()
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def reduction_rule(opname: str, result_dtype=None, dims_attr: str = "dims"):
    """Rule of a reduction over the attribute ``dims_attr`` (a tuple of dims, a single int dim, or None for
    all) with ``keepdim``; ``result_dtype(input_dtype, attrs)`` gives the output dtype (default: the
    input's)."""

    def rule(x, *rest, **attrs):
        dims = attrs.get(dims_attr)
        if dims.__class__ is int:
            dims = (dims,)
        dt = x.dtype if result_dtype is None else result_dtype(x.dtype, attrs)
        return TensorMeta(reduced_shape(tuple(x.shape), dims, attrs.get("keepdim", False)), dt)

    return rule


def meta_if_broadcasts(opname: str, src, dst, what: str):
    """``dst``'s ``TensorMeta`` once ``src`` (a tensor, meta or scalar) is checked to broadcast to it: the
    shape rule of ops that write ``src`` over ``dst`` (``copy_``, ``dropout``'s mask)."""
    src_shape = tuple(src.shape) if hasattr(src, "shape") else ()
    try:
        np.broadcast_shapes(src_shape, tuple(dst.shape))
    except ValueError:
        raise OpError(
            f"{opname}: {what} of shape {src_shape} is not broadcastable to {tuple(dst.shape)}"
        ) from None
    return TensorMeta(dst.shape, dst.dtype)


def matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul``, except that ml_dtypes' 16-bit floats (bfloat16), for which NumPy has no GEMM and
    returns float32, are multiplied in float32 and rounded back, as PyTorch's bfloat16 matmul accumulates."""
    if a.dtype.kind == "V" and a.dtype == b.dtype:
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)
    return np.matmul(a, b)
