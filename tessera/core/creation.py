"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ``randn``... (PyTorch names and semantics)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import dispatch as _dispatch
from . import dtypes as _dt
from .allocator import allocate, check_allocation
from .device import as_device
from .dispatch import is_tracing
from .random import BERNOULLI, MULTINOMIAL, RANDOM, draw
from .tensor import _OPS, Tensor, check_tensor

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "randint_like",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
    "is_tensor",
    "numel",
]


def _finish(arr: np.ndarray, requires_grad: bool, opname: str) -> Tensor:
    t = _finish_tensor(Tensor._wrap(arr), requires_grad, opname)
    if _dispatch._ACTIVE:
        _dispatch.observe("create", t, opname)
    return t


def _to_array(data, dtype, opname: str, copy: bool) -> np.ndarray:
    if isinstance(data, Tensor):
        arr = data._data
        python_data = False
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        python_data = False
    else:
        python_data = True
        try:
            arr = np.array(data)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{opname}: could not build a tensor from {type(data).__name__}: {e}") from None
        # NumPy turns ints beyond int64 into uint64, object or (mixed with smaller ones) float64 arrays
        if arr.dtype == object or arr.dtype == np.uint64 or (arr.dtype == np.float64 and _beyond_int64(arr)):
            _check_int_range(opname, data)
        if arr.dtype == object:
            raise TypeError(
                f"{opname}: could not infer dtype of {type(data).__name__} (ragged or non-numeric)"
            )
    if dtype is not None:
        target = _dt.as_dtype(dtype).np
    elif arr.dtype.kind == "f" and python_data and arr.dtype == np.float64:
        target = _dt._default_float.np
    elif arr.dtype.kind == "c" and python_data:  # the complex dtype of the default float, as PyTorch
        target = np.dtype(np.complex64 if _dt._default_float.np == np.float32 else np.complex128)
    elif arr.dtype.kind == "i" and python_data:
        target = np.dtype(np.int64)
    elif arr.dtype in _dt._FROM_NP:
        target = arr.dtype
    elif arr.dtype.kind in "U S":
        raise TypeError(f"{opname}: strings cannot be converted to a tensor")
    else:
        raise TypeError(f"{opname}: unsupported NumPy dtype {arr.dtype}")
    if arr.dtype != target:
        return arr.astype(target)
    return np.array(arr, copy=True) if copy else arr


def _beyond_int64(arr: np.ndarray) -> bool:
    """Whether a float64 array built from Python data may hide an int beyond int64 (any such value is at least
    2**63 in magnitude; a NaN means floats were given, which then are legitimately floats). Small arrays say
    yes: walking their data costs less than a reduction, and ``ts.tensor([1.5, 2.5])`` is a hot call."""
    return arr.size <= 16 or bool(np.abs(arr).max() >= 2.0**63)


_INT64_MIN, _INT64_END = -(2**63), 2**63


def _check_int_range(opname: str, data) -> None:
    """Python ints beyond int64 raise, as PyTorch's "Overflow when unpacking long", instead of a vague dtype
    error (NumPy makes them uint64, object or float64 arrays). Exact type tests first: this walks the data."""
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float or kind is bool:
            continue
        if kind is list or kind is tuple:
            stack.extend(item)
        elif kind is int or (isinstance(item, numbers.Integral) and not isinstance(item, bool)):
            if not _INT64_MIN <= int(item) < _INT64_END:
                raise ValueError(
                    f"{opname}: value {int(item)} overflows int64 (Overflow when unpacking long)"
                )


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays or tensors).

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy arrays keep their dtype.

    Example:
        >>> ts.tensor([[1, 2], [3, 4]], dtype=ts.float32)
        tensor([[1., 2.],
                [3., 4.]])
    """
    as_device(device)
    return _finish(_to_array(data, dtype, "tensor", copy=True), requires_grad, "tensor")


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when possible (a tensor or NumPy array of that dtype)."""
    as_device(device)
    if isinstance(data, Tensor) and (dtype is None or _dt.as_dtype(dtype) is data.dtype):
        return data
    return _finish(_to_array(data, dtype, "as_tensor", copy=False), False, "as_tensor")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy ``array``: writes to either are seen by both."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    if array.dtype not in _dt._FROM_NP:
        raise TypeError(
            f"from_numpy: can't convert np.ndarray of type {array.dtype}. The only supported types are: "
            + ", ".join(d.name for d in _dt.ALL_DTYPES)
        )
    return Tensor._wrap(array)


