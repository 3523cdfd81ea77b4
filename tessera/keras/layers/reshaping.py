"""Reshaping layers: UpSampling, Cropping, ZeroPadding (1-D/2-D/3-D), RepeatVector."""

from __future__ import annotations

__all__: list[str] = []
