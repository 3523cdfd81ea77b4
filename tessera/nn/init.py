"""Parameter initialisation (``ts.nn.init``), with PyTorch's names, fan rules and gains.

Every initialiser fills its tensor in place, draws from the global generator (``ts.manual_seed``) unless a
``generator`` is given, and returns the tensor.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from ..core.creation import rand, randn, randperm
from ..core.dtypes import float64
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "trunc_normal_",
    "sparse_",
    # deprecated spellings without the trailing underscore (FutureWarning, as torch)
    "uniform",
    "normal",
    "constant",
    "eye",
    "dirac",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "sparse",
]


def _check(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(tensor).__name__}")


def _fill(tensor: Tensor, values) -> Tensor:
    # Through the ``copy`` op, so the write is seen (and the version bumped) like any other state change.
    if not isinstance(values, Tensor):
        values = Tensor._wrap(np.asarray(values))
    with no_grad():
        return tensor.copy_(values)


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for ``nonlinearity`` ('relu', 'tanh', 'leaky_relu', 'selu', ...)."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


_calculate_correct_fan = _fan  # torch's private name, used by custom reset_parameters code


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b): ``init.uniform_(w, -0.1, 0.1)``.

    Example:
        >>> w = ts.nn.init.uniform_(ts.empty(3, 5), -0.1, 0.1)
    """
    _check("uniform_", tensor)
    u = rand(tuple(tensor.shape), generator=generator, dtype=float64)
    return _fill(tensor, u * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2).

    Example:
        >>> w = ts.nn.init.normal_(ts.empty(3, 5), std=0.02)
    """
    _check("normal_", tensor)
    if std < 0:
        raise RuntimeError(f"normal_: normal expects std >= 0.0, but found std {std}")
    return _fill(tensor, randn(tuple(tensor.shape), generator=generator, dtype=float64) * std + mean)


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (rejection sampling: exact for any bounds; the draws
    come from Tessera's generator, so ``ts.manual_seed`` makes them reproducible).

    Example:
        >>> w = ts.nn.init.trunc_normal_(ts.empty(3, 5), std=0.02, a=-0.04, b=0.04)
    """
    _check("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    if std < 0:
        raise RuntimeError(f"trunc_normal_: normal expects std >= 0.0, but found std {std}")
    from ..ops import cat

    n = tensor.numel()
    kept, have, tries = [], 0, 0
    while have < n:
        tries += 1
        if tries > 1000:
            raise ValueError(
                f"trunc_normal_: [a, b] = [{a}, {b}] holds almost none of N({mean}, {std}^2); cannot sample"
            )
        draw = randn(max(2 * (n - have), 16), generator=generator, dtype=float64) * std + mean
        draw = draw[(draw >= a) & (draw <= b)]
        kept.append(draw)
        have += draw.shape[0]
    return _fill(tensor, cat(kept)[:n].reshape(tuple(tensor.shape)))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    Example:
        >>> ts.nn.init.constant_(ts.empty(2), 0.5)
        tensor([0.5000, 0.5000])
    """
    _check("constant_", tensor)
    return _fill(tensor, np.full(tuple(tensor.shape), val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    Example:
        >>> ts.nn.init.zeros_(ts.empty(2))
        tensor([0., 0.])
    """
    _check("zeros_", tensor)
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    Example:
        >>> ts.nn.init.ones_(ts.empty(2))
        tensor([1., 1.])
    """
    _check("ones_", tensor)
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity.

    Example:
        >>> ts.nn.init.eye_(ts.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError("eye_: only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a {3,4,5}-D convolution weight so the convolution is the identity (per group).

    Example:
        >>> w = ts.nn.init.dirac_(ts.empty(4, 4, 3))
    """
    _check("dirac_", tensor)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("dirac_: only tensors with 3, 4, or 5 dimensions are supported")
    if not isinstance(groups, int) or groups < 1 or tensor.shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups ({groups})")
    out_per_group = tensor.shape[0] // groups
    arr = np.zeros(tuple(tensor.shape))
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            arr[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, arr)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> w = ts.nn.init.xavier_uniform_(ts.empty(3, 5), gain=ts.nn.init.calculate_gain("relu"))
    """
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> w = ts.nn.init.xavier_normal_(ts.empty(3, 5))
    """
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """He uniform: U(-b, b) with ``b = gain * sqrt(3 / fan)``.

    Example:
        >>> w = ts.nn.init.kaiming_uniform_(ts.empty(3, 5), mode="fan_in", nonlinearity="relu")
    """
    _check("kaiming_uniform_", tensor)
    if 0 in tensor.shape:
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan)``.

    Example:
        >>> w = ts.nn.init.kaiming_normal_(ts.empty(3, 5), mode="fan_out", nonlinearity="relu")
    """
    _check("kaiming_normal_", tensor)
    if 0 in tensor.shape:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix (dimensions
    after the first are flattened).

    Example:
        >>> w = ts.nn.init.orthogonal_(ts.empty(3, 5))
    """
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    from ..linalg import qr

    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = randn(rows, cols, generator=generator, dtype=float64)
    if rows < cols:
        flat = flat.t()
    q, r = qr(flat)
    q = q * r.diagonal().sign()
    if rows < cols:
        q = q.t()
    return _fill(tensor, (q * gain).reshape(tuple(tensor.shape)))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-D tensor with N(0, std^2) and zero a ``sparsity`` fraction of each column.

    Example:
        >>> w = ts.nn.init.sparse_(ts.empty(10, 4), sparsity=0.3)
    """
    _check("sparse_", tensor)
    if tensor.ndim != 2:
        raise ValueError("sparse_: only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    nz = int(math.ceil(sparsity * rows))
    vals = randn(rows, cols, generator=generator, dtype=float64) * std
    with no_grad():
        for c in range(cols):
            vals[randperm(rows, generator=generator)[:nz], c] = 0.0
    return _fill(tensor, vals)


def _make_deprecate(meth: Callable[..., Tensor]) -> Callable[..., Tensor]:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"Deprecated: use :func:`{new_name}`.\n\n{meth.__doc__ or ''}"
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
