"""Keras metrics (``ts.keras.metrics``): stateful objects with ``update_state(y_true, y_pred,
sample_weight=None)``, ``result()`` and ``reset_state()``, plus the Keras metric functions.

Metrics are not differentiable: ``update_state`` computes with Tessera ops under ``no_grad`` and
accumulates into float64 state tensors (totals, counts, confusion counts) with in-place ops, so a captured
training step sees the metric updates. ``result()`` (host-side reporting) returns a float32 tensor.

Example:
    >>> import numpy as np
    >>> m = ts.keras.metrics.SparseCategoricalAccuracy()
    >>> m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..core import creation
from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta, apply, is_tracing
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from . import losses as _losses

__all__ = [
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "RootMeanSquaredError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Precision",
    "Recall",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "AUC",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "get",
    "serialize",
    "deserialize",
]

EPSILON = 1e-7
_F64 = _dt.float64


def _tensor(value, who: str, name: str) -> Tensor:
    """``value`` as a tensor (user arrays and lists become new tensors; tensors are used as they are)."""
    if isinstance(value, Tensor):
        return value
    try:
        arr = np.asarray(value)
    except Exception:
        raise TypeError(f"{who}: {name} must be a Tensor or array-like, got {type(value).__name__}") from None
    if arr.dtype == object:
        raise TypeError(f"{who}: {name} must be numeric, got an object array")
    return Tensor._wrap(np.ascontiguousarray(arr))


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _align(y_true: Tensor, y_pred: Tensor):
    """Keras's ``squeeze_or_expand_to_same_rank``: drop a trailing size-1 axis from the higher-rank side."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.squeeze(-1)
    return y_true, y_pred


def _broadcast(t: Tensor, shape: tuple, err: str) -> Tensor:
    """``t`` broadcast to exactly ``shape`` (NumPy's ``broadcast_to`` rule); ValueError ``err`` otherwise."""
    shape = tuple(shape)
    if tuple(t.shape) == shape:
        return t
    try:
        ok = np.broadcast_shapes(tuple(t.shape), shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(err)
    return t.expand(shape)


def _weights_like(sample_weight, values: Tensor, who: str) -> Tensor | None:
    if sample_weight is None:
        return None
    w = _tensor(sample_weight, who, "sample_weight").to(_F64)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w.squeeze(-1)
    while w.ndim < values.ndim:
        w = w.unsqueeze(-1)
    return _broadcast(
        w,
        tuple(values.shape),
        f"{who}: sample_weight of shape {tuple(w.shape)} does not broadcast to the values of shape "
        f"{tuple(values.shape)}",
    )


def _scalar(value: float) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=np.float32))


def _state(metric, name: str, shape=()) -> None:
    """(Re)set the float64 state variable ``name`` to zeros: in place (the ``zero_`` op) when it exists
    with that shape, so that a captured training step keeps updating the same tensor."""
    t = metric.__dict__.get(name)
    if isinstance(t, Tensor) and tuple(t.shape) == tuple(shape):
        with no_grad():
            t.zero_()
    else:
        metric.__dict__[name] = creation.zeros(*shape, dtype=_F64)


def _accumulate(state: Tensor, increment: Tensor) -> None:
    """``state += increment`` as ops (an add, then ``copy_`` into the state: the same values as ``add_``,
    and cheaper than its in-place path today). Call under ``no_grad``."""
    state.copy_(state + increment)


def _metric_update_forward(state, *increments):
    # Check every increment before writing anything (a failed update leaves the state as it was).
    rows = state.shape[1:]
    if len(increments) != state.shape[0]:
        raise ValueError(f"expected {state.shape[0]} increments, got {len(increments)}")
    for inc in increments:
        shape = getattr(inc, "shape", ())
        if shape != rows and (len(shape) > len(rows) or np.broadcast_shapes(shape, rows) != rows):
            raise ValueError(f"increment of shape {shape} does not broadcast to {rows}")
    for i, inc in enumerate(increments):
        state[i] += inc


# state[i] += increments[i] for every row of a metric's state (a Mean's [total, count]) in one fused op.
METRIC_UPDATE = OpDef("keras_metric_update", _metric_update_forward, mutates=(0,))


