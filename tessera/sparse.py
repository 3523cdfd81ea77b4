"""``ts.sparse``: sparse COO tensors and the products graph networks use (``mm``, ``spmm``)."""

__all__: list[str] = []
