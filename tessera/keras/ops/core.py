"""``keras.ops`` core: conversion (``convert_to_tensor``, ``cast``, ``shape``), control flow (``cond``,
``while_loop``, ``scan``...), ``scatter``/``slice`` updates, ``unstack``, ``rearrange`` and gradient helpers
(``stop_gradient``, ``custom_gradient``). Control flow runs eagerly as Python loops, as Keras's torch
backend does, so autograd sees every step.

Example:
    >>> from tessera.keras import ops
    >>> ops.scan(lambda c, x: (c + x, c + x), ops.convert_to_tensor(0), ops.convert_to_tensor([1, 2, 3]))[0]
    tensor(6, dtype=tessera.int32)
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable

import numpy as np

from ... import ops as _T
from ...core import creation
from ...core import dtypes as _dt
from ...core.dispatch import OpDef, TensorMeta
from ...core.grad_mode import no_grad
from ...core.tensor import Tensor
from ..backend import standardize_dtype as _keras_dtype_name
from ..layers.base import KerasTensor, flatten, map_structure, symbolic_op
from ._convert import standardize_dtype, to_tensor

__all__ = [
    "associative_scan",
    "cast",
    "cond",
    "convert_to_numpy",
    "convert_to_tensor",
    "custom_gradient",
    "dtype",
    "fori_loop",
    "is_tensor",
    "map",
    "rearrange",
    "saturate_cast",
    "scan",
    "scatter",
    "scatter_update",
    "shape",
    "slice",
    "slice_update",
    "stop_gradient",
    "switch",
    "unstack",
    "vectorized_map",
    "while_loop",
]

_slice = builtins.slice


def _pack(struct, leaves):
    """``struct`` rebuilt with its leaves taken, in order, from the iterator ``leaves``."""
    if isinstance(struct, list):
        return [_pack(s, leaves) for s in struct]
    if isinstance(struct, tuple):
        return tuple(_pack(s, leaves) for s in struct)
    if isinstance(struct, dict):
        return {k: _pack(struct[k], leaves) for k in struct}
    return next(leaves)


def _dtype_name(dt) -> str:
    return _keras_dtype_name(dt)


def _int(fn: str, arg: str, v) -> int:
    """A Python int from an int, a NumPy integer or a 0-d integer tensor (a host read deciding a size)."""
    if isinstance(v, Tensor):
        if v.ndim != 0 or v.dtype.is_floating_point or v.dtype is _dt.bool:
            raise TypeError(f"keras.ops.{fn}: `{arg}` must be an integer scalar, got a tensor {v!r}")
        return int(v.item())
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"keras.ops.{fn}: `{arg}` must be an integer, got {v!r}")
    return int(v)


def _int_list(fn: str, arg: str, v) -> list[int]:
    if isinstance(v, Tensor):
        if v.ndim != 1 or v.dtype.is_floating_point:
            raise TypeError(f"keras.ops.{fn}: `{arg}` must be a 1-D integer sequence, got {v!r}")
        return [int(i) for i in v.tolist()]
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        raise TypeError(f"keras.ops.{fn}: `{arg}` must be a list/tuple of integers, got {v!r}")
    return [_int(fn, arg, i) for i in v]


# -- conversion ----------------------------------------------------------------------------------------------
@symbolic_op
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None) -> Tensor:
    """``x`` (a tensor, NumPy array, Python scalar or nested list) as a Tensor; Python ints become int32,
    floats ``floatx()``, NumPy arrays keep their dtype; ``dtype`` casts.

    Example:
        >>> convert_to_tensor([1, 2]).dtype
        tessera.int32
    """
    if sparse:
        raise ValueError("keras.ops.convert_to_tensor: `sparse=True` is not supported by the Tessera backend")
    if ragged:
        raise ValueError("keras.ops.convert_to_tensor: `ragged=True` is not supported by the Tessera backend")
    if isinstance(x, (list, tuple)) and x and any(isinstance(e, Tensor) for e in x):
        return _T.stack([convert_to_tensor(e, dtype=dtype) for e in x])
    if dtype is None and isinstance(x, int) and not isinstance(x, bool) and not -(2**31) <= x < 2**31:
        return to_tensor(x, dtype=_dt.int64)  # a Python int too large for int32, as Keras
    try:
        return to_tensor(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise type(e)(f"keras.ops.convert_to_tensor: cannot convert {type(x).__name__} {x!r}: {e}") from None


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array (detached from autograd); lists of tensors become one stacked array.

    Example:
        >>> convert_to_numpy(ts.ones(2))
        array([1., 1.], dtype=float32)
    """
    if isinstance(x, KerasTensor):
        raise TypeError(
            f"keras.ops.convert_to_numpy: a symbolic KerasTensor {x!r} has no value; call the model on data"
        )

    def one(v):
        if isinstance(v, Tensor):
            return np.array(v.detach().numpy())
        return np.array(v)

    if isinstance(x, (list, tuple)):
        return np.array([one(e) for e in x])
    return one(x)


