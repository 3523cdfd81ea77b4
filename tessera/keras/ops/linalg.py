"""``keras.ops.linalg``: decompositions (``cholesky``, ``qr``, ``svd``, ``eig``, ``eigh``, ``lu_factor``),
solvers (``solve``, ``solve_triangular``, ``lstsq``), ``det``/``inv``/``pinv``/``matrix_rank``, ``norm``
and forward-mode ``jvp``, on Tessera's linalg ops (batched over leading dimensions; differentiable where
Tessera's ops are). Also exported at the top of ``keras.ops``.

Example:
    >>> from tessera.keras import ops
    >>> ops.linalg.det(ts.tensor([[2.0, 0.0], [0.0, 3.0]])).item()
    6.0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ... import linalg as _la
from ... import ops as _T
from ...autograd import grad as _grad
from ...core import creation
from ...core import dtypes as _dt
from ...core.grad_mode import enable_grad
from ...core.tensor import Tensor
from .. import config
from ..backend import result_type as _result_type
from ..layers.base import flatten, symbolic_op
from ._convert import standardize_dtype, to_tensor
from .core import _pack

__all__ = [
    "cholesky",
    "cholesky_inverse",
    "det",
    "eig",
    "eigh",
    "inv",
    "jvp",
    "lstsq",
    "lu_factor",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
]


def _matrix(fn: str, x, *, square: bool = False, arg: str = "x") -> Tensor:
    """``x`` as a floating tensor of rank >= 2 (square when asked), else the error Keras raises."""
    x = to_tensor(x)
    if x.ndim < 2:
        raise ValueError(
            f"keras.ops.{fn}: expected `{arg}` to have rank >= 2, got input with shape {tuple(x.shape)}"
        )
    if square and int(x.shape[-1]) != int(x.shape[-2]):
        raise ValueError(
            f"keras.ops.{fn}: expected a square matrix, got non-square `{arg}` with shape {tuple(x.shape)}"
        )
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(standardize_dtype(config.floatx()))
    return x


def _rhs(fn: str, a: Tensor, b) -> Tensor:
    b = to_tensor(b)
    if b.ndim < 1:
        raise ValueError(f"keras.ops.{fn}: expected `b` to have rank >= 1, got a scalar {b!r}")
    if b.ndim == a.ndim:
        if int(a.shape[-2]) != int(b.shape[-2]):
            raise ValueError(
                f"keras.ops.{fn}: incompatible shapes, expected a.shape[-2] == b.shape[-2], got "
                f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}"
            )
    elif b.ndim == a.ndim - 1:
        if int(a.shape[-1]) != int(b.shape[-1]):
            raise ValueError(
                f"keras.ops.{fn}: incompatible shapes, expected a.shape[-1] == b.shape[-1], got "
                f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}"
            )
    else:
        raise ValueError(
            f"keras.ops.{fn}: `b` must have the rank of `a` or one less, got a.shape={tuple(a.shape)}, "
            f"b.shape={tuple(b.shape)}"
        )
    return b.to(a.dtype) if b.dtype is not a.dtype else b


@symbolic_op
def cholesky(x, upper: bool = False) -> Tensor:
    """The Cholesky factor of symmetric positive-definite matrices ``(..., M, M)`` (lower, or upper).

    Example:
        >>> cholesky(ts.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    x = _matrix("cholesky", x, square=True)
    try:
        return _la.cholesky(x, upper=bool(upper))
    except Exception as e:  # noqa: BLE001 - Keras reports every failure as ValueError
        raise ValueError(f"keras.ops.cholesky: Cholesky decomposition failed: {e}") from None


@symbolic_op
def cholesky_inverse(x, upper: bool = False) -> Tensor:
    """The inverse of ``A`` given its Cholesky factor ``x`` (lower, or upper with ``upper=True``).

    Example:
        >>> cholesky_inverse(ts.tensor([[2.0, 0.0], [0.0, 1.0]])).tolist()
        [[0.25, 0.0], [0.0, 1.0]]
    """
    x = _matrix("cholesky_inverse", x, square=True)
    try:
        return _T.cholesky_inverse(x, upper=bool(upper))
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"keras.ops.cholesky_inverse: Cholesky inverse failed: {e}") from None


