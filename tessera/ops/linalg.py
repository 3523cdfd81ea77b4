"""Linear algebra: ``matmul`` (batched, broadcasting), ``einsum`` and friends."""

from __future__ import annotations

import functools
import string

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta
from ..core.tensor import Tensor
from ._util import apply, canonical_dim, check_tensor, matmul_arrays, method

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "einsum", "outer", "ger", "inner", "tensordot", "trace"]


def _matmul_shape(x, y):
    xs, ys = tuple(x.shape), tuple(y.shape)
    if len(xs) == 0 or len(ys) == 0:
        raise OpError(
            f"matmul: both arguments to matmul need to be at least 1D, but they are {len(xs)}D and {len(ys)}D"
        )
    k1 = xs[-1]
    k2 = ys[-2] if len(ys) >= 2 else ys[0]
    if k1 != k2:
        raise OpError(f"matmul: shapes {xs} and {ys} cannot be multiplied ({k1} != {k2})")
    try:
        batch = np.broadcast_shapes(xs[:-2], ys[:-2])
    except ValueError:
        raise OpError(f"matmul: batch dimensions of {xs} and {ys} are not broadcastable") from None
    out = batch + (xs[-2:-1] if len(xs) >= 2 else ()) + (ys[-1:] if len(ys) >= 2 else ())
    return TensorMeta(out, _dt.result_type(x, y))


def _matmul_forward(x, y):
    # (..., n, k) @ (k, m) as one (N, k) @ (k, m) GEMM: np.matmul would loop over the leading dims.
    if y.ndim == 2 and x.ndim > 2 and x.flags.c_contiguous:
        return matmul_arrays(x.reshape(-1, x.shape[-1]), y).reshape(x.shape[:-1] + y.shape[-1:])
    return matmul_arrays(x, y)


MATMUL = OpDef("matmul", _matmul_forward, promote=True, shape_rule=_matmul_shape)


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
        # Produce each gradient in its input's memory layout (a transposed weight gets a transposed
        # gradient), so it lands in .grad without a strided copy.
        if need_x:
            gx = (y @ g.mT).mT if _is_transposed(x) else g @ y.mT
        if need_y:
            if ny == 2 and nx > 2:  # weight of a batched linear map: one GEMM over the flattened batch
                x, g = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
            gy = (g.mT @ x).mT if _is_transposed(y) else x.mT @ g
    return gx, gy


def _is_transposed(t):
    d = t._data
    return d.ndim == 2 and d.flags.f_contiguous and not d.flags.c_contiguous


@method("matmul", "__matmul__")
def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading dims broadcast.

    Example:
        >>> ts.ones(2, 3) @ ts.ones(3, 4)   # shape (2, 4)
    """
    if input.__class__ is not Tensor or other.__class__ is not Tensor:
        sparse = _sparse_product("matmul", input, other)
        if sparse is not None:
            return sparse
    return apply(MATMUL, (input, other))


def _sparse_product(opname, a, b):
    """``a @ b`` when either is a sparse COO tensor (else None)."""
    if getattr(a, "is_sparse", False) or getattr(b, "is_sparse", False):
        from . import sparse

        if getattr(a, "is_sparse", False):
            return sparse._sparse_mm(opname, a, b)
        return sparse._dense_sparse_mm(opname, a, b)
    return None


method("__rmatmul__")(
    lambda self, other: matmul(other, self) if isinstance(other, Tensor) else apply(MATMUL, (other, self))
)


@method("mm")
def mm(input, mat2):
    """Product of two 2-D matrices (either may be a sparse COO matrix)."""
    if input.__class__ is not Tensor or mat2.__class__ is not Tensor:
        sparse = _sparse_product("mm", input, mat2)
        if sparse is not None:
            return sparse
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(
            f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}"
        )
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
        raise RuntimeError(
            f"mv: expected a matrix and a vector, got shapes {tuple(input.shape)} and {tuple(vec.shape)}"
        )
    return apply(MATMUL, (input, vec))


@method("dot")
def dot(input, other):
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return apply(MATMUL, (input, other))


# -- einsum and friends -------------------------------------------------------------------------------------
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _einsum_error(msg):
    return RuntimeError(f"einsum(): {msg}")


@functools.lru_cache(maxsize=512)
def _parse_einsum(equation: str, ndims: tuple) -> tuple:
    """``equation`` for operands of ``ndims`` dimensions as explicit ``(input_subscripts, output)``:
    ellipses are replaced by letters (right-aligned, broadcasting) and the implicit output is filled in."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise _einsum_error(f"more than one '->' in the equation {equation!r}")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(ndims):
        raise _einsum_error("fewer operands were provided than specified in the equation")
    if len(terms) < len(ndims):
        raise _einsum_error("more operands were provided than specified in the equation")
    for part in terms + ([rhs] if arrow else []):
        body = part.replace("...", "", 1)
        if "." in body:
            raise _einsum_error(f"found '.' for operand that is not part of any ellipsis in {equation!r}")
        bad = [c for c in body if c not in _LETTERS]
        if bad:
            raise _einsum_error(
                f"invalid subscript given at index {eq.index(bad[0])} in the equation "
                "string, subscripts must be in [a-zA-Z]"
            )
    used = set(c for c in eq if c in _LETTERS)
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for t, nd in zip(terms, ndims):
        if "..." in t:
            n_ell = max(n_ell, nd - (len(t) - 3))
    if n_ell > len(free):
        raise _einsum_error("too many dimensions for the available subscript letters")
    ell = "".join(free[:n_ell]) if n_ell else ""
    subs = []
    for i, (t, nd) in enumerate(zip(terms, ndims)):
        if "..." in t:
            k = nd - (len(t) - 3)
            if k < 0:
                raise _einsum_error(
                    f"the number of subscripts in the equation ({len(t) - 3}) is more than "
                    f"the number of dimensions ({nd}) for operand {i}"
                )
            t = t.replace("...", ell[n_ell - k :] if k else "")
        elif len(t) != nd:
            raise _einsum_error(
                f"the number of subscripts in the equation ({len(t)}) does not match the "
                f"number of dimensions ({nd}) for operand {i} and no ellipsis was given"
            )
        subs.append(t)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise _einsum_error(f"output subscript {c} appears more than once in the output")
            if not any(c in s for s in subs):
                raise _einsum_error(
                    f"output subscript {c} does not appear in the equation for any input operand"
                )
    else:
        joined = "".join(subs)
        out = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ell))
    return tuple(subs), out


def _einsum_forward(*arrays, subs, out):
    eq = ",".join(subs) + "->" + out
    dt = arrays[0].dtype
    if dt.kind == "V" or dt == np.float16:  # bfloat16/float16: accumulate in float32, as PyTorch does
        res = np.einsum(eq, *(a.astype(np.float32) for a in arrays), optimize=len(arrays) > 2)
        return res.astype(dt)
    big = len(arrays) > 2 or (len(arrays) == 2 and arrays[0].size * arrays[1].size > 4096)
    return np.einsum(eq, *arrays, optimize=big)


EINSUM = OpDef("einsum", _einsum_forward, promote=True)


@EINSUM.defshape
def _einsum_shape(*operands, subs, out):
    if len(subs) != len(operands):
        raise OpError(f"einsum(): {len(subs)} subscripts for {len(operands)} operands")
    size = {}
    for i, (sub, t) in enumerate(zip(subs, operands)):
        shape = tuple(t.shape)
        if len(sub) != len(shape):
            raise OpError(f"einsum(): operand {i} of shape {list(shape)} does not match subscripts {sub!r}")
        for c, n in zip(sub, shape):
            prev = size.get(c, 1)
            if n != prev and prev != 1 and n != 1:
                raise OpError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast with "
                    f"previously seen size {prev}"
                )
            size[c] = n if prev == 1 else prev
    return TensorMeta(tuple(size[c] for c in out), _dt.result_type(*operands))


def _einsum(subs, out, operands):
    return apply(EINSUM, tuple(operands), {"subs": tuple(subs), "out": out})


