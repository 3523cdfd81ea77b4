"""Keras tests: real Keras 3 (torch backend, the pinned CPU torch) is the test-time reference where installed;
tests that need it take the ``real_keras`` fixture and skip cleanly without it."""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture(scope="session")
def real_keras():
    """The installed Keras 3 package (torch backend), or skip."""
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3") or keras.backend.backend() != "torch":
        pytest.skip("needs Keras 3 with KERAS_BACKEND=torch")
    return keras
