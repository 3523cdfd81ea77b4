"""Linear algebra: ``matmul`` (batched, broadcasting), ``einsum`` and friends."""

from __future__ import annotations

import numpy as np

from ..core.dispatch import OpDef, OpError
from ._util import apply, method

__all__ = ["matmul", "mm", "bmm", "mv", "dot"]


def _matmul_shape(x, y):
    xs, ys = tuple(x.shape), tuple(y.shape)
    if len(xs) == 0 or len(ys) == 0:
        raise OpError(f"matmul: both arguments to matmul need to be at least 1D, but they are {len(xs)}D and "
                      f"{len(ys)}D")
    k1 = xs[-1]
    k2 = ys[-2] if len(ys) >= 2 else ys[0]
    if k1 != k2:
        raise OpError(f"matmul: shapes {xs} and {ys} cannot be multiplied ({k1} != {k2})")
    try:
        batch = np.broadcast_shapes(xs[:-2], ys[:-2])
    except ValueError:
        raise OpError(f"matmul: batch dimensions of {xs} and {ys} are not broadcastable") from None
    out = batch + (xs[-2:-1] if len(xs) >= 2 else ()) + (ys[-1:] if len(ys) >= 2 else ())
    return out


MATMUL = OpDef("matmul", np.matmul, promote=True, shape_rule=_matmul_shape)


@MATMUL.defgrad
def _matmul_grad(ctx, g):
    x, y = ctx.saved
    nx, ny = x.ndim, y.ndim
    need_x, need_y = ctx.needs_grad
    gx = gy = None
    if nx == 1 and ny == 1:
        gx = g * y if need_x else None
        gy = g * x if need_y else None
    elif nx == 1:
        g2 = g.unsqueeze(-2)
        gx = (g2 @ y.mT).squeeze(-2) if need_x else None
        gy = x.unsqueeze(-1) @ g2 if need_y else None
    elif ny == 1:
        g2 = g.unsqueeze(-1)
        gx = g2 @ y.unsqueeze(-2) if need_x else None
        gy = (x.mT @ g2).squeeze(-1) if need_y else None
    else:
        gx = g @ y.mT if need_x else None
        gy = x.mT @ g if need_y else None
    return gx, gy


@method("matmul", "__matmul__")
def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading dims broadcast.

    Example:
        >>> ts.ones(2, 3) @ ts.ones(3, 4)   # shape (2, 4)
    """
    return apply(MATMUL, (input, other))


method("__rmatmul__")(lambda self, other: apply(MATMUL, (other, self)))


@method("mm")
def mm(input, mat2):
    """Product of two 2-D matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return apply(MATMUL, (input, mat2))


@method("bmm")
def bmm(input, mat2):
    """Batched product of (b, n, m) and (b, m, p) tensors."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"bmm: expected 3-D tensors with equal batch size, got shapes {tuple(input.shape)} and "
            f"{tuple(mat2.shape)}"
        )
    return apply(MATMUL, (input, mat2))


@method("mv")
def mv(input, vec):
    """Matrix-vector product of a (n, m) matrix and a (m,) vector."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {tuple(input.shape)} and "
                           f"{tuple(vec.shape)}")
    return apply(MATMUL, (input, vec))


@method("dot")
def dot(input, other):
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return apply(MATMUL, (input, other))
