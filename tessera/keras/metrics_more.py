"""The Keras metrics beyond ``metrics.py``'s core set: means of the loss-style functions (hinges,
Poisson, log-cosh, cosine similarity, correlations), ``R2Score``, ``F1Score``/``FBetaScore``, the IoU
family over a confusion matrix, and the "X at fixed Y" threshold metrics. State lives in float64 tensors
updated with ops under ``no_grad``, as in ``metrics.py``; ``keras.metrics`` exports them all.

Example:
    >>> m = ts.keras.metrics.R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
    >>> round(float(m.result()), 4)
    0.5
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import ops
from ..core import creation
from ..core import dtypes as _dt
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from . import config as _config
from . import losses as _losses
from .metrics import (
    _F64,
    Metric,
    _accumulate,
    _align,
    _host,
    _state,
    _tensor,
    _ThresholdCounts,
    _wrapper_class,
)

__all__ = [
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "Poisson",
    "LogCoshError",
    "CosineSimilarity",
    "PearsonCorrelation",
    "ConcordanceCorrelation",
    "R2Score",
    "FBetaScore",
    "F1Score",
    "IoU",
    "MeanIoU",
    "BinaryIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "cosine_similarity",
    "pearson_correlation",
    "concordance_correlation",
]


def _pair(y_true, y_pred, who):
    p = _tensor(y_pred, who, "y_pred")
    p = p if p.dtype.is_floating_point else p.float()
    t = _tensor(y_true, who, "y_true").to(p.dtype)
    return _align(t, p)


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """The cosine similarity of ``y_true`` and ``y_pred`` along ``axis`` (positive, unlike the loss).

    Example:
        >>> ts.keras.metrics.cosine_similarity([[1.0, 0.0]], [[2.0, 0.0]])
        tensor([1.])
    """
    t, p = _pair(y_true, y_pred, "cosine_similarity")

    def unit(v):
        return v * ops.rsqrt(v.square().sum(axis, keepdim=True).clamp(min=1e-12))

    return (unit(t) * unit(p)).sum(axis)


def pearson_correlation(y_true, y_pred, axis: int = -1) -> Tensor:
    """Pearson's correlation coefficient of ``y_true`` and ``y_pred`` along ``axis``.

    Example:
        >>> ts.keras.metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])  # doctest: +ELLIPSIS
        tensor([0.99...])
    """
    t, p = _pair(y_true, y_pred, "pearson_correlation")
    tn = t - t.mean(axis, keepdim=True)
    pn = p - p.mean(axis, keepdim=True)
    tn = tn / tn.std(axis, keepdim=True, unbiased=False)
    pn = pn / pn.std(axis, keepdim=True, unbiased=False)
    return (tn * pn).mean(axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> Tensor:
    """Lin's concordance correlation coefficient along ``axis`` (Keras's formula).

    Example:
        >>> ts.keras.metrics.concordance_correlation([[1.0, 2.0]], [[1.0, 2.0]])  # doctest: +ELLIPSIS
        tensor([0.99...])
    """
    t, p = _pair(y_true, y_pred, "concordance_correlation")
    t_mean, p_mean = t.mean(axis, keepdim=True), p.mean(axis, keepdim=True)
    t_var = (t - t_mean).var(axis, keepdim=True, unbiased=False)
    p_var = (p - p_mean).var(axis, keepdim=True, unbiased=False)
    covar = (t - p_mean) * (p - p_mean)
    norm = t_var + p_var + (t_mean - p_mean).square()
    return (2.0 * covar / (norm + _config.epsilon())).mean(axis)


def _detached(fn):
    def metric_fn(y_true, y_pred, **kwargs):
        with no_grad():
            return fn(y_true, y_pred, **kwargs).to(_F64)

    metric_fn.__name__ = fn.__name__
    return metric_fn


def _mean_of(cls_name: str, fn, default_name: str, params: dict, what: str):
    """A ``MeanMetricWrapper`` class: the weighted mean over samples of ``fn``."""
    cls = _wrapper_class(
        cls_name, _detached(fn), default_name, params,
        f"""{what}

    Example:
        >>> m = ts.keras.metrics.{cls_name}(); m.update_state([[1.0, 0.0]], [[0.6, 0.4]])
        >>> m.result().shape
        tessera.Size([])
    """,
    )  # fmt: skip
    cls.__module__ = __name__
    return cls


Hinge = _mean_of("Hinge", _losses.hinge, "hinge", {}, "Mean hinge loss.")
SquaredHinge = _mean_of(
    "SquaredHinge", _losses.squared_hinge, "squared_hinge", {}, "Mean squared hinge loss."
)
CategoricalHinge = _mean_of(
    "CategoricalHinge", _losses.categorical_hinge, "categorical_hinge", {}, "Mean categorical hinge loss."
)
Poisson = _mean_of("Poisson", _losses.poisson, "poisson", {}, "Mean Poisson loss.")
LogCoshError = _mean_of("LogCoshError", _losses.log_cosh, "logcosh", {}, "Mean log-cosh error.")
CosineSimilarity = _mean_of(
    "CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1}, "Mean cosine similarity."
)
PearsonCorrelation = _mean_of(
    "PearsonCorrelation", pearson_correlation, "pearson_correlation", {"axis": -1},
    "Mean Pearson correlation (per batch, along ``axis``).",
)  # fmt: skip
ConcordanceCorrelation = _mean_of(
    "ConcordanceCorrelation", concordance_correlation, "concordance_correlation", {"axis": -1},
    "Mean concordance correlation (per batch, along ``axis``).",
)  # fmt: skip


def _float_result(value) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=np.float32))


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output column of 2-D data, aggregated
    with ``class_aggregation`` (``"uniform_average"``, ``"variance_weighted_average"`` or None) and adjusted
    for ``num_regressors``.

    Example:
        >>> m = ts.keras.metrics.R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [3.0]])
        >>> float(m.result())
        1.0
    """

    def __init__(
        self, class_aggregation="uniform_average", num_regressors: int = 0, name="r2_score", dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(
                "R2Score: invalid value for argument `class_aggregation`. Expected one of (None, 'uniform_average', "
                f"'variance_weighted_average'). Received: class_aggregation={class_aggregation!r}"
            )
        if num_regressors < 0:
            raise ValueError(
                f"R2Score: `num_regressors` must be >= 0. Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._columns = None
        self.reset_state()

    def reset_state(self) -> None:
        _state(self, "num_samples", ())
        if self._columns is not None:
            _state(self, "_stats", (4, self._columns))  # sum, squared sum, residual sum, count

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            t = _tensor(y_true, self.name, "y_true").to(_F64)
            p = _tensor(y_pred, self.name, "y_pred").to(_F64)
            t, p = _align(t, p)
            if t.ndim != 2 or p.ndim != 2:
                raise ValueError(
                    "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                    f"y_pred.shape={tuple(p.shape)} and y_true.shape={tuple(t.shape)}."
                )
            if self._columns is None:
                self._columns = int(p.shape[-1])
                _state(self, "_stats", (4, self._columns))
            w = (
                ops.ones_like(t)
                if sample_weight is None
                else _tensor(sample_weight, self.name, "sample_weight")
            )
            w = w.to(_F64)
            if w.ndim == 1:
                w = w.unsqueeze(1)
            w = w.expand(tuple(t.shape))
            wt = t * w
            inc = ops.stack([wt.sum(0), (t * wt).sum(0), ((t - p).square() * w).sum(0), w.sum(0)])
            _accumulate(self._stats, inc)
            _accumulate(self.num_samples, ops.ones_like(self.num_samples) * float(t.numel()))

    def result(self) -> Tensor:
        if self._columns is None:
            return _float_result(0.0)
        s, sq, res, count = _host(self._stats)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s / count
            total = sq - s * mean
            raw = 1 - res / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        n = float(_host(self.num_samples))
        if self.num_regressors and self.num_regressors < n - 1:
            r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - self.num_regressors - 1.0)
        return _float_result(r2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}  # fmt: skip


class FBetaScore(Metric):
    """The F-beta score of multi-label / one-hot predictions, per class (``average=None``) or averaged
    (``"micro"``, ``"macro"``, ``"weighted"``); predictions above ``threshold`` (default: the row's
    maximum) count as positive.

    Example:
        >>> m = ts.keras.metrics.FBetaScore(beta=2.0, average="micro")
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.6, 0.4]]); round(float(m.result()), 4)
        0.5
    """

    def __init__(self, average=None, beta: float = 1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "FBetaScore: invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average!r}"
            )
        if not isinstance(beta, float):
            raise ValueError(f"FBetaScore: `beta` should be a Python float. Received: beta={beta!r}")
        if beta <= 0.0:
            raise ValueError(f"FBetaScore: `beta` should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"FBetaScore: `threshold` should be a Python float. Received: {threshold!r}")
            if not 0.0 < threshold <= 1.0:
                raise ValueError(
                    f"FBetaScore: `threshold` should verify 0 < threshold <= 1. Received: {threshold}"
                )
        self.average, self.beta, self.threshold = average, beta, threshold
        self._classes = None
        self.reset_state()

    def reset_state(self) -> None:
        if self._classes is not None:
            _state(self, "_counts", (4,) + (() if self.average == "micro" else (self._classes,)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            t = _tensor(y_true, self.name, "y_true").to(_F64)
            p = _tensor(y_pred, self.name, "y_pred").to(_F64)
            if t.ndim != 2 or p.ndim != 2:
                raise ValueError(
                    "FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                    f"y_pred.shape={tuple(p.shape)} and y_true.shape={tuple(t.shape)}."
                )
            if self._classes is None:
                self._classes = int(p.shape[-1])
                self.reset_state()
            if self.threshold is None:
                hit = (p >= p.amax(-1, keepdim=True)) & (p.abs() > 1e-9)
            else:
                hit = p > self.threshold
            hit = hit.to(_F64)
            w = None if sample_weight is None else _tensor(sample_weight, self.name, "sample_weight").to(_F64)

            def total(v):
                if w is not None:
                    v = v * w.unsqueeze(1)
                return v.sum() if self.average == "micro" else v.sum(0)

            inc = ops.stack([total(hit * t), total(hit * (1 - t)), total((1 - hit) * t), total(t)])
            _accumulate(self._counts, inc)

    def result(self) -> Tensor:
        if self._classes is None:
            return _float_result(0.0)
        eps = _config.epsilon()
        tp, fp, fn, weights = (np.asarray(v, dtype=np.float32) for v in _host(self._counts))
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta**2
        score = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            score = (score * weights / (weights.sum() + eps)).sum()
        elif self.average is not None:
            score = score.mean()
        return _float_result(score)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score (``FBetaScore`` with ``beta=1``).

    Example:
        >>> m = ts.keras.metrics.F1Score(average="macro"); m.update_state([[1, 0]], [[0.8, 0.2]])
        >>> round(float(m.result()), 4)
        0.5
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config


# -- IoU ---------------------------------------------------------------------------------------------------
class IoU(Metric):
    """Intersection-over-union of the classes ``target_class_ids`` from a confusion matrix accumulated over
    batches (integer labels, or one-hot/probabilities with ``sparse_y_true/sparse_y_pred=False``); labels
    equal to ``ignore_class`` are skipped. The result is the mean over the target classes present.

    Example:
        >>> m = ts.keras.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes: int, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):  # fmt: skip
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(
                f"{type(self).__name__}: num_classes must be a positive int, got {num_classes!r}"
            )
        ids = list(target_class_ids)
        if not ids or max(ids) >= num_classes or min(ids) < 0:
            raise ValueError(
                f"{type(self).__name__}: target class id {max(ids) if ids else None} is out of range, which is "
                f"[0, {num_classes})."
            )
        self.num_classes, self.target_class_ids = int(num_classes), ids
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred, self.axis = (
            ignore_class, sparse_y_true, sparse_y_pred, axis
        )  # fmt: skip
        self.reset_state()

    def reset_state(self) -> None:
        _state(self, "total_cm", (self.num_classes, self.num_classes))

    def _labels(self, y_true, y_pred):
        t = _tensor(y_true, self.name, "y_true")
        p = _tensor(y_pred, self.name, "y_pred")
        if not self.sparse_y_true:
            t = t.argmax(self.axis)
        if not self.sparse_y_pred:
            p = p.argmax(self.axis)
        return t, p

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        with no_grad():
            t, p = self._labels(y_true, y_pred)
            t, p = t.to(_dt.int64).reshape(-1), p.to(_dt.int64).reshape(-1)
            if t.shape != p.shape:
                raise ValueError(
                    f"{self.name}: y_true and y_pred hold different numbers of labels: {t.shape[0]} and {p.shape[0]}"
                )
            n = self.num_classes
            valid = (t >= 0) & (t < n) & (p >= 0) & (p < n)
            if self.ignore_class is not None:
                valid = valid & (t != self.ignore_class)
            if sample_weight is None:
                w = valid.to(_F64)
            else:  # Keras's IoU state is integer: weights are truncated to ints
                w = _tensor(sample_weight, self.name, "sample_weight").reshape(-1).to(_dt.int64).to(_F64)
                w = w.expand(tuple(t.shape)) * valid.to(_F64)
            cell = ops.where(valid, t * n + p, 0)
            counts = creation.zeros(n * n, dtype=_F64).index_add(0, cell, w)
            _accumulate(self.total_cm, counts.reshape(n, n))

    def result(self) -> Tensor:
        cm = _host(self.total_cm)
        tp = np.diag(cm)
        denom = cm.sum(0) + cm.sum(1) - tp
        ids = self.target_class_ids
        tp, denom = tp[ids].astype(np.float32), denom[ids].astype(np.float32)
        valid = denom > 1e-9
        iou = np.where(valid, tp / (denom + _config.epsilon()), 0.0)
        return _float_result(iou.sum() / (valid.sum() + _config.epsilon()))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}  # fmt: skip


class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes.

    Example:
        >>> m = ts.keras.metrics.MeanIoU(num_classes=2); m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes: int, name=None, dtype=None, ignore_class=None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):  # fmt: skip
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of binary predictions: ``y_pred >= threshold`` is class 1.

    Example:
        >>> m = ts.keras.metrics.BinaryIoU(target_class_ids=[1]); m.update_state([0, 1, 1], [0.2, 0.7, 0.4])
        >>> float(m.result())
        0.5
    """

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def _labels(self, y_true, y_pred):
        p = _tensor(y_pred, self.name, "y_pred")
        return _tensor(y_true, self.name, "y_true"), (p.float() >= self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}  # fmt: skip


class OneHotIoU(IoU):
    """IoU for one-hot labels (and probabilities unless ``sparse_y_pred=True``).

    Example:
        >>> m = ts.keras.metrics.OneHotIoU(num_classes=2, target_class_ids=[1])
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8]]); float(m.result())
        1.0
    """

    def __init__(self, num_classes: int, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred: bool = False, axis: int = -1):  # fmt: skip
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """Mean IoU for one-hot labels.

    Example:
        >>> m = ts.keras.metrics.OneHotMeanIoU(num_classes=2)
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8]]); float(m.result())
        1.0
    """

    def __init__(self, num_classes: int, name=None, dtype=None, ignore_class=None, sparse_y_pred: bool = False,
                 axis: int = -1):  # fmt: skip
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


# -- "X at fixed Y" ---------------------------------------------------------------------------------------
def _even_thresholds(num_thresholds: int) -> list[float]:
    if num_thresholds == 1:
        return [0.5]
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0] + inner + [1.0]


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


class _AtFixed(_ThresholdCounts):
    """Confusion counts at ``num_thresholds`` even thresholds; ``result`` is the best ``dependent`` value
    among the thresholds whose ``constrained`` value reaches the target."""

    _target_arg = ""

    def __init__(self, value, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        who = type(self).__name__
        if not 0 <= value <= 1:
            raise ValueError(
                f"{who}: argument `{self._target_arg}` must be in the range [0, 1]. Received: {value}"
            )
        if (
            isinstance(num_thresholds, bool)
            or not isinstance(num_thresholds, numbers.Integral)
            or num_thresholds <= 0
        ):
            raise ValueError(
                f"{who}: argument `num_thresholds` must be an integer > 0. Received: {num_thresholds!r}"
            )
        super().__init__(
            thresholds=_even_thresholds(num_thresholds), class_id=class_id, name=name, dtype=dtype
        )
        self.value, self.num_thresholds = value, num_thresholds
        setattr(self, self._target_arg, value)

    def _rates(self):
        tp, fp, tn, fn = (_host(v) for v in (self.tp, self.fp, self.tn, self.fn))
        return {
            "recall": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "precision": _ratio(tp, tp + fp),
        }

    def result(self) -> Tensor:
        rates = self._rates()
        constrained, dependent = rates[self._constrained], rates[self._dependent]
        best = np.where(constrained >= self.value, dependent, 0.0).max(initial=0.0)
        return _float_result(best)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._target_arg: self.value}  # fmt: skip


class SensitivityAtSpecificity(_AtFixed):
    """The best sensitivity (recall) at a specificity >= ``specificity``.

    Example:
        >>> m = ts.keras.metrics.SensitivityAtSpecificity(0.5, num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0.0, 0.6, 0.7, 0.8]); float(m.result())
        1.0
    """

    _target_arg, _constrained, _dependent = "specificity", "specificity", "recall"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtFixed):
    """The best specificity at a sensitivity >= ``sensitivity``.

    Example:
        >>> m = ts.keras.metrics.SpecificityAtSensitivity(0.5, num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0.0, 0.6, 0.7, 0.8]); float(m.result())
        0.5
    """

    _target_arg, _constrained, _dependent = "sensitivity", "recall", "specificity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtFixed):
    """The best precision at a recall >= ``recall``.

    Example:
        >>> m = ts.keras.metrics.PrecisionAtRecall(0.5, num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0.0, 0.6, 0.7, 0.8]); round(float(m.result()), 4)
        0.6667
    """

    _target_arg, _constrained, _dependent = "recall", "recall", "precision"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtFixed):
    """The best recall at a precision >= ``precision``.

    Example:
        >>> m = ts.keras.metrics.RecallAtPrecision(0.5, num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0.0, 0.6, 0.7, 0.8]); float(m.result())
        1.0
    """

    _target_arg, _constrained, _dependent = "precision", "precision", "recall"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
