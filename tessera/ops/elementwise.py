"""Elementwise ops: arithmetic and Python operators, casts, unary math and activations, comparisons.

Every op here is one ``OpDef`` (NumPy forward + gradient rule written with Tessera ops) plus a thin public
wrapper. Activations with a cheap analytic derivative (relu, sigmoid, tanh, gelu, silu, softplus) have a
fused ``*_backward`` op of their own, so one backward step is one NumPy pass; those backward ops are
differentiable again, so higher-order gradients still work.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta
from ..core.tensor import _OPS, Tensor, _inplace
from ._util import apply, bind_binary, bind_inplace, method

__all__ = [
    # arithmetic
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "neg",
    "negative",
    "positive",
    "pow",
    "square",
    "floor_divide",
    "remainder",
    "fmod",
    "maximum",
    "minimum",
    "clamp",
    "clip",
    "clamp_min",
    "clamp_max",
    "lerp",
    "addcmul",
    "addcdiv",
    # unary math
    "abs",
    "absolute",
    "exp",
    "exp2",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "erf",
    "erfc",
    "sign",
    "sgn",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fix",
    "frac",
    "reciprocal",
    "nan_to_num",
    # activations
    "relu",
    "relu_",
    "relu6",
    "gelu",
    "silu",
    "softplus",
    "elu",
    "elu_",
    "leaky_relu",
    "leaky_relu_",
    "hardtanh",
    "hardtanh_",
    # comparisons, logic and bits
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "isnan",
    "isinf",
    "isposinf",
    "isneginf",
    "isfinite",
    "equal",
    "allclose",
    "isclose",
    # selection and copies
    "where",
    "cast",
    "clone",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT1_2 = math.sqrt(0.5)
_TWO_OVER_SQRTPI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_ZERO_DIV = "ZeroDivisionError"


def _check_input(name, x):
    """TypeError naming the op when a tensor function gets something that is not a tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: argument 'input' must be a Tensor, not {type(x).__name__}")


def _is_float(a):
    return a.dtype.kind in "fV"


def _zeros(g):
    from ..core.creation import zeros_like

    return zeros_like(g)


def _up(x):
    """float16/bfloat16 arrays as float32 (activations compute in float32 and round once, like PyTorch)."""
    return x.astype(np.float32) if x.dtype.itemsize < 4 and x.dtype.kind in "fV" else x


def _arr(v):
    """NumPy returns scalars for 0-d inputs; ``out=`` needs an array."""
    return v if v.__class__ is np.ndarray else np.asarray(v)


def _like(x, v):
    """Python number ``v`` as a scalar of ``x``'s float dtype (NumPy would widen bfloat16 next to it)."""
    return x.dtype.type(v) if x.dtype.kind == "V" else v


def _cast_error(name, out):
    return OpError(
        f"{name}_: result type Float can't be cast to the desired output type {_dt._FROM_NP[out.dtype].name}"
    )


def _ufunc_into(name, uf):
    """``inplace_forward`` for a one-input ufunc (float results can't go into int tensors)."""

    def into(out, x):
        try:
            uf(x, out=out)
        except TypeError:
            raise _cast_error(name, out) from None

    return into


def _float_into(name, into):
    """In-place form of an op with float results: integer and bool tensors can't hold them."""

    def checked(out, *args, **attrs):
        if out.dtype.kind not in "fV":
            raise _cast_error(name, out)
        into(out, *args, **attrs)

    return checked


def _binary_into(name, uf):
    def into(out, x, y):
        try:
            uf(x, y, out=out, casting="unsafe")  # _inplace has checked castability
        except TypeError:
            raise _cast_error(name, out) from None

    return into


def _binary_meta(name, dtype=None):
    """Shape/dtype rule for broadcasting binary ops (``dtype``: fixed result dtype, else promotion); used for
    error messages and shape inference."""

    def rule(x, y, **attrs):
        shapes = [tuple(a.shape) for a in (x, y) if isinstance(a, (Tensor, TensorMeta))]
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise OpError(
                f"{name}: the shapes {' and '.join(str(list(s)) for s in shapes)} are not broadcastable"
            ) from None
        return TensorMeta(tuple(shape), dtype or _dt.result_type(x, y))

    return rule


# -- arithmetic ---------------------------------------------------------------------------------------
ADD = OpDef("add", np.add, promote=True, inplace_forward=_binary_into("add", np.add))


@ADD.defgrad
def _add_grad(ctx, g):
    return g, g


SUB = OpDef("sub", np.subtract, promote=True, inplace_forward=_binary_into("sub", np.subtract))


@SUB.defgrad
def _sub_grad(ctx, g):
    return g, (-g if ctx.needs_grad[1] else None)


MUL = OpDef("mul", np.multiply, promote=True, inplace_forward=_binary_into("mul", np.multiply))


@MUL.defgrad
def _mul_grad(ctx, g):
    x, y = ctx.saved
    return (g * y if ctx.needs_grad[0] else None), (g * x if ctx.needs_grad[1] else None)


def _check_int_divisor(name, r, y):
    if r.dtype.kind in "iub" and not np.all(y):
        raise OpError(f"{name}: {_ZERO_DIV} (integer division by zero)")


def _div_trunc(x, y):
    if np.result_type(x, y).kind in "iu":
        # exact for all int64 values: (x - fmod(x, y)) is a multiple of y
        r = np.floor_divide(np.subtract(x, np.fmod(x, y)), y)
        _check_int_divisor("div", r, y)
        return r
    return np.trunc(np.true_divide(x, y))


def _div_forward(x, y, rounding_mode=None):
    if rounding_mode is None:
        return np.true_divide(x, y)
    if rounding_mode == "floor":
        return _floor_divide_forward(x, y)
    if rounding_mode == "trunc":
        return _div_trunc(x, y)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


DIV = OpDef(
    "div",
    _div_forward,
    promote=True,
    to_float=True,
    inplace_forward=_float_into("div", _binary_into("div", np.true_divide)),
)


@DIV.defgrad
def _div_grad(ctx, g):
    x, y = ctx.saved
    if ctx.attrs.get("rounding_mode") is not None:
        return (g * 0 if ctx.needs_grad[0] else None), (g * 0 if ctx.needs_grad[1] else None)
    gx = g / y if ctx.needs_grad[0] else None
    gy = -g * x / (y * y) if ctx.needs_grad[1] else None
    return gx, gy


def _floor_divide_forward(x, y):
    r = np.floor_divide(x, y)
    if r.dtype.kind in "iub":
        if r.dtype.kind == "b":
            raise TypeError("floor_divide: \"div_floor\" not implemented for 'Bool'")
        _check_int_divisor("floor_divide", r, y)
    return r


FLOOR_DIVIDE = OpDef(
    "floor_divide", _floor_divide_forward, promote=True, shape_rule=_binary_meta("floor_divide")
)
DIV_TRUNC = OpDef("div_trunc", _div_trunc, promote=True, shape_rule=_binary_meta("div"))


@FLOOR_DIVIDE.defgrad
@DIV_TRUNC.defgrad
def _rounded_div_grad(ctx, g):
    # Piecewise constant: zero almost everywhere (as PyTorch's div with a rounding_mode).
    return tuple(_zeros(g) if n else None for n in ctx.needs_grad)


def _remainder_forward(x, y):
    r = np.remainder(x, y)
    if r.dtype.kind in "iub":
        if r.dtype.kind == "b":
            raise TypeError("remainder: not implemented for 'Bool'")
        _check_int_divisor("remainder", r, y)
    return r


def _fmod_forward(x, y):
    r = np.fmod(x, y)
    if r.dtype.kind in "iub":
        if r.dtype.kind == "b":
            raise TypeError("fmod: not implemented for 'Bool'")
        _check_int_divisor("fmod", r, y)
    return r


REMAINDER = OpDef("remainder", _remainder_forward, promote=True, shape_rule=_binary_meta("remainder"))
FMOD = OpDef("fmod", _fmod_forward, promote=True, shape_rule=_binary_meta("fmod"))


