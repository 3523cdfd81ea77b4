"""``ts.backends``: PyTorch's per-backend flags (``cudnn``, ``mps``, ``mkldnn``, ``openmp``...)."""

__all__: list[str] = []
