"""Keras losses (``ts.keras.losses``): loss classes and functions by their Keras names, written with
Tessera ops (so they are differentiable and share the fused cross-entropy kernels of ``ts.nn``).

Conventions follow Keras: ``y_true`` comes first; a loss function returns one value per sample (the mean
over the last axis for pointwise losses); a ``Loss`` object applies ``sample_weight`` and reduces with
``reduction`` (default ``"sum_over_batch_size"``: the sum divided by the number of values). Cross-entropies
take probabilities unless ``from_logits=True``; probabilities are clipped to ``[1e-7, 1 - 1e-7]`` as Keras.

Example:
    >>> import numpy as np
    >>> loss = ts.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> float(loss(np.array([0, 1]), ts.tensor([[2.0, 0.0], [0.0, 2.0]])))  # doctest: +ELLIPSIS
    0.1269...
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..core import creation
from ..core import dtypes as _dt
from ..core.dispatch import is_tracing
from ..core.tensor import Tensor
from ..nn import functional as F

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "LogCosh",
    "KLDivergence",
    "Poisson",
    "CosineSimilarity",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CTC",
    "Circle",
    "Dice",
    "Tversky",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "ctc",
    "circle",
    "dice",
    "tversky",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "kl_divergence",
    "poisson",
    "cosine_similarity",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mse",
    "mae",
    "mape",
    "msle",
    "kld",
    "logcosh",
    "get",
    "serialize",
    "deserialize",
]

EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight", None, "auto")


# -- helpers ----------------------------------------------------------------------------------------------
def _to_tensor(value, who: str, name: str, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tessera tensor; float64 NumPy data follows ``like``'s floating dtype (Keras floatx)."""
    if isinstance(value, Tensor):
        t = value
    else:
        try:
            arr = np.asarray(value)
        except Exception:
            raise TypeError(
                f"{who}: {name} must be a Tensor or array-like, got {type(value).__name__}"
            ) from None
        if arr.dtype == object:
            raise TypeError(f"{who}: {name} must be numeric, got an object array")
        t = Tensor._wrap(np.ascontiguousarray(arr))
    if (
        like is not None
        and t.dtype.is_floating_point
        and like.dtype.is_floating_point
        and t.dtype != like.dtype
    ):
        t = t.to(like.dtype)
    return t


def _as_float(t: Tensor, like: Tensor) -> Tensor:
    if t.dtype != like.dtype:
        dtype = like.dtype if like.dtype.is_floating_point else None
        t = t.to(dtype) if dtype is not None else t.float()
    return t