def is_tensor(x) -> bool:
    """Whether ``x`` is a Tessera tensor (NumPy arrays and Python values are not).

    Example:
        >>> is_tensor(ts.ones(2)), is_tensor([1.0])
        (True, False)
    """
    return isinstance(x, Tensor)


def shape(x) -> tuple:
    """The shape of ``x`` as a tuple of ints (``None`` for unknown dimensions of a ``KerasTensor``).

    Example:
        >>> shape(ts.ones((2, 3)))
        (2, 3)
    """
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    if isinstance(x, (Tensor, np.ndarray, np.generic)):
        return tuple(int(d) for d in x.shape)
    return tuple(int(d) for d in convert_to_tensor(x).shape)


def dtype(x) -> str:
    """The standardized dtype name of ``x`` (``'float32'``, ``'int32'``...).

    Example:
        >>> dtype(ts.ones(2))
        'float32'
    """
    if isinstance(x, (Tensor, KerasTensor, np.ndarray, np.generic)):
        return _dtype_name(x.dtype)
    if not hasattr(x, "dtype"):
        raise TypeError(f"keras.ops.dtype: {type(x).__name__} {x!r} has no dtype")
    return _dtype_name(x.dtype)


def _check_dtype(fn: str, dt):
    try:
        return standardize_dtype(dt)
    except ValueError:
        raise ValueError(f"keras.ops.{fn}: invalid dtype {dt!r}") from None


@symbolic_op
def cast(x, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero).

    Example:
        >>> cast(ts.tensor([1.7, -1.7]), "int32").tolist()
        [1, -1]
    """
    dt = _check_dtype("cast", dtype)
    if dtype is None:
        raise ValueError("keras.ops.cast: `dtype` must be given, got None")
    return to_tensor(x, dtype=dt) if not isinstance(x, Tensor) else (x if x.dtype is dt else x.to(dt))


def _range(dt):
    if dt is _dt.bool:
        return 0, 1
    if dt.is_floating_point:
        info = _dt.finfo(dt)
    elif dt.is_complex:
        raise TypeError(f"keras.ops.saturate_cast: complex dtype {dt.name} has no range")
    else:
        info = _dt.iinfo(dt)
    return info.min, info.max


@symbolic_op
def saturate_cast(x, dtype) -> Tensor:
    """``cast`` that first clips ``x`` to the range of ``dtype`` (no integer wrap-around).

    Example:
        >>> saturate_cast(ts.tensor([-1.0, 300.0]), "uint8").tolist()
        [0, 255]
    """
    out_dt = _check_dtype("saturate_cast", dtype)
    x = convert_to_tensor(x)
    in_np = np.dtype(x.dtype.np)
    in_min, in_max = _range(x.dtype)
    out_min, out_max = _range(out_dt)
    # The limits are represented in the input's dtype; where rounding pushes them past the output's range
    # (float32(2**31 - 1) == 2**31), step back toward zero, as Keras does.
    lo = np.array(max(in_min, out_min)).astype(in_np)
    if lo < out_min:
        lo = np.nextafter(lo, 0, dtype=in_np)
    hi = np.array(min(in_max, out_max)).astype(in_np)
    if hi > out_max:
        hi = np.nextafter(hi, 0, dtype=in_np)
    if x.dtype is _dt.bool:
        return x.to(out_dt)
    y = _T.clamp(x, lo.item(), hi.item())
    return y if y.dtype is out_dt else y.to(out_dt)


@symbolic_op
def stop_gradient(variable) -> Tensor:
    """``variable`` with no gradient flowing back through it.

    Example:
        >>> stop_gradient(ts.ones(2, requires_grad=True)).requires_grad
        False
    """
    return convert_to_tensor(variable).detach()


# -- control flow --------------------------------------------------------------------------------------------
def _callable(fn: str, arg: str, f) -> None:
    if not callable(f):
        raise TypeError(f"keras.ops.{fn}: `{arg}` must be callable, got {f!r}")


def cond(pred, true_fn: Callable, false_fn: Callable):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (``pred`` a bool or a scalar tensor).

    Example:
        >>> cond(ts.tensor(True), lambda: 1, lambda: 2)
        1
    """
    _callable("cond", "true_fn", true_fn)
    _callable("cond", "false_fn", false_fn)
    if isinstance(pred, KerasTensor):
        raise TypeError(
            "keras.ops.cond: `pred` must have a value; a symbolic KerasTensor cannot be branched on"
        )
    if isinstance(pred, Tensor) and pred.numel() != 1:
        raise ValueError(f"keras.ops.cond: `pred` must be a scalar, got shape {tuple(pred.shape)}")
    return true_fn() if bool(pred) else false_fn()