@EINSUM.defgrad
def _einsum_grad(ctx, g):
    ops = ctx.saved
    subs, out = ctx.attrs["subs"], ctx.attrs["out"]
    grads = []
    for i, s in enumerate(subs):
        if not ctx.needs_grad[i]:
            grads.append(None)
            continue
        others = [j for j in range(len(subs)) if j != i]
        avail = set(out).union(*(subs[j] for j in others))
        uniq = "".join(dict.fromkeys(s))
        target = "".join(c for c in uniq if c in avail)
        gi = _einsum((out,) + tuple(subs[j] for j in others), target, (g,) + tuple(ops[j] for j in others))
        shape = ops[i]._data.shape
        size = {c: shape[s.index(c)] for c in uniq}
        # letters summed only inside operand i: broadcast the gradient over them
        if len(target) != len(uniq):
            gi = gi.reshape(tuple(gi._data.shape[target.index(c)] if c in target else 1 for c in uniq))
        want = tuple(size[c] for c in uniq)
        have = gi._data.shape
        if have != want:
            red = tuple(1 if w == 1 else h for w, h in zip(want, have))
            if red != have:
                gi = gi.sum_to_size(red)  # letters where operand i was broadcast (size 1)
            if red != want:
                gi = gi.expand(want)
        if len(uniq) != len(s):  # repeated letters (diagonals): place the gradient on the diagonal
            taken = set("".join(subs) + out)
            fresh = (c for c in _LETTERS if c not in taken)
            renamed, eyes, seen = [], [], set()
            for c in s:
                if c in seen:
                    f = next(fresh)
                    renamed.append(f)
                    eyes.append(c + f)
                else:
                    seen.add(c)
                    renamed.append(c)
            from ..core.creation import eye

            mats = [eye(size[e[0]], dtype=g.dtype) for e in eyes]
            gi = _einsum((uniq,) + tuple(eyes), "".join(renamed), (gi,) + tuple(mats))
        grads.append(gi)
    return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation: ``ts.einsum("bij,bjk->bik", a, b)``; operands may also be passed as one list.

    Supports implicit output (``"ij,jk"``), ``...`` for broadcast dimensions, repeated subscripts in an
    input (diagonals/traces such as ``"ii->"``) and size-1 broadcasting; differentiable to any order.

    Example:
        >>> ts.einsum("ii->", ts.eye(3))
        tensor(3.)
    """
    if isinstance(equation, Tensor):  # sublist format: einsum(a, [0, 1], b, [1, 2], [0, 2])
        return _einsum_sublist((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): equation must be a string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, not {type(t).__name__}")
    if not operands:
        raise _einsum_error("must provide at least one operand")
    subs, out = _parse_einsum(equation, tuple(t._data.ndim for t in operands))
    sizes = {}
    for i, (s, t) in enumerate(zip(subs, operands)):
        if len(set(s)) != len(s):
            for c in set(s):
                dims = [t._data.shape[k] for k, ch in enumerate(s) if ch == c]
                if len(set(dims)) > 1:
                    raise _einsum_error(
                        f"subscript {c} is repeated for operand {i} but the sizes don't "
                        f"match, {dims[0]} != {dims[1]}"
                    )
        for c, n in zip(s, t._data.shape):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n != prev and n != 1:
                raise _einsum_error(
                    f"subscript {c} has size {n} for operand {i} which does not broadcast "
                    f"with previously seen size {prev}"
                )
    return _einsum(subs, out, operands)


def _einsum_sublist(args):
    args = list(args)
    out = None
    if len(args) % 2 == 1:
        out = args.pop()
    ops, terms = args[0::2], args[1::2]

    def letters(sub):
        res = ""
        for k in sub:
            if k is Ellipsis:
                res += "..."
            elif isinstance(k, int) and 0 <= k < 52:
                res += _LETTERS[k]
            else:
                raise _einsum_error(
                    f"subscript in sublist format must be an int in [0, 52) or Ellipsis, got {k!r}"
                )
        return res

    eq = ",".join(letters(t) for t in terms)
    if out is not None:
        eq += "->" + letters(out)
    return einsum(eq, *ops)


@method("outer", "ger")
def outer(input, vec2):
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    for name, t in (("self", input), ("vec2", vec2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"outer: argument '{name}' must be a Tensor, not {type(t).__name__}")
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


@method("inner")
def inner(input, other):
    """Sum of products over the last dimension (a scalar product for 0-d operands)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner: last dimension of the inputs must match, got shapes {tuple(input.shape)} "
            f"and {tuple(other.shape)}"
        )
    return tensordot(input, other, dims=([-1], [-1]))


def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int: the last dims of ``a`` with the first of ``b``; or two lists of dims).

    Example:
        >>> ts.tensordot(ts.ones(2, 3, 4), ts.ones(3, 4, 5), dims=2).shape
        tessera.Size([2, 5])
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"tensordot: argument '{name}' must be a Tensor, not {type(t).__name__}")
    na, nb = a.ndim, b.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0 or dims > min(na, nb):
            raise RuntimeError(
                f"tensordot: dims must be in [0, {min(na, nb)}] for shapes {tuple(a.shape)} "
                f"and {tuple(b.shape)}, got {dims}"
            )
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        try:
            da, db = dims
        except (TypeError, ValueError):
            raise TypeError(
                f"tensordot: dims must be an int or a pair of lists of dims, got {dims!r}"
            ) from None
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: both dimension lists should have same length, got {da} and {db}")
        da = [canonical_dim("tensordot", d, na) for d in da]
        db = [canonical_dim("tensordot", d, nb) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(
                f"tensordot: contracted dimensions need to match, but first has size "
                f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in dim {y}"
            )
    if na + nb > len(_LETTERS):
        raise RuntimeError("tensordot: too many dimensions")
    sa = _LETTERS[:na]
    sb = list(_LETTERS[na : na + nb])
    for x, y in zip(da, db):
        sb[y] = sa[x]
    sb = "".join(sb)
    out = "".join(c for k, c in enumerate(sa) if k not in da)
    out += "".join(c for k, c in enumerate(sb) if k not in db)
    return _einsum((sa, sb), out, (a, b))


@method("trace")
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    check_tensor("trace", "input", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    n, m = input.shape
    if n != m:
        k = min(n, m)
        input = input[:k, :k]
    if input._data.dtype.kind in "biu":
        return _einsum(("ii",), "", (input,)).to(_dt.int64)
    return _einsum(("ii",), "", (input,))


# =========================================================================================================
# torch.linalg: factorizations, solvers, norms (``ts.linalg``) and the BLAS-style products (``ts.addmm``...)
# =========================================================================================================
class LinAlgError(OpError):
    """A linear-algebra routine failed on its input (a singular or non positive-definite matrix), as
    ``torch.linalg.LinAlgError``."""


_LA_FLOATS = ("float32", "float64")


def _la_input(opname: str, A, *, square: bool = True, argname: str = "A") -> Tensor:
    """Validate a (batch of) matrix input of a ``linalg`` op: a float32/float64 tensor of >= 2 dims."""
    check_tensor(opname, argname, A)
    if A._data.ndim < 2:
        raise RuntimeError(
            f"{opname}: The input tensor {argname} must have at least 2 dimensions, got shape {list(A.shape)}"
        )
    if square and A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(
            f"{opname}: {argname} must be batches of square matrices, but they are "
            f"{A._data.shape[-2]} by {A._data.shape[-1]} matrices"
        )
    if A.dtype.name not in _LA_FLOATS:
        raise RuntimeError(f"{opname}: Expected a floating point tensor as input. Got {A.dtype.name}")
    return A


def _meta(shape, dtype):
    return TensorMeta(tuple(shape), dtype)


def _batch_rule(drop: int):
    """Rule of an op whose result drops the last ``drop`` dims of its input (det: 2, svdvals: 1...)."""
    return lambda A, **attrs: _meta(tuple(A.shape)[: len(A.shape) - drop], A.dtype)


def _same_rule(A, *rest, **attrs):
    return _meta(A.shape, A.dtype)


def _singular(opname):
    return LinAlgError(
        f"{opname}: The diagonal element is zero, the inversion could not be completed "
        "because the input matrix is singular."
    )


def _eye_like(A, n=None):
    from ..core.creation import eye

    return eye(A.shape[-1] if n is None else n, dtype=A.dtype)


def _bmv(g, k: int = 2):
    """``g`` with ``k`` trailing size-1 dims (a batch of scalars broadcast against matrices)."""
    for _ in range(k):
        g = g.unsqueeze(-1)
    return g


# -- determinants and inverses ------------------------------------------------------------------------------
DET = OpDef("linalg_det", lambda a: np.linalg.det(a), save_output=True, shape_rule=_batch_rule(2))


@DET.defgrad
def _det_grad(ctx, g):
    (A,) = ctx.saved
    return (_bmv(g * ctx.out) * linalg_inv(A).mT,)


SLOGDET_SIGN = OpDef(
    "linalg_slogdet_sign", lambda a: np.linalg.slogdet(a)[0], differentiable=False, shape_rule=_batch_rule(2)
)
LOGABSDET = OpDef("linalg_logabsdet", lambda a: np.linalg.slogdet(a)[1], shape_rule=_batch_rule(2))


@LOGABSDET.defgrad
def _logabsdet_grad(ctx, g):
    (A,) = ctx.saved
    return (_bmv(g) * linalg_inv(A).mT,)


def _inv_forward(a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular("linalg.inv") from None


INV = OpDef("linalg_inv", _inv_forward, save_output=True, shape_rule=_same_rule)


@INV.defgrad
def _inv_grad(ctx, g):
    Ai = ctx.out
    return (-(Ai.mT @ g @ Ai.mT),)


def linalg_det(A: Tensor) -> Tensor:
    """Determinant of a (batch of) square matrices, as ``torch.linalg.det``.

    Example:
        >>> ts.linalg.det(ts.tensor([[2.0, 1.0], [1.0, 3.0]]))
        tensor(5.)
    """
    return apply(DET, (_la_input("linalg.det", A),))


def linalg_slogdet(A: Tensor):
    """``(sign, logabsdet)`` of the determinant, as ``torch.linalg.slogdet`` (a named pair)."""
    _la_input("linalg.slogdet", A)
    return _SlogdetResult(apply(SLOGDET_SIGN, (A,)), apply(LOGABSDET, (A,)))


def linalg_inv(A: Tensor) -> Tensor:
    """Inverse of a (batch of) square matrices; raises ``LinAlgError`` for a singular one.

    Example:
        >>> ts.linalg.inv(ts.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return apply(INV, (_la_input("linalg.inv", A),))


def _info(A, ok_fn):
    """The ``info`` tensor of the ``*_ex`` variants: 0 where ``ok_fn(matrix)`` holds, else 1 (int32)."""
    arr = A.detach().numpy().reshape((-1,) + tuple(A.shape[-2:]))
    info = np.array([0 if ok_fn(m) else 1 for m in arr], dtype=np.int32).reshape(tuple(A.shape[:-2]))
    return Tensor._wrap(info)


def _nonsingular(m):
    return np.linalg.matrix_rank(m) == m.shape[-1] if m.size else True


def linalg_inv_ex(A: Tensor, *, check_errors: bool = False):
    """``(inverse, info)``: ``info`` is 0 for invertible matrices (their inverse is then exact), as
    ``torch.linalg.inv_ex``; raises only with ``check_errors=True``."""
    _la_input("linalg.inv_ex", A)
    info = _info(A, _nonsingular)
    if check_errors and info.numpy().any():
        raise _singular("linalg.inv_ex")
    if info.numpy().any():
        from ..core.creation import full

        return _InvExResult(full(tuple(A.shape), float("nan"), dtype=A.dtype), info)
    return _InvExResult(apply(INV, (A,)), info)


def _named(name, fields):
    import collections

    return collections.namedtuple(name, fields)


_SlogdetResult = _named("slogdet", ["sign", "logabsdet"])
_InvExResult = _named("inv_ex", ["inverse", "info"])
_SolveExResult = _named("solve_ex", ["result", "info"])
_CholeskyExResult = _named("cholesky_ex", ["L", "info"])
_QRResult = _named("qr", ["Q", "R"])
_SVDResult = _named("svd", ["U", "S", "Vh"])
_SVDOldResult = _named("svd", ["U", "S", "V"])
_EighResult = _named("eigh", ["eigenvalues", "eigenvectors"])
_LstsqResult = _named("lstsq", ["solution", "residuals", "rank", "singular_values"])
_LUResult = _named("lu", ["P", "L", "U"])
_LUFactorResult = _named("lu_factor", ["LU", "pivots"])
_TriSolveResult = _named("triangular_solve", ["solution", "cloned_coefficient"])


# -- solvers ------------------------------------------------------------------------------------------------
def _solve_forward(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.solve: The solver failed because the input matrix is singular.") from None


def _solve_rule(A, B, **attrs):
    from ._util import is_meta

    if not (is_meta(A) and is_meta(B)) or len(A.shape) < 2 or len(B.shape) < 2:
        raise OpError("linalg.solve: A and B must be tensors of at least 2 dimensions")
    if A.dtype is not B.dtype:
        raise OpError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type {A.dtype.name} and B "
            f"of type {B.dtype.name} instead"
        )
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise OpError(
            f"linalg.solve: the batch dimensions of A {list(A.shape)} and B {list(B.shape)} are not broadcastable"
        ) from None
    if A.shape[-1] != B.shape[-2]:
        raise OpError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})"
        )
    return _meta(tuple(batch) + (A.shape[-1], B.shape[-1]), A.dtype)


SOLVE = OpDef("linalg_solve", _solve_forward, save_output=True, shape_rule=_solve_rule)


@SOLVE.defgrad
def _solve_grad(ctx, g):
    A, B = ctx.saved
    gB = apply(SOLVE, (A.mT, g))
    gA = -(gB @ ctx.out.mT) if ctx.needs_grad[0] else None
    return (
        gA.sum_to_size(tuple(A.shape)) if gA is not None else None,
        gB.sum_to_size(tuple(B.shape)) if ctx.needs_grad[1] else None,
    )


def _same_dtype(opname, A, B):
    if A.dtype is not B.dtype:
        raise RuntimeError(
            f"{opname}: Expected A and B to have the same dtype, but found A of type {A.dtype.name} and B of "
            f"type {B.dtype.name} instead"
        )


def _is_vector_rhs(A, B) -> bool:
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def linalg_solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) for square ``A``; batch dims broadcast and a
    vector ``B`` gives a vector, as ``torch.linalg.solve``.

    Example:
        >>> ts.linalg.solve(ts.tensor([[2.0, 0.0], [0.0, 4.0]]), ts.tensor([2.0, 2.0]))
        tensor([1.0000, 0.5000])
    """
    _la_input("linalg.solve", A)
    check_tensor("linalg.solve", "B", B)
    if B.dtype.name not in _LA_FLOATS:
        raise RuntimeError(f"linalg.solve: Expected a floating point tensor as input. Got {B.dtype.name}")
    _same_dtype("linalg.solve", A, B)
    if not left:
        if B.ndim < 2:
            raise RuntimeError(
                "linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. In "
                "this case linalg.solve is equivalent to B / A.squeeze(-1)"
            )
        return linalg_solve(A.mT, B.mT).mT
    if _is_vector_rhs(A, B):
        if A.shape[-1] != B.shape[-1]:
            raise RuntimeError(
                f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1]}x1)"
            )
        return apply(SOLVE, (A, B.unsqueeze(-1))).squeeze(-1)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve: B must have at least 1 dimension, got shape {list(B.shape)}")
    return apply(SOLVE, (A, B))