def is_tensor(obj) -> bool:
    """True if ``obj`` is a Tessera tensor."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def _size(opname, size):
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = size[0]
    try:
        shape = tuple(size)
    except TypeError:
        raise TypeError(f"{opname}: size must be a sequence of ints, got {size!r}") from None
    for s in shape:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{opname}: size must be a sequence of ints, got {shape!r}")
        if s < 0:
            raise RuntimeError(
                f"{opname}: trying to create tensor with negative dimension {s}: {list(shape)}"
            )
    return tuple(int(s) for s in shape)


def _float_dtype(dtype, opname):
    d = _dt._default_float if dtype is None else _dt.as_dtype(dtype)
    return d


def _filled(opname, size, value, dtype, device, requires_grad):
    as_device(device)
    shape = _size(opname, size)
    d = _float_dtype(dtype, opname)
    arr = allocate(opname, shape, d.np, np.full, shape, value, dtype=d.np)
    return _finish(arr, requires_grad, opname)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``ts.zeros(2, 3)`` or ``ts.zeros((2, 3), dtype=ts.int64)``."""
    return _filled("zeros", size, 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ts.ones(2, 3)``."""
    return _filled("ones", size, 1, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor: ``ts.empty(2, 3)``."""
    as_device(device)
    shape = _size("empty", size)
    d = _float_dtype(dtype, "empty")
    arr = allocate("empty", shape, d.np, np.empty, shape, dtype=d.np)
    return _finish(arr, requires_grad, "empty")


def _scalar_dtype(value):
    if isinstance(value, (bool, np.bool_)):
        return _dt.bool
    if isinstance(value, numbers.Integral):
        return _dt.int64
    return _dt._default_float


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype is inferred from it (``ts.full((2,), 7)`` is int64)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Number, np.generic)):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    d = _scalar_dtype(fill_value) if dtype is None else _dt.as_dtype(dtype)
    return _filled(
        "full",
        (size,) if isinstance(size, numbers.Integral) else (tuple(size),),
        fill_value,
        d,
        device,
        requires_grad,
    )


def _like(opname, t, dtype):
    check_tensor(opname, "input", t)
    return t._data.shape, (t.dtype if dtype is None else _dt.as_dtype(dtype))


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape and dtype."""
    shape, d = _like("zeros_like", input, dtype)
    return _filled("zeros_like", (shape,), 0, d, device, requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape and dtype."""
    shape, d = _like("ones_like", input, dtype)
    return _filled("ones_like", (shape,), 1, d, device, requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like("empty_like", input, dtype)
    as_device(device)
    arr = allocate("empty_like", shape, d.np, np.empty, shape, dtype=d.np)
    return _finish(arr, requires_grad, "empty_like")


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like("full_like", input, dtype)
    return _filled("full_like", (shape,), fill_value, d, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end``: ``ts.arange(5)``, ``ts.arange(0, 1, 0.25)``.

    The result is int64 when all arguments are ints, else the default float dtype.
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    for name, v in zip(("start", "end", "step"), vals):
        if not isinstance(v, (numbers.Real, np.generic)) or isinstance(v, bool):
            raise TypeError(f"arange: {name} must be a number, got {type(v).__name__}")
    start, end, step = vals
    if not all(math.isfinite(v) for v in vals):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} with step {step}")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(
            f"arange: upper bound and larger bound inconsistent with step sign (start={start}, end={end}, "
            f"step={step})"
        )
    all_int = all(isinstance(v, numbers.Integral) for v in vals)
    d = (_dt.int64 if all_int else _dt._default_float) if dtype is None else _dt.as_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    as_device(device)
    base = np.int64 if all_int else np.float64
    arr = (start + allocate("arange", (n,), base, np.arange, n, dtype=base) * step).astype(d.np)
    return _finish(arr, requires_grad, "arange")


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative int, got {steps!r}")
    as_device(device)
    d = _float_dtype(dtype, "linspace")
    arr = allocate("linspace", (int(steps),), np.float64, np.linspace, start, end, int(steps)).astype(d.np)
    return _finish(arr, requires_grad, "linspace")


