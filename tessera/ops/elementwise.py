"""Elementwise ops: arithmetic and Python operators, casts, unary math and activations, comparisons, and
the special functions (gamma family, Bessel, error-function inverses, incomplete gamma, Hurwitz zeta) that
NumPy lacks, computed in float64 from series, recurrences and asymptotic expansions (``ts.special`` exposes
them under PyTorch's names).

Every op here is one ``OpDef`` (NumPy forward + gradient rule written with Tessera ops) plus a thin public
wrapper. Activations with a cheap analytic derivative (relu, sigmoid, tanh, gelu, silu, softplus) have a
fused ``*_backward`` op of their own, so one backward step is one NumPy pass; those backward ops are
differentiable again, so higher-order gradients still work.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import REGISTRY, OpDef, OpError, TensorMeta
from ..core.tensor import _OPS, Tensor, _inplace
from ._util import (
    OpTypeError,
    apply,
    bind_binary,
    bind_inplace,
    broadcast_shape,
    check_tensor,
    elementwise_rule,
    float_only,
    method,
    no_bool,
    numpy_result_dtype,
    unary_rule,
)

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
    check_tensor(name, "input", x)


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


def _bool_rejected(message):
    """Dtype check of a shape rule: a bool result raises ``message`` (the kernel's own error)."""

    def check(opname, dt):
        if dt is _dt.bool:
            raise OpTypeError(message)

    return check


# -- arithmetic ---------------------------------------------------------------------------------------
ADD = OpDef(
    "add",
    np.add,
    promote=True,
    inplace_forward=_binary_into("add", np.add),
    shape_rule=elementwise_rule("add"),
)


@ADD.defgrad
def _add_grad(ctx, g):
    return g, g


SUB = OpDef(
    "sub",
    np.subtract,
    promote=True,
    inplace_forward=_binary_into("sub", np.subtract),
    shape_rule=elementwise_rule("sub"),
)


@SUB.defgrad
def _sub_grad(ctx, g):
    return g, (-g if ctx.needs_grad[1] else None)


MUL = OpDef(
    "mul",
    np.multiply,
    promote=True,
    inplace_forward=_binary_into("mul", np.multiply),
    shape_rule=elementwise_rule("mul"),
)


@MUL.defgrad
def _mul_grad(ctx, g):
    x, y = ctx.saved
    return (g * y if ctx.needs_grad[0] else None), (g * x if ctx.needs_grad[1] else None)


def _check_int_divisor(name, r, y):
    if r.dtype.kind in "iub" and not np.all(y):
        raise OpError(f"{name}: {_ZERO_DIV} (integer division by zero)")


_DIV_TRUNC_BOOL = "div: \"div_trunc\" not implemented for 'Bool'"


def _div_trunc(x, y):
    kind = np.result_type(x, y).kind
    if kind == "b":
        raise TypeError(_DIV_TRUNC_BOOL)
    if kind in "iu":
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
    shape_rule=elementwise_rule("div", to_float=True),
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
    # NumPy computes bool // bool in int8; PyTorch refuses it (checked on the inputs for that reason)
    if np.result_type(x, y).kind == "b":
        raise TypeError("floor_divide: \"div_floor\" not implemented for 'Bool'")
    r = np.floor_divide(x, y)
    if r.dtype.kind in "iu":
        _check_int_divisor("floor_divide", r, y)
    return r


FLOOR_DIVIDE = OpDef(
    "floor_divide",
    _floor_divide_forward,
    promote=True,
    shape_rule=elementwise_rule(
        "floor_divide", check=_bool_rejected("floor_divide: \"div_floor\" not implemented for 'Bool'")
    ),
)
DIV_TRUNC = OpDef(
    "div_trunc",
    _div_trunc,
    promote=True,
    shape_rule=elementwise_rule("div", check=_bool_rejected(_DIV_TRUNC_BOOL)),
)


@FLOOR_DIVIDE.defgrad
@DIV_TRUNC.defgrad
def _rounded_div_grad(ctx, g):
    # Piecewise constant: zero almost everywhere (as PyTorch's div with a rounding_mode).
    return tuple(_zeros(g) if n else None for n in ctx.needs_grad)


def _remainder_forward(x, y):
    if np.result_type(x, y).kind == "b":
        raise TypeError("remainder: not implemented for 'Bool'")
    r = np.remainder(x, y)
    if r.dtype.kind in "iu":
        _check_int_divisor("remainder", r, y)
    return r


def _fmod_forward(x, y):
    if np.result_type(x, y).kind == "b":
        raise TypeError("fmod: not implemented for 'Bool'")
    r = np.fmod(x, y)
    if r.dtype.kind in "iu":
        _check_int_divisor("fmod", r, y)
    return r


REMAINDER = OpDef(
    "remainder",
    _remainder_forward,
    promote=True,
    shape_rule=elementwise_rule("remainder", check=_bool_rejected("remainder: not implemented for 'Bool'")),
)
FMOD = OpDef(
    "fmod",
    _fmod_forward,
    promote=True,
    shape_rule=elementwise_rule("fmod", check=_bool_rejected("fmod: not implemented for 'Bool'")),
)


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


NEG = OpDef(
    "neg", np.negative, inplace_forward=lambda out, x: np.negative(x, out=out), shape_rule=unary_rule("neg")
)


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
    xb, yb = getattr(x, "dtype", None) == np.bool_, getattr(y, "dtype", None) == np.bool_
    if xb and yb:
        raise TypeError("pow: \"pow\" not implemented for 'Bool'")
    if (xb and y.__class__ is bool) or (yb and x.__class__ is bool):
        return np.power(x, y).astype(np.bool_)  # NumPy computes bool ** bool in int8; PyTorch keeps bool
    return np.power(x, y)


POW = OpDef(
    "pow",
    _pow_forward,
    promote=True,
    save_output=True,
    inplace_forward=_binary_into("pow", np.power),
    shape_rule=elementwise_rule("pow"),
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


def _rsqrt(x):
    r = _arr(np.sqrt(x))
    return np.reciprocal(r, out=r)


def _rsqrt_into(out, x):
    try:
        np.sqrt(x, out=out)
    except TypeError:
        raise _cast_error("rsqrt", out) from None
    np.reciprocal(out, out=out)


def _abs_forward(x):
    if x.dtype.kind == "b":
        raise TypeError("abs: \"abs\" not implemented for 'Bool'")
    return np.abs(x)


def _sign_forward(x):
    k = x.dtype.kind
    if k == "b":
        return x.copy()
    if k in "iu":
        return np.sign(x)
    # PyTorch: sign(nan) = 0 and sign(-0.0) = 0
    return np.subtract(np.greater(x, 0), np.less(x, 0), dtype=x.dtype)


def _frac_forward(x):
    if x.dtype.kind not in "fV":
        raise TypeError(f"frac: \"frac\" not implemented for '{_dt._FROM_NP[x.dtype].name}'")
    return np.subtract(x, np.trunc(x))


_INVERT_MSG = "bitwise_not: ~ (operator.invert) is only implemented on integer and Boolean-type tensors"


def _invert_forward(x):
    if x.dtype.kind in "fV":
        raise TypeError(_INVERT_MSG)
    return np.invert(x)


def _no_float_invert(opname, dt):
    if dt.is_floating_point:
        raise OpTypeError(_INVERT_MSG)


def _float_test(uf, int_value):
    """``isnan``-style tests: integers and bools are always finite."""

    def forward(x):
        if x.dtype.kind in "fV":
            return uf(x)
        return np.full(x.shape, int_value)

    return forward


_floor, _floor_into = _float_only_int_copy("floor", np.floor)
_ceil, _ceil_into = _float_only_int_copy("ceil", np.ceil)
_trunc, _trunc_into = _float_only_int_copy("trunc", np.trunc)


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


# -- special functions in float64 (no SciPy): series, recurrences and asymptotic expansions ----------------
# Each takes and returns float64 arrays; ``_in64`` wraps one to compute other float dtypes in float64 and
# round once (as accurate as the dtype allows; PyTorch's float32 kernels agree to about 1 ulp).
_BERN2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_PI = math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)


def _in64(fn):
    """``fn`` (float64 -> float64) as a forward for any float dtype: computed in float64, rounded once."""

    def forward(x, *args, **attrs):
        r = fn(np.asarray(x, dtype=np.float64), *args, **attrs)
        return _arr(r).astype(x.dtype, copy=False)

    forward.__name__ = fn.__name__
    return forward


def _sinpi(x):
    """``sin(pi * x)`` with the argument reduced exactly to [-1/2, 1/2] (zero at the integers)."""
    r = x - 2.0 * np.round(x * 0.5)  # [-1, 1], exact
    r = np.where(r > 0.5, 1.0 - r, np.where(r < -0.5, -1.0 - r, r))
    return np.sin(np.pi * r)


def _cospi(x):
    """``cos(pi * x)``, reduced exactly as in ``_sinpi`` (zero at the half-integers)."""
    a = np.abs(x - 2.0 * np.round(x * 0.5))  # [0, 1]
    return np.where(a < 0.25, np.cos(np.pi * a), np.sin(np.pi * (0.5 - a)))


def _stirling_lgamma(x):
    """lgamma for x >= 10 (Stirling's series)."""
    z = 1.0 / (x * x)
    s = np.zeros_like(x)
    for k in range(len(_BERN2K) - 1, -1, -1):
        s = s * z + _BERN2K[k] / ((2 * k + 2) * (2 * k + 1))
    return (x - 0.5) * np.log(x) - x + _LOG_SQRT_2PI + s / x


def _lgamma64(x):
    with np.errstate(all="ignore"):
        pos = np.where(x < 0.5, 1.0 - x, x)  # reflection for x < 0.5
        shifted = pos.copy()
        prod = np.ones_like(x)
        for _ in range(10):
            small = shifted < 10.0
            prod = np.where(small, prod * shifted, prod)
            shifted = np.where(small, shifted + 1.0, shifted)
        big = np.where(np.isfinite(shifted), shifted, 10.0)
        r = np.where(np.isfinite(shifted), _stirling_lgamma(big) - np.log(prod), shifted)
        refl = np.log(np.pi / np.abs(_sinpi(x))) - r
        r = np.where(x < 0.5, refl, r)
        r = np.where((x == 1.0) | (x == 2.0), 0.0, r)
        r = np.where(np.isinf(x), np.inf, r)
        return np.where(np.isnan(x), x, r)


def _digamma64(x):
    with np.errstate(all="ignore"):
        pos = np.where(x < 0.5, 1.0 - x, x)
        acc = np.zeros_like(x)
        for _ in range(10):
            small = pos < 10.0
            acc = np.where(small, acc - 1.0 / pos, acc)
            pos = np.where(small, pos + 1.0, pos)
        z = 1.0 / (pos * pos)
        s = np.zeros_like(x)
        for k in range(len(_BERN2K) - 1, -1, -1):
            s = s * z + _BERN2K[k] / (2 * k + 2)
        r = np.log(pos) - 0.5 / pos - s * z + acc
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        refl = r - np.pi * _cospi(x) / _sinpi(x)
        r = np.where(x < 0.5, refl, r)
        r = np.where(x == 0.0, np.copysign(np.inf, -x), r)  # psi(+-0) = -+inf
        r = np.where((x < 0) & (x == np.floor(x)), np.nan, r)
        r = np.where(x == np.inf, np.inf, np.where(x == -np.inf, np.nan, r))
        return np.where(np.isnan(x), x, r)


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)  # fmt: skip


