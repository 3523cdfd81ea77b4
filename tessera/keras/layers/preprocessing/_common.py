"""Helpers shared by the preprocessing layers: argument checks, host-side batching of ``adapt`` data and the
categorical encodings (``one_hot``/``multi_hot``/``count``) built on Tessera ops."""

from __future__ import annotations

import numbers

import numpy as np

from ....core import creation
from ....core import dtypes as _dt
from ....core.tensor import Tensor

__all__: list[str] = []

ENCODING_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def check_choice(layer: str, name: str, value, choices) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming the layer and the argument."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{layer}: invalid value for argument `{name}`: {value!r}; expected one of {choices}"
        )
    return value


def check_int(layer: str, name: str, value, minimum: int | None = None, allow_none: bool = False):
    """``value`` as an int (>= ``minimum``), or None when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}: `{name}` must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{layer}: `{name}` must be >= {minimum}, got {value}")
    return int(value)


def to_host(x) -> np.ndarray:
    """A NumPy view of layer inputs (tensors, arrays, lists, scalars) for host-side lookups."""
    if isinstance(x, Tensor):
        return np.asarray(x.detach().numpy())
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # other frameworks' tensors
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


def iter_batches(layer: str, data, batch_size=None, steps=None, lists_are_batches: bool = False):
    """The batches ``adapt`` sees: arrays/lists/tensors split by ``batch_size`` (one batch when None),
    iterables (generators, ``ts.data`` loaders, datasets) batch by batch, stopping after ``steps``. With
    ``lists_are_batches`` (Keras's numeric layers), a list is an iterable of batches."""
    if steps is not None:
        check_int(layer, "steps", steps, minimum=1)
    if batch_size is not None:
        check_int(layer, "batch_size", batch_size, minimum=1)
    array_types = (np.ndarray, Tensor, str) if lists_are_batches else (list, tuple, np.ndarray, Tensor, str)
    if isinstance(data, array_types) or np.isscalar(data):
        arr = data if isinstance(data, (Tensor, np.ndarray)) else np.asarray(data, dtype=object)
        if isinstance(data, (list, tuple)):
            try:
                arr = np.asarray(data)
            except ValueError:
                arr = np.asarray(data, dtype=object)
        n = arr.shape[0] if getattr(arr, "ndim", 0) else 1
        if batch_size is None:
            yield arr
            return
        for i, start in enumerate(range(0, n, batch_size)):
            if steps is not None and i >= steps:
                return
            yield arr[start : start + batch_size]
        return
    if isinstance(data, dict) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"{layer}.adapt: data must be an array, a list, a tensor or an iterable of batches, "
            f"got {type(data).__name__}"
        )
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        if (
            isinstance(batch, (tuple, list))
            and batch
            and not isinstance(batch[0], (str, bytes, numbers.Number))
        ):
            batch = batch[0]  # (x, y) pairs from a dataset: adapt on the features
        yield batch


def encode_categorical(indices: Tensor, mode: str, depth: int, count_weights=None, idf=None) -> Tensor:
    """Keras's ``encode_categorical_inputs`` on int indices: ``one_hot`` adds a depth axis (replacing a
    trailing axis of size 1), ``multi_hot``/``count``/``tf_idf`` reduce the last axis (a rank-1 input is one
    sample). Indices outside ``[0, depth)`` (masked values) are dropped. As in Keras's torch backend, the
    reduced axis is axis 1 of a rank > 1 input."""
    if indices.ndim == 0:
        indices = indices.reshape(1)
    classes = creation.arange(depth, dtype=indices.dtype)
    if mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices.reshape(tuple(indices.shape[:-1]))
        return indices.unsqueeze(-1).eq(classes).to(_dt.float32)
    hits = indices.unsqueeze(-1).eq(classes)
    axis = 1 if indices.ndim > 1 else 0
    if mode == "multi_hot":
        return hits.any(dim=axis).to(_dt.float32)
    counts = hits.to(_dt.float32)
    if count_weights is not None:
        counts = counts * count_weights.to(_dt.float32).unsqueeze(-1)
    out = counts.sum(dim=axis)
    if mode == "tf_idf":
        out = out * idf
    return out
