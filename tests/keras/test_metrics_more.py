"""The Keras 3 metrics added for issue 10, against real Keras (torch backend): two batches of random data
(with and without sample weights) through update_state, then result(), plus configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.keras import metrics

RNG = np.random.default_rng(0)


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _reg():
    return RNG.normal(size=(6, 3)).astype("float32"), RNG.normal(size=(6, 3)).astype("float32")


def _pos_reg():
    return RNG.uniform(0.1, 2, (6, 3)).astype("float32"), RNG.uniform(0.1, 2, (6, 3)).astype("float32")


def _binary():
    return (RNG.uniform(size=(8, 1)) > 0.5).astype("float32"), RNG.uniform(size=(8, 1)).astype("float32")


def _onehot():
    y = np.eye(4, dtype="float32")[RNG.integers(0, 4, 8)]
    p = RNG.uniform(size=(8, 4)).astype("float32")
    return y, p


def _sparse():
    return RNG.integers(0, 4, 10), RNG.integers(0, 4, 10)


CASES = [
    ("Hinge", {}, _binary),
    ("SquaredHinge", {}, _binary),
    ("CategoricalHinge", {}, _onehot),
    ("Poisson", {}, _pos_reg),
    ("LogCoshError", {}, _reg),
    ("CosineSimilarity", {}, _reg),
    ("CosineSimilarity", {"axis": 0}, _reg),
    ("PearsonCorrelation", {}, _reg),
    ("ConcordanceCorrelation", {}, _reg),
    ("R2Score", {}, _reg),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, _reg),
    ("R2Score", {"class_aggregation": None, "num_regressors": 2}, _reg),
    ("F1Score", {}, _onehot),
    ("F1Score", {"average": "macro", "threshold": 0.5}, _onehot),
    ("FBetaScore", {"average": "micro", "beta": 2.0}, _onehot),
    ("FBetaScore", {"average": "weighted", "beta": 0.5, "threshold": 0.3}, _onehot),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, _sparse),
    ("MeanIoU", {"num_classes": 4}, _sparse),
    ("MeanIoU", {"num_classes": 4, "ignore_class": 1}, _sparse),
    ("BinaryIoU", {}, _binary),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, _binary),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, _onehot),
    ("OneHotMeanIoU", {"num_classes": 4}, _onehot),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, _binary),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50}, _binary),
    ("PrecisionAtRecall", {"recall": 0.6}, _binary),
    ("RecallAtPrecision", {"precision": 0.4, "num_thresholds": 10}, _binary),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "class_id": 2}, _onehot),
]


@pytest.mark.parametrize("name, kwargs, make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_matches_keras(real_keras, name, kwargs, make, weighted):
    if weighted and kwargs.get("axis") == 0:
        pytest.skip("values per column: per-sample weights do not apply")
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(real_keras.metrics, name)(**kwargs)
    for _ in range(2):
        y, p = make()
        sw = RNG.integers(1, 4, len(y)).astype("float32") if weighted else None
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
    np.testing.assert_allclose(_np(ours.result()), _np(theirs.result()), rtol=2e-5, atol=2e-6)
    assert ours.name == theirs.name.rstrip("_0123456789") or ours.name == theirs.name  # Keras numbers repeats
    mine, keras_cfg = ours.get_config(), theirs.get_config()
    for key in set(mine) & set(keras_cfg) - {"dtype", "name"}:
        assert mine[key] == keras_cfg[key], key
    ours.reset_state()
    assert float(np.sum(_np(ours.result()))) == 0.0 or name in ("R2Score",)


@pytest.mark.parametrize(
    "fn",
    ["pearson_correlation", "concordance_correlation", "hinge", "poisson", "mean_squared_error", "huber"],
)
def test_metric_functions_match_keras(real_keras, fn):
    y, p = _pos_reg()
    np.testing.assert_allclose(
        _np(getattr(metrics, fn)(y, p)), _np(getattr(real_keras.metrics, fn)(y, p)), rtol=2e-5
    )


def test_metrics_work_in_fit():
    model = ts.keras.Sequential([ts.keras.Input((3,)), ts.keras.layers.Dense(4, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=[metrics.F1Score(average="macro"), "r2_score"])
    y = np.eye(4, dtype="float32")[RNG.integers(0, 4, 16)]
    hist = model.fit(RNG.normal(size=(16, 3)).astype("float32"), y, epochs=1, verbose=0)
    assert {"f1_score", "r2_score", "loss"} <= set(hist.history)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: metrics.IoU(num_classes=2, target_class_ids=[2]), r"target class id 2 is out of range"),
        (lambda: metrics.FBetaScore(beta=1), "`beta` should be a Python float"),
        (lambda: metrics.F1Score(average="mean"), "invalid `average`"),
        (lambda: metrics.R2Score(class_aggregation="sum"), "class_aggregation"),
        (lambda: metrics.PrecisionAtRecall(1.5), r"`recall` must be in the range \[0, 1\]"),
        (lambda: metrics.R2Score().update_state(np.ones(3), np.ones(3)), "R2Score expects 2D inputs"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