@METRIC_UPDATE.defshape
def _metric_update_shape(state, *increments):
    shape = tuple(state.shape)
    if not shape or len(increments) != shape[0]:
        raise OpError(
            f"keras_metric_update: expected {shape[0] if shape else 0} increments, got {len(increments)}"
        )
    for inc in increments:
        inc_shape = tuple(getattr(inc, "shape", ()))
        try:
            ok = np.broadcast_shapes(inc_shape, shape[1:]) == shape[1:]
        except ValueError:
            ok = False
        if not ok:
            raise OpError(
                f"keras_metric_update: increment of shape {inc_shape} does not broadcast to {shape[1:]}"
            )
    return TensorMeta(shape, state.dtype)


def _host(t: Tensor) -> np.ndarray:
    """A state variable's values for ``result()`` (host-side reporting, after the step)."""
    return t.numpy()


# -- metric functions (Tessera ops: float64 values or bool hits per sample; the public versions return float32) -
def _accuracy(y_true, y_pred):
    y_true, y_pred = _align(y_true, y_pred)
    return y_true == y_pred  # bool hits (Mean counts them exactly)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _align(y_true, y_pred)
    cast = y_true.dtype if y_true.dtype.is_floating_point else _F64
    hit = (y_true == (y_pred > threshold).to(cast)).to(_F64)
    return hit.mean(-1) if hit.ndim else hit


def _categorical_accuracy(y_true, y_pred):
    return y_true.argmax(-1) == y_pred.argmax(-1)


def _sparse_labels(y_true, y_pred, who):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"{who}: expected y_true of shape {tuple(y_pred.shape[:-1])} (or with a trailing 1) for y_pred of "
            f"shape {tuple(y_pred.shape)}, got {tuple(y_true.shape)}"
        )
    return y_true


def _sparse_categorical_accuracy(y_true, y_pred):
    y_true = _sparse_labels(y_true, y_pred, "sparse_categorical_accuracy")
    return y_pred.argmax(-1) == y_true


def _in_top_k(labels, y_pred, k):
    # TensorFlow's in_top_k: the label is in the top k when fewer than k classes score strictly higher.
    labels = labels if labels.dtype is _dt.int64 else labels.to(_dt.int64)
    score = y_pred.gather(-1, labels.unsqueeze(-1))
    return (y_pred > score).sum(-1) < k


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(y_true.argmax(-1), y_pred, k)


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true = _sparse_labels(y_true, y_pred, "sparse_top_k_categorical_accuracy")
    return _in_top_k(y_true, y_pred, k)


def _check_same(who, y_true, y_pred):
    try:
        np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    except ValueError:
        raise ValueError(
            f"{who}: y_true of shape {tuple(y_true.shape)} does not match y_pred of shape {tuple(y_pred.shape)}"
        ) from None


def _mse(y_true, y_pred, _who="mean_squared_error"):
    y_true, y_pred = _align(y_true, y_pred)
    _check_same(_who, y_true, y_pred)
    d = (y_pred.to(_F64) - y_true).square()
    return d.mean(-1) if d.ndim else d


def _mae(y_true, y_pred, _who="mean_absolute_error"):
    y_true, y_pred = _align(y_true, y_pred)
    _check_same(_who, y_true, y_pred)
    d = (y_pred.to(_F64) - y_true).abs()
    return d.mean(-1) if d.ndim else d


def _public(core, doc):
    def fn(y_true, y_pred, **kwargs):
        name = core.__name__.lstrip("_")
        with no_grad():  # metrics are not differentiable
            return core(_tensor(y_true, name, "y_true"), _tensor(y_pred, name, "y_pred"), **kwargs).to(
                _dt.float32
            )

    fn.__name__ = core.__name__.lstrip("_")
    fn.__qualname__ = fn.__name__
    fn.__doc__ = doc
    fn._core = core
    return fn


accuracy = _public(
    _accuracy,
    """1.0 where ``y_true == y_pred`` exactly, else 0.0.

    Example:
        >>> ts.keras.metrics.accuracy([1, 2], [1, 3])
        tensor([1., 0.])
    """,
)
binary_accuracy = _public(
    _binary_accuracy,
    """Per-sample fraction of ``(y_pred > threshold) == y_true`` over the last axis.

    Example:
        >>> ts.keras.metrics.binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]])
        tensor([1., 0.])
    """,
)
categorical_accuracy = _public(
    _categorical_accuracy,
    """1.0 where ``argmax(y_true) == argmax(y_pred)``.

    Example:
        >>> ts.keras.metrics.categorical_accuracy([[0, 1]], [[0.3, 0.7]])
        tensor([1.])
    """,
)
sparse_categorical_accuracy = _public(
    _sparse_categorical_accuracy,
    """1.0 where the integer label equals ``argmax(y_pred)``.

    Example:
        >>> ts.keras.metrics.sparse_categorical_accuracy([1], [[0.3, 0.7]])
        tensor([1.])
    """,
)
top_k_categorical_accuracy = _public(
    _top_k_categorical_accuracy,
    """1.0 where the one-hot label's class is among the ``k`` (default 5) highest predictions.

    Example:
        >>> ts.keras.metrics.top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2)
        tensor([0.])
    """,
)
sparse_top_k_categorical_accuracy = _public(
    _sparse_top_k_categorical_accuracy,
    """1.0 where the integer label is among the ``k`` (default 5) highest predictions.

    Example:
        >>> ts.keras.metrics.sparse_top_k_categorical_accuracy([1], [[0.5, 0.3, 0.2]], k=2)
        tensor([1.])
    """,
)