def linalg_solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """``(result, info)`` of ``linalg.solve``; ``info`` is 0 where ``A`` is invertible."""
    _la_input("linalg.solve_ex", A)
    info = _info(A, _nonsingular)
    if info.numpy().any():
        if check_errors:
            raise LinAlgError("linalg.solve_ex: The solver failed because the input matrix is singular.")
        shape = tuple(linalg_solve(_eye_like(A).expand(tuple(A.shape)), B, left=left).shape)
        from ..core.creation import full

        return _SolveExResult(full(shape, float("nan"), dtype=A.dtype), info)
    return _SolveExResult(linalg_solve(A, B, left=left), info)


def _tri_forward(a, b, upper, unitriangular):
    t = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        n = a.shape[-1]
        t = t.copy()
        t[..., np.arange(n), np.arange(n)] = 1
    try:
        return np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.solve_triangular: The diagonal element is zero: the matrix is singular."
        ) from None


TRI_SOLVE = OpDef(
    "linalg_solve_triangular",
    _tri_forward,
    save_output=True,
    shape_rule=lambda A, B, **a: _solve_rule(A, B),
)


@TRI_SOLVE.defgrad
def _tri_solve_grad(ctx, g):
    A, B = ctx.saved
    upper, unit = ctx.attrs["upper"], ctx.attrs["unitriangular"]
    gB = apply(TRI_SOLVE, (A.mT, g), {"upper": not upper, "unitriangular": unit})
    gA = None
    if ctx.needs_grad[0]:
        gA = -(gB @ ctx.out.mT)
        gA = gA.triu(1 if unit else 0) if upper else gA.tril(-1 if unit else 0)
        gA = gA.sum_to_size(tuple(A.shape))
    return gA, gB.sum_to_size(tuple(B.shape)) if ctx.needs_grad[1] else None


