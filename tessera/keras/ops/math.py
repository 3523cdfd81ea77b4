"""``keras.ops`` math: segment reductions, ``top_k``, ``logsumexp``, FFTs, STFT and the like."""

from __future__ import annotations

__all__: list[str] = []
