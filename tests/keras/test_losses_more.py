"""The Keras 3 losses added for issue 10 (focal, generalized CE, CTC, Circle, Dice, Tversky) and Keras's
mask-aware reduction, against real Keras (torch backend) on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import losses

RNG = np.random.default_rng(0)


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _probs(shape):
    p = RNG.uniform(0.05, 1.0, size=shape).astype("float32")
    return p / p.sum(-1, keepdims=True)


def _logits(shape):
    return RNG.normal(size=shape).astype("float32")


def _binary():
    return (RNG.uniform(size=(6, 4)) > 0.5).astype("float32"), RNG.uniform(0.01, 0.99, (6, 4)).astype(
        "float32"
    )


CASES = [
    ("BinaryFocalCrossentropy", {}, _binary),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                 "label_smoothing": 0.1}, _binary),  # fmt: skip
    ("BinaryFocalCrossentropy", {"from_logits": True}, lambda: (_binary()[0], _logits((6, 4)))),
    ("CategoricalFocalCrossentropy", {}, lambda: (np.eye(5, dtype="float32")[RNG.integers(0, 5, 6)], _probs((6, 5)))),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.2, "gamma": 3.0},
     lambda: (np.eye(5, dtype="float32")[RNG.integers(0, 5, 6)], RNG.normal(size=(6, 5)).astype("float32"))),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, lambda: (RNG.integers(0, 5, 6), _probs((6, 5)))),
    ("Dice", {}, _binary),
    ("Dice", {"axis": 1}, _binary),
    ("Tversky", {"alpha": 0.7, "beta": 0.3}, _binary),
    ("Tversky", {"axis": (1,)}, _binary),
]  # fmt: skip


@pytest.mark.parametrize("name, kwargs, make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none", "sum"])
def test_loss_matches_keras(real_keras, name, kwargs, make, reduction):
    y, p = make()
    w = RNG.uniform(size=(6,)).astype("float32")
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(real_keras.losses, name)(reduction=reduction, **kwargs)
    for sw in (None, w):
        if sw is not None and name in ("Dice", "Tversky") and "axis" not in kwargs:
            continue  # one value for the whole batch: no per-sample weights
        np.testing.assert_allclose(
            _np(ours(y, ts.tensor(p), sample_weight=sw)),
            _np(theirs(y, p, sample_weight=sw)),
            rtol=2e-5,
            atol=1e-6,
        )
    assert (
        ours.get_config()
        == {k: v for k, v in theirs.get_config().items() if k != "dtype"} | ours.get_config()
    )


def test_functions_match_keras(real_keras):
    y, p = _binary()
    for fn in ("binary_focal_crossentropy", "dice", "tversky"):
        np.testing.assert_allclose(_np(getattr(losses, fn)(y, p)), _np(getattr(real_keras.losses, fn)(y, p)),
                                   rtol=2e-5)  # fmt: skip
    onehot = np.eye(3, dtype="float32")[RNG.integers(0, 3, 4)]
    probs = _probs((4, 3))
    np.testing.assert_allclose(
        _np(losses.categorical_focal_crossentropy(onehot, probs)),
        _np(real_keras.losses.categorical_focal_crossentropy(onehot, probs)), rtol=2e-5,
    )  # fmt: skip


@pytest.mark.parametrize("remove_diagonal", [True, False])
def test_circle_matches_keras(real_keras, remove_diagonal):
    emb = RNG.normal(size=(8, 5)).astype("float32")
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = RNG.integers(0, 3, 8)
    for reduction in ("none", "sum_over_batch_size"):
        ours = losses.Circle(remove_diagonal=remove_diagonal, reduction=reduction)(labels, ts.tensor(emb))
        theirs = real_keras.losses.Circle(remove_diagonal=remove_diagonal, reduction=reduction)(labels, emb)
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-4, atol=1e-5)


def test_ctc_matches_keras_and_trains(real_keras):
    logits = RNG.normal(size=(3, 7, 5)).astype("float32")
    labels = np.array([[1, 2, 0], [3, 3, 4], [2, 0, 0]])
    np.testing.assert_allclose(
        _np(losses.ctc(labels, logits)), _np(real_keras.losses.ctc(labels, logits)), rtol=1e-4
    )
    x = ts.tensor(logits, requires_grad=True)
    losses.CTC()(labels, x).backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    with pytest.raises(ValueError, match=r"ctc: targets `y_true` are expected.*\(3,\)"):
        losses.ctc(np.ones(3), logits)


def test_focal_gradient_matches_finite_differences():
    y, p = _binary()
    x = ts.tensor(p.astype("float64"), requires_grad=True)
    losses.BinaryFocalCrossentropy(gamma=2.0)(ts.tensor(y.astype("float64")), x).backward()
    eps = 1e-6
    num = np.zeros_like(p, dtype="float64")
    for idx in np.ndindex(p.shape):
        hi, lo = p.astype("float64"), p.astype("float64")
        hi[idx] += eps
        lo[idx] -= eps
        f = losses.BinaryFocalCrossentropy(gamma=2.0)
        num[idx] = (
            float(f(y.astype("float64"), ts.tensor(hi))) - float(f(y.astype("float64"), ts.tensor(lo)))
        ) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-5, atol=1e-8)


def test_mask_on_predictions_is_applied_as_keras(real_keras):
    import keras as real

    y = RNG.normal(size=(4, 6)).astype("float32")
    p = RNG.normal(size=(4, 6)).astype("float32")
    mask = RNG.uniform(size=(4,)) > 0.4
    mask[0] = True
    ours_p = ts.tensor(p)
    ours_p._keras_mask = ts.tensor(mask)
    import torch

    theirs_p = torch.tensor(p)
    from keras.src.backend import set_keras_mask

    set_keras_mask(theirs_p, torch.tensor(mask))
    for reduction in ("sum_over_batch_size", "sum", "none"):
        ours = losses.MeanSquaredError(reduction=reduction)(y, ours_p)
        theirs = real.losses.MeanSquaredError(reduction=reduction)(y, theirs_p)
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"q must be in the interval \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="circle: y_pred must be embeddings"):
        losses.circle([0, 1], ts.ones(2, 3, 4))
    assert losses.get("dice") is losses.dice and type(losses.get("Tversky")) is losses.Tversky