def linalg_solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` with ``left=False``) for a triangular ``A``; only its ``upper`` or
    lower triangle is read (and its diagonal taken as ones with ``unitriangular``).

    Example:
        >>> A = ts.tensor([[2.0, 1.0], [0.0, 4.0]])
        >>> ts.linalg.solve_triangular(A, ts.tensor([[3.0], [4.0]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    _la_input("linalg.solve_triangular", A)
    check_tensor("linalg.solve_triangular", "B", B)
    if B._data.ndim < 2:
        raise RuntimeError(
            f"linalg.solve_triangular: The input tensor B must have at least 2 dimensions, got {list(B.shape)}"
        )
    if B.dtype.name not in _LA_FLOATS:
        raise RuntimeError(f"linalg.solve_triangular: Expected a floating point tensor. Got {B.dtype.name}")
    _same_dtype("linalg.solve_triangular", A, B)
    if not left:
        attrs = {"upper": not bool(upper), "unitriangular": bool(unitriangular)}
        return apply(TRI_SOLVE, (A.mT, B.mT), attrs).mT
    return apply(TRI_SOLVE, (A, B), {"upper": bool(upper), "unitriangular": bool(unitriangular)})


# -- Cholesky ------------------------------------------------------------------------------------------------
def _cholesky_forward(a):
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.cholesky: The factorization could not be completed because the input is not "
            "positive-definite."
        ) from None


CHOLESKY = OpDef("linalg_cholesky", _cholesky_forward, save_output=True, shape_rule=_same_rule)


@CHOLESKY.defgrad
def _cholesky_grad(ctx, g):
    L = ctx.out
    P = L.mT @ g
    P = P.tril() - 0.5 * P.diagonal(0, -2, -1).diag_embed()
    eye = _eye_like(L)
    Linv = apply(TRI_SOLVE, (L, eye.expand(tuple(L.shape))), {"upper": False, "unitriangular": False})
    S = Linv.mT @ P @ Linv
    return (0.5 * (S + S.mT),)


def linalg_cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Cholesky factor ``L`` (lower, ``A = L L^T``; ``upper=True``: ``U = L^T``) of symmetric positive-definite
    matrices; only the lower triangle of ``A`` is read.

    Example:
        >>> ts.linalg.cholesky(ts.tensor([[4.0, 2.0], [2.0, 2.0]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    _la_input("linalg.cholesky", A)
    L = apply(CHOLESKY, (A,))
    return L.mT if upper else L


def _spd(m):
    try:
        np.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


def linalg_cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)`` of ``linalg.cholesky``; ``info`` is 0 where ``A`` is positive-definite."""
    _la_input("linalg.cholesky_ex", A)
    info = _info(A, _spd)
    if info.numpy().any():
        if check_errors:
            raise LinAlgError(
                "linalg.cholesky_ex: The factorization could not be completed because the "
                "input is not positive-definite."
            )
        from ..core.creation import full

        return _CholeskyExResult(full(tuple(A.shape), float("nan"), dtype=A.dtype), info)
    return _CholeskyExResult(linalg_cholesky(A, upper=upper), info)


# -- QR -----------------------------------------------------------------------------------------------------
def _qr_rule(which):
    def rule(A, *, mode):
        m, n = A.shape[-2:]
        k = min(m, n)
        batch = tuple(A.shape[:-2])
        if which == "q":
            return _meta(batch + ((m, m) if mode == "complete" else (m, k)), A.dtype)
        return _meta(batch + ((m, n) if mode == "complete" else (k, n)), A.dtype)

    return rule


QR_Q = OpDef("linalg_qr_q", lambda a, mode: np.linalg.qr(a, mode=mode)[0], shape_rule=_qr_rule("q"))
QR_R = OpDef(
    "linalg_qr_r",
    lambda a, mode: np.linalg.qr(a, mode="reduced" if mode == "r" else mode)[1],
    shape_rule=_qr_rule("r"),
)


def _qr_backward(A, gQ, gR, mode):
    m, n = A.shape[-2:]
    if mode == "complete" and m > n:
        raise RuntimeError(
            "linalg.qr: The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
        )
    Q, R = apply(QR_Q, (A,), {"mode": "reduced"}), apply(QR_R, (A,), {"mode": "reduced"})
    if gQ is None:
        gQ = Q * 0
    if gR is None:
        gR = R * 0
    if m >= n:
        return _qr_square_deep(Q, R, gQ, gR)
    y, u, dv = A[..., :, m:], R[..., :, :m], gR[..., :, m:]
    dx = _qr_square_deep(Q, u, gQ + y @ dv.mT, gR[..., :, :m])
    from .shape import cat

    return cat([dx, Q @ dv], dim=-1)


def _qr_square_deep(Q, R, gQ, gR):
    qdq = Q.mT @ gQ
    rdr = R @ gR.mT
    low = (qdq - qdq.mT + rdr - rdr.mT).tril()

    def right_rinv(x):  # x @ R^{-T}
        return apply(TRI_SOLVE, (R, x.mT), {"upper": True, "unitriangular": False}).mT

    return Q @ (gR + right_rinv(low)) + right_rinv(gQ - Q @ qdq)


QR_Q.defgrad(lambda ctx, g: (_qr_backward(ctx.saved[0], g, None, ctx.attrs["mode"]),))
QR_R.defgrad(lambda ctx, g: (_qr_backward(ctx.saved[0], None, g, ctx.attrs["mode"]),))


def linalg_qr(A: Tensor, mode: str = "reduced"):
    """QR decomposition ``A = Q R`` with ``mode`` 'reduced' (default), 'complete' or 'r' (``Q`` empty), as
    ``torch.linalg.qr``.

    Example:
        >>> Q, R = ts.linalg.qr(ts.tensor([[3.0, 1.0], [4.0, 2.0]]))
    """
    _la_input("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"linalg.qr: qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    R = apply(QR_R, (A,), {"mode": mode})
    if mode == "r":
        from ..core.creation import zeros

        return _QRResult(zeros(0, dtype=A.dtype), R)
    return _QRResult(apply(QR_Q, (A,), {"mode": mode}), R)


# -- SVD and symmetric eigendecomposition ------------------------------------------------------------------
def _svd_rule(which):
    def rule(A, *, full_matrices=False):
        m, n = A.shape[-2:]
        k = min(m, n)
        batch = tuple(A.shape[:-2])
        if which == "s":
            return _meta(batch + (k,), A.dtype)
        if which == "u":
            return _meta(batch + (m, m if full_matrices else k), A.dtype)
        return _meta(batch + (n if full_matrices else k, n), A.dtype)

    return rule


def _svd_np(a, full_matrices):
    try:
        return np.linalg.svd(a, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.svd: The algorithm failed to converge (the input may contain NaN)."
        ) from None


SVD_U = OpDef(
    "linalg_svd_u", lambda a, full_matrices: _svd_np(a, full_matrices)[0], shape_rule=_svd_rule("u")
)
SVD_S = OpDef("linalg_svd_s", lambda a: np.linalg.svd(a, compute_uv=False), shape_rule=_svd_rule("s"))
SVD_VH = OpDef(
    "linalg_svd_vh", lambda a, full_matrices: _svd_np(a, full_matrices)[2], shape_rule=_svd_rule("vh")
)


def _svd_backward(A, gU, gS, gVh):
    """PyTorch's ``svd_backward`` for the reduced SVD (gradients of the columns beyond min(m, n) of a full
    ``U``/``Vh`` are ignored, as PyTorch does); any of the cotangents may be None."""
    m, n = A.shape[-2:]
    k = min(m, n)
    U = apply(SVD_U, (A,), {"full_matrices": False})
    S = apply(SVD_S, (A,))
    Vh = apply(SVD_VH, (A,), {"full_matrices": False})
    if gU is None and gVh is None:
        return U @ (_bmv(gS, 1) * Vh)
    if gU is not None:
        gU = gU[..., :, :k]
    if gVh is not None:
        gVh = gVh[..., :k, :]
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
    E = E + _eye_like(A, k)
    ret = None
    if gU is not None:
        UhgU = U.mT @ gU
        ret = (UhgU - UhgU.mT) * S.unsqueeze(-2)
    if gVh is not None:
        VhgV = Vh @ gVh.mT
        t = S.unsqueeze(-1) * (VhgV - VhgV.mT)
        ret = t if ret is None else ret + t
    ret = ret / E
    if gS is not None:
        ret = ret + gS.diag_embed()
    if m > k and gU is not None:
        gUSinv = gU / S.unsqueeze(-2)
        return (U @ ret + gUSinv - U @ (U.mT @ gUSinv)) @ Vh
    if n > k and gVh is not None:
        SinvgVh = gVh / S.unsqueeze(-1)
        return U @ (ret @ Vh + SinvgVh - (SinvgVh @ Vh.mT) @ Vh)
    return U @ ret @ Vh


SVD_U.defgrad(lambda ctx, g: (_svd_backward(ctx.saved[0], g, None, None),))
SVD_S.defgrad(lambda ctx, g: (_svd_backward(ctx.saved[0], None, g, None),))
SVD_VH.defgrad(lambda ctx, g: (_svd_backward(ctx.saved[0], None, None, g),))


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    """Singular value decomposition ``A = U diag(S) Vh`` (``S`` descending), as ``torch.linalg.svd``;
    differentiable where the singular values are distinct.

    Example:
        >>> U, S, Vh = ts.linalg.svd(ts.randn(4, 3), full_matrices=False)
    """
    _la_input("linalg.svd", A, square=False)
    fm = {"full_matrices": bool(full_matrices)}
    return _SVDResult(apply(SVD_U, (A,), fm), apply(SVD_S, (A,)), apply(SVD_VH, (A,), fm))


def linalg_svdvals(A: Tensor, *, driver=None) -> Tensor:
    """Singular values of ``A`` in descending order."""
    _la_input("linalg.svdvals", A, square=False)
    return apply(SVD_S, (A,))


def _eigh_np(a, UPLO):
    try:
        return np.linalg.eigh(a, UPLO=UPLO)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.eigh: The algorithm failed to converge.") from None


EIGH_L = OpDef("linalg_eigh_values", lambda a, UPLO: _eigh_np(a, UPLO)[0], shape_rule=_batch_rule(1))
EIGH_V = OpDef("linalg_eigh_vectors", lambda a, UPLO: _eigh_np(a, UPLO)[1], shape_rule=_same_rule)


def _eigh_backward(A, UPLO, gL, gV):
    L = apply(EIGH_L, (A,), {"UPLO": UPLO})
    V = apply(EIGH_V, (A,), {"UPLO": UPLO})
    if gV is None:
        inner = gL.diag_embed()
    else:
        E = L.unsqueeze(-2) - L.unsqueeze(-1)
        E = E + _eye_like(A)
        VhgV = V.mT @ gV
        inner = 0.5 * (VhgV - VhgV.mT) / E  # projected onto skew matrices (the tangent space), as PyTorch
        if gL is not None:
            inner = inner + gL.diag_embed()
    return V @ inner @ V.mT


EIGH_L.defgrad(lambda ctx, g: (_eigh_backward(ctx.saved[0], ctx.attrs["UPLO"], g, None),))
EIGH_V.defgrad(lambda ctx, g: (_eigh_backward(ctx.saved[0], ctx.attrs["UPLO"], None, g),))


def _uplo(opname, UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{opname}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO


def linalg_eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices (only the ``UPLO``
    triangle is read), as ``torch.linalg.eigh``.

    Example:
        >>> L, V = ts.linalg.eigh(ts.tensor([[2.0, 1.0], [1.0, 2.0]]))
        >>> L
        tensor([1., 3.])
    """
    _la_input("linalg.eigh", A)
    u = {"UPLO": _uplo("linalg.eigh", UPLO)}
    return _EighResult(apply(EIGH_L, (A,), u), apply(EIGH_V, (A,), u))


def linalg_eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """Eigenvalues (ascending) of symmetric matrices."""
    _la_input("linalg.eigvalsh", A)
    return apply(EIGH_L, (A,), {"UPLO": _uplo("linalg.eigvalsh", UPLO)})


def _eig_np(a):
    try:
        w, v = np.linalg.eig(a)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.eig: The algorithm failed to converge.") from None
    c = np.complex128 if a.dtype == np.float64 else np.complex64
    return w.astype(c), v.astype(c)


def _eig_rule(drop):
    return lambda A: _meta(tuple(A.shape)[: len(A.shape) - drop], A.dtype.to_complex())


EIG_L = OpDef("linalg_eig_values", lambda a: _eig_np(a)[0], differentiable=False, shape_rule=_eig_rule(1))
EIG_V = OpDef("linalg_eig_vectors", lambda a: _eig_np(a)[1], differentiable=False, shape_rule=_eig_rule(0))
_EigResult = _named("eig", ["eigenvalues", "eigenvectors"])


def _eig_input(opname, A):
    from .fft import _no_grad_through_complex

    _la_input(opname, A)
    _no_grad_through_complex(opname, A)
    return A


def linalg_eig(A: Tensor):
    """Eigenvalues and unit-norm eigenvectors of general square matrices, as complex tensors
    (``torch.linalg.eig``; forward only: complex results carry no gradient in Tessera).

    Example:
        >>> L, V = ts.linalg.eig(ts.tensor([[0.0, -1.0], [1.0, 0.0]]))
    """
    _eig_input("linalg.eig", A)
    return _EigResult(apply(EIG_L, (A,)), apply(EIG_V, (A,)))


def linalg_eigvals(A: Tensor) -> Tensor:
    """Eigenvalues of general square matrices as a complex tensor (``torch.linalg.eigvals``)."""
    return apply(EIG_L, (_eig_input("linalg.eigvals", A),))


# -- pseudo-inverse, least squares, rank ---------------------------------------------------------------------
def _pinv_forward(a, atol, rtol, hermitian):
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    cutoff = np.maximum(atol, rtol * s.max(axis=-1, keepdims=True))
    sinv = np.where(s > cutoff, 1 / np.where(s > cutoff, s, 1), 0).astype(a.dtype)
    return np.matmul(np.swapaxes(vh, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2))


PINV = OpDef(
    "linalg_pinv",
    _pinv_forward,
    save_output=True,
    shape_rule=lambda A, **a: _meta(tuple(A.shape[:-2]) + (A.shape[-1], A.shape[-2]), A.dtype),
)


@PINV.defgrad
def _pinv_grad(ctx, g):
    (A,) = ctx.saved
    pA = ctx.out
    m, n = A.shape[-2:]
    pAh, gh = pA.mT, g.mT
    if m <= n:
        K = gh @ pA
        KpAh = K @ pAh
        return (-(pA @ K).mT + KpAh - (A @ pA) @ KpAh + (pAh @ pA) @ (gh - K @ A),)
    K = pA @ gh
    pAhK = pAh @ K
    return (-(K @ pA).mT + (gh - A @ K) @ pA @ pAh + pAhK - pAhK @ pA @ A,)


def _tolerances(A, atol, rtol):
    if isinstance(atol, Tensor) or isinstance(rtol, Tensor):
        raise TypeError("linalg.pinv: tensor atol/rtol are not supported; pass Python floats")
    eps = float(np.finfo(A.dtype.np).eps)
    if rtol is None:
        rtol = eps * max(A.shape[-2:]) if atol is None or atol <= 0 else 0.0
    return float(atol or 0.0), float(rtol)


def linalg_pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """Moore-Penrose pseudo-inverse: singular values below ``max(atol, rtol * s_max)`` count as zero
    (default ``rtol``: eps * max(m, n)), as ``torch.linalg.pinv``.

    Example:
        >>> ts.linalg.pinv(ts.tensor([[1.0, 0.0], [0.0, 0.0]]))
        tensor([[1., 0.],
                [0., 0.]])
    """
    _la_input("linalg.pinv", A, square=hermitian)
    atol, rtol = _tolerances(A, atol, rtol)
    return apply(PINV, (A,), {"atol": atol, "rtol": rtol, "hermitian": bool(hermitian)})


def linalg_lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B``, as ``torch.linalg.lstsq`` with its CPU default driver
    'gelsy': ``(solution, residuals, rank, singular_values)`` with empty residuals and singular values
    for that driver."""
    _la_input("linalg.lstsq", A, square=False)
    check_tensor("linalg.lstsq", "B", B)
    if driver not in (None, "gelsy", "gelsd", "gelss", "gels"):
        raise RuntimeError(
            f"linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), got {driver}"
        )
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.lstsq: input.size(-2) should match other.size(-2), got shapes {list(A.shape)} and "
            f"{list(B.shape)}"
        )
    rtol = float(np.finfo(A.dtype.np).eps) * max(A.shape[-2:]) if rcond is None else float(rcond)
    X = apply(PINV, (A,), {"atol": 0.0, "rtol": rtol, "hermitian": False}) @ Bm
    if vec:
        X = X.squeeze(-1)
    from ..core.creation import zeros

    rank = linalg_matrix_rank(A, rtol=rtol) if driver != "gels" else zeros(0, dtype=_dt.int64)
    empty = zeros(0, dtype=A.dtype)
    sv = apply(SVD_S, (A.detach(),)) if driver in ("gelsd", "gelss") else empty
    return _LstsqResult(X, empty, rank, sv)


def linalg_matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """Number of singular values above ``max(atol, rtol * s_max)`` (int64), as ``torch.linalg.matrix_rank``.

    Example:
        >>> ts.linalg.matrix_rank(ts.ones(3, 3))
        tensor(1)
    """
    _la_input("linalg.matrix_rank", A, square=hermitian)
    atol, rtol = _tolerances(A, atol, rtol)
    s = apply(SVD_S, (A.detach(),))
    tol = (s.amax(-1, keepdim=True) * rtol).clamp(min=atol) if s.shape[-1] else s
    return (s > tol).sum(-1)


# -- matrix functions ---------------------------------------------------------------------------------------
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
    10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)  # fmt: skip


def _expm_forward(a):
    """Scaling and squaring with the degree-13 Padé approximant (Higham 2005), in float64."""
    x = a.astype(np.float64)
    if x.size == 0:
        return a.copy()
    b = _PADE13
    norm = np.abs(x).sum(axis=-2).max() if x.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 5.371920351148152)))) if norm > 5.371920351148152 else 0
    x = x / (2.0**s)
    eye = np.broadcast_to(np.eye(x.shape[-1]), x.shape)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r.astype(a.dtype)


MATRIX_EXP = OpDef("linalg_matrix_exp", _expm_forward, shape_rule=_same_rule)


@MATRIX_EXP.defgrad
def _matrix_exp_grad(ctx, g):
    # d/dA <G, exp(A)> is the upper-right block of exp([[A^T, G], [0, A^T]]).
    (A,) = ctx.saved
    from .shape import cat

    n = A.shape[-1]
    At = A.mT
    top = cat([At, g], dim=-1)
    bottom = cat([At * 0, At], dim=-1)
    big = apply(MATRIX_EXP, (cat([top, bottom], dim=-2),))
    return (big[..., :n, n:],)


def linalg_matrix_exp(A: Tensor) -> Tensor:
    """Matrix exponential of a (batch of) square matrices.

    Example:
        >>> ts.linalg.matrix_exp(ts.zeros(2, 2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    return apply(MATRIX_EXP, (_la_input("linalg.matrix_exp", A),))


def linalg_matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` to the integer power ``n`` (``n < 0``: of its inverse) by repeated squaring."""
    _la_input("linalg.matrix_power", A)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        return A * 0 + _eye_like(A)  # the identity, with a zero gradient
    if n < 0:
        A, n = linalg_inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


# -- LU -----------------------------------------------------------------------------------------------------
def _lu_np(a):
    """Partial-pivoting LU (LAPACK getrf): packed ``LU`` and 1-based int32 ``pivots``."""
    lu = np.array(a, copy=True)
    m, n = lu.shape[-2:]
    k = min(m, n)
    batch = lu.shape[:-2]
    flat = lu.reshape((-1, m, n))
    piv = np.zeros((flat.shape[0], k), np.int32)
    rows = np.arange(flat.shape[0])
    for j in range(k):
        p = np.argmax(np.abs(flat[:, j:, j]), axis=1) + j
        piv[:, j] = p + 1
        tmp = flat[rows, j, :].copy()
        flat[rows, j, :] = flat[rows, p, :]
        flat[rows, p, :] = tmp
        d = flat[:, j, j]
        safe = np.where(d == 0, 1, d)
        flat[:, j + 1 :, j] = np.where(
            (d == 0)[:, None], flat[:, j + 1 :, j], flat[:, j + 1 :, j] / safe[:, None]
        )
        flat[:, j + 1 :, j + 1 :] -= flat[:, j + 1 :, j : j + 1] * flat[:, j : j + 1, j + 1 :]
    return flat.reshape(lu.shape), piv.reshape(batch + (k,))


LU_PACKED = OpDef("linalg_lu_factor", lambda a: _lu_np(a)[0], shape_rule=_same_rule)
LU_PIVOTS = OpDef(
    "linalg_lu_pivots",
    lambda a: _lu_np(a)[1],
    differentiable=False,
    shape_rule=lambda A: _meta(tuple(A.shape[:-2]) + (min(A.shape[-2:]),), _dt.int32),
)


def _pivots_to_perm_forward(piv, m, dtype):
    piv = piv.astype(np.int64) - 1
    batch = piv.shape[:-1]
    flat = piv.reshape((-1, piv.shape[-1]))
    perms = np.tile(np.arange(m), (flat.shape[0], 1))
    for b in range(flat.shape[0]):
        for j, p in enumerate(flat[b]):
            perms[b, [j, p]] = perms[b, [p, j]]
    P = np.zeros((flat.shape[0], m, m), _dt.as_dtype(dtype).np)
    for b in range(flat.shape[0]):
        P[b, perms[b], np.arange(m)] = 1
    return P.reshape(batch + (m, m))


PIVOTS_TO_PERM = OpDef(
    "linalg_pivots_to_permutation",
    _pivots_to_perm_forward,
    differentiable=False,
    shape_rule=lambda piv, m, dtype: _meta(tuple(piv.shape[:-1]) + (m, m), _dt.as_dtype(dtype)),
)


def _perm_matrix(pivots, m, dtype):
    """The permutation matrix ``P`` (``A = P L U``) of LAPACK ``pivots`` (a constant: no gradient)."""
    return apply(PIVOTS_TO_PERM, (pivots,), {"m": int(m), "dtype": dtype.name})


def _unpack(LU, m, n):
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + _eye_like(LU, m)[:, :k]
    U = LU[..., :k, :].triu()
    return L, U


@LU_PACKED.defgrad
def _lu_grad(ctx, g):
    (A,) = ctx.saved
    m, n = A.shape[-2:]
    if m != n:
        raise NotImplementedError("linalg.lu: gradients for non-square matrices are not supported")
    LU = apply(LU_PACKED, (A,))
    P = _perm_matrix(apply(LU_PIVOTS, (A.detach(),)), m, A.dtype)
    L, U = _unpack(LU, m, n)
    phi = (L.mT @ g.tril(-1)).tril(-1) + (g.triu() @ U.mT).triu()
    X = apply(TRI_SOLVE, (L.mT, phi), {"upper": True, "unitriangular": True})  # L^{-T} phi
    X = apply(TRI_SOLVE, (U, X.mT), {"upper": True, "unitriangular": False}).mT  # ... U^{-T}
    return (P @ X,)


def linalg_lu_factor(A: Tensor, *, pivot: bool = True):
    """Packed LU factorization with partial pivoting: ``(LU, pivots)`` (1-based, int32), as
    ``torch.linalg.lu_factor``."""
    _la_input("linalg.lu_factor", A, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return _LUFactorResult(apply(LU_PACKED, (A,)), apply(LU_PIVOTS, (A.detach(),)))


def linalg_lu(A: Tensor, *, pivot: bool = True):
    """``(P, L, U)`` with ``A = P L U``, as ``torch.linalg.lu``.

    Example:
        >>> P, L, U = ts.linalg.lu(ts.tensor([[1.0, 2.0], [3.0, 4.0]]))
    """
    LU, piv = linalg_lu_factor(A, pivot=pivot)
    m, n = A.shape[-2:]
    L, U = _unpack(LU, m, n)
    return _LUResult(_perm_matrix(piv, m, A.dtype), L, U)


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False):
    """Solve ``A X = B`` from ``lu_factor``'s output (``adjoint``: ``A^T X = B``; ``left=False``: ``X A = B``)."""
    _la_input("linalg.lu_solve", LU, argname="LU")
    check_tensor("linalg.lu_solve", "pivots", pivots)
    check_tensor("linalg.lu_solve", "B", B)
    if pivots.dtype is not _dt.int32:
        raise RuntimeError(
            f"linalg.lu_solve: pivots should be a Tensor of scalar type int32, got {pivots.dtype}"
        )
    _same_dtype("linalg.lu_solve", LU, B)
    if B.ndim < 2 or B.shape[-2 if left else -1] != LU.shape[-1]:
        raise RuntimeError(
            f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({LU.shape[-2]}x{LU.shape[-1]} and {list(B.shape)})"
        )
    n = LU.shape[-1]
    L, U = _unpack(LU, n, n)
    P = _perm_matrix(pivots, n, LU.dtype)
    A_factors_T = adjoint != (not left)  # solving with A^T: A^T = U^T L^T P^T
    if not left:
        B = B.mT
    lo = {"upper": False, "unitriangular": True}
    up = {"upper": True, "unitriangular": False}
    if not A_factors_T:
        Y = apply(TRI_SOLVE, (L, P.mT @ B), lo)
        X = apply(TRI_SOLVE, (U, Y), up)
    else:
        Y = apply(TRI_SOLVE, (U.mT, B), {"upper": False, "unitriangular": False})
        X = P @ apply(TRI_SOLVE, (L.mT, Y), {"upper": True, "unitriangular": True})
    return X.mT if not left else X


