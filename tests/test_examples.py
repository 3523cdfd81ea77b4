"""The examples train for real: the seed's SimpleNN fits its regression and the digits CNN reaches the
accuracy the README promises."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    return runpy.run_path(str(EXAMPLES / name), run_name="example")


def test_simple_nn_fits_its_regression():
    assert _load("simple_nn.py")["main"](epochs=200, verbose=False) < 0.02


@pytest.mark.slow
def test_digits_cnn_reaches_97_percent():
    pytest.importorskip("sklearn")
    assert _load("digits_cnn.py")["main"](verbose=False) >= 0.97


@pytest.mark.slow
def test_digits_keras_reaches_97_percent_and_logs_to_tensorboard(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = _load("digits_keras.py")["main"](log_dir=str(tmp_path / "logs"), verbose=0)
    assert result["test_accuracy"] >= 0.97 and result["reloaded_accuracy"] >= 0.97
    history = result["history"]
    for run, key in (("train", "loss"), ("validation", "val_loss")):
        acc = EventAccumulator(str(tmp_path / "logs" / run))
        acc.Reload()
        losses = [e.value for e in acc.Scalars("epoch_loss")]
        assert len(losses) == len(history[key])
        assert losses == pytest.approx(history[key], rel=1e-5)
