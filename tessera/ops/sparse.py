"""Sparse COO tensors and their products (the registry side of ``ts.sparse``).

A COO tensor holds ``indices`` (an int64 ``(sparse_dim, nnz)`` tensor) and ``values`` (``(nnz, *dense_dims)``):
entry ``k`` sits at ``indices[:, k]``; duplicates add up. It is a ``Tensor`` subclass whose elementwise data is
never materialised: dense ops on it raise, and ``to_dense()`` builds the dense tensor. Gradients flow to
``values`` (and to the dense operand of a product), as in PyTorch, which is what a graph network needs:

    adj = ts.sparse_coo_tensor(edge_index, edge_weight, (n, n))
    out = ts.sparse.mm(adj, x @ W)        # loss.backward() reaches W (and edge_weight)
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta
from ..core.tensor import Tensor
from ._util import apply, check_tensor, method

__all__ = ["sparse_coo_tensor", "spmm", "smm", "hspmm"]


class _Layout:
    """Fallback layout object (``ts.sparse_coo``) used when ``tessera.core.compat`` defines none."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"tessera.{self.name}"


_FALLBACK_LAYOUT = _Layout("sparse_coo")


def _sparse_layout():
    from ..core import compat

    return getattr(compat, "sparse_coo", _FALLBACK_LAYOUT)