@symbolic_op
def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped to ``[0, len(branches) - 1]``.

    Example:
        >>> switch(1, [lambda x: x + 1, lambda x: x - 1], ts.tensor(5)).item()
        4
    """
    if not isinstance(branches, (list, tuple)) or not branches:
        raise ValueError(
            f"keras.ops.switch: `branches` must be a non-empty list of callables, got {branches!r}"
        )
    for b in branches:
        _callable("switch", "branches", b)
    i = _int("switch", "index", index if not isinstance(index, Tensor) else index.to(_dt.int64))
    return branches[min(max(i, 0), len(branches) - 1)](*operands)


def while_loop(cond: Callable, body: Callable, loop_vars, maximum_iterations: int | None = None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (at most ``maximum_iterations``
    times); a tuple/list of loop vars comes back as a tuple, a single one as itself.

    Example:
        >>> while_loop(lambda i: i < 10, lambda i: i + 1, 0)
        tensor(10, dtype=tessera.int32)
    """
    _callable("while_loop", "cond", cond)
    _callable("while_loop", "body", body)
    if maximum_iterations is not None:
        maximum_iterations = _int("while_loop", "maximum_iterations", maximum_iterations)
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    state = map_structure(convert_to_tensor, state)
    it = 0
    while (maximum_iterations is None or it < maximum_iterations) and bool(cond(*state)):
        state = body(*state)
        state = tuple(state) if isinstance(state, (list, tuple)) else (state,)
        it += 1
    return state if is_tuple else state[0]


