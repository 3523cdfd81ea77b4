"""Elementwise ops: arithmetic and Python operators, casts, unary math and activations, comparisons."""

from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef
from ..core.tensor import _OPS
from ._util import apply, bind_binary, bind_inplace, method

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative",
           "exp", "log", "where", "cast", "clone"]


# -- arithmetic ---------------------------------------------------------------------------------------
def _add_into(out, x, y):
    np.add(x, y, out=out, casting="unsafe")


ADD = OpDef("add", np.add, promote=True, inplace_forward=_add_into)


@ADD.defgrad
def _add_grad(ctx, g):
    return g, g


SUB = OpDef("sub", np.subtract, promote=True,
            inplace_forward=lambda out, x, y: np.subtract(x, y, out=out, casting="unsafe"))


@SUB.defgrad
def _sub_grad(ctx, g):
    return g, (-g if ctx.needs_grad[1] else None)


MUL = OpDef("mul", np.multiply, promote=True,
            inplace_forward=lambda out, x, y: np.multiply(x, y, out=out, casting="unsafe"))


@MUL.defgrad
def _mul_grad(ctx, g):
    x, y = ctx.saved
    return (g * y if ctx.needs_grad[0] else None), (g * x if ctx.needs_grad[1] else None)


def _div_forward(x, y, rounding_mode=None):
    if rounding_mode is None:
        return np.true_divide(x, y)
    if rounding_mode == "floor":
        return np.floor_divide(x, y)
    if rounding_mode == "trunc":
        q = np.true_divide(x, y)
        r = np.trunc(q)
        return r.astype(np.result_type(x, y)) if np.result_type(x, y).kind in "iu" else r
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


DIV = OpDef("div", _div_forward, promote=True, to_float=True,
            inplace_forward=lambda out, x, y: np.true_divide(x, y, out=out, casting="unsafe"))


@DIV.defgrad
def _div_grad(ctx, g):
    x, y = ctx.saved
    if ctx.attrs.get("rounding_mode") is not None:
        return (g * 0 if ctx.needs_grad[0] else None), (g * 0 if ctx.needs_grad[1] else None)
    gx = g / y if ctx.needs_grad[0] else None
    gy = -g * x / (y * y) if ctx.needs_grad[1] else None
    return gx, gy


NEG = OpDef("neg", np.negative, inplace_forward=lambda out, x: np.negative(x, out=out))


@NEG.defgrad
def _neg_grad(ctx, g):
    return -g


def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and PyTorch type promotion.

    Example:
        >>> ts.add(ts.tensor([1.0, 2.0]), 10)
        tensor([11., 12.])
    """
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return apply(ADD, (input, other))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return apply(SUB, (input, other))


def mul(input, other):
    """Elementwise product with broadcasting: ``ts.mul(a, b)`` or ``a * b``."""
    return apply(MUL, (input, other))


def div(input, other, *, rounding_mode=None):
    """True division (integers give the default float dtype); ``rounding_mode`` 'floor' or 'trunc'."""
    if rounding_mode is None:
        return apply(DIV, (input, other))
    return apply(DIV, (input, other), {"rounding_mode": rounding_mode})


def neg(input):
    """``-input``."""
    return apply(NEG, (input,))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg

bind_binary(ADD, "__add__", "__radd__")
bind_binary(SUB, "__sub__", "__rsub__")
bind_binary(MUL, "__mul__", "__rmul__")
bind_binary(DIV, "__truediv__", "__rtruediv__")
bind_inplace(ADD, "__iadd__")
bind_inplace(SUB, "__isub__")
bind_inplace(MUL, "__imul__", "mul_")
bind_inplace(DIV, "__itruediv__")
bind_inplace(NEG, "neg_")
method("add")(add)
method("sub")(sub)
method("mul")(mul)
method("div")(div)
method("neg", "__neg__")(neg)


def _add_(self, other, *, alpha=1):
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return self.__iadd__(other)


def _sub_(self, other, *, alpha=1):
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return self.__isub__(other)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return self.__itruediv__(other)
    from ..core.tensor import _inplace

    return _inplace(self, DIV, (other,), {"rounding_mode": rounding_mode})


method("add_")(_add_)
method("sub_")(_sub_)
method("div_")(_div_)


# -- unary math -----------------------------------------------------------------------------------------
EXP = OpDef("exp", np.exp, to_float=True, save_output=True)


@EXP.defgrad
def _exp_grad(ctx, g):
    return g * ctx.out


LOG = OpDef("log", np.log, to_float=True)


@LOG.defgrad
def _log_grad(ctx, g):
    (x,) = ctx.saved
    return g / x


@method("exp")
def exp(input):
    """Elementwise ``e ** input``."""
    return apply(EXP, (input,))


@method("log")
def log(input):
    """Elementwise natural logarithm."""
    return apply(LOG, (input,))


# -- selection --------------------------------------------------------------------------------------------
def _where_forward(cond, x, y):
    return np.where(cond, x, y)


WHERE = OpDef("where", _where_forward)


@WHERE.defgrad
def _where_grad(ctx, g):
    cond, x, y = ctx.saved
    zero = g * 0
    gx = apply(WHERE, (cond, g, zero)) if ctx.needs_grad[1] else None
    gy = apply(WHERE, (cond, zero, g)) if ctx.needs_grad[2] else None
    return None, gx, gy


@method("where")
def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcast, promoted).

    Example:
        >>> ts.where(ts.tensor([True, False]), ts.tensor([1.0, 2.0]), 0.0)
        tensor([1., 0.])
    """
    from ..core.tensor import Tensor

    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor) or condition._data.dtype != np.bool_:
        got = condition.dtype if isinstance(condition, Tensor) else type(condition).__name__
        raise TypeError(f"where: expected condition to be a bool tensor, got {got}")
    target = _dt.result_type(*(v for v in (input, other)))
    xs = [v.to(target) if isinstance(v, Tensor) else v for v in (input, other)]
    return apply(WHERE, (condition, xs[0], xs[1]))


# -- dtype conversion and copies --------------------------------------------------------------------------
CAST = OpDef("cast", lambda x, dtype: x.astype(dtype.np))


@CAST.defgrad
def _cast_grad(ctx, g):
    return g  # the engine casts the gradient back to the input's dtype


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between floating dtypes)."""
    return apply(CAST, (input,), {"dtype": _dt.as_dtype(dtype)})


CLONE = OpDef("clone", lambda x: x.copy())


@CLONE.defgrad
def _clone_grad(ctx, g):
    return g


@method("clone")
def clone(input, *, memory_format=None):
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return apply(CLONE, (input,))


_OPS.cast = cast