@symbolic_op
def det(x) -> Tensor:
    """The determinants of square matrices ``(..., M, M)``.

    Example:
        >>> det(ts.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
        -2.0
    """
    return _la.det(_matrix("det", x, square=True))


@symbolic_op
def eig(x) -> tuple:
    """Eigenvalues and eigenvectors (complex) of square matrices ``(..., M, M)``.

    Example:
        >>> w, v = eig(ts.tensor([[2.0, 0.0], [0.0, 3.0]]))
        >>> w.tolist()
        [(2+0j), (3+0j)]
    """
    w, v = _la.eig(_matrix("eig", x, square=True))
    return w, v


@symbolic_op
def eigh(x) -> tuple:
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices ``(..., M, M)``.

    Example:
        >>> w, v = eigh(ts.tensor([[2.0, 0.0], [0.0, 1.0]]))
        >>> w.tolist()
        [1.0, 2.0]
    """
    w, v = _la.eigh(_matrix("eigh", x, square=True))
    return w, v


@symbolic_op
def inv(x) -> Tensor:
    """The inverses of square matrices ``(..., M, M)``.

    Example:
        >>> inv(ts.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    return _la.inv(_matrix("inv", x, square=True))


@symbolic_op
def lu_factor(x) -> tuple:
    """The LU factorization with partial pivoting: the packed ``LU`` and the 0-based row ``pivots``
    (row ``i`` was swapped with row ``pivots[i]``).

    Example:
        >>> lu, piv = lu_factor(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> piv.tolist()
        [1, 1]
    """
    lu, pivots = _la.lu_factor(_matrix("lu_factor", x))
    return lu, pivots - 1


_MATRIX_ORDS = (None, "fro", "nuc", float("inf"), float("-inf"), 1, -1, 2, -2)


@symbolic_op
def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """Vector norms (``axis`` an int, or ``x`` 1-D) or matrix norms (``axis`` a pair, or ``x`` 2-D with
    ``axis=None``); ``ord`` as in ``numpy.linalg.norm``; the result dtype is Keras's
    ``result_type(x.dtype, float)`` (integers and float64 give float32).

    Example:
        >>> norm(ts.tensor([3.0, 4.0])).item()
        5.0
    """
    x = to_tensor(x)
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"keras.ops.norm: invalid `ord` {ord!r}; a string ord must be 'fro' or 'nuc'")
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    n_axes = x.ndim if axis is None else len(tuple(axis))
    if axis is not None:
        for a in axis:
            if not -x.ndim <= a < x.ndim:
                raise ValueError(f"keras.ops.norm: axis {a} is out of range for shape {tuple(x.shape)}")
    if n_axes == 1 and isinstance(ord, str):
        raise ValueError(f"keras.ops.norm: invalid `ord` for a vector norm, got ord={ord!r}")
    if n_axes == 2 and ord not in _MATRIX_ORDS:
        raise ValueError(f"keras.ops.norm: invalid `ord` for a matrix norm, got ord={ord!r}")
    if axis is None and x.ndim > 2 and ord is not None:
        raise ValueError(
            f"keras.ops.norm: ord={ord!r} needs `axis` (one or two axes) for an input of rank {x.ndim}"
        )
    if not x.dtype.is_complex:
        # Keras computes norms in result_type(x.dtype, float), which narrows float64 to float32
        dt = standardize_dtype(_result_type(x.dtype.name, float))
        x = x if x.dtype is dt else x.to(dt)
    dim = None if axis is None else (axis[0] if len(axis) == 1 else tuple(axis))
    return _la.norm(x, ord=ord, dim=dim, keepdim=bool(keepdims))