# -- products, norms and the rest of torch.linalg ----------------------------------------------------------
def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (batch dims broadcast), as ``torch.linalg.cross``.

    Example:
        >>> ts.linalg.cross(ts.tensor([1.0, 0.0, 0.0]), ts.tensor([0.0, 1.0, 0.0]))
        tensor([0., 0., 1.])
    """
    return _cross("linalg.cross", input, other, dim)


def _cross(opname, a, b, dim):
    check_tensor(opname, "input", a)
    check_tensor(opname, "other", b)
    if a.ndim != b.ndim:
        raise RuntimeError(
            f"{opname}: inputs must have the same number of dimensions, got {a.ndim} and {b.ndim}"
        )
    d = canonical_dim(opname, dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(
            f"{opname}: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}"
        )
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise RuntimeError(
            f"{opname}: the shapes {list(a.shape)} and {list(b.shape)} are not broadcastable"
        ) from None
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def linalg_multi_dot(tensors) -> Tensor:
    """Product of a chain of matrices (the first/last may be 1-D), as ``torch.linalg.multi_dot``."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        check_tensor("multi_dot", f"tensors[{i}]", t)
        want = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in want:
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be {'1D or 2D' if len(want) == 2 else '2D'} but got {t.ndim}D"
            )
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i in range(len(mats) - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                f"{list(tensors[i + 1].shape)} cannot be multiplied"
            )
    out = mats[0]
    for m in mats[1:]:
        out = out @ m
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def linalg_vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector ``ord``-norm over ``dim`` (all elements when None): any real ``ord``, ``inf``, ``-inf``, 0.

    Example:
        >>> ts.linalg.vector_norm(ts.tensor([3.0, 4.0]))
        tensor(5.)
    """
    from .reduction import norm

    check_tensor("linalg.vector_norm", "x", x)
    if isinstance(ord, str) or ord is None:
        raise RuntimeError(f"linalg.vector_norm: Expected a numeric ord, got {ord!r}")
    if dtype is None and not x.is_floating_point():
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype.name}"
        )
    if isinstance(dim, list):
        dim = tuple(dim)
    return norm(x, float(ord), dim, keepdim, dtype)


def linalg_matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', or ``ord`` in 1, -1, 2, -2, inf, -inf.

    Example:
        >>> ts.linalg.matrix_norm(ts.eye(3), ord="nuc")
        tensor(3.)
    """
    check_tensor("linalg.matrix_norm", "A", A)
    if dtype is not None:
        A = A.to(_dt.as_dtype(dtype))
    if A.ndim < 2:
        raise RuntimeError(
            f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {list(A.shape)}"
        )
    if not A.is_floating_point():
        raise RuntimeError(
            f"linalg.matrix_norm: Expected a floating point or complex tensor as input. Got {A.dtype.name}"
        )
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (canonical_dim("linalg.matrix_norm", d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return linalg_vector_norm(A, 2, (d0, d1), keepdim)
    valid = ("nuc", 1, -1, 2, -2, float("inf"), float("-inf"))
    if ord not in valid:
        raise RuntimeError(
            f"linalg.matrix_norm: Order {ord} not supported. Expected one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf"
        )
    if ord in ("nuc", 2, -2):
        moved = A.movedim((d0, d1), (-2, -1))
        s = apply(SVD_S, (_la_input("linalg.matrix_norm", moved, square=False),))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
    else:
        red, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(red, keepdim=True)
        r = sums.amax(other, keepdim=True) if ord > 0 else sums.amin(other, keepdim=True)
        return r if keepdim else r.squeeze((d0, d1))
    return r.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (d0, d1)) if keepdim else r


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm (1-D input or an int ``dim``), a matrix norm (2-D input or a
    2-tuple ``dim``), or the 2-norm of all elements (``ord`` and ``dim`` None)."""
    check_tensor("linalg.norm", "A", A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
    if ord is None:
        return linalg_vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D."
            )
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: Expected a numeric ord for a vector norm, got {ord!r}")
        return linalg_vector_norm(A, ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return linalg_matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")


def linalg_cond(A: Tensor, p=None) -> Tensor:
    """Condition number in the ``p`` norm (default 2: ratio of extreme singular values)."""
    _la_input("linalg.cond", A, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = apply(SVD_S, (A,))
        return s.amax(-1) / s.amin(-1) if p != -2 else s.amin(-1) / s.amax(-1)
    return linalg_matrix_norm(A, p) * linalg_matrix_norm(linalg_inv(A), p)


def linalg_tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """Inverse of ``A`` seen as a linear map from its first ``ind`` dims to the rest."""
    check_tensor("linalg.tensorinv", "A", A)
    if ind <= 0:
        raise RuntimeError(f"linalg.tensorinv: Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape, in_shape = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows, cols = int(np.prod(out_shape)), int(np.prod(in_shape))
    if rows != cols:
        raise RuntimeError(
            f"linalg.tensorinv: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    return linalg_inv(A.reshape(rows, cols)).reshape(in_shape + out_shape)


def linalg_tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """Solve ``tensordot(A, X, X.ndim) = B`` for ``X``, as ``torch.linalg.tensorsolve``."""
    check_tensor("linalg.tensorsolve", "A", A)
    check_tensor("linalg.tensorsolve", "B", B)
    if dims is not None:
        dims = [canonical_dim("linalg.tensorsolve", d, A.ndim) for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    res_shape = tuple(A.shape[B.ndim :])
    n = int(np.prod(res_shape))
    if int(np.prod(tuple(A.shape[: B.ndim]))) != n or tuple(A.shape[: B.ndim]) != tuple(B.shape):
        raise RuntimeError(
            f"linalg.tensorsolve: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got shapes {list(A.shape)} and {list(B.shape)}"
        )
    return linalg_solve(A.reshape(n, n), B.reshape(n)).reshape(res_shape)


def linalg_vander(x: Tensor, *, N=None) -> Tensor:
    """Vandermonde matrix with increasing powers ``x**0 ... x**(N-1)`` as the last dim."""
    check_tensor("linalg.vander", "x", x)
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    N = x.shape[-1] if N is None else N
    if N <= 0:
        raise RuntimeError(f"linalg.vander: N must be greater than 1, got {N}")
    from .shape import cat

    ones = (x * 0 + 1).unsqueeze(-1).detach()
    if N == 1:
        return ones
    return cat([ones, x.unsqueeze(-1).expand(tuple(x.shape) + (N - 1,))], dim=-1).cumprod(-1)


def linalg_vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of vectors along ``dim`` (batch dims broadcast)."""
    check_tensor("linalg.vecdot", "x", x)
    check_tensor("linalg.vecdot", "y", y)
    if x.shape[dim] != y.shape[dim]:
        raise RuntimeError(
            f"linalg.vecdot: Expected x and y to have the same size in dimension {dim}, got "
            f"{list(x.shape)} and {list(y.shape)}"
        )
    return (x * y).sum(dim)


def linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of the ``dim1`` x ``dim2`` matrices (default: the last two dims)."""
    check_tensor("linalg.diagonal", "A", A)
    return A.diagonal(offset, dim1, dim2)


def linalg_matmul(input: Tensor, other: Tensor) -> Tensor:
    """Alias of ``ts.matmul``."""
    return matmul(input, other)


# -- top-level torch.* spellings --------------------------------------------------------------------------
@method("det")
def det(input: Tensor) -> Tensor:
    """Determinant (``torch.det``)."""
    return linalg_det(input)


@method("logdet")
def logdet(input: Tensor) -> Tensor:
    """Log-determinant: NaN for a negative determinant, -inf for a singular matrix (``torch.logdet``)."""
    _la_input("logdet", input)
    sign = apply(SLOGDET_SIGN, (input,))
    return apply(LOGABSDET, (input,)) + sign.log()


@method("slogdet")
def slogdet(input: Tensor):
    """``(sign, logabsdet)`` (``torch.slogdet``)."""
    return linalg_slogdet(input)


@method("inverse")
def inverse(input: Tensor) -> Tensor:
    """Matrix inverse (``torch.inverse``)."""
    return linalg_inv(input)


@method("pinverse")
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Pseudo-inverse with singular values below ``rcond * s_max`` dropped (``torch.pinverse``)."""
    _la_input("pinverse", input, square=False)
    return apply(PINV, (input,), {"atol": 0.0, "rtol": float(rcond), "hermitian": False})


@method("cholesky")
def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """Cholesky factor (``torch.cholesky``; deprecated there in favour of ``torch.linalg.cholesky``)."""
    return linalg_cholesky(input, upper=upper)


@method("cholesky_solve")
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """Solve ``A X = input`` given the Cholesky factor ``input2`` of ``A`` (``torch.cholesky_solve``)."""
    check_tensor("cholesky_solve", "input", input)
    _la_input("cholesky_solve", input2, argname="input2")
    if input.ndim < 2:
        raise RuntimeError(f"cholesky_solve: b should have at least 2 dimensions, but has {input.ndim}")
    return linalg_solve(_cholesky_product(input2, upper), input)


def _cholesky_product(L, upper):
    """``L L^T`` (``U^T U`` when ``upper``) from the factor's triangle, differentiable w.r.t. the whole
    factor as in PyTorch (whose gradients for ``cholesky_solve``/``cholesky_inverse`` are not triangular)."""
    tri = L.triu() if upper else L.tril()
    L = L + (tri - L).detach()
    return L.mT @ L if upper else L @ L.mT


@method("cholesky_inverse")
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """Inverse of ``A`` from its Cholesky factor ``input`` (``torch.cholesky_inverse``)."""
    _la_input("cholesky_inverse", input)
    return linalg_inv(_cholesky_product(input, upper))


@method("qr")
def qr(input: Tensor, some: bool = True):
    """``(Q, R)``: reduced when ``some`` (``torch.qr``)."""
    return linalg_qr(input, "reduced" if some else "complete")


@method("svd")
def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``(U, S, V)`` (note: ``V``, not ``Vh``), as the legacy ``torch.svd``; zero ``U``/``V`` without
    ``compute_uv``."""
    _la_input("svd", input, square=False)
    if not compute_uv:
        m, n = input.shape[-2:]
        from ..core.creation import zeros

        batch = tuple(input.shape[:-2])
        S = apply(SVD_S, (input,))
        return _SVDOldResult(
            zeros(batch + (m, m), dtype=input.dtype), S, zeros(batch + (n, n), dtype=input.dtype)
        )
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return _SVDOldResult(U, S, Vh.mT)


@method("matrix_power")
def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` to the integer power ``n`` (``torch.matrix_power``)."""
    return linalg_matrix_power(input, n)


@method("matrix_exp")
def matrix_exp(input: Tensor) -> Tensor:
    """Matrix exponential (``torch.matrix_exp``)."""
    return linalg_matrix_exp(input)


@method("triangular_solve")
def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
):
    """``(solution, cloned_coefficient)`` of ``A X = b`` (``A^T X = b`` with ``transpose``), as the legacy
    ``torch.triangular_solve``."""
    _la_input("triangular_solve", A)
    check_tensor("triangular_solve", "b", b)
    _same_dtype("triangular_solve", A, b)
    if b.ndim < 2:
        raise RuntimeError(f"triangular_solve: b should have at least 2 dimensions, but has {b.ndim}")
    M = A.mT if transpose else A
    up = (not upper) if transpose else upper
    X = apply(TRI_SOLVE, (M, b), {"upper": bool(up), "unitriangular": bool(unitriangular)})
    return _TriSolveResult(X, A.clone())


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True):
    """``(P, L, U)`` from ``lu_factor``'s packed output (``torch.lu_unpack``); skipped parts are empty.

    Example:
        >>> P, L, U = ts.lu_unpack(*ts.linalg.lu_factor(ts.tensor([[1.0, 2.0], [3.0, 4.0]])))
    """
    _la_input("lu_unpack", LU_data, square=False, argname="LU_data")
    check_tensor("lu_unpack", "LU_pivots", LU_pivots)
    if LU_pivots.dtype is not _dt.int32:
        raise RuntimeError(
            f"lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype, got {LU_pivots.dtype}"
        )
    from ..core.creation import zeros

    m, n = LU_data.shape[-2:]
    empty = zeros(0, dtype=LU_data.dtype)
    L, U = _unpack(LU_data, m, n) if unpack_data else (empty, empty)
    P = _perm_matrix(LU_pivots, m, LU_data.dtype) if unpack_pivots else empty
    return _LUResult(P, L, U)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """Legacy ``torch.lu_solve(b, LU_data, LU_pivots)``."""
    return linalg_lu_solve(LU_data, LU_pivots, b)