# -- base classes -----------------------------------------------------------------------------------------
class Metric:
    """Base class of stateful metrics: subclasses implement ``update_state``, ``result`` and
    ``reset_state``. Calling a metric updates it and returns the result.

    Example:
        >>> class Count(ts.keras.metrics.Metric):
        ...     def __init__(self, name="count"):
        ...         super().__init__(name=name)
        ...         self.reset_state()
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n += len(y_true)
        ...     def result(self):
        ...         return ts.tensor(float(self.n))
        ...     def reset_state(self):
        ...         self.n = 0
        >>> m = Count(); m.update_state([1, 2], [1, 2]); float(m.result())
        2.0
    """

    def __init__(self, name: str | None = None, dtype=None) -> None:
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state")

    def reset_states(self) -> None:
        """Alias of ``reset_state`` (older Keras name)."""
        self.reset_state()

    def __call__(self, *args, **kwargs) -> Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Weighted mean of the values given to ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = ts.keras.metrics.Mean()
        >>> m.update_state([1.0, 3.0]); m.update_state([5.0], sample_weight=[2.0])
        >>> float(m.result())
        3.5
    """

    def __init__(self, name: str = "mean", dtype=None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        _state(self, "_total_count", (2,))  # [weighted total, total weight]: one state update per batch

    @property
    def total(self) -> Tensor:
        return self._total_count[0]

    @property
    def count(self) -> Tensor:
        return self._total_count[1]

    def update_state(self, values, sample_weight=None) -> None:
        with no_grad():
            v = _tensor(values, self.name, "values")
            if sample_weight is None and v.dtype is _dt.bool and v.ndim:
                # hits of an accuracy: their int64 count is exact, no float64 copy needed
                apply(METRIC_UPDATE, (self._total_count, v.sum(), float(v.numel())))
                return
            v = v.to(_F64)
            if sample_weight is None:
                total, count = (v.sum() if v.ndim else v), float(v.numel())
            elif v.ndim == 0 and isinstance(sample_weight, numbers.Real):
                total, count = (
                    v * float(sample_weight),
                    float(sample_weight),
                )  # a loss tracker's (loss, batch)
            else:
                w = _weights_like(sample_weight, v, self.name)
                total, count = (v * w).sum(), w.sum()
            # One fused op; a count known from shapes alone is a constant of the step.
            apply(METRIC_UPDATE, (self._total_count, total, count))

    def result(self) -> Tensor:
        total, count = _host(self._total_count).tolist()
        return _scalar(total / count if count else 0.0)


class Sum(Metric):
    """Weighted sum of the values given to ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = ts.keras.metrics.Sum(); m.update_state([1.0, 3.0]); float(m.result())
        4.0
    """

    def __init__(self, name: str = "sum", dtype=None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        _state(self, "total")

    def update_state(self, values, sample_weight=None) -> None:
        with no_grad():
            v = _tensor(values, self.name, "values").to(_F64)
            w = _weights_like(sample_weight, v, self.name)
            _accumulate(self.total, v.sum() if w is None else (v * w).sum())

    def result(self) -> Tensor:
        return _scalar(self.total.item())


class MeanMetricWrapper(Mean):
    """The weighted mean over samples of a per-sample metric function ``fn(y_true, y_pred, **kwargs)``.

    Example:
        >>> m = ts.keras.metrics.MeanMetricWrapper(ts.keras.metrics.accuracy, name="acc")
        >>> m.update_state([1, 2], [1, 3]); float(m.result())
        0.5
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs) -> None:
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: fn must be callable, got {type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        core = getattr(self._fn, "_core", None)
        with no_grad():
            if core is not None:  # the float64 per-sample values, not the public float32 ones
                kwargs = dict(self._fn_kwargs, _who=self.name) if core in (_mse, _mae) else self._fn_kwargs
                values = core(
                    _tensor(y_true, self.name, "y_true"), _tensor(y_pred, self.name, "y_pred"), **kwargs
                )
            else:
                values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def _wrapper_class(cls_name: str, fn, default_name: str, params: dict[str, Any], doc: str):
    def __init__(self, *args, name=default_name, dtype=None, **kwargs):
        values = dict(params)
        names = list(params)
        if len(args) > len(names):
            raise TypeError(f"{cls_name}() takes at most {len(names)} positional arguments, got {len(args)}")
        for k, v in zip(names, args):
            values[k] = v
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument {k!r}")
            values[k] = v
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
        for k, v in values.items():
            setattr(self, k, v)

    return type(
        cls_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__}
    )


