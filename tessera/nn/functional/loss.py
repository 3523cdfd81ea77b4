"""Functional losses with PyTorch's semantics: every loss takes ``reduction`` ('mean', 'sum' or 'none')
and the legacy ``size_average``/``reduce`` flags where PyTorch has them.

``nll_loss``, ``cross_entropy`` with class indices and ``binary_cross_entropy`` run on fused ops of
``tessera.ops.nn_ops`` (which also check the target indices and input ranges, inside their forwards); the
others are Tessera-op compositions. Nothing here reads tensor values.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from ... import ops
from ...core import creation
from ...core import dtypes as _dt
from ...core.dispatch import apply, autocast_inputs, is_tracing
from ...core.tensor import Tensor
from ...ops import nn_ops as _nn
from ...ops._util import check_tensor

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "soft_margin_loss",
    "hinge_embedding_loss",
    "poisson_nll_loss",
    "multilabel_soft_margin_loss",
    "cosine_similarity",
    "pairwise_distance",
    "pdist",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "gaussian_nll_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "linear_cross_entropy",
    "ctc_loss",
]


def _float32_under_autocast(fn):
    """PyTorch's CPU autocast runs these losses in float32: their floating tensor arguments are cast first
    (nothing happens outside an autocast region)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args = autocast_inputs("fp32", *args)
        if kwargs:
            keys = list(kwargs)
            kwargs = dict(zip(keys, autocast_inputs("fp32", *kwargs.values())))
        return fn(*args, **kwargs)

    return wrapper


_REDUCTIONS = ("none", "mean", "sum")


def _legacy(size_average, reduce) -> str:
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags to a reduction string."""
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean' (or 'sum'/'none') "
        "instead.",
        UserWarning,
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduction(opname: str, reduction, size_average=None, reduce=None, extra=()) -> str:
    if size_average is not None or reduce is not None:
        return _legacy(size_average, reduce)
    if reduction not in _REDUCTIONS and reduction not in extra:
        valid = ", ".join(repr(r) for r in _REDUCTIONS + tuple(extra))
        raise ValueError(
            f"{opname}: {reduction!r} is not a valid value for reduction (expected one of {valid})"
        )
    return reduction


_check_tensor = check_tensor


def _check_float(opname: str, name: str, value) -> Tensor:
    _check_tensor(opname, name, value)
    if not value.dtype.is_floating_point:
        raise TypeError(f"{opname}: expected '{name}' to be a floating point tensor, got {value.dtype.name}")
    return value


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(opname: str, input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"{opname}: using a target size {tuple(target.shape)} that is different to the input size "
            f"{tuple(input.shape)}. This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def _pointwise_weighted(opname, loss, input, weight, reduction, mean_by_weight):
    if weight is None:
        return _apply_reduction(loss, reduction)
    _check_tensor(opname, "weight", weight)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"{opname}: weights and input must have the same size, got weight {tuple(weight.shape)} and "
            f"input {tuple(input.shape)}"
        )
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    return _apply_reduction(loss, reduction)


def _broadcast_pair(opname: str, input: Tensor, target: Tensor):
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(
            f"{opname}: the size of input {tuple(input.shape)} must match (or broadcast with) the size of "
            f"target {tuple(target.shape)}"
        ) from None
    return shape


@_float32_under_autocast
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target)**2``, reduced; with ``weight`` the mean is
    ``sum(weight * err) / sum(weight)``.

    Example:
        >>> F.mse_loss(ts.tensor([1.0, 2.0]), ts.tensor([1.0, 4.0]))
        tensor(2.)
    """
    _check_float("mse_loss", "input", input)
    _check_tensor("mse_loss", "target", target)
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    _warn_size("mse_loss", input, target)
    _broadcast_pair("mse_loss", input, target)
    d = input - target
    return _pointwise_weighted("mse_loss", d * d, input, weight, reduction, True)


