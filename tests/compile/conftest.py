"""Compiler tests fuse every chain, however small (by default chains under ``fusion.MIN_ELEMENTS`` elements
run in NumPy, which is faster there), so the C lowerings are exercised by every test."""

import pytest

from tessera.compile import fusion


@pytest.fixture(autouse=True)
def _fuse_everything(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1)