Accuracy = _wrapper_class(
    "Accuracy",
    accuracy,
    "accuracy",
    {},
    """How often predictions equal labels exactly (``accuracy``).

    Example:
        >>> m = ts.keras.metrics.Accuracy(); m.update_state([1, 2], [1, 2]); float(m.result())
        1.0
    """,
)
BinaryAccuracy = _wrapper_class(
    "BinaryAccuracy",
    binary_accuracy,
    "binary_accuracy",
    {"threshold": 0.5},
    """How often ``y_pred > threshold`` matches 0/1 labels.

    Example:
        >>> m = ts.keras.metrics.BinaryAccuracy(); m.update_state([[1], [0]], [[0.9], [0.7]]); float(m.result())
        0.5
    """,
)
CategoricalAccuracy = _wrapper_class(
    "CategoricalAccuracy",
    categorical_accuracy,
    "categorical_accuracy",
    {},
    """How often ``argmax(y_pred)`` matches one-hot labels.

    Example:
        >>> m = ts.keras.metrics.CategoricalAccuracy(); m.update_state([[0, 1]], [[0.2, 0.8]]); float(m.result())
        1.0
    """,
)
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy",
    sparse_categorical_accuracy,
    "sparse_categorical_accuracy",
    {},
    """How often ``argmax(y_pred)`` matches integer labels.

    Example:
        >>> m = ts.keras.metrics.SparseCategoricalAccuracy(); m.update_state([1], [[0.2, 0.8]]); float(m.result())
        1.0
    """,
)
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy",
    top_k_categorical_accuracy,
    "top_k_categorical_accuracy",
    {"k": 5},
    """How often the one-hot label is among the top ``k`` predictions.

    Example:
        >>> m = ts.keras.metrics.TopKCategoricalAccuracy(k=1)
        >>> m.update_state([[0, 1]], [[0.2, 0.8]]); float(m.result())
        1.0
    """,
)
SparseTopKCategoricalAccuracy = _wrapper_class(
    "SparseTopKCategoricalAccuracy",
    sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy",
    {"k": 5},
    """How often the integer label is among the top ``k`` predictions.

    Example:
        >>> m = ts.keras.metrics.SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([1], [[0.2, 0.8]]); float(m.result())
        1.0
    """,
)
_mse.__name__ = "mean_squared_error"
_mae.__name__ = "mean_absolute_error"
MeanSquaredError = _wrapper_class(
    "MeanSquaredError",
    _public(_mse, "Per-sample mean squared error."),
    "mean_squared_error",
    {},
    """Mean squared error.

    Example:
        >>> m = ts.keras.metrics.MeanSquaredError(); m.update_state([[0.0]], [[2.0]]); float(m.result())
        4.0
    """,
)
MeanAbsoluteError = _wrapper_class(
    "MeanAbsoluteError",
    _public(_mae, "Per-sample mean absolute error."),
    "mean_absolute_error",
    {},
    """Mean absolute error.

    Example:
        >>> m = ts.keras.metrics.MeanAbsoluteError(); m.update_state([[0.0]], [[2.0]]); float(m.result())
        2.0
    """,
)
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError",
    _losses.mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    {},
    """Mean absolute percentage error.

    Example:
        >>> m = ts.keras.metrics.MeanAbsolutePercentageError(); m.update_state([[2.0]], [[1.0]])
        >>> float(m.result())
        50.0
    """,
)
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError",
    _losses.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    {},
    """Mean squared logarithmic error.

    Example:
        >>> m = ts.keras.metrics.MeanSquaredLogarithmicError(); m.update_state([[0.0]], [[0.0]])
        >>> float(m.result())
        0.0
    """,
)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy",
    _losses.binary_crossentropy,
    "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0},
    """Mean binary cross-entropy.

    Example:
        >>> m = ts.keras.metrics.BinaryCrossentropy(); m.update_state([[1.0]], [[0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """,
)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy",
    _losses.categorical_crossentropy,
    "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0},
    """Mean categorical cross-entropy.

    Example:
        >>> m = ts.keras.metrics.CategoricalCrossentropy(); m.update_state([[0.0, 1.0]], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """,
)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy",
    _losses.sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    {"from_logits": False},
    """Mean sparse categorical cross-entropy.

    Example:
        >>> m = ts.keras.metrics.SparseCategoricalCrossentropy(); m.update_state([1], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """,
)
KLDivergence = _wrapper_class(
    "KLDivergence",
    _losses.kl_divergence,
    "kl_divergence",
    {},
    """Mean Kullback-Leibler divergence.

    Example:
        >>> m = ts.keras.metrics.KLDivergence(); m.update_state([[0.5, 0.5]], [[0.5, 0.5]]); float(m.result())
        0.0
    """,
)