@symbolic_op
def fori_loop(lower, upper, body_fun: Callable, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, starting from ``init_val``.

    Example:
        >>> fori_loop(0, 4, lambda i, v: v + i, 0)
        6
    """
    _callable("fori_loop", "body_fun", body_fun)
    val = init_val
    for i in range(_int("fori_loop", "lower", lower), _int("fori_loop", "upper", upper)):
        val = body_fun(i, val)
    return val


@symbolic_op
def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or ``length`` times with ``x=None``);
    returns the final carry and the ``y``s stacked (structures allowed for both).

    Example:
        >>> c, ys = scan(lambda c, x: (c + x, c * x), ts.tensor(0), ts.tensor([1, 2, 3]))
        >>> c.item(), ys.tolist()
        (6, [0, 2, 9])
    """
    _callable("scan", "f", f)
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(
            f"keras.ops.scan: `unroll` must be a positive integer or a bool, got unroll={unroll!r}"
        )
    if xs is None and length is None:
        raise ValueError("keras.ops.scan: got no `xs` to scan over and `length` was not given")
    xs_flat = [] if xs is None else [convert_to_tensor(v) for v in flatten(xs)]
    if length is not None:
        n = _int("scan", "length", length)
    else:
        n = int(xs_flat[0].shape[0])
    for v in xs_flat:
        if v.ndim == 0 or int(v.shape[0]) < n:
            raise ValueError(
                f"keras.ops.scan: every array of `xs` needs a leading axis of length {n}, got shape "
                f"{tuple(v.shape)}"
            )
    carry = _pack(init, iter([convert_to_tensor(v) for v in flatten(init)]))
    ys = []
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        x = None if xs is None else _pack(xs, iter([v[i] for v in xs_flat]))
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    if ys[0] is None:
        ys = [[_T.zeros_like(convert_to_tensor(c)) for c in flatten(carry)] for _ in ys]
    leaves = [flatten(y) for y in ys]
    stacked = [_T.stack([convert_to_tensor(lv[j]) for lv in leaves]) for j in range(len(leaves[0]))]
    return carry, _pack(ys[0], iter(stacked))


@symbolic_op
def map(f: Callable, xs):
    """``f`` applied to each slice of ``xs`` along its leading axis, the results stacked.

    Example:
        >>> map(lambda x: x * 2, ts.tensor([1, 2])).tolist()
        [2, 4]
    """
    _callable("map", "f", f)
    return scan(lambda c, x: ((), f(x)), (), xs)[1]


@symbolic_op
def vectorized_map(function: Callable, elements):
    """``function`` applied to each slice of ``elements`` (a tensor or structure) along the leading axis;
    the results are stacked (evaluated slice by slice).

    Example:
        >>> vectorized_map(lambda x: x.sum(), ts.ones((3, 2))).tolist()
        [2.0, 2.0, 2.0]
    """
    _callable("vectorized_map", "function", function)
    return scan(lambda c, x: ((), function(x)), (), elements)[1]


@symbolic_op
def associative_scan(f: Callable, elems, reverse: bool = False, axis: int = 0):
    """Inclusive prefix combination ``[a, f(a, b), f(f(a, b), c), ...]`` along ``axis`` with the associative
    ``f`` (elements keep a length-1 ``axis`` when passed to ``f``).

    Example:
        >>> associative_scan(lambda a, b: a + b, ts.tensor([1, 2, 3])).tolist()
        [1, 3, 6]
    """
    _callable("associative_scan", "f", f)
    flat = [convert_to_tensor(e) for e in flatten(elems)]
    if not flat:
        raise ValueError("keras.ops.associative_scan: `elems` holds no arrays")
    ax = [axis + e.ndim if axis < 0 else axis for e in flat]
    for e, a in zip(flat, ax):
        if not 0 <= a < e.ndim:
            raise ValueError(
                f"keras.ops.associative_scan: axis {axis} is out of range for shape {tuple(e.shape)}"
            )
    n = int(flat[0].shape[ax[0]])
    if any(int(e.shape[a]) != n for e, a in zip(flat, ax)):
        raise ValueError(
            "keras.ops.associative_scan: array inputs must have the same size along `axis`; saw shapes "
            f"{[tuple(e.shape) for e in flat]}"
        )
    if reverse:
        flat = [e.flip(a) for e, a in zip(flat, ax)]
    acc = [e.narrow(a, 0, 1) for e, a in zip(flat, ax)]
    outs = [[v] for v in acc]
    for i in range(1, n):
        nxt = [e.narrow(a, i, 1) for e, a in zip(flat, ax)]
        acc = [convert_to_tensor(v) for v in flatten(f(_pack(elems, iter(acc)), _pack(elems, iter(nxt))))]
        for o, v in zip(outs, acc):
            o.append(v)
    res = [_T.cat(o, a) for o, a in zip(outs, ax)]
    if reverse:
        res = [r.flip(a) for r, a in zip(res, ax)]
    return _pack(elems, iter(res))


# -- scatter / slice -----------------------------------------------------------------------------------------
def _index_tuple(fn: str, indices: Tensor, target_shape) -> tuple:
    if indices.dtype.is_floating_point or indices.dtype is _dt.bool:
        raise TypeError(f"keras.ops.{fn}: `indices` must be integers, got dtype {indices.dtype.name}")
    if indices.ndim < 1:
        raise ValueError(f"keras.ops.{fn}: `indices` must have rank >= 1, got shape {tuple(indices.shape)}")
    k = int(indices.shape[-1])
    if k > len(target_shape):
        raise ValueError(
            f"keras.ops.{fn}: `indices` index {k} dimensions but the target has shape {tuple(target_shape)}"
        )
    flat = indices.reshape(-1, k).to(_dt.int64)
    return tuple(flat[:, j] for j in range(k)), k, int(flat.shape[0])


@symbolic_op
def scatter(indices, values, shape) -> Tensor:
    """A zeros tensor of ``shape`` with ``values`` added at ``indices`` (``(..., k)`` index tuples into the
    first ``k`` dimensions; duplicates add up).

    Example:
        >>> scatter([[0], [2]], [1.0, 2.0], (4,)).tolist()
        [1.0, 0.0, 2.0, 0.0]
    """
    indices = convert_to_tensor(indices)
    values = convert_to_tensor(values)
    out_shape = tuple(_int_list("scatter", "shape", shape))
    idx, k, n = _index_tuple("scatter", indices, out_shape)
    tail = out_shape[k:]
    if values.numel() != n * int(np.prod(tail, dtype=np.int64)):
        raise ValueError(
            f"keras.ops.scatter: `values` of shape {tuple(values.shape)} do not match {n} indices into shape "
            f"{out_shape} (expected {(n,) + tail})"
        )
    zeros = creation.zeros(out_shape, dtype=values.dtype)
    return _T.index_put(zeros, idx, values.reshape((n,) + tail), accumulate=True)


_REDUCTIONS = {"max": _T.maximum, "min": _T.minimum, "mul": _T.mul}


@symbolic_op
def scatter_update(inputs, indices, updates, reduction: str | None = None) -> Tensor:
    """``inputs`` with the entries (or slices) at ``indices`` replaced by ``updates``; ``reduction``
    ``'add'``/``'max'``/``'min'``/``'mul'`` combines them with the current values instead.

    Example:
        >>> scatter_update(ts.zeros(3), [[1]], [5.0]).tolist()
        [0.0, 5.0, 0.0]
    """
    if reduction is not None:
        if not isinstance(reduction, str) or reduction.lower() not in ("add", "max", "min", "mul"):
            raise ValueError(
                f"keras.ops.scatter_update: invalid reduction {reduction!r}; supported values are None, 'add', "
                "'max', 'min', 'mul'"
            )
        reduction = reduction.lower()
    inputs = convert_to_tensor(inputs)
    indices = convert_to_tensor(indices)
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    idx, k, n = _index_tuple("scatter_update", indices, tuple(inputs.shape))
    tail = tuple(inputs.shape[k:])
    want = (n,) + tail
    if updates.numel() == n * int(np.prod(tail, dtype=np.int64)):
        updates = updates.reshape(want)
    else:
        try:  # a scalar or a broadcastable slice, as indexed assignment allows
            if np.broadcast_shapes(tuple(updates.shape), want) != want:
                raise ValueError
            updates = updates.expand(want)
        except ValueError:
            raise ValueError(
                f"keras.ops.scatter_update: `updates` of shape {tuple(updates.shape)} do not match {n} indices "
                f"into shape {tuple(inputs.shape)} (expected {want})"
            ) from None
    if reduction is None:
        return _T.index_put(inputs, idx, updates)
    if reduction == "add":
        return _T.index_put(inputs, idx, updates, accumulate=True)
    # one index at a time, so that repeated indices combine (max/min/mul are associative)
    out, op = inputs, _REDUCTIONS[reduction]
    for i in range(n):
        at = tuple(j[i : i + 1] for j in idx)
        out = _T.index_put(out, at, op(out[at], updates[i : i + 1]))
    return out


@symbolic_op
def slice(inputs, start_indices, shape) -> Tensor:
    """The block of ``inputs`` that starts at ``start_indices`` and has size ``shape``.

    Example:
        >>> slice(ts.arange(10), [2], [3]).tolist()
        [2, 3, 4]
    """
    inputs = convert_to_tensor(inputs)
    starts = _int_list("slice", "start_indices", start_indices)
    sizes = _int_list("slice", "shape", shape)
    if len(starts) != inputs.ndim or len(sizes) != inputs.ndim:
        raise ValueError(
            f"keras.ops.slice: `start_indices` {starts} and `shape` {sizes} need one entry per dimension of the "
            f"input of shape {tuple(inputs.shape)}"
        )
    for d, (s, n, dim) in enumerate(zip(starts, sizes, inputs.shape)):
        if s < 0 or n < 0 or s + n > dim:
            raise ValueError(
                f"keras.ops.slice: block start {s}, size {n} is out of range in dimension {d} of shape "
                f"{tuple(inputs.shape)}"
            )
    return inputs[tuple(_slice(s, s + n) for s, n in zip(starts, sizes))]


@symbolic_op
def slice_update(inputs, start_indices, updates) -> Tensor:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    Example:
        >>> slice_update(ts.zeros(4), [1], ts.ones(2)).tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates, dtype=inputs.dtype)
    starts = _int_list("slice_update", "start_indices", start_indices)
    if len(starts) != inputs.ndim or updates.ndim != inputs.ndim:
        raise ValueError(
            f"keras.ops.slice_update: `start_indices` {starts} and `updates` of shape {tuple(updates.shape)} "
            f"must match the rank of the input of shape {tuple(inputs.shape)}"
        )
    for d, (s, n, dim) in enumerate(zip(starts, updates.shape, inputs.shape)):
        if s < 0 or s + n > dim:
            raise ValueError(
                f"keras.ops.slice_update: updates of shape {tuple(updates.shape)} at {starts} do not fit in "
                f"dimension {d} of shape {tuple(inputs.shape)}"
            )
    out = inputs.clone()
    out[tuple(_slice(s, s + int(n)) for s, n in zip(starts, updates.shape))] = updates
    return out