def _zeta64(s, q):
    """Hurwitz zeta ``sum_k (k + q) ** -s`` (Euler-Maclaurin summation, as Cephes' ``zeta``)."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    with np.errstate(all="ignore"):
        total = np.power(q, -s)
        a = q.copy()
        for i in range(4096):  # direct terms until a > 9 (at least nine; a negative q needs more)
            more = (a <= 9.0) if i >= 9 else np.ones(a.shape, bool)
            if not more.any():
                break
            a = np.where(more, a + 1.0, a)
            total = total + np.where(more, np.power(a, -s), 0.0)
        b = np.power(a, -s)
        total = total + a * b / (s - 1.0) - 0.5 * b
        fa, k = np.ones(s.shape), 0.0
        for c in _ZETA_A:
            fa = fa * (s + k)
            b = b / a
            total = total + fa * b / c
            k += 1.0
            fa = fa * (s + k)
            b = b / a
            k += 1.0
        r = np.where(s > 1.0, total, np.nan)
        r = np.where(s == 1.0, np.inf, r)
        r = np.where((q <= 0) & (q == np.floor(q)) & (s > 1.0), np.inf, r)
        return np.where(np.isnan(s) | np.isnan(q), np.nan, r)


def _polygamma64(x, n):
    if n == 0:
        return _digamma64(x)
    sign = 1.0 if n % 2 else -1.0
    return sign * math.factorial(n) * _zeta64(float(n + 1), x)


# erfinv: Giles' single-precision approximation as the start, then Newton steps on erf / erfc (whichever
# is accurate there), in float64.
_GILES_LO = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
             -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)  # fmt: skip
_GILES_HI = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
             -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)  # fmt: skip


def _erfinv64(y):
    with np.errstate(all="ignore"):
        a = np.abs(y)
        q = 1.0 - a  # exact for a >= 0.5
        w = -np.log(q * (1.0 + a))
        lo = _poly(_GILES_LO, w - 2.5)
        hi = _poly(_GILES_HI, np.sqrt(np.maximum(w, 5.0)) - 3.0)
        x = np.where(w < 5.0, lo, hi) * a
        # very small q: the asymptotic start sqrt(-log(q sqrt(pi) x)) is closer than the polynomial
        tiny = q < 1e-12
        t = np.sqrt(-np.log(np.where(tiny, q, 1.0)))
        x = np.where(tiny, np.sqrt(np.maximum(t * t - np.log(np.sqrt(np.pi) * t), 0.0)), x)
        for _ in range(4):
            ex = np.exp(-x * x) * _TWO_OVER_SQRTPI
            near_one = a > 0.5
            f = np.where(near_one, q - _erfc_np(x), _erf64(x) - a)  # erf(x) - a, accurately
            step = np.where(ex > 0, f / ex, 0.0)
            x = x - step / (1.0 + x * step)  # Halley's step (erf'' = -2x erf')
        x = np.where(a == 1.0, np.inf, x)
        x = np.where(a > 1.0, np.nan, x)
        return np.copysign(x, y)


def _erfcx64(x):
    """``exp(x**2) * erfc(x)`` without overflow for large x."""
    with np.errstate(all="ignore"):
        a = np.abs(x)
        m = np.clip(a, 1.0, 8.0)
        mid = _poly(_ERFC_P, m) / _poly(_ERFC_Q, m)
        b = np.clip(a, 8.0, 1e8)
        big = _poly(_ERFC_R, b) / _poly(_ERFC_S, b)
        huge = 1.0 / (a * _SQRT_PI)
        small = np.exp(a * a) * (1.0 - _erf64(np.minimum(a, 1.0)))
        pos = np.where(a < 1.0, small, np.where(a < 8.0, mid, np.where(a < 1e8, big, huge)))
        neg = 2.0 * np.exp(a * a) - pos
        r = np.where(x < 0, neg, pos)
        return np.where(np.isnan(x), x, r)


def _ndtri64(p):
    """The standard normal quantile: ``-sqrt(2) * erfcinv(2 p)`` (accurate for tiny p too)."""
    with np.errstate(all="ignore"):
        lower = p < 0.5
        q = np.where(lower, 2.0 * p, 2.0 * (1.0 - p))  # erfc(z) = q, z >= 0
        z = _erfinv64(1.0 - q)  # start (inaccurate for tiny q), refined below on erfc / erfcx
        tiny = q < 1e-10
        t = np.sqrt(-np.log(np.where(tiny, q, 1.0)))
        z = np.where(tiny, np.sqrt(np.maximum(t * t - np.log(_SQRT_PI * t), 0.0)), z)
        for _ in range(6):
            # Newton on log(erfc(z)) = log(q): erfc = exp(-z^2) erfcx, so the residual stays finite
            lg = np.log(_erfcx64(z)) - z * z
            d = -_TWO_OVER_SQRTPI / _erfcx64(z)  # d/dz log(erfc(z))
            z = np.where(q > 0, z - (lg - np.log(q)) / d, z)
        r = -_SQRT2 * np.where(lower, z, -z)
        r = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, r))
        return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, r)


def _log_ndtr64(x):
    with np.errstate(all="ignore"):
        t = x * _SQRT1_2
        left = np.log(_erfcx64(-t) * 0.5) - t * t
        right = np.log1p(-0.5 * _erfc_np(t))
        return np.where(x < -1.0, left, right)


def _bessel_i(x, nu, scaled):
    """Modified Bessel function I_nu (nu = 0 or 1), times exp(-|x|) when ``scaled``: the power series
    (all terms positive) for |x| < 30, the asymptotic expansion beyond."""
    with np.errstate(all="ignore"):
        a = np.abs(x)
        s = np.minimum(a, 30.0)
        q = s * s * 0.25
        term = np.ones_like(x) if nu == 0 else s * 0.5
        total = term.copy()
        for k in range(1, 90):
            term = term * q / (k * (k + nu))
            total = total + term
        series = total * np.exp(-s) if scaled else total
        b = np.maximum(a, 30.0)
        mu = 4.0 * nu * nu
        term = np.ones_like(x)
        asym = term.copy()
        for k in range(1, 30):
            term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * b)
            asym = asym + term
        asym = asym / np.sqrt(2.0 * np.pi * b)
        if not scaled:
            asym = asym * np.exp(b)  # inf from x ~ 709.8 on, as PyTorch (Cephes) gives
        r = np.where(a < 30.0, series, asym)
        if nu == 1:
            r = np.copysign(r, x)
        return np.where(np.isnan(x), x, r)


def _igam_parts(a, x):
    """(P(a, x), Q(a, x)), the regularized incomplete gamma functions (Cephes' series and continued
    fraction; each computed where it converges and the other as its complement)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    with np.errstate(all="ignore"):
        ok = (a > 0) & (x > 0) & np.isfinite(x) & np.isfinite(a)
        aa, xx = np.where(ok, a, 1.0), np.where(ok, x, 1.0)
        ax = np.exp(aa * np.log(xx) - xx - _lgamma64(aa))
        use_cf = (xx > 1.0) & (xx > aa)
        # series for P (x <= 1 or x <= a)
        r, c, s = aa.copy(), np.ones_like(aa), np.ones_like(aa)
        for _ in range(2000):
            r = r + 1.0
            c = c * (xx / r)
            s = s + c
            if np.all((c <= s * 1.1e-16) | use_cf):
                break
        p_series = s * ax / aa
        # continued fraction for Q (x > 1 and x > a)
        y = 1.0 - aa
        z = xx + y + 1.0
        cc = np.zeros_like(aa)
        pkm2, qkm2, pkm1, qkm1 = np.ones_like(aa), xx.copy(), xx + 1.0, z * xx
        ans = pkm1 / qkm1
        for _ in range(2000):
            cc = cc + 1.0
            y = y + 1.0
            z = z + 2.0
            yc = y * cc
            pk = pkm1 * z - pkm2 * yc
            qk = qkm1 * z - qkm2 * yc
            nz = qk != 0
            rr = np.where(nz, pk / np.where(nz, qk, 1.0), ans)
            done = np.abs(ans - rr) <= np.abs(rr) * 1.1e-16
            ans = rr
            pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
            big = np.abs(pk) > 4.503599627370496e15
            scale = np.where(big, 2.220446049250313e-16, 1.0)
            pkm2, pkm1, qkm2, qkm1 = pkm2 * scale, pkm1 * scale, qkm2 * scale, qkm1 * scale
            if np.all(done | ~use_cf):
                break
        q_cf = ans * ax
        p = np.where(use_cf, 1.0 - q_cf, p_series)
        q = np.where(use_cf, q_cf, 1.0 - p_series)
        # edges, as PyTorch: x = 0 -> P = 0; a = 0 (x > 0) -> P = 1; x = inf -> P = 1; negatives -> NaN
        zero_x = (x == 0) & (a > 0)
        one = ((a == 0) & (x > 0)) | ((x == np.inf) & (a >= 0) & np.isfinite(a))
        p = np.where(zero_x, 0.0, np.where(one, 1.0, p))
        q = np.where(zero_x, 1.0, np.where(one, 0.0, q))
        p = np.where((a == np.inf) & np.isfinite(x) & (x >= 0), 0.0, p)
        q = np.where((a == np.inf) & np.isfinite(x) & (x >= 0), 1.0, q)
        bad = (a < 0) | (x < 0) | ((a == 0) & (x == 0)) | np.isnan(a) | np.isnan(x)
        bad |= (a == np.inf) & (x == np.inf)
        return np.where(bad, np.nan, p), np.where(bad, np.nan, q)


# -- sigmoid kernel (also used by silu and softplus) ---------------------------------------------------
def _sigmoid_np(x):
    """``1 / (1 + exp(-x))`` as PyTorch computes it: ``exp`` overflows to inf for very negative x, and the
    result is then exactly 0 (so ``log(sigmoid(x))`` is -inf there, and ``silu`` gives -0.0)."""
    x = _up(x)
    t = _arr(np.negative(x))
    with np.errstate(over="ignore"):
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