class SparseCOOTensor(Tensor):
    """A sparse COO tensor (``layout == ts.sparse_coo``); build one with ``ts.sparse_coo_tensor`` or
    ``dense.to_sparse()``."""

    __slots__ = ("_sp_idx", "_sp_vals", "_sparse_size", "_coalesced")

    @property
    def _data(self):
        raise RuntimeError(
            f"this operation does not support sparse COO tensors (shape {list(self._sparse_size)}); "
            "convert with .to_dense() first"
        )

    @_data.setter
    def _data(self, value):  # pragma: no cover - never set on a sparse tensor
        raise RuntimeError("a sparse COO tensor has no dense data")

    # -- metadata -------------------------------------------------------------------------------------
    @property
    def shape(self):
        from ..core.tensor import Size

        return Size(self._sparse_size)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self._sparse_size[dim]

    @property
    def dtype(self):
        return self._sp_vals.dtype

    @property
    def ndim(self) -> int:
        return len(self._sparse_size)

    def dim(self) -> int:
        return len(self._sparse_size)

    def numel(self) -> int:
        return int(np.prod(self._sparse_size))

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def layout(self):
        return _sparse_layout()

    def is_floating_point(self) -> bool:
        return self._sp_vals.is_floating_point()

    def is_contiguous(self) -> bool:
        raise RuntimeError("is_contiguous: sparse tensors do not have is_contiguous")

    def sparse_dim(self) -> int:
        """Number of sparse (indexed) dimensions."""
        return self._sp_idx.shape[0]

    def dense_dim(self) -> int:
        """Number of dense dimensions (those of each value)."""
        return self._sp_vals.ndim - 1

    def _nnz(self) -> int:
        """Number of stored entries (duplicates counted)."""
        return self._sp_vals.shape[0]

    def indices(self) -> Tensor:
        """The ``(sparse_dim, nnz)`` int64 indices; only for a coalesced tensor, as in PyTorch."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._sp_idx

    def values(self) -> Tensor:
        """The ``(nnz, *dense_dims)`` values (differentiable); only for a coalesced tensor."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._sp_vals

    def _indices(self) -> Tensor:
        """The indices as stored, coalesced or not (PyTorch's ``_indices()``)."""
        return self._sp_idx

    def _values(self) -> Tensor:
        """The values as stored, coalesced or not (PyTorch's ``_values()``)."""
        return self._sp_vals

    def is_coalesced(self) -> bool:
        return self._coalesced

    # -- autograd: the values carry it ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._sp_vals.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True):
        self._sp_vals.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._sp_vals.grad_fn

    @grad_fn.setter
    def grad_fn(self, value):
        if value is not None:
            raise RuntimeError("a sparse COO tensor's history lives on its values")

    @property
    def is_leaf(self) -> bool:
        return self._sp_vals.grad_fn is None

    @property
    def grad(self):
        """The gradient as a sparse tensor on this tensor's pattern (from its values' gradient)."""
        g = self._sp_vals.grad
        if g is None:
            return None
        if self._coalesced:
            return _make(self._sp_idx, g, self._sparse_size, True)
        # Duplicate entries all received the gradient of their matrix position: report it once per position.
        summed = coalesce(_make(self._sp_idx, g, self._sparse_size, False))
        ones = g.new_ones(g.shape[0])
        counts = coalesce(_make(self._sp_idx, ones, self._sparse_size, False))._sp_vals
        counts = counts.reshape((-1,) + (1,) * (g.ndim - 1))
        return _make(summed._sp_idx, summed._sp_vals / counts, self._sparse_size, True)

    @grad.setter
    def grad(self, value):
        if value is None:
            self._sp_vals.grad = None
        else:
            raise RuntimeError("grad: assign the gradient of a sparse tensor through its values")

    def detach(self):
        return _make(self._sp_idx, self._sp_vals.detach(), self._sparse_size, self._coalesced)

    def clone(self):
        return _make(self._sp_idx.clone(), self._sp_vals.clone(), self._sparse_size, self._coalesced)

    def to(self, *args, **kwargs):
        """Convert the values' dtype (``to(ts.float64)``); the device stays the CPU."""
        for a in args:
            if isinstance(a, Tensor):
                kwargs.setdefault("dtype", a.dtype)
            elif isinstance(a, str) or (hasattr(a, "type") and not isinstance(a, _dt.dtype)):
                kwargs.setdefault("device", a)  # a device: everything lives on the CPU
            else:
                kwargs.setdefault("dtype", a)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
        if dtype is None:
            return self
        return _make(self._sp_idx, self._sp_vals.to(dtype), self._sparse_size, self._coalesced)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def cpu(self):
        return self

    def numpy(self, *, force=False):
        raise RuntimeError("numpy: can't convert a sparse COO tensor; use .to_dense().numpy()")

    # -- conversions and simple ops --------------------------------------------------------------------
    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (duplicates summed); differentiable w.r.t. the values."""
        out = to_dense(self)
        return out if dtype is None else out.to(dtype)

    def coalesce(self):
        """Sorted indices with duplicates summed (differentiable w.r.t. the values)."""
        return coalesce(self)

    def to_sparse(self, sparse_dim=None):
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError("to_sparse: changing the sparse dimension of a sparse tensor is not supported")
        return self

    to_sparse_coo = to_sparse

    def t(self):
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError(
                f"t() expects a 2-D sparse tensor with no dense dims, got shape {list(self.shape)}"
            )
        return self.transpose(0, 1)

    def transpose(self, dim0: int, dim1: int):
        """Swap two sparse dimensions (the result is uncoalesced, as in PyTorch)."""
        sd = self.sparse_dim()
        d0, d1 = dim0 % self.ndim, dim1 % self.ndim
        if d0 >= sd or d1 >= sd:
            raise RuntimeError("transpose: only sparse dimensions of a sparse COO tensor can be swapped")
        order = list(range(sd))
        order[d0], order[d1] = d1, d0
        size = list(self._sparse_size)
        size[d0], size[d1] = size[d1], size[d0]
        idx = self._sp_idx[order] if sd > 1 else self._sp_idx
        return _make(idx, self._sp_vals, tuple(size), self._coalesced and sd == 1)

    def _scaled(self, factor, opname):
        if not isinstance(factor, numbers.Number) and not (isinstance(factor, Tensor) and factor.ndim == 0):
            raise RuntimeError(f"{opname}: a sparse COO tensor can only be scaled by a scalar here")
        return _make(self._sp_idx, self._sp_vals * factor, self._sparse_size, self._coalesced)

    def __mul__(self, other):
        return self._scaled(other, "mul")

    __rmul__ = __mul__

    def mul(self, other):
        return self._scaled(other, "mul")

    def __truediv__(self, other):
        if not isinstance(other, numbers.Number):
            raise RuntimeError("div: a sparse COO tensor can only be divided by a Python number here")
        return self._scaled(1.0 / other, "div")

    def __neg__(self):
        return self._scaled(-1, "neg")

    def __add__(self, other):
        if isinstance(other, SparseCOOTensor):
            if tuple(other.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"add: sparse tensors of shapes {list(self.shape)} and {list(other.shape)} differ"
                )
            from .shape import cat

            idx = cat([self._sp_idx, other._sp_idx], dim=1)
            vals = cat([self._sp_vals, other._sp_vals.to(self.dtype)], dim=0)
            return _make(idx, vals, self._sparse_size, False)
        check_tensor("add", "other", other)
        return self.to_dense() + other

    def __radd__(self, other):
        return self.__add__(other)

    def sum(self, dim=None, keepdim=False, dtype=None):
        return sparse_sum(self, dim, dtype=dtype)

    def __repr__(self) -> str:
        pad = " " * 7
        return (
            f"tensor(indices={self._sp_idx!r},\n{pad}values={self._sp_vals!r},\n{pad}size="
            f"{tuple(self._sparse_size)}, nnz={self._nnz()}, layout={self.layout!r})"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_make, (self._sp_idx, self._sp_vals, self._sparse_size, self._coalesced))

    def __deepcopy__(self, memo):
        return _make(
            self._sp_idx.clone(), self._sp_vals.__deepcopy__(memo), self._sparse_size, self._coalesced
        )

    def __len__(self) -> int:
        return self._sparse_size[0]


def _make(indices: Tensor, values: Tensor, size, coalesced: bool) -> SparseCOOTensor:
    t = object.__new__(SparseCOOTensor)
    t._sp_idx, t._sp_vals = indices, values
    t._sparse_size, t._coalesced = tuple(int(s) for s in size), bool(coalesced)
    t._version_counter, t._base, t._view_ops, t._hooks = [0], None, (), None
    t._requires_grad = False
    return t


def _is_sparse(t) -> bool:
    return t.__class__ is SparseCOOTensor


def _check_sparse(opname, argname, t) -> SparseCOOTensor:
    if not _is_sparse(t):
        raise TypeError(
            f"{opname}: argument '{argname}' must be a sparse COO tensor, got "
            f"{'a dense Tensor' if isinstance(t, Tensor) else type(t).__name__}"
        )
    return t


if not hasattr(Tensor, "is_sparse"):
    Tensor.is_sparse = property(lambda self: False)


@method("to_dense")
def _dense_to_dense(self: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor is already dense: itself (converted to ``dtype`` when given)."""
    return self if dtype is None else self.to(dtype)


