"""Linear algebra: ``matmul`` (batched, broadcasting), ``einsum`` and friends."""

from __future__ import annotations

import functools
import string

import numpy as np

from ..core import dtypes as _dt
from ..core.dispatch import OpDef, OpError, TensorMeta
from ..core.tensor import Tensor
from ._util import apply, canonical_dim, check_tensor, method

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
        return np.matmul(x.reshape(-1, x.shape[-1]), y).reshape(x.shape[:-1] + y.shape[-1:])
    return np.matmul(x, y)


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
    return apply(MATMUL, (input, other))


method("__rmatmul__")(lambda self, other: apply(MATMUL, (other, self)))


@method("mm")
def mm(input, mat2):
    """Product of two 2-D matrices."""
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
