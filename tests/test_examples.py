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