@method("cross")
def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """Cross product along ``dim`` (default: the first dim of size 3), as ``torch.cross``."""
    check_tensor("cross", "input", input)
    if dim is None:
        sizes = [
            i for i, s in enumerate(np.broadcast_shapes(tuple(input.shape), tuple(other.shape))) if s == 3
        ]
        if not sizes:
            raise RuntimeError(f"cross: no dimension of size 3 in input, got shape {list(input.shape)}")
        dim = sizes[0]
    return _cross("cross", input, other, dim)


@method("kron")
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (``torch.kron``).

    Example:
        >>> ts.kron(ts.eye(2), ts.ones(2, 2)).shape
        tessera.Size([4, 4])
    """
    check_tensor("kron", "input", input)
    check_tensor("kron", "other", other)
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    a2 = a.reshape(tuple(x for s in a.shape for x in (s, 1)))
    b2 = b.reshape(tuple(x for s in b.shape for x in (1, s)))
    return (a2 * b2).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"):
    """Pairwise ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M).

    Example:
        >>> ts.cdist(ts.zeros(1, 2), ts.tensor([[3.0, 4.0]]))
        tensor([[5.]])
    """
    check_tensor("cdist", "x1", x1)
    check_tensor("cdist", "x2", x2)
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if not (x1.is_floating_point() and x2.is_floating_point()):
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype.name}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return linalg_vector_norm(diff, p, -1)


@method("dist")
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """``p``-norm of ``input - other`` (``torch.dist``)."""
    check_tensor("dist", "input", input)
    check_tensor("dist", "other", other)
    return linalg_vector_norm(input - other, p)


@method("vdot")
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product of two 1-D tensors, conjugating the first (``torch.vdot``)."""
    check_tensor("vdot", "input", input)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"vdot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(
            f"vdot: inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
            "to have the same number of elements, but got "
            f"{input.shape[0]} and {other.shape[0]} elements respectively"
        )
    a = input.conj() if input.is_complex() else input
    return dot(a, other)


