"""``keras.ops.nn``: neural-network operations (activations, convolutions, pooling, losses, attention)."""

from __future__ import annotations

__all__: list[str] = []