def _scaled(x, c):
    """``x * c`` computed in float32 for half types (as PyTorch's kernels), in x's dtype."""
    r = _up(x) * c
    return r if r.dtype == x.dtype else r.astype(x.dtype)


def _sinc_forward(x):
    xf = _up(x)
    with np.errstate(all="ignore"):
        px = xf * xf.dtype.type(math.pi)
        r = np.where(xf == 0, xf.dtype.type(1), np.sin(px) / px)
    return r.astype(x.dtype, copy=False)


def _sinc_derivative(x):
    """d/dx sinc(x) = (cos(pi x) - sinc(x)) / x, 0 at 0."""
    zero = apply(EQ, (x, 0))
    safe = apply(WHERE, (zero, 1, x))
    return apply(WHERE, (zero, 0, (cos(safe * math.pi) - sinc(safe)) / safe))


def _signbit_forward(x):
    if x.dtype.kind == "b":
        return np.zeros(x.shape, np.bool_)
    return np.signbit(x.astype(np.float32) if x.dtype.kind == "V" else x)


# -- the one-input ops, one row each ------------------------------------------------------------------------
# Flags: F = integer and bool inputs compute in the default float dtype (``to_float``); S = the gradient rule
# reads the output (``save_output``); U = the in-place form is the ufunc (``into`` if given, else ``forward``)
# with ``out=``; B = the result is a bool tensor. The shape/dtype rule follows from the flags and ``check``.
F, S, U, B = 1, 2, 4, 8
# Gradient rules ``grad(g, v)``: ``v`` is the output for S rows, else the input. ``_ZERO``: piecewise
# constant (zero gradient); ``_PASS``: the gradient passes unchanged; None: not differentiable.
_ZERO, _PASS = "zero", "pass"
_Unary = namedtuple(
    "_Unary", "name forward flags grad doc check into methods inplace", defaults=(None, None, None, None)
)

_UNARY_TABLE = (
    # name, forward, flags, grad(g, v), doc[, check, into, methods, inplace]
    _Unary("exp", np.exp, F | S | U, lambda g, y: g * y, "Elementwise ``e ** input``."),
    _Unary("exp2", np.exp2, F | S | U, lambda g, y: g * y * _LN2, "Elementwise ``2 ** input``."),
    _Unary("expm1", np.expm1, F | S | U, lambda g, y: g * (y + 1),
           "``exp(input) - 1``, accurate for small inputs."),
    _Unary("log", np.log, F | U, lambda g, x: g / x, "Elementwise natural logarithm."),
    _Unary("log2", np.log2, F | U, lambda g, x: g / (x * _LN2), "Elementwise base-2 logarithm."),
    _Unary("log10", np.log10, F | U, lambda g, x: g / (x * _LN10), "Elementwise base-10 logarithm."),
    _Unary("log1p", np.log1p, F | U, lambda g, x: g / (x + 1),
           "``log(1 + input)``, accurate for small inputs."),
    _Unary("sqrt", np.sqrt, F | S | U, lambda g, y: g / (y * 2), "Elementwise square root."),
    _Unary("rsqrt", _rsqrt, F | S, lambda g, y: g * (y * y * y) * -0.5, "Elementwise ``1 / sqrt(input)``.",
           into=_rsqrt_into),
    _Unary("reciprocal", np.reciprocal, F | S | U, lambda g, y: -g * (y * y),
           "Elementwise ``1 / input`` (integers give floats)."),
    _Unary("sin", np.sin, F | U, lambda g, x: g * cos(x), "Elementwise sine."),
    _Unary("cos", np.cos, F | U, lambda g, x: -(g * sin(x)), "Elementwise cosine."),
    _Unary("tan", np.tan, F | S | U, lambda g, y: g * (y * y + 1), "Elementwise tangent."),
    _Unary("tanh", np.tanh, F | S | U, lambda g, y: apply(TANH_BACKWARD, (g, y)),
           "Elementwise hyperbolic tangent."),
    _Unary("sigmoid", _sigmoid_forward, F | S, lambda g, y: apply(SIGMOID_BACKWARD, (g, y)),
           "Elementwise ``1 / (1 + exp(-input))``.", into=_sigmoid_into),
    _Unary("erf", _erf_np, F, lambda g, x: g * exp(-(x * x)) * _TWO_OVER_SQRTPI,
           "The Gauss error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``."),
    _Unary("erfc", _erfc_np, F, lambda g, x: g * exp(-(x * x)) * -_TWO_OVER_SQRTPI,
           "The complementary error function ``1 - erf(input)`` (accurate in the tails)."),
    # sign(0) = 0, so abs'(0) = 0 as in PyTorch
    _Unary("abs", _abs_forward, U, lambda g, x: g * sign(x),
           "Elementwise absolute value (integers stay integers).",
           no_bool, np.abs, ("abs", "absolute", "__abs__"), ("abs_", "absolute_")),
    _Unary("sign", _sign_forward, 0, _ZERO,
           "-1, 0 or 1 by the sign of each element (bools are returned as they are).",
           methods=("sign", "sgn"), inplace=("sign_", "sgn_")),
    _Unary("floor", _floor, 0, _ZERO,
           "Largest integer <= each element (integer inputs are returned as they are).", no_bool, _floor_into),
    _Unary("ceil", _ceil, 0, _ZERO, "Smallest integer not less than each element.", no_bool, _ceil_into),
    _Unary("trunc", _trunc, 0, _ZERO, "Each element rounded towards zero.", no_bool, _trunc_into,
           ("trunc", "fix"), ("trunc_", "fix_")),
    _Unary("frac", _frac_forward, 0, _PASS, "Fractional part ``input - trunc(input)`` (keeps the sign).",
           float_only),
    _Unary("logical_not", np.logical_not, B, None, "Elementwise ``not``; a bool tensor."),
    _Unary("bitwise_not", _invert_forward, U, None, "Elementwise ``~`` of an integer or bool tensor.",
           _no_float_invert, np.invert, ("bitwise_not", "__invert__")),
    # doc None: "Elementwise ``<name>`` test; a bool tensor (integers are always finite)."
    _Unary("isnan", _float_test(np.isnan, False), B, None, None, inplace=()),
    _Unary("isinf", _float_test(np.isinf, False), B, None, None, inplace=()),
    _Unary("isposinf", _float_test(lambda x: x == np.inf, False), B, None, None, inplace=()),
    _Unary("isneginf", _float_test(lambda x: x == -np.inf, False), B, None, None, inplace=()),
    _Unary("isfinite", _float_test(np.isfinite, True), B, None, None, inplace=()),
    # inverse trigonometric and hyperbolic functions (NumPy's arc* names are PyTorch's aliases)
    _Unary("asin", np.arcsin, F | U, lambda g, x: g * rsqrt(1 - x * x), "Elementwise arcsine.",
           methods=("asin", "arcsin"), inplace=("asin_", "arcsin_")),
    _Unary("acos", np.arccos, F | U, lambda g, x: -(g * rsqrt(1 - x * x)), "Elementwise arccosine.",
           methods=("acos", "arccos"), inplace=("acos_", "arccos_")),
    _Unary("atan", np.arctan, F | U, lambda g, x: g / (x * x + 1), "Elementwise arctangent.",
           methods=("atan", "arctan"), inplace=("atan_", "arctan_")),
    _Unary("sinh", np.sinh, F | U, lambda g, x: g * cosh(x), "Elementwise hyperbolic sine."),
    _Unary("cosh", np.cosh, F | U, lambda g, x: g * sinh(x), "Elementwise hyperbolic cosine."),
    _Unary("asinh", np.arcsinh, F | U, lambda g, x: g * rsqrt(x * x + 1), "Elementwise inverse hyperbolic sine.",
           methods=("asinh", "arcsinh"), inplace=("asinh_", "arcsinh_")),
    _Unary("acosh", np.arccosh, F | U, lambda g, x: g * rsqrt(x * x - 1),
           "Elementwise inverse hyperbolic cosine.", methods=("acosh", "arccosh"), inplace=("acosh_", "arccosh_")),
    _Unary("atanh", np.arctanh, F | U, lambda g, x: g / (1 - x * x), "Elementwise inverse hyperbolic tangent.",
           methods=("atanh", "arctanh"), inplace=("atanh_", "arctanh_")),
    _Unary("deg2rad", lambda x: _scaled(x, math.pi / 180), F, lambda g, x: g * (math.pi / 180),
           "Degrees to radians: ``input * pi / 180``."),
    _Unary("rad2deg", lambda x: _scaled(x, 180 / math.pi), F, lambda g, x: g * (180 / math.pi),
           "Radians to degrees: ``input * 180 / pi``."),
    _Unary("sinc", _sinc_forward, F, lambda g, x: g * _sinc_derivative(x),
           "The normalized sinc ``sin(pi x) / (pi x)`` (1 at 0)."),
    # special functions, computed in float64 and rounded once
    _Unary("lgamma", _in64(_lgamma64), F, lambda g, x: g * digamma(x),
           "``log(|gamma(input)|)`` (inf at the poles 0, -1, -2...)."),
    _Unary("digamma", _in64(_digamma64), F, lambda g, x: g * apply(POLYGAMMA, (x,), {"n": 1}),
           "The digamma function ``d/dx lgamma(x)`` (``-inf`` at 0, NaN at the negative integers)."),
    _Unary("erfinv", _in64(_erfinv64), F | S, lambda g, y: g * exp(y * y) * (_SQRT_PI / 2),
           "The inverse error function on (-1, 1) (+-inf at +-1)."),
    _Unary("i0", _in64(lambda x: _bessel_i(x, 0, False)), F, lambda g, x: g * apply(SPECIAL_I1, (x,)),
           "The modified Bessel function of the first kind of order zero."),
    _Unary("signbit", _signbit_forward, B, None, "Whether the sign bit is set (true for -0.0); a bool tensor.",
           inplace=()),
    _Unary("isreal", lambda x: np.ones(x.shape, np.bool_), B, None,
           "Whether each element is real (always, for real dtypes); a bool tensor.", inplace=()),
)  # fmt: skip


def _unary_grad(grad, uses_output):
    if grad == _ZERO:
        return lambda ctx, g: _zeros(g)
    if grad == _PASS:
        return lambda ctx, g: g
    if uses_output:
        return lambda ctx, g: grad(g, ctx.out)
    return lambda ctx, g: grad(g, ctx.saved[0])