def _scaled_sum(opname, input, prod, beta, alpha):
    """``beta * input + alpha * prod`` where ``beta == 0`` ignores ``input`` (NaNs included), as BLAS."""
    check_tensor(opname, "input", input)
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(prod.shape))
    except ValueError:
        raise RuntimeError(
            f"{opname}: The expanded size of the input {list(input.shape)} must match the product's size "
            f"{list(prod.shape)}"
        ) from None
    if len(np.broadcast_shapes(tuple(input.shape), tuple(prod.shape))) != prod.ndim or any(
        s != 1 and s != t for s, t in zip(tuple(input.shape)[::-1], tuple(prod.shape)[::-1])
    ):
        raise RuntimeError(
            f"{opname}: The expanded size of the input {list(input.shape)} must match the product's size "
            f"{list(prod.shape)}"
        )
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return out + (input * 0).nan_to_num(0.0) if input.dtype.is_floating_point else out
    return out + (input if beta == 1 else input * beta)


def _need(opname, name, t, ndim):
    check_tensor(opname, name, t)
    if t.ndim != ndim:
        raise RuntimeError(
            f"{opname}: {name} must be a {ndim}D tensor, got {t.ndim}D of shape {list(t.shape)}"
        )


@method("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``torch.addmm``).

    Example:
        >>> ts.addmm(ts.zeros(2, 2), ts.eye(2), ts.ones(2, 2), alpha=2)
        tensor([[2., 2.],
                [2., 2.]])
    """
    _need("addmm", "mat1", mat1, 2)
    _need("addmm", "mat2", mat2, 2)
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@method("addbmm")
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` (``torch.addbmm``)."""
    _need("addbmm", "batch1", batch1, 3)
    _need("addbmm", "batch2", batch2, 3)
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


@method("baddbmm")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)`` (``torch.baddbmm``)."""
    _need("baddbmm", "batch1", batch1, 3)
    _need("baddbmm", "batch2", batch2, 3)
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@method("addmv")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` (``torch.addmv``)."""
    _need("addmv", "mat", mat, 2)
    _need("addmv", "vec", vec, 1)
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@method("addr")
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (``torch.addr``)."""
    _need("addr", "vec1", vec1, 1)
    _need("addr", "vec2", vec2, 1)
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def _inplace_variant(fn):
    def inplace(self, *args, **kwargs):
        res = fn(self, *args, **kwargs)
        if tuple(res.shape) != tuple(self.shape):
            raise RuntimeError(
                f"{fn.__name__}_: output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(res.shape)}"
            )
        return self.copy_(res)

    inplace.__name__ = fn.__name__ + "_"
    inplace.__doc__ = f"In-place ``{fn.__name__}``: the result is written into ``self``."
    return inplace


def chain_matmul(*matrices) -> Tensor:
    """Product of 2-D matrices in order (``torch.chain_matmul``, deprecated for ``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if len(matrices) == 1:
        _need("chain_matmul", "matrices[0]", matrices[0], 2)
        return matrices[0].clone()
    for i, m in enumerate(matrices):
        _need("chain_matmul", f"matrices[{i}]", m, 2)
    return linalg_multi_dot(matrices)


def _trapz_check(opname, y, dim):
    check_tensor(opname, "y", y)
    return canonical_dim(opname, dim, y.ndim)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Trapezoidal rule along ``dim``, with sample points ``x`` (a tensor) or spacing ``dx`` (default 1).

    Example:
        >>> ts.trapezoid(ts.tensor([1.0, 2.0, 3.0]))
        tensor(4.)
    """
    d = _trapz_check("trapezoid", y, dim)
    n = y.shape[d]
    if n == 0:
        return y.sum(d)
    mid = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if x is None or not isinstance(x, Tensor):
        step = 1.0 if x is None and dx is None else (dx if dx is not None else x)
        return mid.sum(d) * step
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(
                f"trapezoid: There must be one `x` value for each sample point, got {x.shape[0]} and {n}"
            )
        shape = [1] * y.ndim
        shape[d] = n - 1
        dxs = (x[1:] - x[:-1]).reshape(shape)
    else:
        dxs = x.diff(dim=dim)
    return (mid * dxs).sum(d)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid`` (``torch.trapz``)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Cumulative trapezoidal rule along ``dim`` (one element shorter than ``y`` there)."""
    d = _trapz_check("cumulative_trapezoid", y, dim)
    n = y.shape[d]
    if n == 0:
        return y
    mid = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if isinstance(x, Tensor):
        if x.ndim == 1:
            shape = [1] * y.ndim
            shape[d] = n - 1
            mid = mid * (x[1:] - x[:-1]).reshape(shape)
        else:
            mid = mid * x.diff(dim=dim)
    else:
        step = 1.0 if x is None and dx is None else (dx if dx is not None else x)
        mid = mid * step
    return mid.cumsum(d)


@method("cov")
def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in columns), as ``torch.cov``.

    Example:
        >>> ts.cov(ts.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    check_tensor("cov", "input", input)
    if input.ndim > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an input with {input.ndim} dimensions"
        )
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if not x.is_floating_point():
        x = x.to(_dt.get_default_dtype())
    n = x.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        check_tensor("cov", name, wt)
        if wt.ndim > 1 or wt.numel() != n:
            raise RuntimeError(
                f"cov(): expected {name} to have one dimension and the same number of elements as the "
                f"observations, got shape {list(wt.shape)} for {n} observations"
            )
        if name == "fweights" and wt.is_floating_point():
            raise RuntimeError("cov(): expected fweights to have integral dtype")
        w = wt if w is None else w * wt
    if w is None:
        avg = x.mean(1)
        wsum = n
        norm_factor = n - correction
    else:
        w = w.to(x.dtype)
        wsum = w.sum()
        avg = (x * w).sum(1) / wsum
        if aweights is None or correction == 0:
            norm_factor = wsum - correction
        else:
            a = aweights.to(x.dtype)
            norm_factor = wsum - correction * (w * a).sum() / wsum
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = (xw @ xm.mT) / (norm_factor if not isinstance(norm_factor, (int, float)) else max(norm_factor, 0))
    return c.squeeze() if input.ndim < 2 else c


