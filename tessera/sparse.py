"""``ts.sparse``: sparse COO tensors and the products graph networks use (``mm``, ``spmm``).

Example:
    >>> adj = ts.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
    >>> ts.sparse.mm(adj, ts.eye(2))
    tensor([[0., 1.],
            [1., 0.]])
"""

from .ops.sparse import SparseCOOTensor, addmm, mm, smm, spmm
from .ops.sparse import sparse_log_softmax as log_softmax
from .ops.sparse import sparse_softmax as softmax
from .ops.sparse import sparse_sum as sum  # noqa: A004 - PyTorch's name

__all__: list[str] = ["SparseCOOTensor", "addmm", "log_softmax", "mm", "smm", "softmax", "spmm", "sum"]
