"""``ts.accelerator``: PyTorch's device-agnostic accelerator queries, answered for a CPU-only build."""

__all__: list[str] = []