@method("corrcoef")
def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (``torch.corrcoef``), clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    c = c / stddev.unsqueeze(1) / stddev.unsqueeze(0)
    return c.clamp(-1, 1)


@method("renorm")
def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` is rescaled to norm ``maxnorm``."""
    check_tensor("renorm", "input", input)
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    d = canonical_dim("renorm", dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = linalg_vector_norm(input, p, others, True)
    from .elementwise import where

    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0).to(input.dtype)
    return input * factor


def frobenius_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """Frobenius norm over ``dim`` (``torch.frobenius_norm``)."""
    check_tensor("frobenius_norm", "input", input)
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    return linalg_vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Nuclear norm (sum of singular values) of the matrices over ``dim`` (``torch.nuclear_norm``)."""
    check_tensor("nuclear_norm", "input", input)
    if dim is None:
        if input.ndim != 2:
            raise RuntimeError(
                f"nuclear_norm: Expected a tensor with 2 dimensions, but got a {input.ndim}D tensor"
            )
        dim = (0, 1)
    return linalg_matrix_norm(input, "nuc", tuple(dim), keepdim)


for _fn in (addmm, addbmm, baddbmm, addmv, addr, renorm):
    setattr(Tensor, _fn.__name__ + "_", _inplace_variant(_fn))
del _fn

__all__ += [
    "det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse", "qr",
    "svd", "matrix_power", "matrix_exp", "triangular_solve", "lu_solve", "lu_unpack", "cross", "kron", "cdist",
    "dist", "vdot", "addmm", "addbmm", "baddbmm", "addmv", "addr", "chain_matmul", "trapezoid", "trapz",
    "cumulative_trapezoid", "cov", "corrcoef", "renorm", "frobenius_norm", "nuclear_norm",
]  # fmt: skip


# -- ONNX lowerings (``ts.onnx.export``): ``fn(g, *inputs, **attrs)``, see ``tessera/onnx/_lowering.py`` --
@MATMUL.defonnx
def _matmul_onnx(g, x, y):
    return g.op("MatMul", *g.promoted("matmul", x, y))


@EINSUM.defonnx
def _einsum_onnx(g, *xs, subs, out):
    return g.op("Einsum", *g.promoted("einsum", *xs), equation=",".join(subs) + "->" + out)
