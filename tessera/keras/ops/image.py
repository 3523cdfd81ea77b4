"""``keras.ops.image``: image operations (``resize``, ``affine_transform``, colour conversions, patches)."""

from __future__ import annotations

__all__: list[str] = []