class RootMeanSquaredError(Mean):
    """Square root of the weighted mean squared error.

    Example:
        >>> m = ts.keras.metrics.RootMeanSquaredError(); m.update_state([[0.0], [0.0]], [[3.0], [3.0]])
        >>> float(m.result())
        3.0
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype=None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            t, p = _align(_tensor(y_true, self.name, "y_true"), _tensor(y_pred, self.name, "y_pred"))
            d = (p.to(_F64) - t).square()
        super().update_state(d, sample_weight)

    def result(self) -> Tensor:
        total, count = _host(self._total_count).tolist()
        return _scalar(np.sqrt(total / count) if count else 0.0)


# -- confusion-matrix metrics --------------------------------------------------------------------------------
def _prepare_binary(metric, y_true, y_pred, sample_weight, class_id=None, top_k=None):
    t = _tensor(y_true, metric.name, "y_true").to(_F64)
    p = _tensor(y_pred, metric.name, "y_pred").to(_F64)
    t, p = _align(t, p)
    t = _broadcast(
        t,
        tuple(p.shape),
        f"{metric.name}: y_true of shape {tuple(t.shape)} does not match y_pred of shape {tuple(p.shape)}",
    )
    w = _weights_like(sample_weight, p, metric.name)
    if top_k is not None:
        if p.ndim == 0:
            raise ValueError(f"{metric.name}: top_k needs predictions with a class axis")
        # Keep the predictions >= the k-th largest: those with fewer than k classes strictly above them.
        k = min(top_k, p.shape[-1])
        above = (p.unsqueeze(-2) > p.unsqueeze(-1)).sum(-1)
        p = ops.where(above < k, p, -np.inf)
    if class_id is not None:
        t, p = t[..., class_id], p[..., class_id]
        w = None if w is None else w[..., class_id]
    return t.reshape(-1), p.reshape(-1), (None if w is None else w.reshape(-1))


def _as_thresholds(thresholds, who):
    if thresholds is None:
        return [0.5], True
    single = np.isscalar(thresholds)
    th = [float(thresholds)] if single else [float(x) for x in thresholds]
    for x in th:
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"{who}: threshold values must be in [0, 1], got {x}")
    return th, single


class _ThresholdCounts(Metric):
    """Accumulates true/false positives/negatives at fixed thresholds (``y_pred > threshold``)."""

    _needed = ("tp", "fp", "tn", "fn")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._thresholds, self._single = _as_thresholds(thresholds, self.name)
        self.thresholds = thresholds if thresholds is not None else 0.5
        self.top_k = top_k
        self.class_id = class_id
        self.reset_state()

    def reset_state(self) -> None:
        n = len(self._thresholds)
        for name in self._needed:
            _state(self, name, (n,))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        th = self.__dict__.get("_th_column")
        if th is None:  # a constant: the thresholds as a column, compared with every prediction
            th = self.__dict__["_th_column"] = Tensor._wrap(np.asarray(self._thresholds).reshape(-1, 1))
        with no_grad():
            t, p, w = _prepare_binary(self, y_true, y_pred, sample_weight, self.class_id, self.top_k)
            pos = t > 0
            neg = ~pos
            pred_pos = p.unsqueeze(0) > th
            pred_neg = ~pred_pos
            w = ops.ones_like(p) if w is None else w
            _accumulate(self.tp, (pred_pos & pos).to(_F64) @ w)
            _accumulate(self.fp, (pred_pos & neg).to(_F64) @ w)
            _accumulate(self.fn, (pred_neg & pos).to(_F64) @ w)
            _accumulate(self.tn, (pred_neg & neg).to(_F64) @ w)

    def _out(self, values):
        values = np.asarray(_host(values) if isinstance(values, Tensor) else values, dtype=np.float32)
        return Tensor._wrap(values[0] if self._single else values)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"thresholds": self.thresholds, "top_k": self.top_k, "class_id": self.class_id})
        return config


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


class Precision(_ThresholdCounts):
    """``tp / (tp + fp)`` for predictions above ``thresholds`` (default 0.5; a list gives one value each).

    Example:
        >>> m = ts.keras.metrics.Precision(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); float(m.result())
        0.6666666865348816
    """

    def result(self) -> Tensor:
        tp, fp = _host(self.tp), _host(self.fp)
        return self._out(_div(tp, tp + fp))


class Recall(_ThresholdCounts):
    """``tp / (tp + fn)`` for predictions above ``thresholds`` (default 0.5).

    Example:
        >>> m = ts.keras.metrics.Recall(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); float(m.result())
        0.6666666865348816
    """

    def result(self) -> Tensor:
        tp, fn = _host(self.tp), _host(self.fn)
        return self._out(_div(tp, tp + fn))


def _count_class(attr, doc):
    class _C(_ThresholdCounts):
        def __init__(self, thresholds=None, name=None, dtype=None):
            super().__init__(thresholds=thresholds, name=name, dtype=dtype)

        def result(self) -> Tensor:
            return self._out(getattr(self, attr))

        def get_config(self):
            return {"name": self.name, "dtype": self.dtype, "thresholds": self.thresholds}

    _C.__doc__ = doc
    return _C


TruePositives = _count_class("tp", "Weighted count of true positives.")
TruePositives.__name__ = TruePositives.__qualname__ = "TruePositives"
FalsePositives = _count_class("fp", "Weighted count of false positives.")
FalsePositives.__name__ = FalsePositives.__qualname__ = "FalsePositives"
TrueNegatives = _count_class("tn", "Weighted count of true negatives.")
TrueNegatives.__name__ = TrueNegatives.__qualname__ = "TrueNegatives"
FalseNegatives = _count_class("fn", "Weighted count of false negatives.")
FalseNegatives.__name__ = FalseNegatives.__qualname__ = "FalseNegatives"


class AUC(Metric):
    """Area under the ROC (or PR) curve, approximated as Keras does from confusion counts at
    ``num_thresholds`` evenly spaced thresholds (a Riemann sum; ``"interpolation"`` uses trapezoids for ROC
    and the Davis-Goadrich interpolation for PR).

    Args:
        num_thresholds: number of thresholds (> 1); ignored when ``thresholds`` is given.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        thresholds: explicit thresholds in [0, 1] (``-eps`` and ``1 + eps`` are added).
        multi_label: treat each column as its own label and average the AUCs (``label_weights``).
        from_logits: apply a sigmoid to the predictions first.

    Example:
        >>> m = ts.keras.metrics.AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]); float(m.result())
        0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype=None,
        thresholds=None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights=None,
        from_logits: bool = False,
    ) -> None:
        super().__init__(name=name or "auc", dtype=dtype)
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: invalid curve {curve!r}; expected 'ROC' or 'PR'")
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f"AUC: invalid summation_method {summation_method!r}; expected 'interpolation', 'minoring' or "
                "'majoring'"
            )
        if thresholds is not None:
            th = sorted(float(x) for x in thresholds)
            self.num_thresholds = len(th) + 2
        else:
            if not isinstance(num_thresholds, (int, np.integer)) or num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an int > 1, got {num_thresholds!r}")
            self.num_thresholds = int(num_thresholds)
            th = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.asarray([0.0 - EPSILON] + th + [1.0 + EPSILON])
        self._explicit_thresholds = None if thresholds is None else th
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=np.float64)
        self.from_logits = bool(from_logits)
        self._labels = num_labels if multi_label else None
        self.reset_state()

    @property
    def thresholds(self) -> list[float]:
        return self._thresholds.tolist()

    def reset_state(self) -> None:
        shape = (self.num_thresholds,) if self._labels is None else (self.num_thresholds, self._labels)
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            _state(self, name, shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        th = self.__dict__.get("_th_tensor")
        if th is None:  # a constant: the thresholds, compared with every prediction
            th = self.__dict__["_th_tensor"] = Tensor._wrap(self._thresholds.copy())
        with no_grad():
            self._update(th, y_true, y_pred, sample_weight)

    def _update(self, th, y_true, y_pred, sample_weight) -> None:
        t = _tensor(y_true, self.name, "y_true").to(_F64)
        p = _tensor(y_pred, self.name, "y_pred").to(_F64)
        t, p = _align(t, p)
        t = _broadcast(
            t,
            tuple(p.shape),
            f"AUC: y_true of shape {tuple(t.shape)} does not match y_pred of shape {tuple(p.shape)}",
        )
        if self.from_logits:
            p = 1.0 / (1.0 + (-p).exp())
        if not is_tracing() and p.numel():  # a value check: a trace must not depend on the predictions
            if ((p < 0) | (p > 1)).any().item():
                raise ValueError("AUC: predictions must be in [0, 1] (pass from_logits=True for logits)")
        w = _weights_like(sample_weight, p, self.name)
        w = ops.ones_like(p) if w is None else w
        # A prediction counts as positive at the thresholds strictly below it; labels weigh in as t (positive)
        # and 1 - t (negative), as Keras does for soft labels.
        pos_w, neg_w = t * w, (1.0 - t) * w
        if self.multi_label:
            if p.ndim < 2:
                raise ValueError(
                    f"AUC: multi_label=True needs predictions of shape (N, labels), got {tuple(p.shape)}"
                )
            labels = p.shape[-1]
            if self._labels is None:
                self._labels = labels
                self.reset_state()
            elif labels != self._labels:
                raise ValueError(
                    f"AUC: expected {self._labels} labels, got predictions of shape {tuple(p.shape)}"
                )
            p2, pos2, neg2 = (a.reshape(-1, labels) for a in (p, pos_w, neg_w))
            above = (p2.unsqueeze(0) > th.reshape(-1, 1, 1)).to(_F64)  # (thresholds, N, labels)
            below = 1.0 - above
            _accumulate(self.true_positives, (above * pos2).sum(1))
            _accumulate(self.false_positives, (above * neg2).sum(1))
            _accumulate(self.true_negatives, (below * neg2).sum(1))
            _accumulate(self.false_negatives, (below * pos2).sum(1))
            return
        above = (p.reshape(1, -1) > th.reshape(-1, 1)).to(_F64)  # (thresholds, N)
        below = 1.0 - above
        pos_w, neg_w = pos_w.reshape(-1), neg_w.reshape(-1)
        _accumulate(self.true_positives, above @ pos_w)
        _accumulate(self.false_positives, above @ neg_w)
        _accumulate(self.true_negatives, below @ neg_w)
        _accumulate(self.false_negatives, below @ pos_w)

    def _area(self, tp, fp, tn, fn) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _interpolate_pr_auc(tp, fp, fn)
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(((x[:-1] - x[1:]) * heights).sum())

    def result(self) -> Tensor:
        tp, fp, tn, fn = (
            _host(v)
            for v in (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives)
        )
        if not self.multi_label:
            return _scalar(self._area(tp, fp, tn, fn))
        if self._labels is None:
            return _scalar(0.0)
        areas = np.array([self._area(tp[:, j], fp[:, j], tn[:, j], fn[:, j]) for j in range(self._labels)])
        if self.label_weights is None:
            return _scalar(areas.mean())
        return _scalar(float(_div((areas * self.label_weights).sum(), self.label_weights.sum())))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_thresholds": self.num_thresholds,
                "curve": self.curve,
                "summation_method": self.summation_method,
                "multi_label": self.multi_label,
                "num_labels": self.num_labels,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits,
            }
        )
        if self._explicit_thresholds is not None:
            config["thresholds"] = list(self._explicit_thresholds)
        return config


