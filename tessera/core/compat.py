"""PyTorch's process-level switches and legacy spellings (``set_num_threads``, ``FloatTensor``...)."""

__all__: list[str] = []
