"""Sparse COO tensor ops (the registry side of ``ts.sparse``)."""

__all__: list[str] = []