# -- construction -------------------------------------------------------------------------------------------
def sparse_coo_tensor(
    indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    requires_grad: bool = False,
    check_invariants=None,
    is_coalesced=None,
) -> SparseCOOTensor:
    """A sparse COO tensor with entries ``values[k]`` at ``indices[:, k]`` (duplicates add up).

    ``size`` defaults to the smallest one holding every index; ``is_coalesced=True`` asserts the indices are
    sorted and unique (``indices()``/``values()`` need a coalesced tensor).

    Example:
        >>> adj = ts.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
        >>> adj.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 5.]])
    """
    from ..core.creation import tensor

    name = "sparse_coo_tensor"
    if not isinstance(indices, Tensor):
        indices = tensor(np.asarray(indices, dtype=np.int64) if np.size(indices) == 0 else indices)
    if not isinstance(values, Tensor):
        values = tensor(values, dtype=dtype)
    elif dtype is not None:
        values = values.to(dtype)
    if indices.is_floating_point() or indices.dtype is _dt.bool:
        raise RuntimeError(f"{name}: indices must be an int64 tensor, got {indices.dtype.name}")
    indices = indices.to(_dt.int64)
    if indices.ndim != 2:
        if indices.numel() == 0 and indices.ndim == 1 and size is not None:
            indices = indices.reshape(len(size) - values.ndim + 1, 0)
        else:
            raise RuntimeError(f"{name}: indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    if values.ndim == 0:
        raise RuntimeError(f"{name}: values must have at least one dimension (nnz), got a 0-d tensor")
    sd, nnz = indices.shape
    if values.shape[0] != nnz:
        raise RuntimeError(
            f"{name}: number of dimensions (nnz) of indices {nnz} and values {values.shape[0]} must match, "
            f"got indices of shape {list(indices.shape)} and values of shape {list(values.shape)}"
        )
    idx = indices.detach().numpy()
    if nnz and idx.min() < 0:
        raise RuntimeError(f"{name}: found negative index {int(idx.min())}")
    dense_shape = tuple(values.shape[1:])
    if size is None:
        size = tuple(int(m) + 1 for m in (idx.max(axis=1) if nnz else np.zeros(sd, int) - 1)) + dense_shape
    else:
        size = tuple(int(s) for s in (size.tolist() if isinstance(size, Tensor) else size))
        if len(size) != sd + len(dense_shape):
            raise RuntimeError(
                f"{name}: number of dimensions must be sparse_dim ({sd}) + dense_dim ({len(dense_shape)}), "
                f"but got {len(size)}"
            )
        if tuple(size[sd:]) != dense_shape:
            raise RuntimeError(
                f"{name}: inconsistent dense dims: size {list(size)} and values shape {list(values.shape)}"
            )
        if nnz:
            top = idx.max(axis=1)
            for d in range(sd):
                if top[d] >= size[d]:
                    raise RuntimeError(
                        f"{name}: size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                        f"index {int(top[d])}"
                    )
    if requires_grad:
        if values.grad_fn is not None or values.requires_grad:
            values = values.detach()
        values = values.clone().requires_grad_(True)
    coalesced = bool(is_coalesced) if is_coalesced is not None else nnz <= 1
    return _make(indices, values, size, coalesced)


def _linear(indices: Tensor, size) -> Tensor:
    """Row-major linear position of each entry over the sparse dims (int64)."""
    sd = indices.shape[0]
    lin = indices[sd - 1]
    stride = 1
    for d in range(sd - 2, -1, -1):
        stride *= size[d + 1]
        lin = lin + indices[d] * stride
    return lin


def _unravel(lin: Tensor, size) -> Tensor:
    from .shape import stack

    rows = []
    for s in reversed(size):
        rows.append(lin % s)
        lin = lin // s
    return stack(rows[::-1], 0) if rows else lin.reshape(0, -1)


def to_dense(self: SparseCOOTensor) -> Tensor:
    """The dense tensor of a COO tensor (duplicates summed); differentiable w.r.t. its values."""
    from ..core.creation import zeros

    sd = self.sparse_dim()
    size = self._sparse_size
    n = int(np.prod(size[:sd]))
    flat = zeros((n,) + size[sd:], dtype=self.dtype)
    return flat.index_add(0, _linear(self._sp_idx, size[:sd]), self._sp_vals).reshape(size)


def coalesce(self: SparseCOOTensor) -> SparseCOOTensor:
    """Indices sorted (row-major) and unique, duplicate values summed (differentiable w.r.t. values)."""
    from ..core.creation import zeros

    if self._coalesced:
        return self
    sd = self.sparse_dim()
    size = self._sparse_size
    lin = _linear(self._sp_idx, size[:sd])
    uniq, inverse = lin.unique(sorted=True, return_inverse=True)
    vals = zeros((uniq.shape[0],) + tuple(self._sp_vals.shape[1:]), dtype=self.dtype)
    vals = vals.index_add(0, inverse, self._sp_vals)
    return _make(_unravel(uniq, size[:sd]), vals, size, True)


@method("to_sparse", "to_sparse_coo")
def to_sparse(self: Tensor, sparse_dim=None) -> SparseCOOTensor:
    """This dense tensor as a coalesced COO tensor of its non-zeros (``sparse_dim``: how many leading dims
    are indexed; default all). Differentiable w.r.t. the kept entries."""
    check_tensor("to_sparse", "self", self)
    if _is_sparse(self):
        return self
    nd = self.ndim
    sd = nd if sparse_dim is None else int(sparse_dim)
    if not 0 < sd <= nd:
        raise RuntimeError(f"to_sparse: sparse_dim must be in [1, {nd}], got {sparse_dim}")
    mask = self != 0
    if sd < nd:
        mask = mask.any(tuple(range(sd, nd)))
    idx = mask.nonzero().T
    vals = self[tuple(idx[d] for d in range(sd))]
    return _make(idx, vals, tuple(self.shape), True)


# -- products ------------------------------------------------------------------------------------------------
def _spmm_forward(rows, cols, values, dense, n_rows):
    """Sum over entries ``k`` of ``values[k] * dense[cols[k]]`` into row ``rows[k]`` (sorted segment sums)."""
    out = np.zeros((n_rows,) + dense.shape[1:], np.result_type(values, dense))
    if rows.size == 0:
        return out
    order = np.argsort(rows, kind="stable")
    r = rows[order]
    contrib = values[order].reshape((-1,) + (1,) * (dense.ndim - 1)) * dense[cols[order]]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    out[r[starts]] = np.add.reduceat(contrib, starts, axis=0)
    return out


def _spmm_rule(rows, cols, values, dense, n_rows):
    if dense.ndim not in (1, 2):
        raise OpError(f"sparse.mm: the dense operand must be 1-D or 2-D, got shape {list(dense.shape)}")
    return TensorMeta((n_rows,) + tuple(dense.shape[1:]), _dt.result_type(values, dense))


SPMM = OpDef("sparse_mm", _spmm_forward, shape_rule=_spmm_rule)


@SPMM.defgrad
def _spmm_grad(ctx, g):
    rows, cols, values, dense = ctx.saved
    gv = gd = None
    if ctx.needs_grad[2]:
        prod = g.index_select(0, rows) * dense.index_select(0, cols)
        gv = prod.sum(1) if prod.ndim == 2 else prod
    if ctx.needs_grad[3]:
        gd = apply(SPMM, (cols, rows, values, g), {"n_rows": dense.shape[0]})
    return None, None, gv, gd


def _sparse_mm(opname: str, sparse: SparseCOOTensor, dense) -> Tensor:
    """``sparse @ dense`` for a 2-D COO matrix and a dense matrix or vector."""
    if _is_sparse(dense):
        raise RuntimeError(
            f"{opname}: sparse @ sparse products are not supported; convert one with to_dense()"
        )
    check_tensor(opname, "mat2", dense)
    if sparse.sparse_dim() != 2 or sparse.dense_dim():
        raise RuntimeError(
            f"{opname}: expected a 2-D sparse matrix with no dense dims, got shape {list(sparse.shape)}"
        )
    if dense.ndim not in (1, 2):
        raise RuntimeError(f"{opname}: expected a dense matrix or vector, got shape {list(dense.shape)}")
    m, k = sparse._sparse_size
    if dense.shape[0] != k:
        raise RuntimeError(
            f"{opname}: mat1 and mat2 shapes cannot be multiplied ({m}x{k} and "
            f"{'x'.join(map(str, dense.shape))})"
        )
    if dense.dtype is not sparse.dtype:
        raise RuntimeError(
            f"{opname}: expected mat1 and mat2 to have the same dtype, but got: {sparse.dtype.name} != "
            f"{dense.dtype.name}"
        )
    idx = sparse._sp_idx
    return apply(SPMM, (idx[0], idx[1], sparse._sp_vals, dense), {"n_rows": m})


def _dense_sparse_mm(opname, dense, sparse):
    return _sparse_mm(opname, sparse.t(), dense.mT if dense.ndim == 2 else dense).mT


def mm(mat1, mat2) -> Tensor:
    """``torch.sparse.mm``: ``sparse @ dense`` (or ``dense @ sparse``) as a dense tensor; gradients reach the
    dense operand and the sparse operand's values.

    Example:
        >>> adj = ts.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
        >>> ts.sparse.mm(adj, ts.ones(2, 3))
        tensor([[1., 1., 1.],
                [2., 2., 2.]])
    """
    if _is_sparse(mat1):
        return _sparse_mm("sparse.mm", mat1, mat2)
    if _is_sparse(mat2):
        check_tensor("sparse.mm", "mat1", mat1)
        return _dense_sparse_mm("sparse.mm", mat1, mat2)
    raise TypeError("sparse.mm: one of the arguments must be a sparse COO tensor")


def spmm(input, mat2) -> Tensor:
    """Sparse-dense matrix product (``torch.spmm``)."""
    _check_sparse("spmm", "input", input)
    return _sparse_mm("spmm", input, mat2)


def smm(input, mat) -> Tensor:
    """Sparse-dense matrix product (``torch.smm``; PyTorch returns a sparse result, this one is dense)."""
    _check_sparse("smm", "input", input)
    return _sparse_mm("smm", input, mat)


def hspmm(mat1, mat2) -> SparseCOOTensor:
    """Sparse-dense product as a hybrid COO tensor (one sparse dim: the non-empty rows), ``torch.hspmm``."""
    _check_sparse("hspmm", "mat1", mat1)
    dense = _sparse_mm("hspmm", mat1, mat2)
    rows = mat1.coalesce()._sp_idx[0].unique()
    return _make(rows.unsqueeze(0), dense.index_select(0, rows), tuple(dense.shape), True)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1`` (``torch.sparse.addmm``)."""
    check_tensor("sparse.addmm", "mat", mat)
    _check_sparse("sparse.addmm", "mat1", mat1)
    prod = _sparse_mm("sparse.addmm", mat1, mat2)
    return mat * beta + prod * alpha


def sparse_sum(input, dim=None, dtype=None):
    """``torch.sparse.sum``: the sum of all entries (a 0-d dense tensor), or over ``dim`` (a sparse result
    while sparse dims remain, else dense).

    Example:
        >>> adj = ts.sparse_coo_tensor([[0, 1], [1, 1]], [1.0, 2.0], (2, 2))
        >>> ts.sparse.sum(adj)
        tensor(3.)
    """
    _check_sparse("sparse.sum", "input", input)
    vals = input._sp_vals if dtype is None else input._sp_vals.to(dtype)
    if dim is None:
        return vals.sum()
    dims = sorted({d % input.ndim for d in ((dim,) if isinstance(dim, int) else dim)})
    sd = input.sparse_dim()
    sparse_red = [d for d in dims if d < sd]
    dense_red = [d - sd + 1 for d in dims if d >= sd]
    if dense_red:
        vals = vals.sum(tuple(dense_red))
    keep = [d for d in range(sd) if d not in sparse_red]
    size = tuple(s for i, s in enumerate(input._sparse_size) if i not in dims)
    if not keep:
        return vals.sum(0)
    out = _make(input._sp_idx[keep], vals, size, False)
    return out.coalesce()


def _segment_max_forward(values, group, n):
    out = np.full(n, -np.inf, values.dtype)
    np.maximum.at(out, group, values)
    return out


SEGMENT_MAX = OpDef(
    "sparse_segment_max",
    _segment_max_forward,
    differentiable=False,
    shape_rule=lambda values, group, n: TensorMeta((n,), values.dtype),
)  # the per-row maximum that keeps sparse.softmax's exponentials finite


def sparse_softmax(input, dim: int, *, dtype=None) -> SparseCOOTensor:
    """``torch.sparse.softmax``: softmax along ``dim`` over the stored entries (missing entries count as
    -inf, so they stay absent); differentiable w.r.t. the values."""
    from ..core.creation import zeros

    _check_sparse("sparse.softmax", "input", input)
    if input.dense_dim():
        raise RuntimeError("sparse.softmax: hybrid sparse tensors are not supported")
    x = input.coalesce()
    if dtype is not None:
        x = _make(x._sp_idx, x._sp_vals.to(dtype), x._sparse_size, True)
    d = dim % x.ndim
    others = [i for i in range(x.ndim) if i != d]
    size = tuple(x._sparse_size[i] for i in others)
    group = _linear(x._sp_idx[others], size) if others else x._sp_idx[0] * 0
    n = int(np.prod(size)) if others else 1
    v = x._sp_vals
    peak = apply(SEGMENT_MAX, (v.detach(), group), {"n": n})
    e = (v - peak.index_select(0, group)).exp()
    total = zeros(n, dtype=v.dtype).index_add(0, group, e)
    return _make(x._sp_idx, e / total.index_select(0, group), x._sparse_size, True)


def sparse_log_softmax(input, dim: int, *, dtype=None) -> SparseCOOTensor:
    """``torch.sparse.log_softmax`` over the stored entries along ``dim``."""
    s = sparse_softmax(input, dim, dtype=dtype)
    return _make(s._sp_idx, s._sp_vals.log(), s._sparse_size, True)