def logspace(
    start, end, steps: int, base: float = 10.0, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end``, evenly spaced in log scale."""
    as_device(device)
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"logspace: number of steps must be a non-negative int, got {steps!r}")
    d = _float_dtype(dtype, "logspace")
    arr = allocate("logspace", (int(steps),), np.float64, np.logspace, start, end, int(steps), base=base)
    arr = arr.astype(d.np)
    return _finish(arr, requires_grad, "logspace")


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 2-D identity matrix of shape (n, m)."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and (not isinstance(v, numbers.Integral) or v < 0):
            raise RuntimeError(f"eye: {name} must be a non-negative int, got {v!r}")
    as_device(device)
    d = _float_dtype(dtype, "eye")
    arr = allocate("eye", (n, n if m is None else m), d.np, np.eye, n, m, dtype=d.np)
    return _finish(arr, requires_grad, "eye")


# -- random ---------------------------------------------------------------------------------------------
# Every draw is an op reading the generator's state tensor (see ``core.random``), so a trace records it.
def _random(opname, generator, shape, dtype, dist, requires_grad, **extra) -> Tensor:
    check_allocation(opname, shape, (dtype or _dt._default_float).np)
    t = draw(generator, RANDOM, (), {"dist": dist, "shape": tuple(shape), "dtype": dtype, **extra})
    return _finish_tensor(t, requires_grad, opname)


def _finish_tensor(t: Tensor, requires_grad: bool, opname: str) -> Tensor:
    if requires_grad:
        if not t.dtype.is_floating_point:
            raise RuntimeError(
                f"{opname}: only tensors of floating point dtype can require gradients, got {t.dtype}"
            )
        t._requires_grad = True
    return t


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1): ``ts.rand(2, 3, generator=g)``."""
    shape = _size("rand", size)
    d = _float_dtype(dtype, "rand")
    as_device(device)
    return _random("rand", generator, shape, d, "uniform", requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers: ``ts.randn(2, 3)``."""
    shape = _size("randn", size)
    d = _float_dtype(dtype, "randn")
    as_device(device)
    return _random("randn", generator, shape, d, "normal", requires_grad)


def randint(
    low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Random integers in [low, high): ``ts.randint(10, (3,))`` or ``ts.randint(3, 10, (2, 2))``."""
    if size is None and isinstance(high, (tuple, list)):
        high, size = None, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, but got low={low}, high={high}")
    shape = _size("randint", (size,) if not isinstance(size, numbers.Integral) else ((size,),))
    d = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    as_device(device)
    return _random("randint", generator, shape, d, "integers", requires_grad, low=int(low), high=int(high))


def rand_like(input: Tensor, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like("rand_like", input, dtype)
    return rand(shape, generator=generator, dtype=d, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like("randn_like", input, dtype)
    return randn(shape, generator=generator, dtype=d, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, generator=None, dtype=None) -> Tensor:
    shape, d = _like("randint_like", input, dtype)
    return randint(low, high, shape, generator=generator, dtype=d)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    if not isinstance(n, numbers.Integral) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative int, got {n!r}")
    d = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    as_device(device)
    return _random("randperm", generator, (int(n),), d, "permutation", False)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None) -> Tensor:
    """Normal random numbers with the given mean and std (numbers or tensors, broadcast)."""
    if not is_tracing() and np.any(np.asarray(std._data if isinstance(std, Tensor) else std) < 0):
        raise RuntimeError("normal: std must be >= 0")
    shapes = [tuple(v.shape) if isinstance(v, Tensor) else np.shape(v) for v in (mean, std)]
    shape = _size("normal", (size,)) if size is not None else np.broadcast_shapes(*shapes)
    d = _float_dtype(dtype, "normal")
    z = _random("normal", generator, shape, _dt.float64, "normal", False)
    out = z * std + mean
    return out if out.dtype is d else _OPS.cast(out, d)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """Draw 0/1 with probability ``input`` (or ``p``) per element, in ``input``'s dtype."""
    check_tensor("bernoulli", "input", input)
    if p is None and not is_tracing() and np.any((input._data < 0) | (input._data > 1)):
        raise RuntimeError("bernoulli: expected all probabilities to be in [0, 1]")
    if p is not None and not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli: expected p to be in [0, 1], got {p}")
    attrs = {"shape": tuple(input.shape), "p": None if p is None else float(p), "dtype": input.dtype}
    return draw(generator, BERNOULLI, (input if p is None else None,), attrs)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Sample category indices from the rows of ``input`` (unnormalised non-negative weights)."""
    check_tensor("multinomial", "input", input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    if not is_tracing():
        probs = np.asarray(input._data, dtype=np.float64)
        if np.any(probs < 0) or np.any(probs.sum(-1) <= 0):
            raise RuntimeError("multinomial: invalid distribution (negative or all-zero weights)")
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError(
            "multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    return draw(
        generator, MULTINOMIAL, (input,), {"num_samples": int(num_samples), "replacement": bool(replacement)}
    )