@REMAINDER.defgrad
def _remainder_grad(ctx, g):
    x, y = ctx.saved
    gy = -g * apply(FLOOR_DIVIDE, (x, y)) if ctx.needs_grad[1] else None
    return (g if ctx.needs_grad[0] else None), gy


@FMOD.defgrad
def _fmod_grad(ctx, g):
    x, y = ctx.saved
    gy = -g * apply(DIV_TRUNC, (x, y)) if ctx.needs_grad[1] else None
    return (g if ctx.needs_grad[0] else None), gy


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


def _no_bool_sub(a, b):
    """PyTorch refuses subtraction with any bool operand (tensor or Python bool)."""
    for v in (a, b):
        c = v.__class__
        if c is bool or (c is Tensor and v._data.dtype.kind == "b"):
            raise TypeError(
                "sub: Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                "invert a mask, use the `~` or `logical_not()` operator instead."
            )


def _sub_method(self, other):
    if (
        self._data.dtype.kind == "b"
        or other.__class__ is bool
        or (other.__class__ is Tensor and other._data.dtype.kind == "b")
    ):
        _no_bool_sub(self, other)
    return apply(SUB, (self, other))


def _rsub_method(self, other):
    if self._data.dtype.kind == "b" or other.__class__ is bool:
        _no_bool_sub(self, other)
    return apply(SUB, (other, self))


def _isub_method(self, other):
    _no_bool_sub(self, other)
    return _inplace(self, SUB, (other,), {})


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    _no_bool_sub(input, other)
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return apply(SUB, (input, other))


def mul(input, other):
    """Elementwise product with broadcasting: ``ts.mul(a, b)`` or ``a * b``."""
    return apply(MUL, (input, other))


def div(input, other, *, rounding_mode=None):
    """True division (integers give the default float dtype); ``rounding_mode`` 'floor' or 'trunc' rounds
    the quotient and keeps integer dtypes, as in PyTorch."""
    if rounding_mode is None:
        return apply(DIV, (input, other))
    if rounding_mode == "floor":
        return apply(FLOOR_DIVIDE, (input, other))
    if rounding_mode == "trunc":
        return apply(DIV_TRUNC, (input, other))
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def neg(input):
    """``-input``."""
    return apply(NEG, (input,))


def positive(input):
    """``+input``: returns ``input`` itself."""
    _check_input("positive", input)
    if input._data.dtype.kind == "b":
        raise TypeError("positive: the `+` operator, on a bool tensor is not supported.")
    return input


@method("floor_divide")
def floor_divide(input, other):
    """``input // other``: the quotient rounded towards minus infinity (integer dtypes stay integer).

    Example:
        >>> ts.tensor([7, -7]) // 2
        tensor([ 3, -4])
    """
    return apply(FLOOR_DIVIDE, (input, other))


@method("remainder")
def remainder(input, other):
    """``input % other`` with the sign of the divisor (Python's ``%``)."""
    return apply(REMAINDER, (input, other))


@method("fmod")
def fmod(input, other):
    """C-style remainder of ``input / other``, with the sign of the dividend."""
    return apply(FMOD, (input, other))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg

bind_binary(ADD, "__add__", "__radd__")
Tensor.__sub__, Tensor.__rsub__ = _sub_method, _rsub_method
bind_binary(MUL, "__mul__", "__rmul__")
bind_binary(DIV, "__truediv__", "__rtruediv__")
bind_binary(FLOOR_DIVIDE, "__floordiv__", "__rfloordiv__")
bind_binary(REMAINDER, "__mod__", "__rmod__")
bind_inplace(ADD, "__iadd__")
Tensor.__isub__ = _isub_method
bind_inplace(MUL, "__imul__", "mul_", "multiply_")
bind_inplace(DIV, "__itruediv__", "true_divide_")
bind_inplace(NEG, "neg_", "negative_")
bind_inplace(FLOOR_DIVIDE, "__ifloordiv__", "floor_divide_")
bind_inplace(REMAINDER, "__imod__", "remainder_")
bind_inplace(FMOD, "fmod_")
method("add")(add)
method("sub", "subtract")(sub)
method("mul", "multiply")(mul)
method("div", "divide", "true_divide")(div)
method("neg", "negative", "__neg__")(neg)
method("positive", "__pos__")(positive)


def _add_(self, other, *, alpha=1):
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return self.__iadd__(other)


