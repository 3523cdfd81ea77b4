"""``ts.cuda``: PyTorch's CUDA queries and no-op controls, answered for a build without a GPU backend."""

__all__: list[str] = []