@symbolic_op
def unstack(x, num: int | None = None, axis: int = 0):
    """The slices of ``x`` along ``axis``, as a tuple.

    Example:
        >>> [t.tolist() for t in unstack(ts.tensor([[1, 2], [3, 4]]))]
        [[1, 2], [3, 4]]
    """
    x = convert_to_tensor(x)
    if not -x.ndim <= axis < max(x.ndim, 1) or x.ndim == 0:
        raise ValueError(f"keras.ops.unstack: axis {axis} is out of range for shape {tuple(x.shape)}")
    if num is not None and num != x.shape[axis]:
        raise ValueError(
            f"keras.ops.unstack: num={num} does not match dimension {axis} of shape {tuple(x.shape)}"
        )
    return tuple(x.unbind(axis))


# -- rearrange -----------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\(\s*[\w\s]*\)|\w+|\S")


def _parse_side(fn: str, side: str, pattern: str) -> list[list[str]]:
    groups = []
    for tok in _TOKEN.findall(side):
        if tok.startswith("("):
            names = tok[1:-1].split()
            if not names:
                raise ValueError(f"keras.ops.{fn}: empty group '()' in pattern {pattern!r}")
            groups.append(names)
        elif re.fullmatch(r"[A-Za-z_]\w*", tok):
            groups.append([tok])
        else:
            raise ValueError(f"keras.ops.{fn}: unsupported token {tok!r} in pattern {pattern!r}")
    return groups