def _interpolate_pr_auc(tp, fp, fn) -> float:
    """Davis & Goadrich (2006) interpolation of the PR curve, as ``keras.metrics.AUC``."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    prec_slope = _div(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - prec_slope * p[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_p_ratio = np.where(
            (p[:-1] > 0) & (p[1:] > 0), _div(p[:-1], np.maximum(p[1:], 0)), np.ones_like(p[1:])
        )
        increment = _div(
            prec_slope * (dtp + intercept * np.log(safe_p_ratio)), np.maximum(tp[1:] + fn[1:], 0)
        )
    return float(increment.sum())


# -- lookup -------------------------------------------------------------------------------------------------
_CLASSES = {
    c.__name__: c
    for c in (
        Mean,
        Sum,
        Accuracy,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        RootMeanSquaredError,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Precision,
        Recall,
        TruePositives,
        FalsePositives,
        TrueNegatives,
        FalseNegatives,
        AUC,
    )
}

_ALIASES = {
    "acc": Accuracy,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "kld": KLDivergence,
    "top_k_accuracy": TopKCategoricalAccuracy,
}
_LOOKUP = dict(_CLASSES)
_LOOKUP.update({_snake(k): v for k, v in _CLASSES.items()})
_LOOKUP["auc"] = AUC
_LOOKUP["precision"] = Precision
_LOOKUP["recall"] = Recall
_LOOKUP.update(_ALIASES)


def serialize(metric) -> str | dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a ``Metric``; names pass through; a plain function
    serializes as its name.

    Example:
        >>> ts.keras.metrics.serialize(ts.keras.metrics.AUC(num_thresholds=5))["config"]["num_thresholds"]
        5
    """
    if metric is None or isinstance(metric, str):
        return metric
    if isinstance(metric, Metric):
        if type(metric) is MeanMetricWrapper:
            fn = metric._fn
            return {"class_name": "MeanMetricWrapper", "config": {"fn": fn.__name__, "name": metric.name}}
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    if callable(metric):
        return getattr(metric, "__name__", repr(metric))
    raise TypeError(f"metrics.serialize: cannot serialize {type(metric).__name__}")