def _sub_(self, other, *, alpha=1):
    _no_bool_sub(self, other)
    if alpha != 1:
        other = apply(MUL, (other, alpha))
    return self.__isub__(other)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return self.__itruediv__(other)
    if rounding_mode == "floor":
        return _inplace(self, FLOOR_DIVIDE, (other,), {})
    if rounding_mode == "trunc":
        return _inplace(self, DIV_TRUNC, (other,), {})
    raise ValueError(f"div_: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


method("add_")(_add_)
method("sub_", "subtract_")(_sub_)
method("div_", "divide_")(_div_)


# -- pow ------------------------------------------------------------------------------------------------
def _int_pow(x, y):
    """Integer power where a tensor exponent may be negative: 1 ** -n = 1, (-1) ** -n = +-1, else 0."""
    neg = np.less(y, 0)
    r = np.power(x, np.where(neg, 0, y))
    if not neg.any():
        return r
    odd = np.remainder(y, 2) == 1
    tiny = np.where(np.equal(x, 1), 1, np.where(np.equal(x, -1), np.where(odd, -1, 1), 0)).astype(r.dtype)
    return np.where(neg, tiny, r)


def _pow_forward(x, y):
    if y.__class__ is np.ndarray and y.dtype.kind in "iu" and np.result_type(x, y).kind in "iu":
        return _int_pow(x, y)
    if getattr(x, "dtype", None) == np.bool_ and getattr(y, "dtype", None) == np.bool_:
        raise TypeError("pow: \"pow\" not implemented for 'Bool'")
    return np.power(x, y)


POW = OpDef(
    "pow", _pow_forward, promote=True, save_output=True, inplace_forward=_binary_into("pow", np.power)
)


@POW.defgrad
def _pow_grad(ctx, g):
    x, y = ctx.saved
    gx = gy = None
    y_tensor = isinstance(y, Tensor)
    if ctx.needs_grad[0]:
        if y_tensor:
            d = g * y * apply(POW, (x, y - 1))
            gx = apply(WHERE, (apply(EQ, (y, 0)), 0, d))
        elif y == 0:
            gx = _zeros(g)
        elif y == 2:
            gx = g * (x * 2)
        elif y == 1:
            gx = g
        else:
            gx = g * (apply(POW, (x, y - 1)) * y)
    if ctx.needs_grad[1]:
        out = ctx.out
        if isinstance(x, Tensor):
            d = g * out * log(x)
            gy = apply(WHERE, (logical_and(apply(EQ, (x, 0)), apply(GE, (y, 0))), 0, d))
        elif x == 0:
            gy = apply(WHERE, (apply(GE, (y, 0)), 0, g * out * -math.inf))
        else:
            gy = g * out * math.log(x) if x > 0 else g * math.nan
    return gx, gy


@method("pow")
def pow(input, exponent):
    """``input ** exponent`` elementwise; either may be a Python number (``ts.pow(2, t)``).

    Integer tensors to negative integer scalar powers raise, as in PyTorch.

    Example:
        >>> ts.pow(ts.tensor([1.0, 2.0, 3.0]), 2)
        tensor([1., 4., 9.])
    """
    return apply(POW, (input, exponent))


@method("square")
def square(input):
    """``input * input`` (integer and bool inputs give integers, as ``torch.square``)."""
    return apply(POW, (input, 2))


bind_binary(POW, "__pow__", "__rpow__")
bind_inplace(POW, "pow_", "__ipow__")
method("square_")(lambda self: _inplace(self, POW, (2,), {}))


# -- unary math -------------------------------------------------------------------------------------------
def _unary(name, forward, *, to_float=False, save_output=False, into=None, methods=(), inplace=(), doc=""):
    """Register a one-input op and its public wrapper (bound as ``Tensor`` methods ``methods`` and in-place
    methods ``inplace``)."""
    if to_float and into is not None:
        into = _float_into(name, into)
    op = OpDef(name, forward, to_float=to_float, save_output=save_output, inplace_forward=into)

    def fn(input):
        if input.__class__ is not Tensor:
            _check_input(name, input)
        return apply(op, (input,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    for m in methods:
        setattr(Tensor, m, fn)
    if inplace:
        bind_inplace(op, *inplace)
    return op, fn


def _no_bool(name, uf):
    def forward(x):
        if x.dtype.kind == "b":
            raise TypeError(f"{name}: \"{name}\" not implemented for 'Bool'")
        return uf(x)

    return forward


def _float_only_int_copy(name, uf):
    """Rounding ops: integers are returned unchanged (as a copy), bools are rejected."""

    def forward(x):
        k = x.dtype.kind
        if k in "fV":
            return uf(x)
        if k == "b":
            raise TypeError(f"{name}: \"{name}\" not implemented for 'Bool'")
        return x.copy()

    def into(out, x):
        k = out.dtype.kind
        if k in "fV":
            uf(x, out=out)
        elif k == "b":
            raise TypeError(f"{name}_: \"{name}\" not implemented for 'Bool'")

    return forward, into


EXP, exp = _unary(
    "exp",
    np.exp,
    to_float=True,
    save_output=True,
    into=_ufunc_into("exp", np.exp),
    methods=("exp",),
    inplace=("exp_",),
    doc="Elementwise ``e ** input``.",
)


@EXP.defgrad
def _exp_grad(ctx, g):
    return g * ctx.out


EXP2, exp2 = _unary(
    "exp2",
    np.exp2,
    to_float=True,
    save_output=True,
    into=_ufunc_into("exp2", np.exp2),
    methods=("exp2",),
    inplace=("exp2_",),
    doc="Elementwise ``2 ** input``.",
)


@EXP2.defgrad
def _exp2_grad(ctx, g):
    return g * ctx.out * _LN2


EXPM1, expm1 = _unary(
    "expm1",
    np.expm1,
    to_float=True,
    save_output=True,
    into=_ufunc_into("expm1", np.expm1),
    methods=("expm1",),
    inplace=("expm1_",),
    doc="``exp(input) - 1``, accurate for small inputs.",
)


@EXPM1.defgrad
def _expm1_grad(ctx, g):
    return g * (ctx.out + 1)


LOG, log = _unary(
    "log",
    np.log,
    to_float=True,
    into=_ufunc_into("log", np.log),
    methods=("log",),
    inplace=("log_",),
    doc="Elementwise natural logarithm.",
)


@LOG.defgrad
def _log_grad(ctx, g):
    (x,) = ctx.saved
    return g / x


LOG2, log2 = _unary(
    "log2",
    np.log2,
    to_float=True,
    into=_ufunc_into("log2", np.log2),
    methods=("log2",),
    inplace=("log2_",),
    doc="Elementwise base-2 logarithm.",
)


@LOG2.defgrad
def _log2_grad(ctx, g):
    (x,) = ctx.saved
    return g / (x * _LN2)


LOG10, log10 = _unary(
    "log10",
    np.log10,
    to_float=True,
    into=_ufunc_into("log10", np.log10),
    methods=("log10",),
    inplace=("log10_",),
    doc="Elementwise base-10 logarithm.",
)


@LOG10.defgrad
def _log10_grad(ctx, g):
    (x,) = ctx.saved
    return g / (x * _LN10)


LOG1P, log1p = _unary(
    "log1p",
    np.log1p,
    to_float=True,
    into=_ufunc_into("log1p", np.log1p),
    methods=("log1p",),
    inplace=("log1p_",),
    doc="``log(1 + input)``, accurate for small inputs.",
)


@LOG1P.defgrad
def _log1p_grad(ctx, g):
    (x,) = ctx.saved
    return g / (x + 1)


SQRT, sqrt = _unary(
    "sqrt",
    np.sqrt,
    to_float=True,
    save_output=True,
    into=_ufunc_into("sqrt", np.sqrt),
    methods=("sqrt",),
    inplace=("sqrt_",),
    doc="Elementwise square root.",
)


@SQRT.defgrad
def _sqrt_grad(ctx, g):
    return g / (ctx.out * 2)


def _rsqrt(x):
    r = _arr(np.sqrt(x))
    return np.reciprocal(r, out=r)


def _rsqrt_into(out, x):
    try:
        np.sqrt(x, out=out)
    except TypeError:
        raise _cast_error("rsqrt", out) from None
    np.reciprocal(out, out=out)


RSQRT, rsqrt = _unary(
    "rsqrt",
    _rsqrt,
    to_float=True,
    save_output=True,
    into=_rsqrt_into,
    methods=("rsqrt",),
    inplace=("rsqrt_",),
    doc="Elementwise ``1 / sqrt(input)``.",
)


@RSQRT.defgrad
def _rsqrt_grad(ctx, g):
    y = ctx.out
    return g * (y * y * y) * -0.5


def _reciprocal(x):
    return np.reciprocal(x)


RECIPROCAL, reciprocal = _unary(
    "reciprocal",
    _reciprocal,
    to_float=True,
    save_output=True,
    into=_ufunc_into("reciprocal", np.reciprocal),
    methods=("reciprocal",),
    inplace=("reciprocal_",),
    doc="Elementwise ``1 / input`` (integers give floats).",
)


@RECIPROCAL.defgrad
def _reciprocal_grad(ctx, g):
    y = ctx.out
    return -g * (y * y)


SIN, sin = _unary(
    "sin",
    np.sin,
    to_float=True,
    into=_ufunc_into("sin", np.sin),
    methods=("sin",),
    inplace=("sin_",),
    doc="Elementwise sine.",
)
COS, cos = _unary(
    "cos",
    np.cos,
    to_float=True,
    into=_ufunc_into("cos", np.cos),
    methods=("cos",),
    inplace=("cos_",),
    doc="Elementwise cosine.",
)


@SIN.defgrad
def _sin_grad(ctx, g):
    (x,) = ctx.saved
    return g * cos(x)


@COS.defgrad
def _cos_grad(ctx, g):
    (x,) = ctx.saved
    return -(g * sin(x))


TAN, tan = _unary(
    "tan",
    np.tan,
    to_float=True,
    save_output=True,
    into=_ufunc_into("tan", np.tan),
    methods=("tan",),
    inplace=("tan_",),
    doc="Elementwise tangent.",
)


@TAN.defgrad
def _tan_grad(ctx, g):
    y = ctx.out
    return g * (y * y + 1)


def _abs_forward(x):
    if x.dtype.kind == "b":
        raise TypeError("abs: \"abs\" not implemented for 'Bool'")
    return np.abs(x)


ABS, abs = _unary(
    "abs",
    _abs_forward,
    into=_ufunc_into("abs", np.abs),
    methods=("abs", "absolute", "__abs__"),
    inplace=("abs_", "absolute_"),
    doc="Elementwise absolute value (integers stay integers).",
)
absolute = abs


@ABS.defgrad
def _abs_grad(ctx, g):
    (x,) = ctx.saved
    return g * sign(x)  # sign(0) = 0, so abs'(0) = 0 as in PyTorch


def _sign_forward(x):
    k = x.dtype.kind
    if k == "b":
        return x.copy()
    if k in "iu":
        return np.sign(x)
    # PyTorch: sign(nan) = 0 and sign(-0.0) = 0
    return np.subtract(np.greater(x, 0), np.less(x, 0), dtype=x.dtype)


SIGN, sign = _unary(
    "sign",
    _sign_forward,
    methods=("sign", "sgn"),
    inplace=("sign_", "sgn_"),
    doc="-1, 0 or 1 by the sign of each element (bools are returned as they are).",
)
sgn = sign


@SIGN.defgrad
def _sign_grad(ctx, g):
    return _zeros(g)


_fl, _fl_into = _float_only_int_copy("floor", np.floor)
FLOOR, floor = _unary(
    "floor",
    _fl,
    into=_fl_into,
    methods=("floor",),
    inplace=("floor_",),
    doc="Largest integer <= each element (integer inputs are returned as they are).",
)
_cl, _cl_into = _float_only_int_copy("ceil", np.ceil)
CEIL, ceil = _unary(
    "ceil",
    _cl,
    into=_cl_into,
    methods=("ceil",),
    inplace=("ceil_",),
    doc="Smallest integer not less than each element.",
)
_tr, _tr_into = _float_only_int_copy("trunc", np.trunc)
TRUNC, trunc = _unary(
    "trunc",
    _tr,
    into=_tr_into,
    methods=("trunc", "fix"),
    inplace=("trunc_", "fix_"),
    doc="Each element rounded towards zero.",
)
fix = trunc


@FLOOR.defgrad
@CEIL.defgrad
@TRUNC.defgrad
def _step_grad(ctx, g):
    return _zeros(g)


def _frac_forward(x):
    if x.dtype.kind not in "fV":
        raise TypeError(f"frac: \"frac\" not implemented for '{_dt._FROM_NP[x.dtype].name}'")
    return np.subtract(x, np.trunc(x))


FRAC, frac = _unary(
    "frac",
    _frac_forward,
    methods=("frac",),
    inplace=("frac_",),
    doc="Fractional part ``input - trunc(input)`` (keeps the sign).",
)


@FRAC.defgrad
def _frac_grad(ctx, g):
    return g


def _round_forward(x, decimals=0):
    k = x.dtype.kind
    if k not in "fV":
        if k == "b" or decimals:
            raise TypeError(
                f"round: \"round\" not implemented for '{_dt._FROM_NP[x.dtype].name}'"
                + (f" with decimals={decimals}" if decimals else "")
            )
        return x.copy()
    if decimals == 0:
        return np.rint(x)
    return np.round(x, decimals)


ROUND = OpDef("round", _round_forward)


@ROUND.defgrad
def _round_grad(ctx, g):
    return _zeros(g)


@method("round")
def round(input, *, decimals: int = 0):
    """Round to the nearest integer (halves to even) or to ``decimals`` decimal places."""
    if input.__class__ is not Tensor:
        _check_input("round", input)
    if decimals == 0:
        return apply(ROUND, (input,))
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    return apply(ROUND, (input,), {"decimals": decimals})


@method("round_")
def _round_(self, *, decimals: int = 0):
    return _inplace(self, ROUND, (), {"decimals": decimals} if decimals else {})


def _nan_to_num_forward(x, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind not in "fV":
        return x.copy()
    info = _dt.finfo(_dt._FROM_NP[x.dtype])
    r = x.copy()
    r[np.isnan(x)] = nan
    r[np.isposinf(x) if x.dtype.kind == "f" else (x == np.inf)] = info.max if posinf is None else posinf
    r[np.isneginf(x) if x.dtype.kind == "f" else (x == -np.inf)] = info.min if neginf is None else neginf
    return r


NAN_TO_NUM = OpDef("nan_to_num", _nan_to_num_forward)


@NAN_TO_NUM.defgrad
def _nan_to_num_grad(ctx, g):
    (x,) = ctx.saved
    return apply(WHERE, (isfinite(x), g, 0))


@method("nan_to_num")
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """Replace NaN with ``nan`` and infinities with ``posinf``/``neginf`` (default: the dtype's limits)."""
    _check_input("nan_to_num", input)
    return apply(NAN_TO_NUM, (input,), {"nan": nan, "posinf": posinf, "neginf": neginf})


@method("nan_to_num_")
def _nan_to_num_(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    return _inplace(self, NAN_TO_NUM, (), {"nan": nan, "posinf": posinf, "neginf": neginf})


# -- erf (no SciPy): Cephes' rational approximations in float64, a single minimax fit in float32 ----------
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_ERFC_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_ERFC_S = (
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)
# float32: erf(x) = x * P(x^2) / Q(x^2) on [-4, 4] (outside, erf rounds to +-1 in float32); ~4e-7 max error
_ERF32_P = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF32_Q = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)


def _poly(coefs, x):
    """Horner evaluation of ``coefs`` (highest power first) at ``x``, in place on one new array."""
    r = _arr(x * coefs[0])
    for c in coefs[1:-1]:
        r += c
        r *= x
    r += coefs[-1]
    return r


def _erfc_pos64(a):
    """erfc(a) for float64 a >= 1 (NaN passes through)."""
    e = np.exp(-(a * a))
    m = np.minimum(a, 8.0)
    pq = _poly(_ERFC_P, m)
    pq /= _poly(_ERFC_Q, m)
    big = np.clip(a, 8.0, 30.0)  # erfc underflows to 0 long before 30
    rs = _poly(_ERFC_R, big)
    rs /= _poly(_ERFC_S, big)
    e *= np.where(a < 8.0, pq, rs)
    return e


def _erf64(x):
    a = np.abs(x)
    xs = np.clip(x, -1.0, 1.0)
    z = xs * xs
    small = xs * _poly(_ERF_T, z)
    small /= _poly(_ERF_U, z)
    big = 1.0 - _erfc_pos64(np.clip(a, 1.0, 6.0))  # erf(6) == 1.0 in float64
    return np.where(a <= 1.0, small, np.copysign(big, x))


def _erf32(x):
    x = _arr(np.minimum(x, np.float32(4.0)))
    np.maximum(x, np.float32(-4.0), out=x)
    z = x * x
    p = _poly(_ERF32_P, z)
    p *= x
    p /= _poly(_ERF32_Q, z)
    return p


def _erf_np(x):
    """erf of a float array, in the array's dtype."""
    if x.dtype == np.float64:
        return _erf64(x)
    return _erf32(x.astype(np.float32, copy=False)).astype(x.dtype, copy=False)


def _erfc_np(x):
    x64 = x.astype(np.float64, copy=False)
    a = np.abs(x64)
    r = np.where(a < 1.0, 1.0 - _erf64(np.clip(x64, -1.0, 1.0)), _erfc_pos64(np.maximum(a, 1.0)))
    r = np.where(x64 <= -1.0, 2.0 - r, r)
    return r.astype(x.dtype, copy=False)


ERF, erf = _unary(
    "erf",
    _erf_np,
    to_float=True,
    methods=("erf",),
    inplace=("erf_",),
    doc="The Gauss error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.",
)
ERFC, erfc = _unary(
    "erfc",
    _erfc_np,
    to_float=True,
    methods=("erfc",),
    inplace=("erfc_",),
    doc="The complementary error function ``1 - erf(input)`` (accurate in the tails).",
)


@ERF.defgrad
def _erf_grad(ctx, g):
    (x,) = ctx.saved
    return g * exp(-(x * x)) * _TWO_OVER_SQRTPI


@ERFC.defgrad
def _erfc_grad(ctx, g):
    (x,) = ctx.saved
    return g * exp(-(x * x)) * -_TWO_OVER_SQRTPI


# -- activations --------------------------------------------------------------------------------------------
def _sigmoid_np(x):
    """Overflow-free ``1 / (1 + exp(-x))`` (the exponent is capped where the result underflows anyway)."""
    x = _up(x)
    t = _arr(np.negative(x))
    np.minimum(t, 88.0 if x.dtype == np.float32 else 709.0, out=t)
    np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


def _sigmoid_forward(x):
    r = _sigmoid_np(x)
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _sigmoid_into(out, x):
    if out.dtype.kind not in "fV":
        raise _cast_error("sigmoid", out)
    out[...] = _sigmoid_np(x)


SIGMOID, sigmoid = _unary(
    "sigmoid",
    _sigmoid_forward,
    to_float=True,
    save_output=True,
    into=_sigmoid_into,
    methods=("sigmoid",),
    inplace=("sigmoid_",),
    doc="Elementwise ``1 / (1 + exp(-input))``.",
)

SIGMOID_BACKWARD = OpDef("sigmoid_backward", lambda g, y: g * (y * (1 - y)))


@SIGMOID.defgrad
def _sigmoid_grad(ctx, g):
    return apply(SIGMOID_BACKWARD, (g, ctx.out))


@SIGMOID_BACKWARD.defgrad
def _sigmoid_backward_grad(ctx, gg):
    g, y = ctx.saved
    ggrad = apply(SIGMOID_BACKWARD, (gg, y)) if ctx.needs_grad[0] else None
    gy = gg * g * (1 - y * 2) if ctx.needs_grad[1] else None
    return ggrad, gy


TANH, tanh = _unary(
    "tanh",
    np.tanh,
    to_float=True,
    save_output=True,
    into=_ufunc_into("tanh", np.tanh),
    methods=("tanh",),
    inplace=("tanh_",),
    doc="Elementwise hyperbolic tangent.",
)
TANH_BACKWARD = OpDef("tanh_backward", lambda g, y: g * (1 - y * y))


@TANH.defgrad
def _tanh_grad(ctx, g):
    return apply(TANH_BACKWARD, (g, ctx.out))


@TANH_BACKWARD.defgrad
def _tanh_backward_grad(ctx, gg):
    g, y = ctx.saved
    ggrad = apply(TANH_BACKWARD, (gg, y)) if ctx.needs_grad[0] else None
    gy = gg * g * y * -2 if ctx.needs_grad[1] else None
    return ggrad, gy


def _relu_forward(x):
    if x.dtype.kind == "b":
        raise TypeError("relu: Boolean inputs not supported for relu")
    return np.maximum(x, 0)


def _relu_into(out, x):
    if out.dtype.kind == "b":
        raise TypeError("relu_: Boolean inputs not supported for relu")
    np.maximum(x, 0, out=out)


RELU = OpDef("relu", _relu_forward, save_output=True, inplace_forward=_relu_into)
# g * mask is ~10x faster than np.where(y > 0, g, 0); it differs only for non-finite g where y <= 0.
THRESHOLD_BACKWARD = OpDef("threshold_backward", lambda g, y: np.multiply(g, y > 0, dtype=g.dtype))


@RELU.defgrad
def _relu_grad(ctx, g):
    return apply(THRESHOLD_BACKWARD, (g, ctx.out))  # relu'(0) = 0


@THRESHOLD_BACKWARD.defgrad
def _threshold_backward_grad(ctx, gg):
    _, y = ctx.saved
    return (apply(THRESHOLD_BACKWARD, (gg, y)) if ctx.needs_grad[0] else None), None


@method("relu")
def relu(input, inplace: bool = False):
    """``max(input, 0)`` elementwise (integer dtypes are kept).

    Example:
        >>> ts.relu(ts.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if inplace:
        return _inplace(input, RELU, (), {})
    if input.__class__ is not Tensor:
        _check_input("relu", input)
    return apply(RELU, (input,))


@method("relu_")
def relu_(input):
    """In-place ``relu``."""
    return _inplace(input, RELU, (), {})


def _gelu_forward(x, approximate="none"):
    xf = _up(x)
    if approximate == "tanh":
        inner = _arr(xf * xf)
        inner *= _GELU_C
        inner += 1
        inner *= xf
        inner *= _GELU_K
        r = np.tanh(inner, out=inner)
    else:
        r = _erf_np(xf * _SQRT1_2)
    r += 1
    r *= xf
    r *= 0.5
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _gelu_backward_forward(g, x, approximate="none"):
    xf = _up(x)
    if approximate == "tanh":
        x2 = xf * xf
        t = np.tanh(_GELU_K * (xf + _GELU_C * x2 * xf))
        du = _GELU_K * (1 + 3 * _GELU_C * x2)
        d = 0.5 * (1 + t) + 0.5 * xf * (1 - t * t) * du
    else:
        cdf = _erf_np(xf * _SQRT1_2)
        cdf += 1
        cdf *= 0.5
        pdf = np.exp(-0.5 * xf * xf)
        pdf *= xf * _INV_SQRT_2PI
        d = cdf + pdf
    d = d if d.dtype == x.dtype else d.astype(x.dtype)
    return np.multiply(g, d)


GELU = OpDef("gelu", _gelu_forward)
GELU_BACKWARD = OpDef("gelu_backward", _gelu_backward_forward)


@GELU.defgrad
def _gelu_grad(ctx, g):
    (x,) = ctx.saved
    return apply(GELU_BACKWARD, (g, x), ctx.attrs)


@GELU_BACKWARD.defgrad
def _gelu_backward_grad(ctx, gg):
    g, x = ctx.saved
    ggrad = apply(GELU_BACKWARD, (gg, x), ctx.attrs) if ctx.needs_grad[0] else None
    gx = None
    if ctx.needs_grad[1]:
        if ctx.attrs.get("approximate", "none") == "tanh":
            x2 = x * x
            t = tanh((x + x2 * x * _GELU_C) * _GELU_K)
            du = (x2 * (3 * _GELU_C) + 1) * _GELU_K
            d2 = (1 - t * t) * (du + x * 0.5 * (x * (6 * _GELU_C * _GELU_K) - t * du * du * 2))
        else:
            d2 = exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x)
        gx = gg * g * d2
    return ggrad, gx


def gelu(input, approximate: str = "none"):
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh approximation.

    Example:
        >>> ts.gelu(ts.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8413])
    """
    _check_float("gelu", input)
    if approximate == "none":
        return apply(GELU, (input,))
    if approximate != "tanh":
        raise ValueError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return apply(GELU, (input,), {"approximate": "tanh"})


def _check_float(name, x):
    if x.__class__ is not Tensor:
        _check_input(name, x)
    if x._data.dtype.kind not in "fV":
        raise TypeError(f"{name}: \"{name}\" not implemented for '{x.dtype.name}' (floating point only)")


def _silu_forward(x):
    r = _sigmoid_np(x)
    r *= x
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _silu_backward_forward(g, x):
    s = _sigmoid_np(x)
    d = 1 - s
    d *= x
    d += 1
    d *= s
    d = d if d.dtype == x.dtype else d.astype(x.dtype)
    return np.multiply(g, d)


SILU = OpDef("silu", _silu_forward)
SILU_BACKWARD = OpDef("silu_backward", _silu_backward_forward)


@SILU.defgrad
def _silu_grad(ctx, g):
    (x,) = ctx.saved
    return apply(SILU_BACKWARD, (g, x))


@SILU_BACKWARD.defgrad
def _silu_backward_grad(ctx, gg):
    g, x = ctx.saved
    ggrad = apply(SILU_BACKWARD, (gg, x)) if ctx.needs_grad[0] else None
    gx = None
    if ctx.needs_grad[1]:
        s = sigmoid(x)
        gx = gg * g * s * (1 - s) * (x * (1 - s * 2) + 2)
    return ggrad, gx


def silu(input, inplace: bool = False):
    """``input * sigmoid(input)`` (also called swish)."""
    _check_float("silu", input)
    if inplace:
        return _inplace(input, SILU, (), {})
    return apply(SILU, (input,))


def _softplus_forward(x, beta=1.0, threshold=20.0):
    xf = _up(x)
    bx = xf * beta if beta != 1 else xf
    soft = np.logaddexp(0, bx)
    if beta != 1:
        soft /= beta
    r = np.where(bx > threshold, xf, soft)
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _softplus_backward_forward(g, x, beta=1.0, threshold=20.0):
    xf = _up(x)
    bx = xf * beta if beta != 1 else xf
    d = np.where(bx > threshold, 1, _sigmoid_np(bx))
    d = d if d.dtype == x.dtype else d.astype(x.dtype)
    return np.multiply(g, d)


SOFTPLUS = OpDef("softplus", _softplus_forward)
SOFTPLUS_BACKWARD = OpDef("softplus_backward", _softplus_backward_forward)


@SOFTPLUS.defgrad
def _softplus_grad(ctx, g):
    (x,) = ctx.saved
    return apply(SOFTPLUS_BACKWARD, (g, x), ctx.attrs)


@SOFTPLUS_BACKWARD.defgrad
def _softplus_backward_grad(ctx, gg):
    g, x = ctx.saved
    ggrad = apply(SOFTPLUS_BACKWARD, (gg, x), ctx.attrs) if ctx.needs_grad[0] else None
    gx = None
    if ctx.needs_grad[1]:
        beta = ctx.attrs.get("beta", 1.0)
        threshold = ctx.attrs.get("threshold", 20.0)
        bx = x * beta
        s = sigmoid(bx)
        d2 = s * (1 - s) * beta
        gx = apply(WHERE, (apply(GT, (bx, threshold)), 0, gg * g * d2))
    return ggrad, gx


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    _check_float("softplus", input)
    if beta == 1 and threshold == 20:
        return apply(SOFTPLUS, (input,))
    return apply(SOFTPLUS, (input,), {"beta": beta, "threshold": threshold})


def _elu_forward(x, alpha=1.0):
    neg = np.expm1(np.minimum(x, 0))
    neg *= _like(x, alpha)
    return np.where(x > 0, x, neg)


ELU = OpDef("elu", _elu_forward, save_output=True)


@ELU.defgrad
def _elu_grad(ctx, g):
    (x,) = ctx.saved
    alpha = ctx.attrs.get("alpha", 1.0)
    return apply(WHERE, (apply(GT, (x, 0)), g, g * (ctx.out + alpha)))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    _check_float("elu", input)
    attrs = {"alpha": alpha} if alpha != 1 else {}
    if inplace:
        return _inplace(input, ELU, (), attrs)
    return apply(ELU, (input,), attrs)


def elu_(input, alpha: float = 1.0):
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


def _leaky_relu_forward(x, negative_slope=0.01):
    return np.where(x > 0, x, x * _like(x, negative_slope))


LEAKY_RELU = OpDef("leaky_relu", _leaky_relu_forward)


@LEAKY_RELU.defgrad
def _leaky_relu_grad(ctx, g):
    (x,) = ctx.saved
    return apply(WHERE, (apply(GT, (x, 0)), g, g * ctx.attrs["negative_slope"]))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x`` where positive, else ``negative_slope * x``."""
    _check_float("leaky_relu", input)
    attrs = {"negative_slope": negative_slope}
    if inplace:
        return _inplace(input, LEAKY_RELU, (), attrs)
    return apply(LEAKY_RELU, (input,), attrs)


def leaky_relu_(input, negative_slope: float = 0.01):
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


def _hardtanh_forward(x, min_val=-1.0, max_val=1.0):
    if x.dtype.kind in "iu":
        min_val, max_val = int(min_val), int(max_val)
    elif x.dtype.kind == "b":
        raise TypeError("hardtanh: Bool inputs not supported for hardtanh")
    return np.minimum(np.maximum(x, _like(x, min_val)), _like(x, max_val))


HARDTANH = OpDef("hardtanh", _hardtanh_forward)


@HARDTANH.defgrad
def _hardtanh_grad(ctx, g):
    (x,) = ctx.saved
    inside = logical_and(apply(GT, (x, ctx.attrs["min_val"])), apply(LT, (x, ctx.attrs["max_val"])))
    return apply(WHERE, (inside, g, 0))  # zero at the boundaries, as in PyTorch


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``input`` clamped to ``[min_val, max_val]`` (gradient zero at and beyond the limits)."""
    _check_input("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    attrs = {"min_val": min_val, "max_val": max_val}
    if inplace:
        return _inplace(input, HARDTANH, (), attrs)
    return apply(HARDTANH, (input,), attrs)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace: bool = False):
    """``min(max(input, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


# -- clamp, maximum/minimum, lerp, addcmul/addcdiv ------------------------------------------------------
def _clamp_forward(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _clamp_into(out, x, lo, hi):
    np.maximum(x, lo, out=out, casting="unsafe")
    np.minimum(out, hi, out=out, casting="unsafe")


CLAMP = OpDef("clamp", _clamp_forward, promote=True, inplace_forward=_clamp_into)
CLAMP_MIN = OpDef(
    "clamp_min", np.maximum, promote=True, inplace_forward=_binary_into("clamp_min", np.maximum)
)
CLAMP_MAX = OpDef(
    "clamp_max", np.minimum, promote=True, inplace_forward=_binary_into("clamp_max", np.minimum)
)


def _clamp_backward_forward(g, x, lo, hi):
    if lo is None:
        m = np.less_equal(x, hi)
    elif hi is None:
        m = np.greater_equal(x, lo)
    else:
        m = np.greater_equal(x, lo)
        m &= np.less_equal(x, hi)
    return np.where(m, g, 0)


CLAMP_BACKWARD = OpDef("clamp_backward", _clamp_backward_forward)


@CLAMP_BACKWARD.defgrad
def _clamp_backward_grad(ctx, gg):
    _, x, lo, hi = ctx.saved
    return (apply(CLAMP_BACKWARD, (gg, x, lo, hi)) if ctx.needs_grad[0] else None), None, None, None


def _clamp_grads(ctx, g, x, lo, hi):
    gx = apply(CLAMP_BACKWARD, (g, x, lo, hi)) if ctx.needs_grad[0] else None
    glo = ghi = None
    n = len(ctx.needs_grad)
    if n > 1 and lo is not None and ctx.needs_grad[1]:
        m = apply(LT, (x, lo))
        if hi is not None:
            m = logical_and(m, apply(LT, (lo, hi)))
        glo = apply(WHERE, (m, g, 0))
    k = 2 if lo is not None and n == 3 else 1
    if hi is not None and k < n and ctx.needs_grad[k]:
        m = apply(GT, (x, hi))
        if lo is not None:
            m = logical_or(m, apply(LT, (hi, lo)))
        ghi = apply(WHERE, (m, g, 0))
    return gx, glo, ghi


@CLAMP.defgrad
def _clamp_grad(ctx, g):
    x, lo, hi = ctx.saved
    return _clamp_grads(ctx, g, x, lo, hi)


@CLAMP_MIN.defgrad
def _clamp_min_grad(ctx, g):
    x, lo = ctx.saved
    gx, glo, _ = _clamp_grads(ctx, g, x, lo, None)
    return gx, glo


@CLAMP_MAX.defgrad
def _clamp_max_grad(ctx, g):
    x, hi = ctx.saved
    gx, _, ghi = _clamp_grads(ctx, g, x, None, hi)
    return gx, ghi


def _clamp_args(name, min, max):
    if min is None:
        if max is None:
            raise RuntimeError(f"{name}: At least one of 'min' or 'max' must not be None")
        return CLAMP_MAX, (max,)
    if max is None:
        return CLAMP_MIN, (min,)
    return CLAMP, (min, max)


@method("clamp", "clip")
def clamp(input, min=None, max=None):
    """``input`` limited to ``[min, max]``; either bound (a number or a broadcastable tensor) may be None.

    Where ``min > max`` the result is ``max``. The gradient passes at the bounds themselves, as in PyTorch.

    Example:
        >>> ts.clamp(ts.tensor([-2.0, 0.5, 3.0]), min=-1, max=1)
        tensor([-1.0000,  0.5000,  1.0000])
    """
    op, bounds = _clamp_args("clamp", min, max)
    return apply(op, (input,) + bounds)


clip = clamp


@method("clamp_min")
def clamp_min(input, min):
    """``max(input, min)`` elementwise (``clamp`` with only a lower bound)."""
    return apply(CLAMP_MIN, (input, min))


@method("clamp_max")
def clamp_max(input, max):
    """``min(input, max)`` elementwise (``clamp`` with only an upper bound)."""
    return apply(CLAMP_MAX, (input, max))


@method("clamp_", "clip_")
def _clamp_(self, min=None, max=None):
    op, bounds = _clamp_args("clamp_", min, max)
    return _inplace(self, op, bounds, {})


method("clamp_min_")(lambda self, min: _inplace(self, CLAMP_MIN, (min,), {}))
method("clamp_max_")(lambda self, max: _inplace(self, CLAMP_MAX, (max,), {}))


MAXIMUM = OpDef("maximum", np.maximum, promote=True)
MINIMUM = OpDef("minimum", np.minimum, promote=True)


def _max_backward_forward(g, a, b):
    """``g`` where ``a > b``, half of it where they tie, zero elsewhere."""
    return np.where(np.equal(a, b), g * 0.5, np.where(np.greater(a, b), g, 0))


MAX_BACKWARD = OpDef("maximum_backward", _max_backward_forward)


@MAX_BACKWARD.defgrad
def _max_backward_grad(ctx, gg):
    _, a, b = ctx.saved
    return (apply(MAX_BACKWARD, (gg, a, b)) if ctx.needs_grad[0] else None), None, None


@MAXIMUM.defgrad
def _maximum_grad(ctx, g):
    x, y = ctx.saved
    gx = apply(MAX_BACKWARD, (g, x, y)) if ctx.needs_grad[0] else None
    gy = apply(MAX_BACKWARD, (g, y, x)) if ctx.needs_grad[1] else None
    return gx, gy


@MINIMUM.defgrad
def _minimum_grad(ctx, g):
    x, y = ctx.saved
    gx = apply(MAX_BACKWARD, (g, y, x)) if ctx.needs_grad[0] else None
    gy = apply(MAX_BACKWARD, (g, x, y)) if ctx.needs_grad[1] else None
    return gx, gy


@method("maximum")
def maximum(input, other):
    """Elementwise maximum with broadcasting (NaN propagates; ties share the gradient equally)."""
    return apply(MAXIMUM, (input, other))


@method("minimum")
def minimum(input, other):
    """Elementwise minimum with broadcasting (NaN propagates; ties share the gradient equally)."""
    return apply(MINIMUM, (input, other))


def _lerp_forward(x, end, weight):
    d = np.subtract(end, x)
    if weight.__class__ is np.ndarray:
        return np.where(np.abs(weight) < 0.5, x + weight * d, end - d * (1 - weight))
    if -0.5 < weight < 0.5:
        return x + weight * d
    return end - d * (1 - weight)


LERP = OpDef("lerp", _lerp_forward)


@LERP.defgrad
def _lerp_grad(ctx, g):
    x, end, w = ctx.saved
    gx = g * (1 - w) if ctx.needs_grad[0] else None
    ge = g * w if ctx.needs_grad[1] else None
    gw = g * (end - x) if ctx.needs_grad[2] else None
    return gx, ge, gw


def _lerp_check(name, input, end, weight):
    _check_input(name, input)
    if not isinstance(end, Tensor):
        raise TypeError(f"{name}: argument 'end' must be a Tensor, not {type(end).__name__}")
    if input._data.dtype.kind not in "fV":
        raise TypeError(f"{name}: \"lerp\" not implemented for '{input.dtype.name}' (floating point only)")
    if end.dtype is not input.dtype:
        raise RuntimeError(
            f"{name}: expected dtype {input.dtype.name} for `end` but got dtype {end.dtype.name}"
        )
    if isinstance(weight, Tensor):
        if weight.dtype is not input.dtype:
            raise RuntimeError(
                f"{name}: expected dtype {input.dtype.name} for `weight` but got dtype {weight.dtype.name}"
            )
    elif isinstance(weight, (int, float)) and not isinstance(weight, bool):
        weight = _dt.as_dtype(input.dtype).np.type(weight)
    else:
        raise TypeError(f"{name}: weight must be a number or a Tensor, not {type(weight).__name__}")
    return weight


@method("lerp")
def lerp(input, end, weight):
    """Linear interpolation ``input + weight * (end - input)`` (tensors of one floating dtype)."""
    weight = _lerp_check("lerp", input, end, weight)
    return apply(LERP, (input, end, weight))


@method("lerp_")
def _lerp_(self, end, weight):
    weight = _lerp_check("lerp_", self, end, weight)
    return _inplace(self, LERP, (end, weight), {})


ADDCMUL = OpDef("addcmul", lambda x, a, b, value=1: x + value * (a * b), promote=True)


@ADDCMUL.defgrad
def _addcmul_grad(ctx, g):
    x, a, b = ctx.saved
    v = ctx.attrs.get("value", 1)
    gv = g * v if v != 1 else g
    return (
        (g if ctx.needs_grad[0] else None),
        (gv * b if ctx.needs_grad[1] else None),
        (gv * a if ctx.needs_grad[2] else None),
    )


def _addcdiv_forward(x, a, b, value=1):
    if np.result_type(x, a, b).kind not in "fV":
        raise TypeError(
            "addcdiv: Integer division with addcdiv is no longer supported; use addcmul with "
            "tensor1 and the reciprocal of tensor2 (floating point) instead"
        )
    return x + value * (a / b)


ADDCDIV = OpDef("addcdiv", _addcdiv_forward, promote=True)


@ADDCDIV.defgrad
def _addcdiv_grad(ctx, g):
    x, a, b = ctx.saved
    v = ctx.attrs.get("value", 1)
    gv = g * v if v != 1 else g
    ga = gv / b if ctx.needs_grad[1] else None
    gb = -gv * a / (b * b) if ctx.needs_grad[2] else None
    return (g if ctx.needs_grad[0] else None), ga, gb


@method("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` (broadcast, promoted)."""
    return apply(ADDCMUL, (input, tensor1, tensor2), {"value": value} if value != 1 else {})


@method("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (floating point only)."""
    return apply(ADDCDIV, (input, tensor1, tensor2), {"value": value} if value != 1 else {})


method("addcmul_")(
    lambda self, tensor1, tensor2, *, value=1: _inplace(
        self, ADDCMUL, (tensor1, tensor2), {"value": value} if value != 1 else {}
    )
)
method("addcdiv_")(
    lambda self, tensor1, tensor2, *, value=1: _inplace(
        self, ADDCDIV, (tensor1, tensor2), {"value": value} if value != 1 else {}
    )
)


# -- comparisons, logic, bits -------------------------------------------------------------------------------
def _compare(name, uf, *aliases):
    op = OpDef(
        name,
        uf,
        promote=True,
        inplace_forward=_binary_into(name, uf),
        shape_rule=_binary_meta(name, _dt.bool),
    )

    def fn(input, other):
        return apply(op, (input, other))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` comparison with broadcasting and promotion; a bool tensor."
    for n in (name,) + aliases:
        setattr(Tensor, n, fn)
    bind_inplace(op, name + "_", *(a + "_" for a in aliases))
    return op, fn


EQ, eq = _compare("eq", np.equal)
NE, ne = _compare("ne", np.not_equal, "not_equal")
LT, lt = _compare("lt", np.less, "less")
LE, le = _compare("le", np.less_equal, "less_equal")
GT, gt = _compare("gt", np.greater, "greater")
GE, ge = _compare("ge", np.greater_equal, "greater_equal")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def _eq_method(self, other):
    if other is None:
        return False
    return apply(EQ, (self, other))


def _ne_method(self, other):
    if other is None:
        return True
    return apply(NE, (self, other))


Tensor.__eq__ = _eq_method
Tensor.__ne__ = _ne_method
bind_binary(LT, "__lt__")
bind_binary(LE, "__le__")
bind_binary(GT, "__gt__")
bind_binary(GE, "__ge__")
Tensor.__hash__ = lambda self: id(self)


def _logical(name, uf):
    op = OpDef(name, uf, shape_rule=_binary_meta(name, _dt.bool))

    def fn(input, other):
        if input.__class__ is not Tensor:
            _check_input(name, input)
        return apply(op, (input, other))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` of the truth values of ``input`` and ``other``; a bool tensor."
    setattr(Tensor, name, fn)
    bind_inplace(op, name + "_")
    return op, fn


LOGICAL_AND, logical_and = _logical("logical_and", np.logical_and)
LOGICAL_OR, logical_or = _logical("logical_or", np.logical_or)
LOGICAL_XOR, logical_xor = _logical("logical_xor", np.logical_xor)
LOGICAL_NOT, logical_not = _unary(
    "logical_not",
    np.logical_not,
    methods=("logical_not",),
    inplace=("logical_not_",),
    doc="Elementwise ``not``; a bool tensor.",
)


def _bits(name, uf):
    def forward(x, y):
        for a in (x, y):
            if getattr(a, "dtype", None) is not None and a.dtype.kind in "fV" or a.__class__ is float:
                raise TypeError(f'{name}: "{name}" is only implemented on integer and Boolean tensors')
        return uf(x, y)

    return OpDef(
        name, forward, promote=True, inplace_forward=_binary_into(name, uf), shape_rule=_binary_meta(name)
    )


BITWISE_AND = _bits("bitwise_and", np.bitwise_and)
BITWISE_OR = _bits("bitwise_or", np.bitwise_or)
BITWISE_XOR = _bits("bitwise_xor", np.bitwise_xor)
BITWISE_LEFT_SHIFT = _bits("bitwise_left_shift", np.left_shift)
BITWISE_RIGHT_SHIFT = _bits("bitwise_right_shift", np.right_shift)


@method("bitwise_and")
def bitwise_and(input, other):
    """Elementwise ``&`` of integer or bool tensors."""
    return apply(BITWISE_AND, (input, other))


@method("bitwise_or")
def bitwise_or(input, other):
    """Elementwise ``|`` of integer or bool tensors."""
    return apply(BITWISE_OR, (input, other))


@method("bitwise_xor")
def bitwise_xor(input, other):
    """Elementwise ``^`` of integer or bool tensors."""
    return apply(BITWISE_XOR, (input, other))


@method("bitwise_left_shift")
def bitwise_left_shift(input, other):
    """Elementwise ``<<`` of integer tensors."""
    return apply(BITWISE_LEFT_SHIFT, (input, other))


@method("bitwise_right_shift")
def bitwise_right_shift(input, other):
    """Elementwise ``>>`` of integer tensors (arithmetic shift)."""
    return apply(BITWISE_RIGHT_SHIFT, (input, other))


bind_binary(BITWISE_AND, "__and__", "__rand__")
bind_binary(BITWISE_OR, "__or__", "__ror__")
bind_binary(BITWISE_XOR, "__xor__", "__rxor__")
bind_binary(BITWISE_LEFT_SHIFT, "__lshift__", "__rlshift__")
bind_binary(BITWISE_RIGHT_SHIFT, "__rshift__", "__rrshift__")
bind_inplace(BITWISE_AND, "bitwise_and_", "__iand__")
bind_inplace(BITWISE_OR, "bitwise_or_", "__ior__")
bind_inplace(BITWISE_XOR, "bitwise_xor_", "__ixor__")
bind_inplace(BITWISE_LEFT_SHIFT, "bitwise_left_shift_", "__ilshift__")
bind_inplace(BITWISE_RIGHT_SHIFT, "bitwise_right_shift_", "__irshift__")


def _invert_forward(x):
    if x.dtype.kind in "fV":
        raise TypeError(
            "bitwise_not: ~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return np.invert(x)


BITWISE_NOT, bitwise_not = _unary(
    "bitwise_not",
    _invert_forward,
    into=_ufunc_into("bitwise_not", np.invert),
    methods=("bitwise_not", "__invert__"),
    inplace=("bitwise_not_",),
    doc="Elementwise ``~`` of an integer or bool tensor.",
)


def _float_test(name, uf, int_value):
    def forward(x):
        if x.dtype.kind in "fV":
            return uf(x)
        return np.full(x.shape, int_value)

    op, fn = _unary(
        name,
        forward,
        methods=(name,),
        doc=f"Elementwise ``{name}`` test; a bool tensor (integers are always finite).",
    )
    return op, fn


ISNAN, isnan = _float_test("isnan", np.isnan, False)
ISINF, isinf = _float_test("isinf", np.isinf, False)
ISPOSINF, isposinf = _float_test("isposinf", lambda x: x == np.inf, False)
ISNEGINF, isneginf = _float_test("isneginf", lambda x: x == -np.inf, False)
ISFINITE, isfinite = _float_test("isfinite", np.isfinite, True)


def _isclose_forward(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    if a.dtype.kind == "V" or b.dtype.kind == "V":
        a, b = a.astype(np.float32), b.astype(np.float32)
    return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


ISCLOSE = OpDef("isclose", _isclose_forward, shape_rule=_binary_meta("isclose", _dt.bool))


def _close_check(name, input, other):
    _check_input(name, input)
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}: argument 'other' must be a Tensor, not {type(other).__name__}")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{name}: {input.dtype.name} did not match {other.dtype.name}")


@method("isclose")
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Where ``|input - other| <= atol + rtol * |other|``; a bool tensor. Both tensors need one dtype."""
    _close_check("isclose", input, other)
    return apply(ISCLOSE, (input, other), {"rtol": rtol, "atol": atol, "equal_nan": equal_nan})


@method("allclose")
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True if ``isclose`` holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@method("equal")
def equal(input, other) -> bool:
    """True if the two tensors have the same shape and the same values (a Python bool)."""
    _check_input("equal", input)
    if not isinstance(other, Tensor):
        raise TypeError(f"equal: argument 'other' must be a Tensor, not {type(other).__name__}")
    a, b = input._data, other._data
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "V" or b.dtype.kind == "V":
        a, b = a.astype(np.float32), b.astype(np.float32)
    return bool(np.array_equal(a, b))


# -- selection --------------------------------------------------------------------------------------------
def _where_forward(cond, x, y):
    return np.where(cond, x, y)


WHERE = OpDef("where", _where_forward)


@WHERE.defgrad
def _where_grad(ctx, g):
    cond, x, y = ctx.saved
    gx = apply(WHERE, (cond, g, 0)) if ctx.needs_grad[1] else None
    gy = apply(WHERE, (cond, 0, g)) if ctx.needs_grad[2] else None
    return None, gx, gy


@method("where")
def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcast, promoted).

    Example:
        >>> ts.where(ts.tensor([True, False]), ts.tensor([1.0, 2.0]), 0.0)
        tensor([1., 0.])
    """
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor) or condition._data.dtype != np.bool_:
        got = condition.dtype if isinstance(condition, Tensor) else type(condition).__name__
        raise TypeError(f"where: expected condition to be a bool tensor, got {got}")
    if input is None or other is None:
        raise TypeError("where: expected both 'input' and 'other' (or neither)")
    target = _dt.result_type(input, other)
    npt = target.np.type
    xs = [v.to(target) if isinstance(v, Tensor) else npt(v) for v in (input, other)]
    return apply(WHERE, (condition, xs[0], xs[1]))


# -- dtype conversion and copies --------------------------------------------------------------------------
CAST = OpDef("cast", lambda x, dtype: x.astype(dtype.np))


@CAST.defgrad
def _cast_grad(ctx, g):
    return g  # the engine casts the gradient back to the input's dtype


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between floating dtypes)."""
    return apply(CAST, (input,), {"dtype": _dt.as_dtype(dtype)})


CLONE = OpDef("clone", lambda x: x.copy(order="K"))  # preserve_format, as PyTorch's default


@CLONE.defgrad
def _clone_grad(ctx, g):
    return g


@method("clone")
def clone(input, *, memory_format=None):
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return apply(CLONE, (input,))


_OPS.cast = cast
_OPS.clone = clone