@symbolic_op
def rearrange(tensor, pattern: str, **axes_lengths) -> Tensor:
    """einops-style reshape/transpose: ``'b h w c -> b (h w) c'``; grouped input axes are split with the
    sizes given in ``axes_lengths`` (one unknown per group is inferred).

    Example:
        >>> rearrange(ts.ones((2, 3, 4)), "b h w -> b (w h)").shape
        tessera.Size([2, 12])
    """
    x = convert_to_tensor(tensor)
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"keras.ops.rearrange: pattern must look like 'a b -> b a', got {pattern!r}")
    left, right = pattern.split("->")
    ins, outs = _parse_side("rearrange", left, pattern), _parse_side("rearrange", right, pattern)
    if len(ins) != x.ndim:
        raise ValueError(
            f"keras.ops.rearrange: the input side of {pattern!r} names {len(ins)} dimensions but the tensor has "
            f"shape {tuple(x.shape)}"
        )
    in_names = [a for g in ins for a in g]
    out_names = [a for g in outs for a in g]
    if len(set(in_names)) != len(in_names) or sorted(in_names) != sorted(out_names):
        raise ValueError(
            f"keras.ops.rearrange: both sides of {pattern!r} must name the same axes, each once "
            f"(input {in_names}, output {out_names})"
        )
    sizes: dict[str, int] = {}
    for group, dim in zip(ins, x.shape):
        dim = int(dim)
        known = [a for a in group if a in axes_lengths]
        unknown = [a for a in group if a not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(
                f"keras.ops.rearrange: cannot infer the sizes of {unknown} in group ({' '.join(group)}) of "
                f"{pattern!r}; pass all but one of them as keyword arguments"
            )
        prod = int(np.prod([int(axes_lengths[a]) for a in known], dtype=np.int64))
        for a in known:
            sizes[a] = int(axes_lengths[a])
        if unknown:
            if prod == 0 or dim % prod:
                raise ValueError(
                    f"keras.ops.rearrange: dimension {dim} cannot be split as ({' '.join(group)}) with "
                    f"{ {a: axes_lengths[a] for a in known} }"
                )
            sizes[unknown[0]] = dim // prod
        elif prod != dim:
            raise ValueError(
                f"keras.ops.rearrange: group ({' '.join(group)}) has size {prod} but the dimension is {dim}"
            )
    decomposed = [sizes[a] for a in in_names]
    if tuple(decomposed) != tuple(x.shape):
        x = x.reshape(decomposed)
    x = x.permute([in_names.index(a) for a in out_names])
    return x.reshape([int(np.prod([sizes[a] for a in g], dtype=np.int64)) for g in outs])


# -- custom gradients ----------------------------------------------------------------------------------------
class _GradFn:
    """The user's gradient function, passed to the op as its first (non-tensor) argument: attributes must be
    static values, and this is Python code, which the compiler treats as opaque."""

    __slots__ = ("fn",)

    def __init__(self, fn) -> None:
        self.fn = fn


def _custom_grad_forward(grad_fn, *arrays):
    return arrays[-1]  # the value the user's function computed; its inputs only carry the graph edges


_CUSTOM_GRADIENT = OpDef("keras_custom_gradient", _custom_grad_forward)
_CUSTOM_GRADIENT.defshape(lambda grad_fn, *args: TensorMeta(tuple(args[-1].shape), args[-1].dtype))


@_CUSTOM_GRADIENT.defgrad
def _custom_grad_rule(ctx, g):
    grad_fn, *inputs = ctx.saved[:-1]
    grads = grad_fn.fn(g)
    grads = tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)
    tensor_pos = [i for i, a in enumerate(inputs) if isinstance(a, Tensor)]
    if len(grads) not in (len(inputs), len(tensor_pos)):
        raise ValueError(
            f"keras.ops.custom_gradient: the gradient function returned {len(grads)} gradients for "
            f"{len(inputs)} inputs"
        )
    out = [None] * (len(inputs) + 2)  # (grad_fn, *inputs, output)
    for pos, gr in zip(range(len(inputs)) if len(grads) == len(inputs) else tensor_pos, grads):
        if gr is not None and isinstance(inputs[pos], Tensor):
            gr = convert_to_tensor(gr, dtype=inputs[pos].dtype)
            out[pos + 1] = gr if tuple(gr.shape) == tuple(inputs[pos].shape) else gr.expand(inputs[pos].shape)
    return tuple(out)


def custom_gradient(f: Callable) -> Callable:
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)`` and ``grad_fn(upstream)`` returns the gradients
    with respect to ``f``'s positional arguments; autograd then uses ``grad_fn`` instead of differentiating
    ``f``.

    Example:
        >>> @custom_gradient
        ... def clipped_identity(x):
        ...     return x, lambda upstream: ts.clamp(upstream, -1.0, 1.0)
        >>> x = ts.tensor([1.0], requires_grad=True)
        >>> (clipped_identity(x) * 5.0).sum().backward()
        >>> x.grad.tolist()
        [1.0]
    """
    _callable("custom_gradient", "f", f)

    def wrapped(*args, **kwargs):
        with no_grad():
            result = f(*args, **kwargs)
        if not isinstance(result, (tuple, list)) or len(result) != 2 or not callable(result[1]):
            raise TypeError(
                f"keras.ops.custom_gradient: {getattr(f, '__name__', f)!r} must return (output, grad_fn), got "
                f"{type(result).__name__}"
            )
        output, grad_fn = result
        output = convert_to_tensor(output)
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return output
        return _CUSTOM_GRADIENT(_GradFn(grad_fn), *args, output.detach())

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = getattr(f, "__doc__", None)
    return wrapped