_FUNCTIONS = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Metric:
    """Rebuild a metric from ``serialize``'s output; a name gives a metric object named after it
    (``"mae"`` -> a ``MeanAbsoluteError`` named ``"mae"``).

    Example:
        >>> ts.keras.metrics.deserialize("mae").name
        'mae'
    """
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        obj = custom_objects.get(config) or _LOOKUP.get(config)
        if obj is None:
            fn = _FUNCTIONS.get(config) or _losses._FUNCTIONS.get(config)
            if fn is not None:
                return MeanMetricWrapper(fn, name=config)
            raise ValueError(f"metrics.deserialize: unknown metric {config!r}")
        if isinstance(obj, type):
            return obj(name=config) if config == _snake(config) or config in _ALIASES else obj()
        if isinstance(obj, Metric):
            return obj
        return MeanMetricWrapper(obj, name=config)
    if isinstance(config, dict):
        name = config.get("class_name")
        cfg = dict(config.get("config") or {})
        if name == "MeanMetricWrapper":
            fn_name = cfg.pop("fn")
            fn = custom_objects.get(fn_name) or _FUNCTIONS.get(fn_name) or _losses._FUNCTIONS.get(fn_name)
            if fn is None:
                raise ValueError(f"metrics.deserialize: unknown metric function {fn_name!r}")
            return MeanMetricWrapper(fn, **cfg)
        cls = custom_objects.get(name) or _CLASSES.get(name)
        if cls is None:
            raise ValueError(f"metrics.deserialize: unknown metric class {name!r}; pass it in custom_objects")
        return cls.from_config(cfg)
    raise TypeError(f"metrics.deserialize: expected a str or dict, got {type(config).__name__}")