def _prepare(who: str, y_true, y_pred, float_true: bool = True) -> tuple[Tensor, Tensor]:
    """Convert and align ranks as Keras: a trailing size-1 axis on one side is matched on the other."""
    y_pred = _to_tensor(y_pred, who, "y_pred")
    if not y_pred.dtype.is_floating_point:
        y_pred = y_pred.float()
    y_true = _to_tensor(y_true, who, "y_true", like=y_pred)
    if float_true:
        y_true = _as_float(y_true, y_pred)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    try:
        np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    except ValueError:
        raise ValueError(
            f"{who}: y_true and y_pred have incompatible shapes {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        ) from None
    return y_true, y_pred


def _mean_last(t: Tensor) -> Tensor:
    return t.mean(-1) if t.ndim else t


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


# -- loss functions (one value per sample) ------------------------------------------------------------------
def mean_squared_error(y_true, y_pred) -> Tensor:
    """``mean((y_true - y_pred) ** 2, axis=-1)``.

    Example:
        >>> ts.keras.losses.mean_squared_error(ts.tensor([[1.0, 2.0]]), ts.tensor([[1.0, 4.0]]))
        tensor([2.])
    """
    y_true, y_pred = _prepare("mean_squared_error", y_true, y_pred)
    return _mean_last((y_pred - y_true).square())


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``.

    Example:
        >>> ts.keras.losses.mean_absolute_error(ts.tensor([[1.0, 2.0]]), ts.tensor([[1.0, 4.0]]))
        tensor([1.])
    """
    y_true, y_pred = _prepare("mean_absolute_error", y_true, y_pred)
    return _mean_last((y_pred - y_true).abs())


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``.

    Example:
        >>> ts.keras.losses.mean_absolute_percentage_error(ts.tensor([[2.0]]), ts.tensor([[1.0]]))
        tensor([50.])
    """
    y_true, y_pred = _prepare("mean_absolute_percentage_error", y_true, y_pred)
    diff = (y_true - y_pred).abs() / y_true.abs().clamp(min=EPSILON)
    return _mean_last(diff) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``.

    Example:
        >>> float(ts.keras.losses.mean_squared_logarithmic_error(ts.tensor([[0.0]]), ts.tensor([[0.0]]))[0])
        0.0
    """
    y_true, y_pred = _prepare("mean_squared_logarithmic_error", y_true, y_pred)
    first = ops.log1p(y_pred.clamp(min=EPSILON))
    second = ops.log1p(y_true.clamp(min=EPSILON))
    return _mean_last((first - second).square())


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """Huber loss: ``0.5 x**2`` for ``|x| <= delta``, else ``delta * (|x| - 0.5 * delta)``, averaged over
    the last axis.

    Example:
        >>> ts.keras.losses.huber(ts.tensor([[0.0, 0.0]]), ts.tensor([[0.5, 3.0]]))
        tensor([1.3125])
    """
    y_true, y_pred = _prepare("huber", y_true, y_pred)
    if delta <= 0:
        raise ValueError(f"huber: delta must be positive, got {delta}")
    shape = np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    return _mean_last(
        F.huber_loss(y_pred.expand(*shape), y_true.expand(*shape), reduction="none", delta=float(delta))
    )


def log_cosh(y_true, y_pred) -> Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably as ``x + softplus(-2x) - log 2``.

    Example:
        >>> ts.keras.losses.log_cosh(ts.tensor([[0.0]]), ts.tensor([[0.0]]))
        tensor([0.])
    """
    y_true, y_pred = _prepare("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return _mean_last(x + ops.softplus(x * -2.0) - math.log(2.0))


def kl_divergence(y_true, y_pred) -> Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[eps, 1]``.

    Example:
        >>> ts.keras.losses.kl_divergence(ts.tensor([[0.5, 0.5]]), ts.tensor([[0.5, 0.5]]))
        tensor([0.])
    """
    y_true, y_pred = _prepare("kl_divergence", y_true, y_pred)
    y_true = y_true.clamp(EPSILON, 1.0)
    y_pred = y_pred.clamp(EPSILON, 1.0)
    out = y_true * (y_true / y_pred).log()
    return out.sum(-1) if out.ndim else out


def poisson(y_true, y_pred) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``.

    Example:
        >>> ts.keras.losses.poisson(ts.tensor([[1.0]]), ts.tensor([[1.0]]))
        tensor([1.0000])
    """
    y_true, y_pred = _prepare("poisson", y_true, y_pred)
    return _mean_last(y_pred - y_true * (y_pred + EPSILON).log())


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """Negative cosine similarity along ``axis``: ``-sum(l2_normalize(y_true) * l2_normalize(y_pred))``.

    Example:
        >>> ts.keras.losses.cosine_similarity(ts.tensor([[1.0, 0.0]]), ts.tensor([[2.0, 0.0]]))
        tensor([-1.])
    """
    y_true, y_pred = _prepare("cosine_similarity", y_true, y_pred)

    def l2n(t):
        return t * ops.rsqrt(t.square().sum(axis, keepdim=True).clamp(min=1e-12))

    return -(l2n(y_true) * l2n(y_pred)).sum(axis)


def _signed(y_true: Tensor) -> Tensor:
    # Keras: labels in {0, 1} become {-1, 1}; labels already in {-1, 1} stay. Chosen with ``where`` on the
    # data (not a Python branch), so a traced loss works for either kind of labels.
    binary = ((y_true == 0) | (y_true == 1)).all()
    return ops.where(binary, y_true * 2.0 - 1.0, y_true)


def hinge(y_true, y_pred) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``; ``y_true`` in {-1, 1} (0/1 labels are converted).

    Example:
        >>> ts.keras.losses.hinge(ts.tensor([[1.0, 0.0]]), ts.tensor([[0.5, -2.0]]))
        tensor([0.2500])
    """
    y_true, y_pred = _prepare("hinge", y_true, y_pred)
    return _mean_last((1.0 - _signed(y_true) * y_pred).clamp(min=0.0))


def squared_hinge(y_true, y_pred) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``.

    Example:
        >>> ts.keras.losses.squared_hinge(ts.tensor([[1.0]]), ts.tensor([[0.5]]))
        tensor([0.2500])
    """
    y_true, y_pred = _prepare("squared_hinge", y_true, y_pred)
    return _mean_last((1.0 - _signed(y_true) * y_pred).clamp(min=0.0).square())


def categorical_hinge(y_true, y_pred) -> Tensor:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis.

    Example:
        >>> ts.keras.losses.categorical_hinge(ts.tensor([[0.0, 1.0]]), ts.tensor([[0.2, 0.9]]))
        tensor([0.3000])
    """
    y_true, y_pred = _prepare("categorical_hinge", y_true, y_pred)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return (neg - pos + 1.0).clamp(min=0.0)


def _check_probs_shape(who: str, y_true: Tensor, y_pred: Tensor) -> None:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{who}: y_true and y_pred must have the same shape, got {tuple(y_true.shape)} and "
            f"{tuple(y_pred.shape)}"
        )


def binary_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Binary cross-entropy averaged over ``axis``; ``y_pred`` holds probabilities (clipped to
    ``[eps, 1 - eps]``) or logits with ``from_logits=True``; labels are smoothed towards 0.5.

    Example:
        >>> ts.keras.losses.binary_crossentropy(ts.tensor([[1.0]]), ts.tensor([[0.0]]), from_logits=True)
        tensor([0.6931])
    """
    y_true, y_pred = _prepare("binary_crossentropy", y_true, y_pred)
    if y_true.shape != y_pred.shape:
        shape = np.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
        y_true, y_pred = y_true.expand(*shape), y_pred.expand(*shape)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        bce = -(y_true * p.log() + (1.0 - y_true) * (1.0 - p).log())
    return bce.mean(axis) if bce.ndim else bce


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Cross-entropy between one-hot (or soft) labels and predicted class probabilities along ``axis``
    (normalised to sum to 1 and clipped, as Keras) or logits with ``from_logits=True``.

    Example:
        >>> ts.keras.losses.categorical_crossentropy(ts.tensor([[0.0, 1.0]]), ts.tensor([[0.5, 0.5]]))
        tensor([0.6931])
    """
    y_true, y_pred = _prepare("categorical_crossentropy", y_true, y_pred)
    _check_probs_shape("categorical_crossentropy", y_true, y_pred)
    if y_pred.ndim == 0:
        raise ValueError("categorical_crossentropy: y_pred must have a class axis, got a scalar")
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        logp = ops.log_softmax(y_pred, axis)
    else:
        p = y_pred / y_pred.sum(axis, keepdim=True)
        logp = p.clamp(EPSILON, 1.0 - EPSILON).log()
    return -(y_true * logp).sum(axis)


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Tensor:
    """Cross-entropy between integer labels and class probabilities (or logits with ``from_logits=True``)
    along the last axis; labels equal to ``ignore_class`` contribute 0.

    Example:
        >>> ts.keras.losses.sparse_categorical_crossentropy(ts.tensor([1]), ts.tensor([[0.5, 0.5]]))
        tensor([0.6931])
    """
    who = "sparse_categorical_crossentropy"
    y_pred = _to_tensor(y_pred, who, "y_pred")
    if not y_pred.dtype.is_floating_point:
        y_pred = y_pred.float()
    y_true = _to_tensor(y_true, who, "y_true")
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"{who}: only axis=-1 is supported, got {axis}")
    if y_pred.ndim == 0:
        raise ValueError(f"{who}: y_pred must have a class axis, got a scalar")
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"{who}: expected y_true of shape {tuple(y_pred.shape[:-1])} (or with a trailing 1) for y_pred of "
            f"shape {tuple(y_pred.shape)}, got {tuple(y_true.shape)}"
        )
    labels = y_true if y_true.dtype is _dt.int64 else y_true.to(_dt.int64)
    c = y_pred.shape[-1]
    mask = None
    if ignore_class is not None:
        mask = labels == ignore_class
        labels = ops.where(mask, 0, labels)
    if not is_tracing() and labels.numel():  # a value check: a trace must not depend on the labels
        values = labels.numpy()
        if values.min() < 0 or values.max() >= c:
            bad = values[(values < 0) | (values >= c)].flat[0]
            raise ValueError(f"{who}: label {int(bad)} is out of range for {c} classes")
    if from_logits and mask is None:
        # The fused cross-entropy op (log-softmax + NLL in one kernel).
        flat = y_pred if y_pred.ndim == 2 else y_pred.reshape(-1, c)
        out = F.cross_entropy(flat, labels.reshape(-1), reduction="none")
        return out if y_pred.ndim == 2 else out.reshape(tuple(y_true.shape))
    if from_logits:
        logp = ops.log_softmax(y_pred, -1)
    else:
        p = y_pred / y_pred.sum(-1, keepdim=True)
        logp = p.clamp(EPSILON, 1.0 - EPSILON).log()
    flat = logp.reshape(-1, c)
    out = F.nll_loss(flat, labels.reshape(-1), reduction="none").reshape(tuple(y_true.shape))
    if mask is not None:
        out = out * ops.logical_not(mask).to(out.dtype)
    return out


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary focal cross-entropy: the binary cross-entropy scaled by ``(1 - p_t) ** gamma`` (and by ``alpha``
    / ``1 - alpha`` for the two classes with ``apply_class_balancing``), averaged over ``axis``.

    Example:
        >>> y = ts.tensor([[1.0, 0.0]]); p = ts.tensor([[0.9, 0.2]])
        >>> ts.keras.losses.binary_focal_crossentropy(y, p, gamma=0.0)  # doctest: +ELLIPSIS
        tensor([0.164...])
    """
    y_true, y_pred = _prepare("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
    bce = -(y_true * p.log() + (1.0 - y_true) * (1.0 - p).log())
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = (1.0 - p_t).pow(gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(axis) if focal.ndim else focal


def categorical_focal_crossentropy(
    y_true,
    y_pred,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical focal cross-entropy: ``sum(alpha * (1 - p) ** gamma * -y_true * log(p))`` over ``axis``.

    Example:
        >>> y = ts.tensor([[0.0, 1.0]]); p = ts.tensor([[0.5, 0.5]])
        >>> ts.keras.losses.categorical_focal_crossentropy(y, p)  # doctest: +ELLIPSIS
        tensor([0.0433...])
    """
    if isinstance(axis, bool):
        raise ValueError(f"categorical_focal_crossentropy: `axis` must be of type `int`, got {axis!r}")
    y_true, y_pred = _prepare("categorical_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = ops.softmax(y_pred, axis)
    out = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
    cce = -y_true * out.log()
    return ((1.0 - out).pow(gamma) * alpha * cce).sum(axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q: float) -> Tensor:
    """Generalized cross-entropy (Zhang & Sabuncu, 2018) for integer labels: ``(1 - p_y ** q) / q``, robust
    to noisy labels (``q -> 0`` is the cross-entropy, ``q = 1`` the MAE).

    Example:
        >>> ts.keras.losses.categorical_generalized_cross_entropy(ts.tensor([1]), ts.tensor([[0.75, 0.25]]), q=0.5)
        tensor([1.])
    """
    who = "categorical_generalized_cross_entropy"
    y_pred = _to_tensor(y_pred, who, "y_pred")
    if not y_pred.dtype.is_floating_point:
        y_pred = y_pred.float()
    labels = _to_tensor(y_true, who, "y_true").to(_dt.int64)
    onehot = F.one_hot(labels, y_pred.shape[-1]).to(y_pred.dtype)
    p = (y_pred * onehot).sum(-1)
    return (1.0 - p.pow(q)) / q


def ctc(y_true, y_pred) -> Tensor:
    """Connectionist temporal classification loss per sample: ``y_true`` (batch, max_label_length) integer
    labels padded with 0 (the blank index, as Keras), ``y_pred`` (batch, time, classes) logits.

    Example:
        >>> logits = ts.zeros(1, 4, 3)
        >>> ts.keras.losses.ctc(ts.tensor([[1, 2]]), logits).shape
        tessera.Size([1])
    """
    who = "ctc"
    y_true = _to_tensor(y_true, who, "y_true")
    y_pred = _to_tensor(y_pred, who, "y_pred")
    if y_true.ndim != 2:
        raise ValueError(
            f"ctc: targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in integer "
            f"format. Received: y_true.shape={tuple(y_true.shape)}"
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "ctc: logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, num_classes)`. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if not y_pred.dtype.is_floating_point:
        y_pred = y_pred.float()
    batch, steps = y_pred.shape[0], y_pred.shape[1]
    labels = y_true.to(_dt.int64)
    target_lengths = (labels != 0).sum(-1)
    log_probs = ops.log_softmax(y_pred, -1).transpose(0, 1)  # (time, batch, classes)
    input_lengths = creation.full((batch,), steps, dtype=_dt.int64)
    return F.ctc_loss(log_probs, labels, input_lengths, target_lengths, blank=0, reduction="none",
                      zero_infinity=False)  # fmt: skip


def dice(y_true, y_pred, axis=None) -> Tensor:
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)`` over ``axis`` (all
    axes by default: one value).

    Example:
        >>> ts.keras.losses.dice(ts.tensor([[1.0, 0.0]]), ts.tensor([[1.0, 0.0]]))  # doctest: +ELLIPSIS
        tensor(5.96...e-08)
    """
    y_true, y_pred = _prepare("dice", y_true, y_pred)
    inter = _sum_axes(y_true * y_pred, axis)
    return 1.0 - 2.0 * inter / (_sum_axes(y_true, axis) + _sum_axes(y_pred, axis) + EPSILON)


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None) -> Tensor:
    """Tversky loss ``1 - TP / (TP + alpha * FP + beta * FN + eps)`` (``alpha = beta = 0.5`` is Dice).

    Example:
        >>> float(ts.keras.losses.tversky(ts.tensor([[1.0, 0.0]]), ts.tensor([[0.5, 0.5]])))  # doctest: +ELLIPSIS
        0.5...
    """
    y_true, y_pred = _prepare("tversky", y_true, y_pred)
    tp = _sum_axes(y_true * y_pred, axis)
    fp = _sum_axes((1.0 - y_pred) * y_true, axis)
    fn = _sum_axes(y_pred * (1.0 - y_true), axis)
    return 1.0 - tp / (tp + fp * alpha + fn * beta + EPSILON)


def _sum_axes(t: Tensor, axis) -> Tensor:
    if axis is None:
        return t.sum()
    return t.sum(tuple(axis) if isinstance(axis, (list, tuple)) else axis)


def circle(
    y_true,
    y_pred,
    ref_labels=None,
    ref_embeddings=None,
    remove_diagonal: bool = True,
    gamma: float = 80.0,
    margin: float = 0.4,
) -> Tensor:
    """Circle loss (Sun et al., 2020) for metric learning: ``y_true`` integer labels, ``y_pred`` L2-normalized
    embeddings (batch, dim); pairs of the same label are pulled together, others pushed apart. Samples with
    a zero loss are masked out of the mean, as Keras.

    Example:
        >>> emb = ts.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        >>> ts.keras.losses.circle(ts.tensor([0, 1, 0]), emb).shape
        tessera.Size([3])
    """
    who = "circle"
    y_pred = _to_tensor(y_pred, who, "y_pred")
    if y_pred.ndim != 2:
        raise ValueError(
            f"circle: y_pred must be embeddings of shape (batch, dim), got {tuple(y_pred.shape)}"
        )
    labels = _to_tensor(y_true, who, "y_true").to(_dt.int64).reshape(-1)
    ref = y_pred if ref_embeddings is None else _to_tensor(ref_embeddings, who, "ref_embeddings")
    ref_labels = (
        labels if ref_labels is None else _to_tensor(ref_labels, who, "ref_labels").to(_dt.int64).reshape(-1)
    )
    dist = (1.0 - y_pred @ ref.transpose(0, 1)).clamp(min=0.0)
    same = labels.unsqueeze(1) == ref_labels.unsqueeze(0)
    positive, negative = same, ops.logical_not(same)
    if remove_diagonal:
        off = ops.logical_not(creation.eye(labels.shape[0], ref_labels.shape[0], dtype=_dt.bool))
        positive = positive & off
    pos_w = ((margin + dist) * positive.to(dist.dtype)).clamp(min=0.0)
    neg_w = ((1.0 + margin - dist) * negative.to(dist.dtype)).clamp(min=0.0)
    pos = -gamma * pos_w * (margin - dist)
    neg = gamma * neg_w * ((1.0 - margin) - dist)
    ninf = float("-inf")
    p_loss = ops.logsumexp(ops.where(positive, pos, ninf), 1)
    n_loss = ops.logsumexp(ops.where(negative, neg, ninf), 1)
    out = ops.softplus(p_loss + n_loss)
    out._keras_mask = out > 0
    return out


# Keras's short aliases.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# -- Loss classes -------------------------------------------------------------------------------------------
class Loss:
    """Base class of Keras losses: subclasses implement ``call(y_true, y_pred)`` returning per-sample values.

    ``__call__(y_true, y_pred, sample_weight=None)`` weights and reduces them with ``reduction``:
    ``"sum_over_batch_size"`` (default; sum / number of values), ``"sum"``, ``"mean_with_sample_weight"``
    (sum / sum of the weights) or ``"none"``.

    Example:
        >>> class Mse(ts.keras.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ((y_pred - y_true) ** 2).mean(-1)
        >>> float(Mse()(ts.zeros(2, 1), ts.ones(2, 1)))
        1.0
    """

    def __init__(
        self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype=None
    ) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: invalid reduction {reduction!r}; expected one of "
                f"{', '.join(repr(r) for r in _REDUCTIONS)}"
            )
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        in_mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = _to_tensor(values, self.name, "loss value")
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask & out_mask
        else:
            mask = in_mask if in_mask is not None else out_mask
        if mask is not None:
            sample_weight = _masked_weights(mask, sample_weight, values, self.reduction, self.name)
        return reduce_weighted_values(values, sample_weight, self.reduction, self.name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _masked_weights(mask: Tensor, sample_weight, values: Tensor, reduction, who: str):
    """Keras's ``apply_mask``: masked-out values get weight 0; for the mean reductions the others get
    ``total / valid`` so that the mean is over the valid values only."""
    if tuple(mask.shape) != tuple(values.shape):
        try:
            mask = mask.reshape(tuple(values.shape))
        except (RuntimeError, ValueError):
            raise ValueError(
                f"{who}: the mask of shape {tuple(mask.shape)} does not match the per-sample loss of shape "
                f"{tuple(values.shape)}"
            ) from None
    fmask = mask.to(values.dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = fmask.sum()
        scale = ops.where(valid > 0, float(max(mask.numel(), 1)) / ops.where(valid > 0, valid, 1.0), 0.0)
        fmask = fmask * scale
    if sample_weight is None:
        return fmask
    w = _as_float(_to_tensor(sample_weight, who, "sample_weight", like=values), values)
    while w.ndim > fmask.ndim and w.shape[-1] == 1:
        w = w.squeeze(-1)
    while w.ndim < fmask.ndim:
        w = w.unsqueeze(-1)
    return w * fmask


def reduce_weighted_values(values: Tensor, sample_weight, reduction, who: str = "loss") -> Tensor:
    """Apply ``sample_weight`` (broadcast over ``values`` from the batch axis on) and reduce as Keras."""
    if sample_weight is not None:
        w = _to_tensor(sample_weight, who, "sample_weight", like=values)
        w = _as_float(w, values)
        # Keras aligns ranks: drop trailing 1s from the weights or add trailing axes to them.
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = w.squeeze(-1)
        while w.ndim < values.ndim:
            w = w.unsqueeze(-1)
        try:
            np.broadcast_shapes(tuple(values.shape), tuple(w.shape))
        except ValueError:
            raise ValueError(
                f"{who}: sample_weight of shape {tuple(w.shape)} does not broadcast to the per-sample loss of "
                f"shape {tuple(values.shape)}"
            ) from None
        values = values * w
    if reduction in ("none", None):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        # sum of the weights broadcast over the values; a zero sum gives 0 (branch-free)
        denom = (w * ops.ones_like(values)).sum() if tuple(w.shape) != tuple(values.shape) else w.sum()
        nonzero = denom != 0
        return ops.where(nonzero, total / ops.where(nonzero, denom, 1.0), total * 0.0)
    n = values.numel()
    return total / n if n else total * 0.0


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values.

    Example:
        >>> loss = ts.keras.losses.LossFunctionWrapper(ts.keras.losses.mean_absolute_error, name="mae")
        >>> float(loss(ts.zeros(2, 1), ts.ones(2, 1)))
        1.0
    """

    def __init__(
        self, fn: Callable, reduction: str | None = "sum_over_batch_size", name: str | None = None, **kwargs
    ) -> None:
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):  # pragma: no cover - subclasses fix fn
        raise TypeError("LossFunctionWrapper.from_config: use a named loss class")


def _make_class(cls_name: str, fn: Callable, default_name: str, params: dict[str, Any], doc: str):
    """Create a Keras loss class wrapping ``fn`` with keyword hyperparameters ``params`` (name: default)."""

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None, **kwargs):
        names = list(params)
        if len(args) > len(names):
            raise TypeError(f"{cls_name}() takes at most {len(names)} positional arguments, got {len(args)}")
        values = dict(params)
        for k, v in zip(names, args):
            values[k] = v
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument {k!r}")
            values[k] = v
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, **values)
        self.dtype = dtype
        for k, v in values.items():
            setattr(self, k, v)

    def from_config(cls, config):
        return cls(**config)

    return type(
        cls_name,
        (LossFunctionWrapper,),
        {
            "__init__": __init__,
            "from_config": classmethod(from_config),
            "__doc__": doc,
            "__module__": __name__,
        },
    )


MeanSquaredError = _make_class(
    "MeanSquaredError",
    mean_squared_error,
    "mean_squared_error",
    {},
    """Mean of squared errors.

    Example:
        >>> float(ts.keras.losses.MeanSquaredError()(ts.zeros(2, 1), ts.ones(2, 1)))
        1.0
    """,
)
MeanAbsoluteError = _make_class(
    "MeanAbsoluteError",
    mean_absolute_error,
    "mean_absolute_error",
    {},
    """Mean of absolute errors.

    Example:
        >>> float(ts.keras.losses.MeanAbsoluteError()(ts.zeros(2, 1), ts.ones(2, 1)))
        1.0
    """,
)
MeanAbsolutePercentageError = _make_class(
    "MeanAbsolutePercentageError",
    mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    {},
    """Mean absolute percentage error (in percent).

    Example:
        >>> float(ts.keras.losses.MeanAbsolutePercentageError()(ts.full((1, 1), 2.0), ts.ones(1, 1)))
        50.0
    """,
)
MeanSquaredLogarithmicError = _make_class(
    "MeanSquaredLogarithmicError",
    mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    {},
    """Mean squared error of ``log(1 + y)``.

    Example:
        >>> float(ts.keras.losses.MeanSquaredLogarithmicError()(ts.zeros(1, 1), ts.zeros(1, 1)))
        0.0
    """,
)
Huber = _make_class(
    "Huber",
    huber,
    "huber_loss",
    {"delta": 1.0},
    """Huber loss with threshold ``delta``.

    Example:
        >>> float(ts.keras.losses.Huber(delta=1.0)(ts.zeros(1, 1), ts.full((1, 1), 3.0)))
        2.5
    """,
)
LogCosh = _make_class(
    "LogCosh",
    log_cosh,
    "log_cosh",
    {},
    """Logarithm of the hyperbolic cosine of the error.

    Example:
        >>> float(ts.keras.losses.LogCosh()(ts.zeros(1, 1), ts.zeros(1, 1)))
        0.0
    """,
)
KLDivergence = _make_class(
    "KLDivergence",
    kl_divergence,
    "kl_divergence",
    {},
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``.

    Example:
        >>> float(ts.keras.losses.KLDivergence()(ts.full((1, 2), 0.5), ts.full((1, 2), 0.5)))
        0.0
    """,
)
Poisson = _make_class(
    "Poisson",
    poisson,
    "poisson",
    {},
    """Poisson loss ``y_pred - y_true * log(y_pred)``.

    Example:
        >>> round(float(ts.keras.losses.Poisson()(ts.ones(1, 1), ts.ones(1, 1))), 4)
        1.0
    """,
)
CosineSimilarity = _make_class(
    "CosineSimilarity",
    cosine_similarity,
    "cosine_similarity",
    {"axis": -1},
    """Negative cosine similarity along ``axis``.

    Example:
        >>> round(float(ts.keras.losses.CosineSimilarity()(ts.ones(1, 2), ts.ones(1, 2))), 4)
        -1.0
    """,
)
Hinge = _make_class(
    "Hinge",
    hinge,
    "hinge",
    {},
    """Hinge loss for labels in {-1, 1} (or {0, 1}).

    Example:
        >>> float(ts.keras.losses.Hinge()(ts.ones(1, 1), ts.full((1, 1), 0.5)))
        0.5
    """,
)
SquaredHinge = _make_class(
    "SquaredHinge",
    squared_hinge,
    "squared_hinge",
    {},
    """Squared hinge loss.

    Example:
        >>> float(ts.keras.losses.SquaredHinge()(ts.ones(1, 1), ts.full((1, 1), 0.5)))
        0.25
    """,
)
CategoricalHinge = _make_class(
    "CategoricalHinge",
    categorical_hinge,
    "categorical_hinge",
    {},
    """Categorical hinge loss.

    Example:
        >>> float(ts.keras.losses.CategoricalHinge()(ts.tensor([[0.0, 1.0]]), ts.tensor([[0.0, 1.0]])))
        0.0
    """,
)
BinaryCrossentropy = _make_class(
    "BinaryCrossentropy",
    binary_crossentropy,
    "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    """Binary cross-entropy for 0/1 labels; probabilities unless ``from_logits=True``.

    Example:
        >>> loss = ts.keras.losses.BinaryCrossentropy(from_logits=True)
        >>> round(float(loss(ts.ones(1, 1), ts.zeros(1, 1))), 4)
        0.6931
    """,
)
CategoricalCrossentropy = _make_class(
    "CategoricalCrossentropy",
    categorical_crossentropy,
    "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    """Cross-entropy for one-hot labels; probabilities unless ``from_logits=True``.

    Example:
        >>> loss = ts.keras.losses.CategoricalCrossentropy()
        >>> round(float(loss(ts.tensor([[0.0, 1.0]]), ts.tensor([[0.5, 0.5]]))), 4)
        0.6931
    """,
)
SparseCategoricalCrossentropy = _make_class(
    "SparseCategoricalCrossentropy",
    sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    {"from_logits": False, "ignore_class": None, "axis": -1},
    """Cross-entropy for integer labels; probabilities unless ``from_logits=True``.

    Example:
        >>> loss = ts.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> round(float(loss(ts.tensor([0]), ts.tensor([[0.0, 0.0]]))), 4)
        0.6931
    """,
)

BinaryFocalCrossentropy = _make_class(
    "BinaryFocalCrossentropy",
    binary_focal_crossentropy,
    "binary_focal_crossentropy",
    {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0,
     "axis": -1},
    """Binary focal cross-entropy (down-weights easy examples by ``(1 - p_t) ** gamma``).

    Example:
        >>> loss = ts.keras.losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
        >>> round(float(loss(ts.ones(1, 1), ts.zeros(1, 1))), 4)
        0.1733
    """,
)  # fmt: skip
CategoricalFocalCrossentropy = _make_class(
    "CategoricalFocalCrossentropy",
    categorical_focal_crossentropy,
    "categorical_focal_crossentropy",
    {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0, "axis": -1},
    """Categorical focal cross-entropy for one-hot labels.

    Example:
        >>> loss = ts.keras.losses.CategoricalFocalCrossentropy()
        >>> round(float(loss(ts.tensor([[0.0, 1.0]]), ts.tensor([[0.5, 0.5]]))), 4)
        0.0433
    """,
)
CTC = _make_class(
    "CTC",
    ctc,
    "ctc",
    {},
    """CTC loss for label sequences padded with 0 (the blank) and per-step logits.

    Example:
        >>> loss = ts.keras.losses.CTC()
        >>> float(loss(ts.tensor([[1]]), ts.zeros(1, 2, 2))) > 0
        True
    """,
)
Dice = _make_class(
    "Dice",
    dice,
    "dice",
    {"axis": None},
    """Dice loss (1 - the Dice coefficient).

    Example:
        >>> round(float(ts.keras.losses.Dice()(ts.tensor([[1.0, 0.0]]), ts.tensor([[0.0, 1.0]]))), 4)
        1.0
    """,
)
Tversky = _make_class(
    "Tversky",
    tversky,
    "tversky",
    {"alpha": 0.5, "beta": 0.5, "axis": None},
    """Tversky loss (``alpha`` weighs false positives, ``beta`` false negatives).

    Example:
        >>> round(float(ts.keras.losses.Tversky()(ts.tensor([[1.0, 0.0]]), ts.tensor([[0.0, 1.0]]))), 4)
        1.0
    """,
)
Circle = _make_class(
    "Circle",
    circle,
    "circle",
    {"gamma": 80.0, "margin": 0.4, "remove_diagonal": True},
    """Circle loss for metric learning on L2-normalized embeddings.

    Example:
        >>> emb = ts.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> float(ts.keras.losses.Circle()(ts.tensor([0, 1]), emb)) >= 0
        True
    """,
)


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy for integer labels with ``q`` in (0, 1).

    Example:
        >>> loss = ts.keras.losses.CategoricalGeneralizedCrossEntropy(q=0.5)
        >>> float(loss(ts.tensor([1]), ts.tensor([[0.75, 0.25]])))
        1.0
    """

    def __init__(self, q: float = 0.5, reduction="sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype=None) -> None:  # fmt: skip
        if not 0 < q < 1:
            raise ValueError(
                f"CategoricalGeneralizedCrossEntropy: q must be in the interval (0, 1), got {q!r}"
            )
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, q=q)
        self.q = q
        self.dtype = dtype

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_CLASSES = {
    c.__name__: c
    for c in (
        Loss,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        Huber,
        LogCosh,
        KLDivergence,
        Poisson,
        CosineSimilarity,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
        CategoricalGeneralizedCrossEntropy,
        CTC,
        Circle,
        Dice,
        Tversky,
    )
}

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error,
    "huber": huber,
    "huber_loss": huber,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "categorical_generalized_cross_entropy": categorical_generalized_cross_entropy,
    "ctc": ctc,
    "circle": circle,
    "dice": dice,
    "tversky": tversky,
}

# Canonical name of each function (serialize writes it).
_FUNCTION_NAMES = {}
for _name, _fn in _FUNCTIONS.items():
    _FUNCTION_NAMES.setdefault(_fn, _fn.__name__)


def serialize(loss) -> str | dict[str, Any]:
    """A JSON-serialisable description of ``loss``: a function's Keras name, or for a ``Loss`` object
    ``{"class_name": ..., "config": ...}``.

    Example:
        >>> ts.keras.losses.serialize(ts.keras.losses.Huber(delta=2.0))["config"]["delta"]
        2.0
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    if loss in _FUNCTION_NAMES:
        return _FUNCTION_NAMES[loss]
    if callable(loss):
        return getattr(loss, "__name__", repr(loss))
    raise TypeError(f"losses.serialize: cannot serialize {type(loss).__name__} {loss!r}")


def deserialize(config, custom_objects: dict[str, Any] | None = None):
    """Rebuild a loss from ``serialize``'s output (a name or a ``{"class_name", "config"}`` dict).

    Example:
        >>> ts.keras.losses.deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).delta
        2.0
    """
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        if config in custom_objects:
            obj = custom_objects[config]
            return obj() if isinstance(obj, type) else obj
        if config in _FUNCTIONS:
            return _FUNCTIONS[config]
        if config in _CLASSES and config != "Loss":
            return _CLASSES[config]()
        snake = _snake(config)
        if snake in _FUNCTIONS:
            return _FUNCTIONS[snake]
        raise ValueError(
            f"losses.deserialize: unknown loss {config!r}; known names: {', '.join(sorted(_FUNCTIONS))}"
        )
    if isinstance(config, dict):
        if "class_name" not in config:
            raise ValueError(
                f"losses.deserialize: expected a dict with 'class_name' and 'config', got {config!r}"
            )
        name = config["class_name"]
        cls = custom_objects.get(name) or _CLASSES.get(name)
        if cls is None:
            raise ValueError(f"losses.deserialize: unknown loss class {name!r}; pass it in custom_objects")
        cfg = config.get("config") or {}
        return cls.from_config(cfg) if hasattr(cls, "from_config") else cls(**cfg)
    raise TypeError(f"losses.deserialize: expected a str or dict, got {type(config).__name__}")


def get(identifier, custom_objects: dict[str, Any] | None = None):
    """Resolve a loss: ``None``, a Keras name (``"mse"``, ``"sparse_categorical_crossentropy"``, a class
    name), a serialized dict, a ``Loss`` class or object, or any callable ``fn(y_true, y_pred)``.

    Example:
        >>> ts.keras.losses.get("mse") is ts.keras.losses.mean_squared_error
        True
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"losses.get: could not interpret loss identifier {identifier!r}")
