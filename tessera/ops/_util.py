"""Helpers shared by the op modules: binding op entry points onto ``Tensor`` and normalising arguments."""

from __future__ import annotations

import numbers

from ..core.dispatch import OpError, apply
from ..core.tensor import Tensor, _canonical_dim, _inplace

__all__ = [
    "method",
    "bind_binary",
    "bind_inplace",
    "canonical_dim",
    "canonical_dims",
    "shape_args",
    "check_tensor",
    "OpError",
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


def check_tensor(opname: str, argname: str, value) -> Tensor:
    """Raise a TypeError naming the op and argument when ``value`` is not a tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{opname}: argument '{argname}' must be a Tensor, not {type(value).__name__}")
    return value
