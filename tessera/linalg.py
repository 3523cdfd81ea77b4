"""``ts.linalg``: PyTorch's linear-algebra namespace over the registry's linalg ops."""

__all__: list[str] = []