def _register_unary(row, bind=True):
    """One table row -> its ``OpDef`` (with shape rule and gradient) and its public function, bound as the
    ``Tensor`` methods ``row.methods`` (default: the name) and in-place methods ``row.inplace`` (unless
    ``bind`` is false: the ``ts.special`` functions have no methods)."""
    name, flags = row.name, row.flags
    to_float = bool(flags & F)
    into = row.into
    if flags & U:
        into = _ufunc_into(name, into if into is not None else row.forward)
    if to_float and into is not None:
        into = _float_into(name, into)
    rule = unary_rule(
        name, dtype=_dt.bool if flags & B else None, to_float=to_float, check=row.check, real=name == "abs"
    )
    op = OpDef(
        name,
        row.forward,
        to_float=to_float,
        save_output=bool(flags & S),
        inplace_forward=into,
        shape_rule=rule,
    )
    if row.grad is not None:
        op.defgrad(_unary_grad(row.grad, bool(flags & S)))

    def fn(input):
        if input.__class__ is not Tensor:
            _check_input(name, input)
        return apply(op, (input,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = row.doc or f"Elementwise ``{name}`` test; a bool tensor (integers are always finite)."
    if not bind:
        return op, fn
    for m in row.methods or (name,):
        setattr(Tensor, m, fn)
    inplace = (name + "_",) if row.inplace is None else row.inplace
    if inplace:
        bind_inplace(op, *inplace)
    return op, fn


_UNARY = {row.name: _register_unary(row) for row in _UNARY_TABLE}
EXP, exp = _UNARY["exp"]
EXP2, exp2 = _UNARY["exp2"]
EXPM1, expm1 = _UNARY["expm1"]
LOG, log = _UNARY["log"]
LOG2, log2 = _UNARY["log2"]
LOG10, log10 = _UNARY["log10"]
LOG1P, log1p = _UNARY["log1p"]
SQRT, sqrt = _UNARY["sqrt"]
RSQRT, rsqrt = _UNARY["rsqrt"]
RECIPROCAL, reciprocal = _UNARY["reciprocal"]
SIN, sin = _UNARY["sin"]
COS, cos = _UNARY["cos"]
TAN, tan = _UNARY["tan"]
TANH, tanh = _UNARY["tanh"]
SIGMOID, sigmoid = _UNARY["sigmoid"]
ERF, erf = _UNARY["erf"]
ERFC, erfc = _UNARY["erfc"]
ABS, abs = _UNARY["abs"]
SIGN, sign = _UNARY["sign"]
FLOOR, floor = _UNARY["floor"]
CEIL, ceil = _UNARY["ceil"]
TRUNC, trunc = _UNARY["trunc"]
FRAC, frac = _UNARY["frac"]
LOGICAL_NOT, logical_not = _UNARY["logical_not"]
BITWISE_NOT, bitwise_not = _UNARY["bitwise_not"]
ISNAN, isnan = _UNARY["isnan"]
ISINF, isinf = _UNARY["isinf"]
ISPOSINF, isposinf = _UNARY["isposinf"]
ISNEGINF, isneginf = _UNARY["isneginf"]
ISFINITE, isfinite = _UNARY["isfinite"]
ASIN, asin = _UNARY["asin"]
ACOS, acos = _UNARY["acos"]
ATAN, atan = _UNARY["atan"]
SINH, sinh = _UNARY["sinh"]
COSH, cosh = _UNARY["cosh"]
ASINH, asinh = _UNARY["asinh"]
ACOSH, acosh = _UNARY["acosh"]
ATANH, atanh = _UNARY["atanh"]
DEG2RAD, deg2rad = _UNARY["deg2rad"]
RAD2DEG, rad2deg = _UNARY["rad2deg"]
SINC, sinc = _UNARY["sinc"]
LGAMMA, lgamma = _UNARY["lgamma"]
DIGAMMA, digamma = _UNARY["digamma"]
ERFINV, erfinv = _UNARY["erfinv"]
I0, i0 = _UNARY["i0"]
SIGNBIT, signbit = _UNARY["signbit"]
ISREAL, isreal = _UNARY["isreal"]
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
absolute, sgn, fix = abs, sign, trunc


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


@ROUND.defshape
def _round_shape(x, decimals=0):
    if not x.dtype.is_floating_point and (x.dtype is _dt.bool or decimals):
        raise OpTypeError(
            f"round: \"round\" not implemented for '{x.dtype.name}'"
            + (f" with decimals={decimals}" if decimals else "")
        )
    return TensorMeta(x.shape, x.dtype)


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


NAN_TO_NUM = OpDef("nan_to_num", _nan_to_num_forward, shape_rule=unary_rule("nan_to_num"))


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


# -- activations --------------------------------------------------------------------------------------------
SIGMOID_BACKWARD = OpDef(
    "sigmoid_backward",
    lambda g, y: g * (y * (1 - y)),
    shape_rule=elementwise_rule("sigmoid_backward", promote=False),
)


@SIGMOID_BACKWARD.defgrad
def _sigmoid_backward_grad(ctx, gg):
    g, y = ctx.saved
    ggrad = apply(SIGMOID_BACKWARD, (gg, y)) if ctx.needs_grad[0] else None
    gy = gg * g * (1 - y * 2) if ctx.needs_grad[1] else None
    return ggrad, gy


TANH_BACKWARD = OpDef(
    "tanh_backward", lambda g, y: g * (1 - y * y), shape_rule=elementwise_rule("tanh_backward", promote=False)
)


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
    # ``x < 0 ? 0 : x``, as PyTorch: relu(-0.0) is -0.0 and NaN passes. np.maximum gives +0.0 for -0.0, so the
    # zeros are copied back from x; np.where with a scalar branch is ~15x slower than this.
    if x.dtype.kind == "b":
        raise TypeError("relu: Boolean inputs not supported for relu")
    out = np.asarray(np.maximum(x, 0))  # a 0-d input gives a NumPy scalar
    np.copyto(out, x, where=np.equal(x, 0))
    return out


def _relu_into(out, x):
    if out.dtype.kind == "b":
        raise TypeError("relu_: Boolean inputs not supported for relu")
    np.copyto(out, _relu_forward(x), casting="unsafe")  # out may be x itself


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


def _relu_check(opname, dt):
    if dt is _dt.bool:
        raise OpTypeError("relu: Boolean inputs not supported for relu")


RELU.defshape(unary_rule("relu", check=_relu_check))
THRESHOLD_BACKWARD.defshape(elementwise_rule("threshold_backward", dtype_of=0))


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


GELU = OpDef("gelu", _gelu_forward, shape_rule=unary_rule("gelu"))
GELU_BACKWARD = OpDef(
    "gelu_backward", _gelu_backward_forward, shape_rule=elementwise_rule("gelu_backward", promote=False)
)


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


SILU = OpDef("silu", _silu_forward, shape_rule=unary_rule("silu"))
SILU_BACKWARD = OpDef(
    "silu_backward", _silu_backward_forward, shape_rule=elementwise_rule("silu_backward", promote=False)
)


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


SOFTPLUS = OpDef("softplus", _softplus_forward, shape_rule=unary_rule("softplus"))
SOFTPLUS_BACKWARD = OpDef(
    "softplus_backward",
    _softplus_backward_forward,
    shape_rule=elementwise_rule("softplus_backward", promote=False),
)


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


ELU = OpDef("elu", _elu_forward, save_output=True, shape_rule=unary_rule("elu"))


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


LEAKY_RELU = OpDef("leaky_relu", _leaky_relu_forward, shape_rule=unary_rule("leaky_relu"))


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


HARDTANH = OpDef(
    "hardtanh",
    _hardtanh_forward,
    shape_rule=unary_rule(
        "hardtanh", check=_bool_rejected("hardtanh: Bool inputs not supported for hardtanh")
    ),
)


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


CLAMP = OpDef(
    "clamp", _clamp_forward, promote=True, inplace_forward=_clamp_into, shape_rule=elementwise_rule("clamp")
)
CLAMP_MIN = OpDef(
    "clamp_min",
    np.maximum,
    promote=True,
    inplace_forward=_binary_into("clamp_min", np.maximum),
    shape_rule=elementwise_rule("clamp_min"),
)
CLAMP_MAX = OpDef(
    "clamp_max",
    np.minimum,
    promote=True,
    inplace_forward=_binary_into("clamp_max", np.minimum),
    shape_rule=elementwise_rule("clamp_max"),
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


CLAMP_BACKWARD = OpDef(
    "clamp_backward", _clamp_backward_forward, shape_rule=elementwise_rule("clamp_backward", dtype_of=0)
)


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


MAXIMUM = OpDef("maximum", np.maximum, promote=True, shape_rule=elementwise_rule("maximum"))
MINIMUM = OpDef("minimum", np.minimum, promote=True, shape_rule=elementwise_rule("minimum"))


def _max_backward_forward(g, a, b):
    """``g`` where ``a > b``, half of it where they tie, zero elsewhere."""
    return np.where(np.equal(a, b), g * 0.5, np.where(np.greater(a, b), g, 0))


MAX_BACKWARD = OpDef(
    "maximum_backward", _max_backward_forward, shape_rule=elementwise_rule("maximum_backward", dtype_of=0)
)


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


LERP = OpDef("lerp", _lerp_forward, shape_rule=elementwise_rule("lerp", promote=False))


@LERP.defgrad
def _lerp_grad(ctx, g):
    x, end, w = ctx.saved
    gx = g * (1 - w) if ctx.needs_grad[0] else None
    ge = g * w if ctx.needs_grad[1] else None
    gw = g * (end - x) if ctx.needs_grad[2] else None
    return gx, ge, gw


def _lerp_check(name, input, end, weight):
    _check_input(name, input)
    check_tensor(name, "end", end)
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


ADDCMUL = OpDef(
    "addcmul",
    lambda x, a, b, value=1: x + value * (a * b),
    promote=True,
    shape_rule=elementwise_rule("addcmul"),
)


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


_ADDCDIV_INT = (
    "addcdiv: Integer division with addcdiv is no longer supported; use addcmul with "
    "tensor1 and the reciprocal of tensor2 (floating point) instead"
)


def _addcdiv_forward(x, a, b, value=1):
    if np.result_type(x, a, b).kind not in "fV":
        raise TypeError(_ADDCDIV_INT)
    return x + value * (a / b)


def _addcdiv_check(opname, dt):
    if not dt.is_floating_point:
        raise OpTypeError(_ADDCDIV_INT)


ADDCDIV = OpDef(
    "addcdiv", _addcdiv_forward, promote=True, shape_rule=elementwise_rule("addcdiv", check=_addcdiv_check)
)


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
        shape_rule=elementwise_rule(name, dtype=_dt.bool),
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
    op = OpDef(name, uf, shape_rule=elementwise_rule(name, dtype=_dt.bool))

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


def _int_or_bool_only(opname, dt):
    if dt.is_floating_point:
        raise OpTypeError(f'{opname}: "{opname}" is only implemented on integer and Boolean tensors')


def _integer_only(opname, dt):
    _int_or_bool_only(opname, dt)
    if dt is _dt.bool:
        raise OpTypeError(f"{opname}: \"{opname}\" not implemented for 'Bool'")


def _bits(name, uf, shift=False):
    def forward(x, y):
        for a in (x, y):
            if getattr(a, "dtype", None) is not None and a.dtype.kind in "fV" or a.__class__ is float:
                raise TypeError(f'{name}: "{name}" is only implemented on integer and Boolean tensors')
        if shift and np.result_type(x, y).kind == "b":  # NumPy would shift bools as int8
            raise TypeError(f"{name}: \"{name}\" not implemented for 'Bool'")
        return uf(x, y)

    return OpDef(
        name,
        forward,
        promote=True,
        inplace_forward=_binary_into(name, uf),
        shape_rule=elementwise_rule(name, check=_integer_only if shift else _int_or_bool_only),
    )


BITWISE_AND = _bits("bitwise_and", np.bitwise_and)
BITWISE_OR = _bits("bitwise_or", np.bitwise_or)
BITWISE_XOR = _bits("bitwise_xor", np.bitwise_xor)
BITWISE_LEFT_SHIFT = _bits("bitwise_left_shift", np.left_shift, shift=True)
BITWISE_RIGHT_SHIFT = _bits("bitwise_right_shift", np.right_shift, shift=True)


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


def _isclose_forward(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    if a.dtype.kind == "V" or b.dtype.kind == "V":
        a, b = a.astype(np.float32), b.astype(np.float32)
    return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


ISCLOSE = OpDef("isclose", _isclose_forward, shape_rule=elementwise_rule("isclose", dtype=_dt.bool))


def _close_check(name, input, other):
    _check_input(name, input)
    check_tensor(name, "other", other)
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
    check_tensor("equal", "other", other)
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


@WHERE.defshape
def _where_shape(cond, x, y):
    return TensorMeta(broadcast_shape("where", cond, x, y), numpy_result_dtype(x, y))


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
CAST = OpDef(
    "cast", lambda x, dtype: x.astype(dtype.np), shape_rule=lambda x, dtype: TensorMeta(x.shape, dtype)
)


@CAST.defgrad
def _cast_grad(ctx, g):
    return g  # the engine casts the gradient back to the input's dtype


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between floating dtypes)."""
    return apply(CAST, (input,), {"dtype": _dt.as_dtype(dtype)})


# preserve_format, as PyTorch's default
CLONE = OpDef("clone", lambda x: x.copy(order="K"), shape_rule=unary_rule("clone"))


@CLONE.defgrad
def _clone_grad(ctx, g):
    return g


@method("clone")
def clone(input, *, memory_format=None):
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return apply(CLONE, (input,))


# -- ts.special's one-input functions (no Tensor methods): one row each, as ``_UNARY_TABLE`` ------------------
def _entr_forward(x):
    with np.errstate(all="ignore"):
        r = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), np.where(x == 0, 0, -np.inf))
    return np.where(np.isnan(x), x, r).astype(x.dtype, copy=False)


def _i1_derivative(x):
    """d/dx I1(x) = I0(x) - I1(x) / x, 1/2 at 0."""
    zero = apply(EQ, (x, 0))
    safe = apply(WHERE, (zero, 1, x))
    return apply(WHERE, (zero, 0.5, i0(safe) - apply(SPECIAL_I1, (safe,)) / safe))


def _i1e_derivative(x):
    """d/dx I1e(x) = I0e(x) - I1e(x) (sign(x) + 1 / x), 1/2 at 0."""
    zero = apply(EQ, (x, 0))
    safe = apply(WHERE, (zero, 1, x))
    d = apply(SPECIAL_I0E, (safe,)) - apply(SPECIAL_I1E, (safe,)) * (sign(safe) + 1 / safe)
    return apply(WHERE, (zero, 0.5, d))


_SPECIAL_TABLE = (
    _Unary("special_i0e", _in64(lambda x: _bessel_i(x, 0, True)), F,
           lambda g, x: g * (apply(SPECIAL_I1E, (x,)) - sign(x) * apply(SPECIAL_I0E, (x,))),
           "The exponentially scaled Bessel function ``exp(-|x|) * i0(x)``."),
    _Unary("special_i1", _in64(lambda x: _bessel_i(x, 1, False)), F, lambda g, x: g * _i1_derivative(x),
           "The modified Bessel function of the first kind of order one."),
    _Unary("special_i1e", _in64(lambda x: _bessel_i(x, 1, True)), F, lambda g, x: g * _i1e_derivative(x),
           "The exponentially scaled Bessel function ``exp(-|x|) * i1(x)``."),
    _Unary("special_erfcx", _in64(_erfcx64), F,
           lambda g, x: g * (x * apply(SPECIAL_ERFCX, (x,)) * 2 - _TWO_OVER_SQRTPI),
           "The scaled complementary error function ``exp(x ** 2) * erfc(x)`` (no overflow for large x)."),
    _Unary("special_ndtri", _in64(_ndtri64), F | S, lambda g, y: g * exp(y * y * 0.5) * (1 / _INV_SQRT_2PI),
           "The standard normal quantile function (inverse of ``ndtr``) on [0, 1]."),
    _Unary("special_log_ndtr", _in64(_log_ndtr64), F,
           lambda g, x: g * exp(x * x * -0.5 - apply(SPECIAL_LOG_NDTR, (x,))) * _INV_SQRT_2PI,
           "``log(ndtr(input))``, accurate far in the left tail."),
    _Unary("special_entr", _entr_forward, F, lambda g, x: -(g * (log(x) + 1)),
           "The elementwise entropy ``-x * log(x)`` (0 at 0, -inf for negative x)."),
)  # fmt: skip

_SPECIAL = {row.name: _register_unary(row, bind=False) for row in _SPECIAL_TABLE}
SPECIAL_I0E = _SPECIAL["special_i0e"][0]
SPECIAL_I1 = _SPECIAL["special_i1"][0]
SPECIAL_I1E = _SPECIAL["special_i1e"][0]
SPECIAL_ERFCX = _SPECIAL["special_erfcx"][0]
SPECIAL_NDTRI = _SPECIAL["special_ndtri"][0]
SPECIAL_LOG_NDTR = _SPECIAL["special_log_ndtr"][0]
SPECIAL_ENTR = _SPECIAL["special_entr"][0]


# -- polygamma, mvlgamma, logit ---------------------------------------------------------------------------
POLYGAMMA = OpDef(
    "polygamma", _in64(_polygamma64), to_float=True, shape_rule=unary_rule("polygamma", to_float=True)
)


@POLYGAMMA.defgrad
def _polygamma_grad(ctx, g):
    (x,) = ctx.saved
    return g * apply(POLYGAMMA, (x,), {"n": ctx.attrs["n"] + 1})


def _check_polygamma_n(name, n):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{name}: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{name}: polygamma(n, x) does not support negative n.")


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function (``polygamma(0, x)`` is ``digamma(x)``).

    Example:
        >>> ts.polygamma(1, ts.tensor([1.0]))  # pi ** 2 / 6
        tensor([1.6449])
    """
    _check_input("polygamma", input)
    _check_polygamma_n("polygamma", n)
    return apply(POLYGAMMA, (input,), {"n": n})


def _polygamma_method(self, n: int) -> Tensor:
    return polygamma(n, self)


def _polygamma_(self, n: int) -> Tensor:
    _check_polygamma_n("polygamma_", n)
    return _inplace(self, POLYGAMMA, (), {"n": n})


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma ``sum_i lgamma(x - i / 2) + p (p - 1) / 4 log(pi)``, i < p.

    Example:
        >>> ts.mvlgamma(ts.tensor([2.5]), 3)
        tensor([1.8810])
    """
    _check_input("mvlgamma", input)
    if not isinstance(p, int) or isinstance(p, bool) or p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
    r = lgamma(input)
    for i in range(1, p):
        r = r + lgamma(input - i / 2)
    return r + p * (p - 1) / 4 * math.log(math.pi)


def _assign(name: str, self: Tensor, r: Tensor) -> Tensor:
    """The in-place form of a composite op: ``r`` (computed from ``self``) written into ``self``."""
    if r.dtype is not self.dtype and not _dt.can_cast(r.dtype, self.dtype):
        raise RuntimeError(
            f"{name}: result type {r.dtype.name} can't be cast to the desired output type {self.dtype.name}"
        )
    if tuple(r.shape) != tuple(self.shape):
        raise RuntimeError(
            f"{name}: output with shape {list(self.shape)} doesn't match the broadcast shape {list(r.shape)}"
        )
    return self.copy_(r)


def _mvlgamma_(self, p: int) -> Tensor:
    return _assign("mvlgamma_", self, mvlgamma(self, p))


def _logit_forward(x, eps=None):
    if eps is not None:
        x = np.clip(x, x.dtype.type(eps), x.dtype.type(1 - eps))
    with np.errstate(all="ignore"):
        return np.log(x / (1 - x))


LOGIT = OpDef("logit", _logit_forward, to_float=True, shape_rule=unary_rule("logit", to_float=True))


@LOGIT.defgrad
def _logit_grad(ctx, g):
    (x,) = ctx.saved
    d = g / (x * (1 - x))
    eps = ctx.attrs.get("eps")
    if eps is None:
        return d
    outside = logical_or(apply(LT, (x, eps)), apply(GT, (x, 1 - eps)))
    return apply(WHERE, (outside, 0, d))


def _logit_attrs(name, eps):
    if eps is None:
        return {}
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"{name}: eps must be a float or None, got {type(eps).__name__}")
    return {"eps": float(eps)}


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``.

    Example:
        >>> ts.logit(ts.tensor([0.5, 0.75]))
        tensor([0.0000, 1.0986])
    """
    _check_input("logit", input)
    return apply(LOGIT, (input,), _logit_attrs("logit", eps))


def _logit_(self, eps: float | None = None) -> Tensor:
    return _inplace(self, LOGIT, (), _logit_attrs("logit_", eps))


# -- two-input math functions, one row each ----------------------------------------------------------------
def _float_kernel(name, uf, up=False):
    """Forward of a floating-point-only binary op (the inputs are already promoted); ``up``: half types are
    computed in float32 and rounded once."""

    def forward(x, y):
        dt = np.result_type(x, y)
        if dt.kind not in "fV":
            raise TypeError(f"{name}: \"{name}\" not implemented for '{_dt._FROM_NP[dt].name}'")
        if up and dt.itemsize < 4:
            return _arr(uf(_up(np.asarray(x)), _up(np.asarray(y)))).astype(dt)
        return uf(x, y)

    return forward


def _int_kernel(name, uf):
    def forward(x, y):
        dt = np.result_type(x, y)
        if dt.kind not in "iu":
            raise TypeError(f"{name}: \"{name}\" not implemented for '{_dt._FROM_NP[dt].name}'")
        return uf(x, y)

    return forward


def _float_result(opname, dt):
    if not dt.is_floating_point:
        raise OpTypeError(f"{opname}: \"{opname}\" not implemented for '{dt.name}'")


def _int_result(opname, dt):
    if dt.is_floating_point or dt is _dt.bool:
        raise OpTypeError(f"{opname}: \"{opname}\" not implemented for '{dt.name}'")


def _xlogy_kernel(log_fn):
    def forward(x, y):
        if not isinstance(y, np.ndarray):  # a Python number: weak, computed in x's dtype
            y = np.asarray(y, dtype=np.result_type(x, y))
        with np.errstate(all="ignore"):
            r = np.multiply(x, log_fn(y))
            return np.where(np.equal(x, 0) & ~np.isnan(y), r.dtype.type(0), r)

    return forward


def _xlogy_grad(log_fn):
    def grad(ctx, g):
        x, y = ctx.saved
        gx = gy = None
        if ctx.needs_grad[0]:
            keep = logical_or(apply(NE, (x, 0)), isnan(y))
            gx = apply(WHERE, (keep, g * log_fn(y), 0))
        if ctx.needs_grad[1]:
            gy = g * x / (y if log_fn is log else y + 1)
        return gx, gy

    return grad


def _atan2_grad(ctx, g):
    y, x = ctx.saved
    d = g / (x * x + y * y)
    return (d * x if ctx.needs_grad[0] else None), (-(d * y) if ctx.needs_grad[1] else None)


def _hypot_grad(ctx, g):
    x, y = ctx.saved
    d = g / ctx.out
    return (d * x if ctx.needs_grad[0] else None), (d * y if ctx.needs_grad[1] else None)


def _logaddexp_grad(exp_fn):
    def grad(ctx, g):
        x, y = ctx.saved
        out = ctx.out
        return (g * exp_fn(x - out) if ctx.needs_grad[0] else None), (
            g * exp_fn(y - out) if ctx.needs_grad[1] else None
        )

    return grad


def _copysign_grad(ctx, g):
    x, _ = ctx.saved
    gx = None
    if ctx.needs_grad[0]:
        zero = apply(EQ, (x, 0))
        gx = apply(WHERE, (zero, 0, g * (ctx.out / apply(WHERE, (zero, 1, x)))))
    return gx, (_zeros(g) if ctx.needs_grad[1] else None)


def _fmax_grad(first_wins):
    def grad(ctx, g):
        x, y = ctx.saved
        takes_x = logical_or(apply(first_wins, (x, y)), isnan(y))
        gx = apply(WHERE, (takes_x, g, 0)) if ctx.needs_grad[0] else None
        gy = apply(WHERE, (takes_x, 0, g)) if ctx.needs_grad[1] else None
        return gx, gy

    return grad


def _zeta_grad(ctx, g):
    x, q = ctx.saved
    if ctx.needs_grad[0]:
        raise RuntimeError("special_zeta: the derivative with respect to x is not implemented")
    return None, (g * -x * apply(SPECIAL_ZETA, (x + 1, q)) if ctx.needs_grad[1] else None)


def _igamma_kernel(name, which):
    def forward(a, x):
        dt = np.result_type(a, x)
        if dt.kind not in "fV":
            raise TypeError(f"{name}: \"{name}\" not implemented for '{_dt._FROM_NP[dt].name}'")
        return _arr(_igam_parts(a, x)[which]).astype(dt, copy=False)

    return forward


def _igamma_grad(sign):
    def grad(ctx, g):
        a, x = ctx.saved
        if ctx.needs_grad[0]:
            raise RuntimeError("igamma: the derivative with respect to the input (a) is not implemented")
        if not ctx.needs_grad[1]:
            return None, None
        d = exp(log(x) * (a - 1) - x - lgamma(a))  # x ** (a - 1) exp(-x) / gamma(a)
        return None, g * d * sign

    return grad


_Binary = namedtuple(
    "_Binary", "name forward to_float save_output check grad doc methods inplace", defaults=((), ())
)
_BINARY_TABLE = (
    # name, forward, to_float, save_output, check(result dtype), grad(ctx, g), doc, methods, inplace
    _Binary("atan2", np.arctan2, True, False, None, _atan2_grad,
            "The angle of the point ``(other, input)``: ``atan(input / other)`` in the right quadrant.",
            ("atan2", "arctan2"), ("atan2_", "arctan2_")),
    _Binary("hypot", _float_kernel("hypot", np.hypot), False, True, _float_result, _hypot_grad,
            "``sqrt(input ** 2 + other ** 2)`` without overflow (floating point only).", ("hypot",), ("hypot_",)),
    _Binary("logaddexp", _float_kernel("logaddexp", np.logaddexp, True), False, True, _float_result,
            _logaddexp_grad(lambda v: exp(v)), "``log(exp(input) + exp(other))``, without overflow.",
            ("logaddexp",)),
    _Binary("logaddexp2", _float_kernel("logaddexp2", np.logaddexp2, True), False, True, _float_result,
            _logaddexp_grad(lambda v: exp2(v)), "``log2(2 ** input + 2 ** other)``, without overflow.",
            ("logaddexp2",)),
    _Binary("copysign", np.copysign, True, True, None, _copysign_grad,
            "``|input|`` with the sign of ``other`` (also of -0.0); integers give floats.",
            ("copysign",), ("copysign_",)),
    _Binary("nextafter", _float_kernel("nextafter", np.nextafter), False, False, _float_result, None,
            "The next floating-point value after ``input`` towards ``other``.", ("nextafter",), ("nextafter_",)),
    _Binary("fmax", np.fmax, False, False, None, _fmax_grad(GE),
            "Elementwise maximum that ignores NaN (NaN only where both are NaN).", ("fmax",)),
    _Binary("fmin", np.fmin, False, False, None, _fmax_grad(LE),
            "Elementwise minimum that ignores NaN (NaN only where both are NaN).", ("fmin",)),
    _Binary("gcd", _int_kernel("gcd", np.gcd), False, False, _int_result, None,
            "Elementwise greatest common divisor of integer tensors (non-negative).", ("gcd",), ("gcd_",)),
    _Binary("lcm", _int_kernel("lcm", np.lcm), False, False, _int_result, None,
            "Elementwise least common multiple of integer tensors (non-negative).", ("lcm",), ("lcm_",)),
    _Binary("xlogy", _xlogy_kernel(np.log), True, False, None, _xlogy_grad(log),
            "``input * log(other)``, and 0 where ``input`` is 0 (unless ``other`` is NaN).",
            ("xlogy",), ("xlogy_",)),
    _Binary("special_xlog1py", _xlogy_kernel(np.log1p), True, False, None, _xlogy_grad(log1p),
            "``input * log1p(other)``, and 0 where ``input`` is 0 (unless ``other`` is NaN)."),
    _Binary("special_zeta", _in64(_zeta64), True, False, None, _zeta_grad,
            "The Hurwitz zeta function ``sum_k (k + other) ** -input``."),
    _Binary("igamma", _igamma_kernel("igamma", 0), False, False, _float_result, _igamma_grad(1.0),
            "The regularized lower incomplete gamma function ``P(input, other)`` (``special.gammainc``).",
            ("igamma",), ("igamma_",)),
    _Binary("igammac", _igamma_kernel("igammac", 1), False, False, _float_result, _igamma_grad(-1.0),
            "The regularized upper incomplete gamma function ``Q(input, other) = 1 - P(input, other)``.",
            ("igammac",), ("igammac_",)),
)  # fmt: skip

_SCALAR_INPUT_OK = {"xlogy", "special_xlog1py", "special_zeta"}  # PyTorch takes a number as ``input`` too


def _register_binary(row):
    name = row.name
    op = OpDef(
        name,
        row.forward,
        promote=True,
        to_float=row.to_float,
        save_output=row.save_output,
        shape_rule=elementwise_rule(name, to_float=row.to_float, check=row.check),
    )
    if row.grad is not None:
        op.defgrad(row.grad)

    def fn(input, other):
        if input.__class__ is not Tensor:
            if name not in _SCALAR_INPUT_OK or not isinstance(other, Tensor):
                _check_input(name, input)
        return apply(op, (input, other))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = row.doc
    for m in row.methods:
        setattr(Tensor, m, fn)
    if row.inplace:
        bind_inplace(op, *row.inplace)
    return op, fn


_BINARY = {row.name: _register_binary(row) for row in _BINARY_TABLE}
ATAN2, atan2 = _BINARY["atan2"]
HYPOT, hypot = _BINARY["hypot"]
LOGADDEXP, logaddexp = _BINARY["logaddexp"]
LOGADDEXP2, logaddexp2 = _BINARY["logaddexp2"]
COPYSIGN, copysign = _BINARY["copysign"]
NEXTAFTER, nextafter = _BINARY["nextafter"]
FMAX, fmax = _BINARY["fmax"]
FMIN, fmin = _BINARY["fmin"]
GCD, gcd = _BINARY["gcd"]
LCM, lcm = _BINARY["lcm"]
XLOGY, xlogy = _BINARY["xlogy"]
SPECIAL_XLOG1PY = _BINARY["special_xlog1py"][0]
SPECIAL_ZETA = _BINARY["special_zeta"][0]
IGAMMA, igamma = _BINARY["igamma"]
IGAMMAC, igammac = _BINARY["igammac"]
arctan2 = atan2


def _heaviside_forward(x, values):
    if not isinstance(values, np.ndarray) or values.dtype != x.dtype:
        raise TypeError("heaviside: heaviside is not yet implemented for tensors with different dtypes.")
    # PyTorch's ``x == 0 ? values : x > 0`` (so NaN gives 0, unlike np.heaviside)
    return np.where(np.equal(x, 0), values, np.greater(x, 0)).astype(x.dtype)


HEAVISIDE = OpDef("heaviside", _heaviside_forward)


@HEAVISIDE.defshape
def _heaviside_shape(x, values):
    if not isinstance(values, (Tensor, TensorMeta)) or values.dtype is not x.dtype:
        raise OpTypeError("heaviside: heaviside is not yet implemented for tensors with different dtypes.")
    return TensorMeta(broadcast_shape("heaviside", x, values), x.dtype)


def _heaviside_check(name, input, values):
    _check_input(name, input)
    check_tensor(name, "values", values)
    if values.dtype is not input.dtype:
        raise RuntimeError(f"{name}: heaviside is not yet implemented for tensors with different dtypes.")


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The Heaviside step: 0 where ``input < 0``, ``values`` where it is 0, 1 where positive (not
    differentiable; both tensors need one dtype).

    Example:
        >>> ts.heaviside(ts.tensor([-1.0, 0.0, 2.0]), ts.tensor([0.5]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    _heaviside_check("heaviside", input, values)
    return apply(HEAVISIDE, (input, values))


def _heaviside_(self, values):
    _heaviside_check("heaviside_", self, values)
    return _inplace(self, HEAVISIDE, (values,), {})


def _frexp_check(opname, dt):
    if not dt.is_floating_point:
        raise OpTypeError(f"{opname}: torch.frexp() only supports floating-point dtypes")


def _frexp_parts(x):
    if x.dtype.kind not in "fV":
        raise TypeError("frexp: torch.frexp() only supports floating-point dtypes")
    return np.frexp(_up(x))


FREXP = OpDef(
    "frexp",
    lambda x: _frexp_parts(x)[0].astype(x.dtype, copy=False),
    shape_rule=unary_rule("frexp", check=_frexp_check),
)
FREXP_EXPONENT = OpDef(
    "frexp_exponent",
    lambda x: _frexp_parts(x)[1].astype(np.int32),
    shape_rule=unary_rule("frexp_exponent", dtype=_dt.int32, check=_frexp_check),
)


@FREXP.defgrad
def _frexp_grad(ctx, g):
    (x,) = ctx.saved
    return g / exp2(apply(FREXP_EXPONENT, (x,)).to(g.dtype))


_Frexp = namedtuple("frexp", "mantissa exponent")


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent`` and ``0.5 <= |mantissa| < 1``
    (exponent is int32).

    Example:
        >>> ts.frexp(ts.tensor([8.0])).exponent
        tensor([4], dtype=tessera.int32)
    """
    _check_input("frexp", input)
    return _Frexp(apply(FREXP, (input,)), apply(FREXP_EXPONENT, (input,)))


def _ldexp(name, input, other):
    _check_input(name, input)
    check_tensor(name, "other", other)
    target = _dt.result_type(input, other)
    if not target.is_floating_point:
        target = _dt._default_float
    elif other.dtype is _dt.bool:
        raise TypeError(f"{name}: \"ldexp\" not implemented for a 'bool' exponent with a floating input")
    return mul(input if input.dtype is target else cast(input, target), exp2(cast(other, target)))


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other`` in the promoted floating dtype (integers give the default float dtype).

    Example:
        >>> ts.ldexp(ts.tensor([1.0]), ts.tensor([3]))
        tensor([8.])
    """
    return _ldexp("ldexp", input, other)


def _ldexp_(self, other):
    return _assign("ldexp_", self, _ldexp("ldexp_", self, other))


def _as_double(v):
    if isinstance(v, Tensor):
        return v if v.dtype is _dt.float64 else cast(v, _dt.float64)
    if isinstance(v, (bool, int, float)):
        return float(v)
    raise TypeError(f"float_power: expected a Tensor or a number, got {type(v).__name__}")


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (the result is float64).

    Example:
        >>> ts.float_power(ts.tensor([2]), 3)
        tensor([8.], dtype=tessera.float64)
    """
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        _check_input("float_power", input)
    return pow(_as_double(input), _as_double(exponent))


def _float_power_(self, exponent):
    _check_input("float_power_", self)
    if self.dtype is not _dt.float64:
        raise RuntimeError(
            f"float_power_: the base given to float_power_ has dtype {self.dtype.name} but the operation's "
            "result requires dtype float64"
        )
    return _inplace(self, POW, (_as_double(exponent),), {})


for _m, _f in {
    "polygamma": _polygamma_method,
    "polygamma_": _polygamma_,
    "mvlgamma": mvlgamma,
    "mvlgamma_": _mvlgamma_,
    "logit": logit,
    "logit_": _logit_,
    "heaviside": heaviside,
    "heaviside_": _heaviside_,
    "frexp": frexp,
    "ldexp": ldexp,
    "ldexp_": _ldexp_,
    "float_power": float_power,
    "float_power_": _float_power_,
}.items():
    setattr(Tensor, _m, _f)


# -- top-level in-place functions (``ts.exp_(t)`` is ``t.exp_()``) ----------------------------------------
_TOPLEVEL_INPLACE = (
    "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_ "
    "clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_ exp_ exp2_ expm1_ fix_ floor_ frac_ "
    "gcd_ i0_ lcm_ ldexp_ log_ log10_ log1p_ log2_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ "
    "round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_"
).split()


def _toplevel_inplace(name):
    def fn(input, *args, **kwargs):
        _check_input(name, input)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In-place ``input.{name}(...)``: writes the result into ``input`` and returns it."
    return fn


for _name in _TOPLEVEL_INPLACE:
    globals()[_name] = _toplevel_inplace(_name)

__all__ += [
    "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "deg2rad", "rad2deg", "sinc", "lgamma", "digamma",
    "polygamma", "mvlgamma", "erfinv", "i0", "signbit", "isreal", "logit", "hypot", "logaddexp",
    "logaddexp2", "copysign", "nextafter", "fmax", "fmin", "gcd", "lcm", "xlogy", "heaviside", "frexp",
    "ldexp", "float_power", "igamma", "igammac",
] + _TOPLEVEL_INPLACE  # fmt: skip


# -- reference decompositions of the fused kernels (test oracles; what a compiler may lower instead) --------
@SIGMOID_BACKWARD.defdecompose
def _sigmoid_backward_ref(g, y):
    return g * (y * (1 - y))


@TANH_BACKWARD.defdecompose
def _tanh_backward_ref(g, y):
    return g * (1 - y * y)


@THRESHOLD_BACKWARD.defdecompose
def _threshold_backward_ref(g, y):
    return apply(WHERE, (apply(GT, (y, 0)), g, 0))


def _gelu_cdf_pdf(x, approximate):
    if approximate == "tanh":
        inner = (x + x * x * x * _GELU_C) * _GELU_K
        t = tanh(inner)
        return (t + 1) * 0.5, (1 - t * t) * ((x * x * (3 * _GELU_C) + 1) * (_GELU_K * 0.5))
    return (erf(x * _SQRT1_2) + 1) * 0.5, exp(x * x * -0.5) * _INV_SQRT_2PI


@GELU.defdecompose
def _gelu_ref(x, approximate="none"):
    return x * _gelu_cdf_pdf(x, approximate)[0]


@GELU_BACKWARD.defdecompose
def _gelu_backward_ref(g, x, approximate="none"):
    cdf, pdf = _gelu_cdf_pdf(x, approximate)
    return g * (cdf + x * pdf)


@SILU.defdecompose
def _silu_ref(x):
    return x * sigmoid(x)


@SILU_BACKWARD.defdecompose
def _silu_backward_ref(g, x):
    s = sigmoid(x)
    return g * (s * (x * (1 - s) + 1))


@SOFTPLUS.defdecompose
def _softplus_ref(x, beta=1.0, threshold=20.0):
    bx = x * beta
    return apply(WHERE, (apply(GT, (bx, threshold)), x, log1p(exp(bx)) / beta))


@SOFTPLUS_BACKWARD.defdecompose
def _softplus_backward_ref(g, x, beta=1.0, threshold=20.0):
    bx = x * beta
    return g * apply(WHERE, (apply(GT, (bx, threshold)), 1, sigmoid(bx)))


@MAX_BACKWARD.defdecompose
def _max_backward_ref(g, a, b):
    return apply(WHERE, (apply(EQ, (a, b)), g * 0.5, apply(WHERE, (apply(GT, (a, b)), g, 0))))


@CLAMP_BACKWARD.defdecompose
def _clamp_backward_ref(g, x, lo, hi):
    inside = None
    if lo is not None:
        inside = apply(GE, (x, lo))
    if hi is not None:
        below = apply(LE, (x, hi))
        inside = below if inside is None else logical_and(inside, below)
    return apply(WHERE, (inside, g, 0))


_OPS.cast = cast
_OPS.clone = clone


# -- C lowerings (ts.compile fuses chains of these into one loop) -----------------------------------------
# ``fn(c, *inputs, **attrs)`` -> a C expression over the inputs' expressions, computed in ``c.t``. NaN
# propagation and signed zeros follow the NumPy forwards above (``x != x`` tests for NaN).
def _c_max(c, a, b):
    return (
        f"(({a}) != ({a}) || ({a}) > ({b}) ? ({a}) : ({b}))"
        if c.is_float
        else f"(({a}) > ({b}) ? ({a}) : ({b}))"
    )


def _c_min(c, a, b):
    return (
        f"(({a}) != ({a}) || ({a}) < ({b}) ? ({a}) : ({b}))"
        if c.is_float
        else f"(({a}) < ({b}) ? ({a}) : ({b}))"
    )


def _c_div(c, x, y, rounding_mode=None):
    return f"(({x}) / ({y}))" if rounding_mode is None and c.is_float else None


def _c_sigmoid(c, x):
    # as ``_sigmoid_np``: exp may overflow to inf, giving exactly 0
    return f"({c.lit(1)} / ({c.lit(1)} + {c.fn('exp')}(-({x}))))"


def _c_gelu(c, x, approximate="none"):
    if not c.is_float:
        return None
    if approximate == "tanh":
        inner = f"({c.lit(_GELU_K)} * (({x}) + {c.lit(_GELU_C)} * ({x}) * ({x}) * ({x})))"
        return f"({c.lit(0.5)} * ({x}) * ({c.lit(1)} + {c.fn('tanh')}{inner}))"
    return f"({c.lit(0.5)} * ({x}) * ({c.lit(1)} + {_c_erf(c, f'({x}) * {c.lit(_SQRT1_2)}')}))"


def _c_gelu_backward(c, g, x, approximate="none"):
    if not c.is_float or approximate != "none":
        return None
    cdf = f"({c.lit(0.5)} * ({c.lit(1)} + {_c_erf(c, f'({x}) * {c.lit(_SQRT1_2)}')}))"
    pdf = f"({c.fn('exp')}({c.lit(-0.5)} * ({x}) * ({x})) * ({x}) * {c.lit(_INV_SQRT_2PI)})"
    return f"(({g}) * ({cdf} + {pdf}))"


def _c_horner(coefs, x):
    """C statements evaluating ``_poly(coefs, x)`` in the same order, into ``float r``."""
    lit = [f"{float(c)!r}f" for c in coefs]
    lines = [f"float r = {x} * {lit[0]};"] + [f"r += {c}; r *= {x};" for c in lit[1:-1]]
    return " ".join(lines + [f"r += {lit[-1]};"])


# float32 erf as ``_erf32`` computes it, operation for operation (the kernels do not contract to FMAs), so
# compiled and eager agree to the bit; it also vectorizes better than libmvec's erff
_C_ERF32 = f"""static inline float tessera_erff(float x) {{
  x = (x != x || x < 4.0f) ? x : 4.0f;
  x = (x != x || x > -4.0f) ? x : -4.0f;
  float z = x * x;
  float p; {{ {_c_horner(_ERF32_P, "z")} p = r * x; }}
  {{ {_c_horner(_ERF32_Q, "z")} return p / r; }}
}}
"""


def _c_erf(c, x):
    return f"{c.helper('tessera_erff', _C_ERF32)}({x})" if c.t == "float" else f"erf({x})"


def _c_float(expr):
    """A lowering defined for floating compute types only."""
    return lambda c, *a: expr(c, *a) if c.is_float else None


_C_LOWERINGS = {
    "add": lambda c, x, y: f"(({x}) + ({y}))",
    "sub": lambda c, x, y: f"(({x}) - ({y}))",
    "mul": lambda c, x, y: f"(({x}) * ({y}))",
    "div": _c_div,
    "neg": lambda c, x: f"(-({x}))",
    "maximum": _c_max,
    "minimum": _c_min,
    "exp": _c_float(lambda c, x: f"{c.fn('exp')}({x})"),
    "log": _c_float(lambda c, x: f"{c.fn('log')}({x})"),
    "sqrt": _c_float(lambda c, x: f"{c.fn('sqrt')}({x})"),
    "rsqrt": _c_float(lambda c, x: f"({c.lit(1)} / {c.fn('sqrt')}({x}))"),
    "reciprocal": _c_float(lambda c, x: f"({c.lit(1)} / ({x}))"),
    "tanh": _c_float(lambda c, x: f"{c.fn('tanh')}({x})"),
    "erf": _c_float(_c_erf),
    "sigmoid": _c_float(_c_sigmoid),
    "abs": lambda c, x: f"{c.fn('fabs')}({x})" if c.is_float else f"(({x}) < 0 ? -({x}) : ({x}))",
    "relu": lambda c, x: f"(({x}) < 0 ? {c.lit(0)} : ({x}))",  # as _relu_forward: keeps -0.0 and NaN
    "threshold_backward": lambda c, g, y: f"(({y}) > 0 ? ({g}) : ({g}) * {c.lit(0)})",
    "sigmoid_backward": lambda c, g, y: f"(({g}) * (({y}) * ({c.lit(1)} - ({y}))))",
    "tanh_backward": lambda c, g, y: f"(({g}) * ({c.lit(1)} - ({y}) * ({y})))",
    "gelu": _c_gelu,
    "gelu_backward": _c_gelu_backward,
    "silu": _c_float(lambda c, x: f"(({x}) * {_c_sigmoid(c, x)})"),
    "leaky_relu": lambda c, x, negative_slope=0.01: f"(({x}) > 0 ? ({x}) : ({x}) * {c.lit(negative_slope)})",
    "where": lambda c, cond, x, y: f"(({cond}) ? ({x}) : ({y}))",
    "cast": lambda c, x, dtype: f"({x})",
    "gt": lambda c, x, y: f"(({x}) > ({y}))",
    "lt": lambda c, x, y: f"(({x}) < ({y}))",
    "ge": lambda c, x, y: f"(({x}) >= ({y}))",
    "le": lambda c, x, y: f"(({x}) <= ({y}))",
    "eq": lambda c, x, y: f"(({x}) == ({y}))",
    "ne": lambda c, x, y: f"(({x}) != ({y}))",
}
for _name, _lower in _C_LOWERINGS.items():
    REGISTRY[_name].deflowering("c")(_lower)


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
def _onnx_out_dtype(g):
    return g.node.outputs[0].dtype


def _onnx_no_attrs(g, attrs):
    if attrs:
        g.fail(f"attribute(s) {sorted(attrs)} have no ONNX equivalent")


def _onnx_unary(onnx_op):
    """An op that maps 1:1 to the ONNX unary ``onnx_op``, computed in the op's result dtype."""

    def lower(g, x, **attrs):
        _onnx_no_attrs(g, attrs)
        return g.op(onnx_op, g.tensor(x, _onnx_out_dtype(g)))

    return lower


def _onnx_binary(onnx_op, negate=False):
    """An op that maps 1:1 to the ONNX binary ``onnx_op`` on its promoted inputs (``Not`` after, for ne)."""

    def lower(g, x, y, **attrs):
        _onnx_no_attrs(g, attrs)
        out = g.op(onnx_op, *g.promoted(g.node.op, x, y))
        return g.op("Not", out) if negate else out

    return lower


def _onnx_logical(onnx_op):
    def lower(g, x, y):
        return g.op(onnx_op, g.tensor(x, _dt.bool), g.tensor(y, _dt.bool))

    return lower


_ONNX_UNARY = {
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
    "abs": "Abs",
    "neg": "Neg",
    "erf": "Erf",
    "reciprocal": "Reciprocal",
    "sin": "Sin",
    "cos": "Cos",
    "tan": "Tan",
    "asin": "Asin",
    "acos": "Acos",
    "atan": "Atan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "asinh": "Asinh",
    "acosh": "Acosh",
    "atanh": "Atanh",
    "floor": "Floor",
    "ceil": "Ceil",
    "sign": "Sign",
    "round": "Round",
    "logical_not": "Not",
}
_ONNX_BINARY = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "pow": "Pow",
    "maximum": "Max",
    "minimum": "Min",
    "clamp_min": "Max",
    "clamp_max": "Min",
    "gt": "Greater",
    "lt": "Less",
    "ge": "GreaterOrEqual",
    "le": "LessOrEqual",
    "eq": "Equal",
}
for _name, _onnx_op in _ONNX_UNARY.items():
    REGISTRY[_name].defonnx(_onnx_unary(_onnx_op))
for _name, _onnx_op in _ONNX_BINARY.items():
    REGISTRY[_name].defonnx(_onnx_binary(_onnx_op))
REGISTRY["ne"].defonnx(_onnx_binary("Equal", negate=True))
for _name, _onnx_op in {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}.items():
    REGISTRY[_name].defonnx(_onnx_logical(_onnx_op))


@REGISTRY["isnan"].defonnx
def _isnan_onnx(g, x):
    return g.op("IsNaN", x)


@REGISTRY["rsqrt"].defonnx
def _rsqrt_onnx(g, x):
    return g.op("Reciprocal", g.op("Sqrt", g.tensor(x, _onnx_out_dtype(g))))


@REGISTRY["expm1"].defonnx
def _expm1_onnx(g, x):
    dt = _onnx_out_dtype(g)
    return g.op("Sub", g.op("Exp", g.tensor(x, dt)), g.const(1, dt))


@REGISTRY["log1p"].defonnx
def _log1p_onnx(g, x):
    dt = _onnx_out_dtype(g)
    return g.op("Log", g.op("Add", g.tensor(x, dt), g.const(1, dt)))


@SILU.defonnx
def _silu_onnx(g, x):
    return g.op("Mul", x, g.op("Sigmoid", x))


@GELU.defonnx
def _gelu_onnx(g, x, approximate="none"):
    dt = _onnx_out_dtype(g)
    half_x = g.op("Mul", x, g.const(0.5, dt))
    if approximate == "tanh":
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", cube, g.const(_GELU_C, dt)))
        t = g.op("Tanh", g.op("Mul", inner, g.const(_GELU_K, dt)))
    else:
        t = g.op("Erf", g.op("Mul", x, g.const(_SQRT1_2, dt)))
    return g.op("Mul", half_x, g.op("Add", t, g.const(1, dt)))


@SOFTPLUS.defonnx
def _softplus_onnx(g, x, beta=1.0, threshold=20.0):
    dt = _onnx_out_dtype(g)
    bx = x if beta == 1 else g.op("Mul", x, g.const(beta, dt))
    sp = g.op("Softplus", bx)
    if beta != 1:
        sp = g.op("Div", sp, g.const(beta, dt))
    return g.op("Where", g.op("Greater", bx, g.const(threshold, dt)), x, sp)


@ELU.defonnx
def _elu_onnx(g, x, alpha=1.0):
    return g.op("Elu", x, alpha=float(alpha))


@LEAKY_RELU.defonnx
def _leaky_relu_onnx(g, x, negative_slope=0.01):
    return g.op("LeakyRelu", x, alpha=float(negative_slope))


@HARDTANH.defonnx
def _hardtanh_onnx(g, x, min_val=-1.0, max_val=1.0):
    dt = g.dtype(x)
    return g.op("Clip", x, g.const(min_val, dt), g.const(max_val, dt))


@CLAMP.defonnx
def _clamp_onnx(g, x, lo, hi):
    dt = _onnx_out_dtype(g)
    out = g.tensor(x, dt)
    if lo is not None:
        out = g.op("Max", out, g.tensor(lo, dt))
    if hi is not None:
        out = g.op("Min", out, g.tensor(hi, dt))
    return out


@WHERE.defonnx
def _where_onnx(g, cond, x, y):
    dt = _onnx_out_dtype(g)
    return g.op("Where", g.tensor(cond, _dt.bool), g.tensor(x, dt), g.tensor(y, dt))


@CAST.defonnx
def _cast_onnx(g, x, dtype):
    return g.tensor(x, dtype) if g.dtype(x) is not dtype else g.op("Identity", x)


@LERP.defonnx
def _lerp_onnx(g, x, end, weight):
    dt = _onnx_out_dtype(g)
    x, end, weight = (g.tensor(v, dt) for v in (x, end, weight))
    return g.op("Add", x, g.op("Mul", weight, g.op("Sub", end, x)))


@CLONE.defonnx
def _clone_onnx(g, x):
    return g.op("Identity", x)


@REMAINDER.defonnx
def _remainder_onnx(g, x, y):
    x, y = g.promoted("remainder", x, y)
    if not _onnx_out_dtype(g).is_floating_point:
        return g.op("Mod", x, y, fmod=0)
    return g.op("Sub", x, g.op("Mul", g.op("Floor", g.op("Div", x, y)), y))


@FMOD.defonnx
def _fmod_onnx(g, x, y):
    x, y = g.promoted("fmod", x, y)
    return g.op("Mod", x, y, fmod=1)
