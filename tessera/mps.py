"""``ts.mps``: PyTorch's Apple-GPU queries, answered for a build without that backend."""

__all__: list[str] = []