@_float32_under_autocast
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced.

    Example:
        >>> F.l1_loss(ts.tensor([1.0, 2.0]), ts.tensor([1.0, 4.0]))
        tensor(1.)
    """
    _check_float("l1_loss", "input", input)
    _check_tensor("l1_loss", "target", target)
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    _warn_size("l1_loss", input, target)
    _broadcast_pair("l1_loss", input, target)
    return _pointwise_weighted("l1_loss", ops.abs(input - target), input, weight, reduction, True)


@_float32_under_autocast
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (``d = input - target``).

    Example:
        >>> F.smooth_l1_loss(ts.tensor([0.5, 3.0]), ts.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    _check_float("smooth_l1_loss", "input", input)
    _check_tensor("smooth_l1_loss", "target", target)
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: does not support negative values for beta, got {beta}")
    _warn_size("smooth_l1_loss", input, target)
    _broadcast_pair("smooth_l1_loss", input, target)
    d = input - target
    a = ops.abs(d)
    if beta == 0:
        return _apply_reduction(a, reduction)
    loss = ops.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``.

    Example:
        >>> F.huber_loss(ts.tensor([0.5, 3.0]), ts.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    _check_float("huber_loss", "input", input)
    _check_tensor("huber_loss", "target", target)
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: does not support non-positive values for delta, got {delta}")
    _warn_size("huber_loss", input, target)
    _broadcast_pair("huber_loss", input, target)
    d = input - target
    a = ops.abs(d)
    loss = ops.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _pointwise_weighted("huber_loss", loss, input, weight, reduction, False)


# -- classification -----------------------------------------------------------------------------------------
def _class_target_check(opname: str, input: Tensor, target: Tensor, weight, ignore_index) -> None:
    """Validate class-index targets for an (N, C, *) or (C,) input."""
    if not isinstance(target, Tensor):
        raise TypeError(f"{opname}: argument 'target' must be a Tensor, not {type(target).__name__}")
    if target.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            f"{opname}: expected target of class indices with dtype int64 (or class probabilities with "
            f"the input's shape {tuple(input.shape)}), got {target.dtype.name} target of shape "
            f"{tuple(target.shape)}"
        )
    if input.ndim == 0:
        raise ValueError(f"{opname}: input must have at least 1 dimension (C,) or (N, C, *), got a scalar")
    expected = () if input.ndim == 1 else tuple(input.shape[:1]) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"{opname}: expected input batch_size ({input.shape[0]}) to match target batch_size "
                f"({target.shape[0]}); input shape {tuple(input.shape)}, target shape {tuple(target.shape)}"
            )
        raise RuntimeError(
            f"{opname}: expected target of shape {expected} for input of shape {tuple(input.shape)}, "
            f"got {tuple(target.shape)}"
        )
    c = input.shape[0 if input.ndim == 1 else 1]
    if weight is not None:
        _check_tensor(opname, "weight", weight)
        if tuple(weight.shape) != (c,):
            raise RuntimeError(
                f"{opname}: weight tensor should be defined either for all {c} classes or no classes but "
                f"got weight tensor of shape {tuple(weight.shape)}"
            )
    # the bounds of the class indices are checked by the loss op's forward (it reads the values)


def _nll(logp: Tensor, target: Tensor, weight, ignore_index: int, reduction: str) -> Tensor:
    """``nll_loss`` on validated arguments; handles the unbatched (C,) case."""
    unbatched = logp.ndim == 1
    if unbatched:
        logp = logp.reshape(1, -1)
        target = target.reshape(1)
    if target.dtype.name != "int64":
        target = target.long()
    out = apply(
        _nn.NLL_LOSS, (logp, target, weight), {"ignore_index": int(ignore_index), "reduction": reduction}
    )
    return out.reshape(()) if unbatched and reduction == "none" else out


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of class ``target`` under log-probabilities ``input`` (N, C, *) or (C,).

    ``weight`` (C,) rescales each class; entries equal to ``ignore_index`` contribute nothing, and the mean
    divides by the total weight of the non-ignored targets.

    Example:
        >>> F.nll_loss(ts.tensor([[-1.0, -2.0]]), ts.tensor([1]))
        tensor(2.)
    """
    _check_float("nll_loss", "input", input)
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    _class_target_check("nll_loss", input, target, weight, ignore_index)
    return _nll(input, target, weight, ignore_index, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy between logits ``input`` (N, C, *) or (C,) and ``target``: class indices (N, *) or
    class probabilities of the input's shape.

    ``weight`` (C,) rescales classes, ``ignore_index`` masks class-index targets (the mean divides by the
    summed weight of the rest), ``label_smoothing`` mixes the target with the uniform distribution.

    Example:
        >>> logits = ts.tensor([[2.0, 0.0, -1.0]])
        >>> F.cross_entropy(logits, ts.tensor([0]))
        tensor(0.1698)
    """
    _check_float("cross_entropy", "input", input)
    _check_tensor("cross_entropy", "target", target)
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(
            "cross_entropy: input must have at least 1 dimension (C,) or (N, C, *), got a scalar"
        )
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    if tuple(target.shape) == tuple(input.shape) and target.ndim == input.ndim and input.ndim >= 1:
        if not target.dtype.is_floating_point:
            raise RuntimeError(
                f"cross_entropy: expected floating point type for target with class probabilities, got "
                f"{target.dtype.name}"
            )
        if ignore_index >= 0:
            raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, cdim, c)
    if target.dtype.is_floating_point:
        raise RuntimeError(
            f"cross_entropy: expected target of class indices of shape "
            f"{(tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim > 1 else ()} with dtype int64, "
            f"or class probabilities of the input's shape {tuple(input.shape)}; got {target.dtype.name} "
            f"target of shape {tuple(target.shape)}"
        )
    _class_target_check("cross_entropy", input, target, weight, ignore_index)
    unbatched = input.ndim == 1
    if unbatched:
        input = input.reshape(1, -1)
        target = target.reshape(1)
    if target.dtype.name != "int64":
        target = target.long()
    attrs = {
        "ignore_index": int(ignore_index),
        "reduction": reduction,
        "label_smoothing": float(label_smoothing),
    }
    out = apply(_nn.CROSS_ENTROPY, (input, target, weight), attrs)
    return out.reshape(()) if unbatched and reduction == "none" else out


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, cdim, c):
    if weight is not None:
        _check_tensor("cross_entropy", "weight", weight)
        if tuple(weight.shape) != (c,):
            raise RuntimeError(
                f"cross_entropy: weight tensor should be defined either for all {c} classes or no classes "
                f"but got weight tensor of shape {tuple(weight.shape)}"
            )
    logp = ops.log_softmax(input, cdim)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((c,) + (1,) * (input.ndim - cdim - 1))
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    n = input.numel() // c if c else 0
    return -prod.sum() / n if n else -prod.sum() * float("nan")


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-(target * log(input) + (1 - target) * log(1 - input))`` with each log clamped at -100, as in
    PyTorch; ``input`` holds probabilities in [0, 1] and ``weight`` broadcasts to its shape.

    Example:
        >>> F.binary_cross_entropy(ts.tensor([0.5]), ts.tensor([1.0]))
        tensor(0.6931)
    """
    _check_float("binary_cross_entropy", "input", input)
    _check_tensor("binary_cross_entropy", "target", target)
    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy: using a target size {tuple(target.shape)} that is different to the "
            f"input size {tuple(input.shape)} is deprecated. Please ensure they have the same size."
        )
    # the op's forward checks that the input holds probabilities in [0, 1]
    loss = apply(_nn.BINARY_CROSS_ENTROPY, (input, target))
    if weight is not None:
        _check_tensor("binary_cross_entropy", "weight", weight)
        _broadcast_pair("binary_cross_entropy", target, weight)
        loss = loss * weight
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from logits;
    ``pos_weight`` (broadcast along the last dimension) weights the positive term.

    Example:
        >>> F.binary_cross_entropy_with_logits(ts.tensor([0.0]), ts.tensor([1.0]))
        tensor(0.6931)
    """
    _check_float("binary_cross_entropy_with_logits", "input", input)
    _check_tensor("binary_cross_entropy_with_logits", "target", target)
    reduction = _reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} must be the same as "
            f"input size {tuple(input.shape)}"
        )
    # -log(sigmoid(x)) = softplus(-x); -log(1 - sigmoid(x)) = x + softplus(-x)
    sp = ops.softplus(-input)
    if pos_weight is not None:
        _check_tensor("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
        _broadcast_pair("binary_cross_entropy_with_logits", input, pos_weight)
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        _check_tensor("binary_cross_entropy_with_logits", "weight", weight)
        _broadcast_pair("binary_cross_entropy_with_logits", input, weight)
        loss = loss * weight
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` for log-probabilities ``input``
    (``log_target``: the target is given as log-probabilities too). ``'batchmean'`` divides the sum by
    the batch size, which is the mathematical KL divergence; ``'mean'`` averages over all elements.

    Example:
        >>> F.kl_div(ts.tensor([-0.6931, -0.6931]), ts.tensor([0.5, 0.5]), reduction="batchmean")
        tensor(-2.3603e-05)
    """
    _check_float("kl_div", "input", input)
    _check_tensor("kl_div", "target", target)
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce)
    else:
        reduction = _reduction("kl_div", reduction, extra=("batchmean",))
        if reduction == "mean":
            warnings.warn(
                "kl_div: reduction 'mean' divides the total loss by both the batch size and the support "
                "size. 'batchmean' divides only by the batch size, and aligns with the KL div math "
                "definition.",
                UserWarning,
                stacklevel=2,
            )
    _broadcast_pair("kl_div", input, target)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        pos = target > 0
        safe = ops.where(pos, target, ops.ones_like(target))
        loss = target * ops.log(safe) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _apply_reduction(loss, reduction)


