"""Regularization layers: noise and dropout variants (GaussianNoise, GaussianDropout, AlphaDropout,
SpatialDropout*), ActivityRegularization."""

from __future__ import annotations

__all__: list[str] = []
