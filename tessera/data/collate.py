"""Collation: merge a list of samples into a batch (``default_collate``) and convert single samples
(``default_convert``), with PyTorch's rules for tensors, NumPy arrays, numbers, strings and nested
mappings/sequences/namedtuples."""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np

from ..core import dtypes as _dt
from ..core.tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_NP_STR_OBJ = re.compile(r"[SaUO]")

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _np_to_tensor(arr: np.ndarray) -> Tensor:
    if arr.dtype not in _dt._FROM_NP:
        raise TypeError(f"default_collate: NumPy arrays of dtype {arr.dtype} cannot be converted to a tensor")
    return Tensor._wrap(arr)


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Stack a batch of tensors along a new first dimension."""
    first = batch[0]
    dt = first._data.dtype
    shape = first._data.shape
    fast = True
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: expected all elements to be tensors, got {type(t).__name__}")
        if t._requires_grad or t._data.dtype != dt:
            fast = False
        if t._data.shape != shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got {tuple(shape)} at "
                f"entry 0 and {tuple(t._data.shape)} at entry {i}"
            )
    if fast:  # nothing to record for autograd: one NumPy copy, no dispatch
        return Tensor._wrap(np.stack([t._data for t in batch]))
    from ..ops import stack

    return stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None) -> Tensor:
    elem = batch[0]
    if _NP_STR_OBJ.search(elem.dtype.str) is not None:
        raise TypeError(_ERR.format(elem.dtype))
    return collate([_np_to_tensor(np.asarray(b)) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _np_to_tensor(np.array(batch))


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return Tensor._wrap(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    if all(type(b) is bool for b in batch):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    try:
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    except OverflowError:
        raise OverflowError("default_collate: Python int does not fit in int64") from None


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}
"""The type -> collate function table used by ``default_collate``; extend a copy of it to teach
``collate`` new element types (each function takes ``(batch, *, collate_fn_map)``)."""


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch`` (a list of samples) recursively: each element type is looked up in
    ``collate_fn_map`` (exact type first, then ``isinstance`` in insertion order); mappings, namedtuples and
    sequences are collated field by field, keeping their structure.

    Example:
        >>> def to_list(batch, *, collate_fn_map):
        ...     return list(batch)
        >>> collate([{"a": 1.5}, {"a": 2.5}], collate_fn_map={float: to_list})
        {'a': [1.5, 2.5]}
    """
    if len(batch) == 0:
        raise ValueError("collate: cannot collate an empty batch")
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(elem_type)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        for d in batch:
            if not isinstance(d, collections.abc.Mapping):
                raise TypeError(f"collate: expected every sample to be a mapping, got {type(d).__name__}")
        try:
            merged = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        except KeyError as e:
            raise KeyError(
                f"collate: key {e.args[0]!r} of the first sample is missing in another sample"
            ) from None
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                # The mapping type may carry extra state: clone it and update rather than re-construct.
                clone = copy.copy(elem)
                clone.update(merged)
                return clone
            return elem_type(merged)
        except TypeError:
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        elem_size = len(elem)
        if not all(len(e) == elem_size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(_ERR.format(elem_type))


def default_collate(batch):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors are stacked along a new first dimension; NumPy arrays become stacked tensors; NumPy scalars a
    tensor of their dtype; Python floats a float64 tensor, ints an int64 tensor, bools a bool tensor;
    strings and bytes stay a list. Mappings, namedtuples and sequences are collated per field, keeping their
    type (except that tuples become lists, as PyTorch): a batch of ``(x, y)`` pairs becomes ``[xs, ys]``.

    Example:
        >>> b = default_collate([(ts.zeros(2), 0), (ts.ones(2), 1)])
        >>> b[0].shape, b[1]
        (tessera.Size([2, 2]), tensor([0, 1]))
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """Convert one sample for a ``DataLoader`` without batching (``batch_size=None``): NumPy arrays and
    scalars become tensors, everything else is kept; containers are converted element by element.

    Example:
        >>> default_convert({"x": np.zeros(2)})["x"]
        tensor([0., 0.], dtype=tessera.float64)
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        arr = np.asarray(data)
        return _np_to_tensor(arr) if arr.dtype in _dt._FROM_NP else data
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch: tuples become lists
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
