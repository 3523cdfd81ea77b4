import numpy as np
import pytest
from opcheck import check_forward, check_grad, check_torch, rand, torch

import tessera as ts

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
    ((3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 1, 4, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    a, b = rand(*sa), rand(*sb, seed=1)
    check_forward(ts.matmul, np.matmul, a, b, rtol=1e-5)
    check_forward(lambda x, y: x @ y, np.matmul, a, b, rtol=1e-5)
    check_grad(ts.matmul, a, b)
    check_torch(ts.matmul, torch.matmul if torch else None, a, b, rtol=1e-5)


def test_matmul_double_backward():
    a = ts.tensor(rand(3, 4).astype(np.float64), requires_grad=True)
    b = ts.tensor(rand(2, 4, 5, seed=1).astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda x, y: (x @ y) * (x @ y), (a, b))


def test_matmul_errors():
    msg = r"matmul: shapes \(3, 4\) and \(5, 2\) cannot be multiplied \(4 != 5\)"
    with pytest.raises(RuntimeError, match=msg):
        ts.matmul(ts.ones(3, 4), ts.ones(5, 2))
    with pytest.raises(RuntimeError, match="need to be at least 1D"):
        ts.matmul(ts.tensor(1.0), ts.ones(3))
    with pytest.raises(RuntimeError, match="batch dimensions"):
        ts.matmul(ts.ones(2, 3, 4), ts.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="mm: expected 2-D tensors"):
        ts.mm(ts.ones(3), ts.ones(3, 2))
    with pytest.raises(RuntimeError, match="bmm: expected 3-D tensors with equal batch size"):
        ts.bmm(ts.ones(2, 3, 4), ts.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="mv: expected a matrix and a vector"):
        ts.mv(ts.ones(3, 4), ts.ones(4, 1))
    with pytest.raises(RuntimeError, match="dot: 1D tensors expected"):
        ts.dot(ts.ones(3, 1), ts.ones(3))


def test_mm_bmm_mv_dot():
    a, b = rand(3, 4), rand(4, 2, seed=1)
    check_torch(ts.mm, torch.mm if torch else None, a, b, rtol=1e-5)
    check_torch(ts.bmm, torch.bmm if torch else None, rand(2, 3, 4), rand(2, 4, 5, seed=1), rtol=1e-5)
    check_torch(ts.mv, torch.mv if torch else None, a, rand(4, seed=2), rtol=1e-5)
    check_torch(ts.dot, torch.dot if torch else None, rand(4, seed=3), rand(4, seed=2), rtol=1e-5)
    x = ts.tensor(a)
    assert x.mm(ts.tensor(b)).shape == (3, 2) and x.mv(ts.ones(4)).shape == (3,)
    assert (ts.ones(2) @ ts.ones(2)).item() == 2.0
    assert np.ones((2, 3), np.float32) @ ts.ones(3) is not None  # __rmatmul__


def test_matmul_int_and_promotion():
    r = ts.matmul(ts.tensor([[1, 2], [3, 4]]), ts.tensor([1, 1]))
    assert r.dtype == ts.int64 and r.tolist() == [3, 7]
    r = ts.matmul(ts.ones(2, 2, dtype=ts.float64), ts.ones(2, 2))
    assert r.dtype == ts.float64


# -- einsum --------------------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ii->", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),
    ("ij,ij,ij->i", [(3, 4), (3, 4), (3, 4)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (4, 2)]),
    ("i...->...", [(3, 2, 4)]),
    ("...->...", [(2, 3)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("i,i->i", [(1,), (3,)]),  # size-1 broadcasting
    ("ij,j->i", [(3, 1), (4,)]),
    ("i,jk->", [(3,), (2, 2)]),  # letters summed inside one operand only
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
]


NUMPY_EQ = {"b...,b...->b": "bij,bij->b"}  # NumPy cannot sum ellipsis dims away; PyTorch can


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(eq, shapes):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]

    def fn(*xs):
        return ts.einsum(eq, *xs)

    np_eq = NUMPY_EQ.get(eq, eq)
    check_forward(fn, lambda *xs: np.einsum(np_eq, *xs), *arrays, rtol=1e-5, atol=1e-5)
    check_grad(fn, *arrays)
    check_torch(fn, (lambda *xs: torch.einsum(eq, *xs)) if torch else None, *arrays, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("ii->i", [(3, 3)]),
        ("ii,ij->j", [(3, 3), (3, 2)]),
        ("i,i->i", [(1,), (3,)]),
        ("ij->", [(2, 3)]),
        ("...ij,...jk", [(2, 1, 3), (3, 2)]),
    ],
)
def test_einsum_double_backward(eq, shapes):
    xs = [ts.tensor(rand(*s, seed=k).astype(np.float64), requires_grad=True) for k, s in enumerate(shapes)]
    assert ts.autograd.gradgradcheck(lambda *a: ts.einsum(eq, *a) * ts.einsum(eq, *a), xs)


def test_einsum_calling_conventions():
    a, b = ts.tensor(rand(2, 3)), ts.tensor(rand(3, 4, seed=1))
    ref = (a @ b).numpy()
    np.testing.assert_allclose(ts.einsum("ij,jk->ik", [a, b]).numpy(), ref, rtol=1e-5)
    np.testing.assert_allclose(ts.einsum("ij , jk -> ik", a, b).numpy(), ref, rtol=1e-5)
    np.testing.assert_allclose(ts.einsum(a, [0, 1], b, [1, 2], [0, 2]).numpy(), ref, rtol=1e-5)
    np.testing.assert_allclose(ts.einsum(a, [0, 1], b, [1, 2]).numpy(), ref, rtol=1e-5)
    assert ts.einsum("ii", ts.eye(3)).item() == 3.0
    assert ts.einsum("ij,jk", ts.ones(2, 3, dtype=ts.float64), ts.ones(3, 2)).dtype == ts.float64
    assert ts.einsum("i,i", ts.tensor([1, 2]), ts.tensor([3, 4])).tolist() == 11
    h = ts.einsum("ij,jk", ts.ones(2, 3, dtype=ts.float16), ts.ones(3, 2, dtype=ts.float16))
    assert h.dtype == ts.float16 and h.tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize(
    "args,msg",
    [
        (
            ("ij,jk->ik", (3, 4), (3, 4)),
            "subscript j has size 3 for operand 1 which does not broadcast with previously seen size 4",
        ),
        (("i,i->", (3,)), "fewer operands were provided than specified"),
        (("i->", (3,), (3,)), "more operands were provided than specified"),
        (("i->j", (3,)), "output subscript j does not appear in the equation for any input"),
        (("i->ii", (3,)), "output subscript i appears more than once"),
        (("ij->", (3,)), r"the number of subscripts in the equation \(2\) does not match the number of"),
        (("i1->", (3,)), "invalid subscript given at index 1"),
        (("ii->", (3, 4)), "subscript i is repeated for operand 0 but the sizes don't match"),
        (("i.j->", (3, 4)), "found '.' for operand that is not part of any ellipsis"),
    ],
)
def test_einsum_errors(args, msg):
    eq, *shapes = args
    with pytest.raises(RuntimeError, match="einsum\\(\\): " + msg):
        ts.einsum(eq, *[ts.ones(*s) for s in shapes])


def test_einsum_type_errors():
    with pytest.raises(TypeError, match="einsum"):
        ts.einsum("i->", [1.0, 2.0])
    with pytest.raises(TypeError, match="equation must be a string"):
        ts.einsum(3, ts.ones(2))


# -- outer / inner / tensordot / trace -----------------------------------------------------------------------
def test_outer_inner():
    a, b = rand(3), rand(4, seed=1)
    check_torch(ts.outer, torch.outer if torch else None, a, b)
    check_grad(ts.outer, a, b)
    assert ts.ger(ts.ones(2), ts.ones(3)).shape == (2, 3)
    assert ts.tensor([1, 2]).outer(ts.tensor([3, 4])).tolist() == [[3, 4], [6, 8]]
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 2-D"):
        ts.outer(ts.ones(2, 2), ts.ones(2))
    check_torch(ts.inner, torch.inner if torch else None, rand(2, 3), rand(4, 3, seed=1), rtol=1e-5)
    check_torch(ts.inner, torch.inner if torch else None, rand(3), rand(3, seed=1), rtol=1e-5)
    check_torch(ts.inner, torch.inner if torch else None, np.array(2.0, np.float32), rand(3, seed=1))
    check_grad(ts.inner, rand(2, 3), rand(4, 3, seed=1))
    with pytest.raises(RuntimeError, match="inner: last dimension"):
        ts.inner(ts.ones(2, 3), ts.ones(2))


@pytest.mark.parametrize(
    "sa,sb,dims",
    [
        ((2, 3, 4), (3, 4, 5), 2),
        ((3, 4), (4, 5), 1),
        ((2, 3), (4, 5), 0),
        ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])),
        ((3, 4), (4, 3), ([1], [0])),
        ((3, 4), (5, 3), ([0], [1])),
    ],
)
def test_tensordot(sa, sb, dims):
    a, b = rand(*sa), rand(*sb, seed=1)
    check_forward(
        lambda x, y: ts.tensordot(x, y, dims=dims),
        lambda x, y: np.tensordot(x, y, axes=dims),
        a,
        b,
        rtol=1e-5,
        atol=1e-5,
    )
    check_torch(
        lambda x, y: ts.tensordot(x, y, dims=dims),
        (lambda x, y: torch.tensordot(x, y, dims=dims)) if torch else None,
        a,
        b,
        rtol=1e-5,
        atol=1e-5,
    )
    check_grad(lambda x, y: ts.tensordot(x, y, dims=dims), a, b)


def test_tensordot_errors():
    with pytest.raises(
        RuntimeError,
        match="tensordot: contracted dimensions need to match, but first has "
        "size 3 in dim 0 and second has size 4 in dim 1",
    ):
        ts.tensordot(ts.ones(3, 4), ts.ones(3, 4), dims=([0], [1]))
    with pytest.raises(RuntimeError, match="both dimension lists should have same length"):
        ts.tensordot(ts.ones(3, 4), ts.ones(3, 4), dims=([0, 1], [1]))
    with pytest.raises(RuntimeError, match=r"dims must be in \[0, 2\]"):
        ts.tensordot(ts.ones(3, 4), ts.ones(3, 4), dims=3)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3), (4, 2)])
def test_trace(shape):
    x = rand(*shape)
    check_torch(ts.trace, torch.trace if torch else None, x, rtol=1e-5)
    check_grad(ts.trace, x)
    assert ts.tensor([[1, 2], [3, 4]]).trace().item() == 5
    with pytest.raises(RuntimeError, match="trace: expected a matrix, but got tensor with dim 3"):
        ts.trace(ts.ones(2, 2, 2))