def get(identifier, custom_objects: dict[str, Any] | None = None):
    """Resolve a metric: a Keras name (``"accuracy"``, ``"mae"``, ``"AUC"``...), a serialized dict, a
    ``Metric`` class or object, or a function ``fn(y_true, y_pred)`` (returned as is).

    Example:
        >>> type(ts.keras.metrics.get("sparse_categorical_accuracy")).__name__
        'SparseCategoricalAccuracy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    raise ValueError(f"metrics.get: could not interpret metric identifier {identifier!r}")


# The built-in updates run under no_grad themselves, so the training loop need not detach predictions first.
_NO_GRAD_UPDATES = frozenset(
    c.update_state for c in (Mean, Sum, MeanMetricWrapper, RootMeanSquaredError, _ThresholdCounts, AUC)
)


# The rest of Keras's metrics (metrics_more imports the helpers above) and the loss-style functions Keras
# also exports from keras.metrics.
from . import metrics_more as _more  # noqa: E402
from .metrics_more import *  # noqa: E402, F403

_LOSS_FUNCTIONS = (
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_categorical_crossentropy", "squared_hinge",
)  # fmt: skip
for _name in _LOSS_FUNCTIONS:
    globals()[_name] = getattr(_losses, _name)
__all__ += list(_more.__all__) + list(_LOSS_FUNCTIONS)
for _name in _more.__all__:
    _obj = getattr(_more, _name)
    if isinstance(_obj, type):
        _CLASSES[_name] = _obj
        _LOOKUP[_name] = _LOOKUP[_snake(_name)] = _obj
    else:
        _FUNCTIONS[_name] = _obj
_FUNCTIONS.update({n: getattr(_losses, n) for n in _LOSS_FUNCTIONS})