# -- embedding / ranking losses -----------------------------------------------------------------------------
def _check_pm1_target(opname: str, target: Tensor, shape: tuple) -> None:
    _check_tensor(opname, "target", target)
    if tuple(target.shape) != shape:
        raise RuntimeError(f"{opname}: expected target of shape {shape}, got {tuple(target.shape)}")


@_float32_under_autocast
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``.

    Example:
        >>> F.cosine_embedding_loss(ts.tensor([[1.0, 0.0]]), ts.tensor([[0.0, 1.0]]), ts.tensor([1]))
        tensor(1.)
    """
    opname = "cosine_embedding_loss"
    _check_float(opname, "input1", input1)
    _check_float(opname, "input2", input2)
    reduction = _reduction(opname, reduction, size_average, reduce)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(
            f"{opname}: expected input1 and input2 of the same shape (N, D) or (D,), got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    _check_pm1_target(opname, target, tuple(input1.shape[:-1]))
    eps = 1e-12
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim)
    m1 = (input1 * input1).sum(dim) + eps
    m2 = (input2 * input2).sum(dim) + eps
    cos = prod / ops.sqrt(m1 * m2)
    zeros = ops.zeros_like(cos)
    pos = ops.where(target == 1, 1 - cos, zeros)
    neg = ops.where(target == -1, ops.clamp_min(cos - margin, 0), zeros)
    return _apply_reduction(pos + neg, reduction)


@_float32_under_autocast
def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)`` with ``target`` in {1, -1}.

    Example:
        >>> F.margin_ranking_loss(ts.tensor([1.0]), ts.tensor([2.0]), ts.tensor([1.0]))
        tensor(1.)
    """
    opname = "margin_ranking_loss"
    _check_float(opname, "input1", input1)
    _check_float(opname, "input2", input2)
    _check_tensor(opname, "target", target)
    reduction = _reduction(opname, reduction, size_average, reduce)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(
            f"{opname}: all input tensors should have the same number of dimensions, got input1 "
            f"{tuple(input1.shape)}, input2 {tuple(input2.shape)} and target {tuple(target.shape)}"
        )
    loss = ops.clamp_min(-target * (input1 - input2) + margin, 0)
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))`` with ``target`` in {1, -1}.

    Example:
        >>> F.soft_margin_loss(ts.tensor([0.0]), ts.tensor([1.0]))
        tensor(0.6931)
    """
    _check_float("soft_margin_loss", "input", input)
    _check_tensor("soft_margin_loss", "target", target)
    reduction = _reduction("soft_margin_loss", reduction, size_average, reduce)
    _broadcast_pair("soft_margin_loss", input, target)
    return _apply_reduction(ops.log1p(ops.exp(-input * target)), reduction)


@_float32_under_autocast
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``input`` where ``target == 1`` and ``max(0, margin - input)`` where ``target == -1``.

    Example:
        >>> F.hinge_embedding_loss(ts.tensor([0.3, 0.3]), ts.tensor([1.0, -1.0]), reduction="none")
        tensor([0.3000, 0.7000])
    """
    _check_float("hinge_embedding_loss", "input", input)
    _check_tensor("hinge_embedding_loss", "target", target)
    reduction = _reduction("hinge_embedding_loss", reduction, size_average, reduce)
    _broadcast_pair("hinge_embedding_loss", input, target)
    zeros = ops.zeros_like(input)
    margin_clamp = ops.clamp_min(margin - input, 0)
    loss = ops.where(target != 1, margin_clamp, zeros) + ops.where(target != -1, input, zeros)
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log likelihood: ``exp(input) - target * input`` (``log_input``) or
    ``input - target * log(input + eps)``; ``full`` adds Stirling's approximation term.

    Example:
        >>> F.poisson_nll_loss(ts.tensor([0.0]), ts.tensor([1.0]))
        tensor(1.)
    """
    _check_float("poisson_nll_loss", "input", input)
    _check_tensor("poisson_nll_loss", "target", target)
    reduction = _reduction("poisson_nll_loss", reduction, size_average, reduce)
    _broadcast_pair("poisson_nll_loss", input, target)
    if log_input:
        loss = ops.exp(input) - target * input
    else:
        loss = input - target * ops.log(input + eps)
    if full:
        t = target.detach()
        safe = ops.where(t > 1, t, ops.ones_like(t))
        stirling = safe * ops.log(safe) - safe + 0.5 * ops.log(2 * np.pi * safe)
        loss = loss + ops.where(t > 1, stirling, ops.zeros_like(stirling))
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """One-vs-all logistic loss over the C labels of an (N, C) input, averaged over the labels.

    Example:
        >>> F.multilabel_soft_margin_loss(ts.tensor([[0.0, 0.0]]), ts.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    opname = "multilabel_soft_margin_loss"
    _check_float(opname, "input", input)
    _check_tensor(opname, "target", target)
    reduction = _reduction(opname, reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{opname}: target size {tuple(target.shape)} must be the same as input size "
            f"({tuple(input.shape)})"
        )
    # -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x)) = t * softplus(-x) + (1 - t) * softplus(x)
    loss = target * ops.softplus(-input) + (1 - target) * ops.softplus(input)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / input.shape[-1] if input.ndim else loss
    return _apply_reduction(loss, reduction)


# -- distances ----------------------------------------------------------------------------------------------
def _broadcast_common(opname: str, x1: Tensor, x2: Tensor) -> tuple:
    try:
        return tuple(np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
    except ValueError:
        raise RuntimeError(
            f"{opname}: the shapes of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} are not broadcastable"
        ) from None


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (they broadcast); each norm is floored
    at ``eps`` (the floor passes the gradient through, as PyTorch's in-place clamp does).

    Example:
        >>> F.cosine_similarity(ts.tensor([[1.0, 0.0]]), ts.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    _check_float("cosine_similarity", "x1", x1)
    _check_float("cosine_similarity", "x2", x2)
    shape = _broadcast_common("cosine_similarity", x1, x2)
    dt = _dt.promote_types(x1.dtype, x2.dtype)
    x1, x2 = x1.to(dt).expand(shape), x2.to(dt).expand(shape)
    n1 = ops.norm(x1, 2, dim, keepdim=True)
    n2 = ops.norm(x2, 2, dim, keepdim=True)
    n1 = n1 + (ops.clamp_min(n1, eps) - n1).detach()
    n2 = n2 + (ops.clamp_min(n2, eps) - n2).detach()
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``p``-norm of ``x1 - x2 + eps`` along the last dimension (the inputs broadcast).

    Example:
        >>> F.pairwise_distance(ts.tensor([[0.0, 0.0]]), ts.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    _check_float("pairwise_distance", "x1", x1)
    _check_float("pairwise_distance", "x2", x2)
    _broadcast_common("pairwise_distance", x1, x2)
    if max(x1.ndim, x2.ndim) == 0:
        raise RuntimeError("pairwise_distance: expected at least 1-D inputs, got two scalars")
    return ops.norm(x1 - x2 + eps, p, max(x1.ndim, x2.ndim) - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """``p``-norm distances between all pairs of rows ``i < j`` of an (N, M) input: shape (N (N - 1) / 2,).

    Example:
        >>> F.pdist(ts.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
        tensor([5.0000, 1.0000, 4.2426])
    """
    _check_float("pdist", "input", input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    rows_i = input.index_select(0, creation.tensor(i.astype(np.int64)))
    rows_j = input.index_select(0, creation.tensor(j.astype(np.int64)))
    return ops.norm(rows_i - rows_j, p, 1)


# -- triplet / Gaussian / margin losses ---------------------------------------------------------------------
def _triplet_dims(opname: str, anchor, positive, negative) -> None:
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"{opname}: The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
            f"{negative.ndim}D inputs"
        )


@_float32_under_autocast
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with the pairwise ``p``-distance ``d``; ``swap`` uses
    ``min(d(a, n), d(p, n))`` as the negative distance.

    Example:
        >>> a, p, n = ts.tensor([[0.0, 0.0]]), ts.tensor([[1.0, 0.0]]), ts.tensor([[3.0, 0.0]])
        >>> F.triplet_margin_loss(a, p, n, margin=3.0, eps=0.0)
        tensor(1.)
    """
    opname = "triplet_margin_loss"
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_float(opname, name, t)
    reduction = _reduction(opname, reduction, size_average, reduce)
    _triplet_dims(opname, anchor, positive, negative)
    if anchor.ndim not in (1, 2):
        raise RuntimeError(f"{opname}: expected 1D or 2D inputs (D,) or (N, D), got {anchor.ndim}D")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _apply_reduction(ops.clamp_min(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default ``pairwise_distance``).

    Example:
        >>> a, p, n = ts.tensor([[0.0, 0.0]]), ts.tensor([[1.0, 0.0]]), ts.tensor([[3.0, 0.0]])
        >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: (x - y).abs().sum(-1))
        tensor(0.)
    """
    opname = "triplet_margin_with_distance_loss"
    reduction = _reduction(opname, reduction)
    if margin <= 0:
        raise ValueError(f"{opname}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(opname, name, t)
    _triplet_dims(opname, anchor, positive, negative)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(
            f"{opname}: distance_function must be callable, got {type(distance_function).__name__}"
        )
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = ops.minimum(d_neg, dist(positive, negative))
    return _apply_reduction(ops.clamp_min(margin + d_pos - d_neg, 0), reduction)


@_float32_under_autocast
def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log likelihood ``0.5 * (log(var) + (input - target)**2 / var)`` (``full``: plus
    ``0.5 * log(2 pi)``); ``var`` (a float, or a tensor of the input's shape, one dimension short, or
    broadcasting in one dimension) is floored at ``eps``, the floor passing the gradient through.

    Example:
        >>> F.gaussian_nll_loss(ts.tensor([1.0]), ts.tensor([1.0]), ts.tensor([1.0]))
        tensor(0.)
    """
    opname = "gaussian_nll_loss"
    _check_float(opname, "input", input)
    _check_tensor(opname, "target", target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{opname}: var has negative entry/entries")
        var = creation.full_like(input, float(var))
    else:
        _check_tensor(opname, "var", var)
        if not is_tracing() and bool((var < 0).any()):
            raise ValueError(f"{opname}: var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError(
                f"{opname}: var is of incorrect size: {tuple(var.shape)} for input {tuple(input.shape)}"
            )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{opname}: {reduction} is not valid")
    var = var + (ops.clamp_min(var, eps) - var).detach()
    loss = 0.5 * (ops.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def _margin_input(opname: str, input: Tensor, target: Tensor, target_shape) -> tuple:
    _check_float(opname, "input", input)
    _check_tensor(opname, "target", target)
    if input.ndim > 2:
        raise RuntimeError(f"{opname}: expected a 1D (C,) or 2D (N, C) input, got shape {tuple(input.shape)}")
    if target.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{opname}: expected an int64 target, got {target.dtype.name}")
    batched = input.ndim == 2
    x = input if batched else input.reshape(1, -1)
    return x, target.long(), batched


@_float32_under_autocast
def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j])**p / C`` per sample, each
    term scaled by ``weight[y]``.

    Example:
        >>> F.multi_margin_loss(ts.tensor([[0.1, 0.2, 0.4, 0.8]]), ts.tensor([3]))
        tensor(0.3250)
    """
    opname = "multi_margin_loss"
    if p not in (1, 2):
        raise ValueError(f"{opname}: only p == 1 and p == 2 supported, got {p}")
    reduction = _reduction(opname, reduction, size_average, reduce)
    x, t, batched = _margin_input(opname, input, target, None)
    n, c = x.shape
    if tuple(target.shape) != ((n,) if batched else ()) and tuple(target.shape) != (n,):
        raise RuntimeError(
            f"{opname}: target tensor should be 1-D with size equal to the number of input samples (batch "
            f"size). Expected target size [{n}], but got {list(target.shape)}. Input has shape "
            f"{list(input.shape)}."
        )
    if weight is not None:
        _check_tensor(opname, "weight", weight)
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(
                f"{opname}: inconsistent weight size, expected {c} but got {list(weight.shape)}"
            )
    t = t.reshape(n, 1)
    picked = ops.gather(x, 1, t)
    z = ops.clamp_min(margin - picked + x, 0)
    if p == 2:
        z = z * z
    other = ops.one_hot(t.reshape(n), c).to(x.dtype)
    z = z * (1 - other)
    if weight is not None:
        z = z * weight.to(x.dtype).index_select(0, t.reshape(n)).reshape(n, 1)
    loss = z.sum(1) / c
    if not batched:
        loss = loss.reshape(())
    return _apply_reduction(loss, reduction)


@_float32_under_autocast
def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge loss: ``target`` lists each sample's classes, ended by the first -1;
    ``sum_{j in targets, k not in targets} max(0, 1 - (x[j] - x[k])) / C`` per sample.

    Example:
        >>> F.multilabel_margin_loss(ts.tensor([[0.1, 0.2, 0.4, 0.8]]), ts.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    opname = "multilabel_margin_loss"
    reduction = _reduction(opname, reduction, size_average, reduce)
    x, t, batched = _margin_input(opname, input, target, None)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{opname}: inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    n, c = x.shape
    t = t.reshape(n, c)
    valid = ops.cumsum((t == -1).long(), 1) == 0  # the entries before the first -1
    tc = ops.where(valid, t, ops.zeros_like(t))
    classes = creation.arange(c).reshape(1, 1, c)
    is_target = ((tc.unsqueeze(2) == classes) & valid.unsqueeze(2)).any(1)  # (N, C)
    picked = ops.gather(x, 1, tc)  # (N, C): x at each listed target
    hinge = ops.clamp_min(1 - (picked.unsqueeze(2) - x.unsqueeze(1)), 0)  # (N, j, k)
    keep = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = (hinge * keep.to(x.dtype)).sum((1, 2)) / c
    if not batched:
        loss = loss.reshape(())
    return _apply_reduction(loss, reduction)


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options=None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``; ``linear_weight`` may be
    (C, d_1, ..., d_K, in_features) for a K-dimensional loss. ``options`` (PyTorch's chunking) is
    accepted as None only: the reference path.

    Example:
        >>> F.linear_cross_entropy(ts.ones(2, 3), ts.zeros(4, 3), ts.tensor([0, 1]))
        tensor(1.3863)
    """
    opname = "linear_cross_entropy"
    _check_float(opname, "input", input)
    _check_tensor(opname, "linear_weight", linear_weight)
    _check_tensor(opname, "target", target)
    if options is not None:
        raise NotImplementedError(f"{opname}: chunking options are not supported (pass options=None)")
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"{opname}: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(
            f"{opname}: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}"
        )
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            f"{opname}: expected equal input and linear_weight last dimensions (in_features), got "
            f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively"
        )
    c, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (c, *out_features):
        raise RuntimeError(
            f"{opname}: expected linear_bias shape {(c, *out_features)}, got {tuple(linear_bias.shape)}"
        )
    if out_features and not batches:
        raise RuntimeError(
            f"{opname}: K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}"
        )
    logits_shape = (*batches, c, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError(f"{opname}: ignore_index cannot be specified when target contains probabilities")
    w2 = linear_weight.reshape(-1, in_features)
    b2 = None if linear_bias is None else linear_bias.reshape(-1)
    from .linear import linear  # the sibling module imports this one's package

    logits = linear(input, w2, b2).reshape(logits_shape)
    return cross_entropy(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
    )


# -- connectionist temporal classification ------------------------------------------------------------------
def _lengths(opname: str, name: str, value, n: int) -> Tensor:
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point or value.dtype.name == "bool":
            raise RuntimeError(f"{opname}: {name} must be integral, got {value.dtype.name}")
        t = value.long()
    else:
        try:
            t = creation.tensor([int(v) for v in value], dtype=_dt.int64)
        except TypeError:
            raise TypeError(
                f"{opname}: {name} must be a Tensor or a sequence of ints, got {type(value).__name__}"
            ) from None
    t = t.reshape(-1) if t.ndim == 0 else t
    if tuple(t.shape) != (n,):
        raise RuntimeError(f"{opname}: expected {name} of size {n} (the batch size), got {tuple(t.shape)}")
    return t


@_float32_under_autocast
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss of ``log_probs`` (T, N, C) (or unbatched (T, C)) for
    ``targets`` (N, S) padded or (sum(target_lengths),) concatenated. ``'mean'`` divides each sample's
    loss by its target length, then averages; ``zero_infinity`` zeroes infinite losses and their
    gradients. As in PyTorch, the gradient returned for ``log_probs`` is that of the logits under a
    ``log_softmax`` (the two agree once the log_softmax's own backward is applied).

    Example:
        >>> lp = ts.randn(6, 2, 4).log_softmax(2)
        >>> F.ctc_loss(lp, ts.tensor([[1, 2], [3, 3]]), [6, 5], [2, 2]).shape
        tessera.Size([])
    """
    opname = "ctc_loss"
    _check_float(opname, "log_probs", log_probs)
    _check_tensor(opname, "targets", targets)
    reduction = _reduction(opname, reduction)
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(
            f"{opname}: expected log_probs of shape (T, N, C) or (T, C), got {tuple(log_probs.shape)}"
        )
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    n, c = log_probs.shape[1], log_probs.shape[2]
    if not 0 <= blank < c:
        raise RuntimeError(f"{opname}: blank must be in label range, got blank={blank} for {c} classes")
    if targets.ndim not in (1, 2) or (targets.ndim == 2 and targets.shape[0] != n):
        raise RuntimeError(
            f"{opname}: expected targets of shape ({n}, S) or (sum(target_lengths),), got "
            f"{tuple(targets.shape)}"
        )
    il = _lengths(opname, "input_lengths", input_lengths, n)
    tl = _lengths(opname, "target_lengths", target_lengths, n)
    if targets.dtype.name != "int64":
        targets = targets.long()
    # the op checks the length and label values in its forward
    attrs = {"blank": int(blank), "zero_infinity": bool(zero_infinity)}
    nll = apply(_nn.CTC_LOSS, (log_probs, targets, il, tl), attrs)
    if reduction == "mean":
        return (nll / ops.clamp_min(tl, 1).to(nll.dtype)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.reshape(()) if unbatched else nll


# -- torch-level forms ---------------------------------------------------------------------------------------
# ``torch.kl_div``, ``torch.ctc_loss``... take the reduction as an int (0 'none', 1 'mean', 2 'sum'), and their
# Python bindings default to 'none'. These adapters (not in ``__all__``) are what ``ts.<name>`` should export.
_REDUCTION_CODES = ("none", "mean", "sum")


def _code(opname: str, reduction) -> str:
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{opname}(): argument 'reduction' must be int, not {type(reduction).__name__}")
    if not 0 <= reduction <= 2:
        raise ValueError(f"{opname}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction}")
    return _REDUCTION_CODES[reduction]


def _torch_kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    """``torch.kl_div``: ``F.kl_div`` with an int reduction."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 'mean' warning is F.kl_div's, not torch.kl_div's
        return kl_div(input, target, reduction=_code("kl_div", reduction), log_target=log_target)


def _torch_margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction: int = 0) -> Tensor:
    """``torch.margin_ranking_loss``."""
    return margin_ranking_loss(
        input1, input2, target, margin, reduction=_code("margin_ranking_loss", reduction)
    )


def _torch_hinge_embedding_loss(input, target, margin: float = 1.0, reduction: int = 0) -> Tensor:
    """``torch.hinge_embedding_loss``."""
    return hinge_embedding_loss(input, target, margin, reduction=_code("hinge_embedding_loss", reduction))


def _torch_cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction: int = 0) -> Tensor:
    """``torch.cosine_embedding_loss``."""
    return cosine_embedding_loss(
        input1, input2, target, margin, reduction=_code("cosine_embedding_loss", reduction)
    )


def _torch_triplet_margin_loss(
    anchor, positive, negative, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
    reduction: int = 0,
) -> Tensor:  # fmt: skip
    """``torch.triplet_margin_loss``."""
    return triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_code("triplet_margin_loss", reduction)
    )


def _torch_poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction: int) -> Tensor:
    """``torch.poisson_nll_loss`` (every argument required, as in PyTorch)."""
    return poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_code("poisson_nll_loss", reduction)
    )


def _torch_binary_cross_entropy_with_logits(
    input, target, weight=None, pos_weight=None, reduction: int = 0
) -> Tensor:
    """``torch.binary_cross_entropy_with_logits``."""
    return binary_cross_entropy_with_logits(
        input,
        target,
        weight,
        pos_weight=pos_weight,
        reduction=_code("binary_cross_entropy_with_logits", reduction),
    )


def _torch_ctc_loss(
    log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: int = 0,
    zero_infinity: bool = False,
) -> Tensor:  # fmt: skip
    """``torch.ctc_loss``."""
    return ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank, _code("ctc_loss", reduction), zero_infinity
    )
