"""``ts.linalg``: PyTorch's linear-algebra namespace over the registry's linalg ops.

Example:
    >>> A = ts.tensor([[4.0, 2.0], [2.0, 3.0]])
    >>> ts.linalg.det(A)
    tensor(8.)
"""

from .ops import linalg as _la
from .ops.linalg import LinAlgError

_NAMES = (
    "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_solve", "matmul", "matrix_exp", "matrix_norm",
    "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
    "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm",
)  # fmt: skip

for _name in _NAMES:
    globals()[_name] = getattr(_la, "linalg_" + _name)
del _name

__all__: list[str] = ["LinAlgError", *_NAMES]
