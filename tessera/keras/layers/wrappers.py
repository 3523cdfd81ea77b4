"""Layer wrappers: Bidirectional, TimeDistributed."""

from __future__ import annotations

__all__: list[str] = []
