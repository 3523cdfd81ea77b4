"""``keras.ops.linalg``: linear algebra (``cholesky``, ``det``, ``inv``, ``qr``, ``svd``, ``solve``...)."""

from __future__ import annotations

__all__: list[str] = []
