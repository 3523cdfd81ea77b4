"""``keras.utils`` array helpers: ``to_categorical``, ``normalize`` and ``pad_sequences``. NumPy inputs give
NumPy results (as in Keras); tensors go through Tessera ops."""

from __future__ import annotations

import numbers

import numpy as np

from ... import ops as _ts
from ...core.tensor import Tensor

__all__ = ["to_categorical", "normalize", "pad_sequences"]


def to_categorical(x, num_classes: int | None = None):
    """One-hot encode integer class labels: shape ``x.shape + (num_classes,)`` (a trailing axis of size 1 is
    dropped first): float64 for NumPy input (as Keras), float32 for a tensor.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if isinstance(x, Tensor):
        labels = x
        if labels.ndim > 1 and labels.shape[-1] == 1:
            labels = labels.squeeze(-1)
        n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
        from ...nn import functional as F

        return F.one_hot(labels.long(), n).float()
    arr = np.asarray(x)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(
                f"to_categorical: x must hold integer class labels, got values such as {arr.flat[0]!r}"
            )
    arr = arr.astype("int64")
    shape = arr.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = arr.reshape(-1)
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive int, got {num_classes!r}")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(
            f"to_categorical: labels must be in [0, {num_classes}); got values in [{flat.min()}, {flat.max()}]"
        )
    out = np.zeros((flat.size, num_classes))  # float64, as Keras gives for NumPy input
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero).

    Example:
        >>> normalize(np.array([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, got {order!r}")
    if isinstance(x, Tensor):
        norm = x.abs().pow(order).sum(dim=axis, keepdim=True).pow(1.0 / order)
        return x / _ts.where(norm == 0, _ts.ones_like(norm), norm)
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError("normalize: x must have at least one dimension, got a scalar")
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)


def pad_sequences(
    sequences,
    maxlen: int | None = None,
    dtype: str = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value=0.0,
) -> np.ndarray:
    """Pad (or truncate) a list of sequences to one length: an array ``(len(sequences), maxlen)`` (plus any
    trailing sample dimensions).

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
        [[2, 3], [0, 4]]
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: sequences must be iterable, got {type(sequences).__name__}")
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f'pad_sequences: {arg} must be "pre" or "post", got {v!r}')
    if maxlen is not None and (
        isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral) or maxlen < 0
    ):
        raise ValueError(f"pad_sequences: maxlen must be a non-negative int or None, got {maxlen!r}")
    lengths, sample_shape = [], ()
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: sequences[{i}] is not a sequence: {s!r}")
        lengths.append(len(s))
        if len(s) and not sample_shape:
            sample_shape = np.asarray(s).shape[1:]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and not is_str:
        raise ValueError(
            f"pad_sequences: dtype {dtype!r} is not compatible with the string padding value {value!r}; "
            "use dtype='object' for variable-length strings"
        )
    out = np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        trunc = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"pad_sequences: shape of sample {trunc.shape[1:]} of sequence at position {i} is different "
                f"from expected shape {tuple(sample_shape)}"
            )
        if padding == "post":
            out[i, : len(trunc)] = trunc
        else:
            out[i, -len(trunc) :] = trunc
    return out