@symbolic_op
def qr(x, mode: str = "reduced") -> tuple:
    """The QR decomposition of ``(..., M, N)`` matrices: ``q`` ``(..., M, K)`` and ``r`` ``(..., K, N)`` with
    ``K = min(M, N)`` (``mode='complete'``: ``q`` is ``(..., M, M)``).

    Example:
        >>> q, r = qr(ts.tensor([[1.0, 0.0], [0.0, 1.0]]))
        >>> tuple(q.shape), tuple(r.shape)
        ((2, 2), (2, 2))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(
            f"keras.ops.qr: `mode` argument value not supported, expected 'reduced' or 'complete', got {mode!r}"
        )
    q, r = _la.qr(_matrix("qr", x), mode=mode)
    return q, r


@symbolic_op
def solve(a, b) -> Tensor:
    """The solution ``x`` of ``a @ x = b`` for square ``a`` ``(..., M, M)`` and ``b`` ``(..., M)`` or
    ``(..., M, N)``.

    Example:
        >>> solve(ts.tensor([[2.0, 0.0], [0.0, 4.0]]), ts.tensor([2.0, 2.0])).tolist()
        [1.0, 0.5]
    """
    a = _matrix("solve", a, square=True, arg="a")
    b = _rhs("solve", a, b)
    if b.ndim == a.ndim - 1:
        return _la.solve(a, b.unsqueeze(-1)).squeeze(-1)
    return _la.solve(a, b)


@symbolic_op
def solve_triangular(a, b, lower: bool = False) -> Tensor:
    """The solution of ``a @ x = b`` for triangular ``a`` (upper unless ``lower=True``; the other triangle
    is ignored).

    Example:
        >>> solve_triangular(ts.tensor([[2.0, 1.0], [0.0, 1.0]]), ts.tensor([3.0, 1.0])).tolist()
        [1.0, 1.0]
    """
    a = _matrix("solve_triangular", a, square=True, arg="a")
    b = _rhs("solve_triangular", a, b)
    if b.ndim == a.ndim - 1:
        return _la.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return _la.solve_triangular(a, b, upper=not lower)


@symbolic_op
def svd(x, full_matrices: bool = True, compute_uv: bool = True):
    """The singular value decomposition ``x = u @ diag(s) @ v`` of ``(..., M, N)`` matrices: ``(u, s, v)``,
    or only ``s`` (descending) with ``compute_uv=False``.

    Example:
        >>> svd(ts.tensor([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False).tolist()
        [4.0, 3.0]
    """
    x = _matrix("svd", x)
    if not compute_uv:
        return _la.svdvals(x)
    u, s, v = _la.svd(x, full_matrices=bool(full_matrices))
    return u, s, v


@symbolic_op
def lstsq(a, b, rcond: float | None = None) -> Tensor:
    """The least-squares solution ``x`` ``(N,)``/``(N, K)`` minimizing ``|b - a @ x|`` for ``a`` ``(M, N)`` and
    ``b`` ``(M,)``/``(M, K)``; singular values below ``rcond`` times the largest count as zero.

    Example:
        >>> [round(v, 4) for v in lstsq(ts.tensor([[1.0], [1.0]]), ts.tensor([1.0, 3.0])).tolist()]
        [2.0]
    """
    a = to_tensor(a)
    b = to_tensor(b)
    if a.ndim != 2:
        raise ValueError(f"keras.ops.lstsq: expected `a` to have rank 2, got a.shape={tuple(a.shape)}")
    if b.ndim not in (1, 2):
        raise ValueError(f"keras.ops.lstsq: expected `b` to have rank 1 or 2, got b.shape={tuple(b.shape)}")
    if int(b.shape[0]) != int(a.shape[0]):
        raise ValueError(
            "keras.ops.lstsq: expected b.shape[0] == a.shape[0], got "
            f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}"
        )
    a = _matrix("lstsq", a, arg="a")
    b = b.to(a.dtype)
    vec = b.ndim == 1
    bb = b.unsqueeze(-1) if vec else b
    if rcond is None:
        x = _la.lstsq(a, bb).solution
    else:
        # numpy's meaning of rcond: singular values below rcond * max(s) are dropped
        x = _la.pinv(a, rtol=float(rcond)) @ bb
    return x.squeeze(-1) if vec else x


@symbolic_op
def matrix_rank(x, tol: float | None = None) -> Tensor:
    """The number of singular values above ``tol`` (default: the largest singular value times
    ``max(M, N)`` times the dtype's epsilon), as int32.

    Example:
        >>> matrix_rank(ts.tensor([[1.0, 2.0], [2.0, 4.0]])).item()
        1
    """
    x = _matrix("matrix_rank", x)
    if tol is None:
        return _la.matrix_rank(x).to(_dt.int32)
    return _la.matrix_rank(x, atol=float(tol), rtol=0.0).to(_dt.int32)


@symbolic_op
def pinv(x, rcond: float | None = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse ``(..., N, M)`` of ``(..., M, N)`` matrices; singular values at or
    below ``rcond`` times the largest are treated as zero.

    Example:
        >>> pinv(ts.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.0]]
    """
    x = _matrix("pinv", x)
    if rcond is None:
        return _la.pinv(x)
    return _la.pinv(x, rtol=float(rcond))


def jvp(fun: Callable, primals, tangents, has_aux: bool = False) -> tuple:
    """Forward-mode product ``J(primals) @ tangents`` of ``fun``: returns ``(fun(*primals), jvp)`` (and the
    auxiliary output with ``has_aux=True``, where ``fun`` returns ``(output, aux)``). Computed with two
    reverse passes (the transpose of the vector-Jacobian product).

    Example:
        >>> out, t = jvp(lambda x: x * x, (ts.tensor(3.0),), (ts.tensor(1.0),))
        >>> out.item(), t.item()
        (9.0, 6.0)
    """
    if not callable(fun):
        raise TypeError(f"keras.ops.jvp: `fun` must be callable, got {fun!r}")
    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError("keras.ops.jvp: `primals` and `tangents` must be tuples or lists of arguments")
    if len(primals) != len(tangents):
        raise ValueError(
            f"keras.ops.jvp: `primals` ({len(primals)}) and `tangents` ({len(tangents)}) must have the same length"
        )
    p_flat = [to_tensor(p) for p in flatten(list(primals))]
    t_flat = [to_tensor(t) for t in flatten(list(tangents))]
    if len(p_flat) != len(t_flat):
        raise ValueError("keras.ops.jvp: `primals` and `tangents` must have the same structure")
    for p, t in zip(p_flat, t_flat):
        if tuple(p.shape) != tuple(t.shape):
            raise ValueError(
                f"keras.ops.jvp: a tangent of shape {tuple(t.shape)} does not match its primal of shape "
                f"{tuple(p.shape)}"
            )
    # float primals become leaves; the first pass builds v -> J^T v, the second differentiates it in v
    leaves = iter([p.detach().requires_grad_(p.dtype.is_floating_point) for p in p_flat])
    args = _pack(list(primals), leaves)
    with enable_grad():
        result = fun(*args)
        if has_aux and (not isinstance(result, (list, tuple)) or len(result) != 2):
            raise ValueError("keras.ops.jvp: with has_aux=True, `fun` must return (output, aux)")
        out, aux = result if has_aux else (result, None)
        outs = [to_tensor(o) for o in flatten(out)]
        float_pos = [i for i, p in enumerate(p_flat) if p.dtype.is_floating_point]
        inputs = [a for a in flatten(args) if a.requires_grad]
        diff = [i for i, o in enumerate(outs) if o.requires_grad]
        cots = {i: creation.zeros_like(outs[i]).requires_grad_(True) for i in diff}
        tangent_out = [creation.zeros_like(o) for o in outs]
        if diff and inputs:
            vjp = _grad(
                [outs[i] for i in diff], inputs, grad_outputs=[cots[i] for i in diff], create_graph=True,
                allow_unused=True,
            )  # fmt: skip
            pairs = [(v, t_flat[i]) for i, v in zip(float_pos, vjp) if v is not None and v.requires_grad]
            if pairs:
                jt = _grad(
                    [v for v, _ in pairs],
                    [cots[i] for i in diff],
                    grad_outputs=[t.to(v.dtype) for v, t in pairs],
                    allow_unused=True,
                )
                for i, g in zip(diff, jt):
                    if g is not None:
                        tangent_out[i] = g.detach()
    primals_out = _pack(out, iter([o.detach() for o in outs]))
    tangents_out = _pack(out, iter(tangent_out))
    if has_aux:
        return primals_out, tangents_out, aux
    return primals_out, tangents_out
