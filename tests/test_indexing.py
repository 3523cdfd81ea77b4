import numpy as np
import pytest
from opcheck import check_forward, check_grad, check_torch, needs_torch, rand, torch

import tessera as ts

I64 = np.int64


def _conv(key, lib):
    """Turn a key written with NumPy arrays into one for tessera ('ts') or torch ('torch')."""

    def one(k):
        if isinstance(k, np.ndarray):
            if lib == "ts":
                return ts.tensor(k)
            if lib == "torch":
                return torch.from_numpy(k.copy())
        return k

    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


# Keys where NumPy and PyTorch agree.
COMMON_KEYS = [
    0,
    -1,
    2,
    slice(1, 3),
    slice(None, None, 2),
    slice(-3, -1),
    slice(5, 10),
    (0, 1),
    (slice(None), 1),
    (Ellipsis, 0),
    (None, 0),
    (0, None, slice(1, None)),
    (slice(-3, -1), Ellipsis, None),
    (1, 2, 3),
    (Ellipsis,),
    (),
    (slice(None), slice(1, 4, 2), slice(None, None, 3)),
    np.array([0, 2, 0]),
    np.array([-1, 1]),
    np.array([[0, 1], [2, 2]]),
    (np.array([0, 2]), np.array([1, 3])),
    (slice(None), np.array([3, 0, 3])),
    (np.array([0, 2]), slice(None), np.array([4, 1])),
    (Ellipsis, np.array([1, 1])),
    np.array([True, False, True]),
    np.array([[True, False, True, False]] * 3),
    (slice(None), np.array([False, True, True, False])),
    (np.array([[0], [2]]), np.array([1, 2, 3])),
    (np.array([0, 1]), np.isin(np.arange(20).reshape(4, 5), [7, 15])),
    np.array([], dtype=I64),
    (np.array(1), slice(None)),
    (np.array([2, 1]), 1, Ellipsis),
]

# Keys where PyTorch differs from NumPy (ints and None are applied before the advanced indices).
TORCH_ONLY_KEYS = [
    (0, slice(None), np.array([1, 2])),
    (None, np.array([0, 1]), None, 1),
    (np.array(True),),
    (np.array(False),),
    (slice(None), 0, np.array([[1, 2]])),
    (np.array([0, 2]), 1, np.array([0, 3])),
]


@pytest.mark.parametrize("key", COMMON_KEYS, ids=repr)
def test_getitem_vs_numpy_and_torch(key):
    x = rand(3, 4, 5)
    check_forward(lambda t: t[_conv(key, "ts")], lambda a: a[key], x)
    check_torch(lambda t: t[_conv(key, "ts")], lambda t: t[_conv(key, "torch")], x)


@pytest.mark.parametrize("key", TORCH_ONLY_KEYS, ids=repr)
def test_getitem_torch_semantics(key):
    x = rand(3, 4, 5)
    check_torch(lambda t: t[_conv(key, "ts")], lambda t: t[_conv(key, "torch")], x)


@pytest.mark.parametrize(
    "key",
    [
        (1, slice(None, None, 2)),
        (np.array([0, 2, 0, 0]), 1),
        np.array([[True, False, True, False]] * 3),
        (None, np.array([1, 1]), 0),
    ],
    ids=repr,
)
def test_getitem_grad_and_double_grad(key):
    x = rand(3, 4)
    check_grad(lambda t: t[_conv(key, "ts")], x)
    xt = ts.tensor(x.astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(
        lambda t: (
            t[_conv(key, "ts")] ** 2 if hasattr(t, "__pow__") else t[_conv(key, "ts")] * t[_conv(key, "ts")]
        ),
        (xt,),
    )


def test_getitem_key_types():
    x = ts.arange(12).reshape(3, 4)
    assert x[ts.tensor(1)].tolist() == [4, 5, 6, 7]
    assert x[np.int64(2), np.int32(1)].item() == 9
    assert x[[0, 2]].tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert x[ts.tensor([1, 0], dtype=ts.int32)].shape == (2, 4)
    assert x[np.array([2])].tolist() == [[8, 9, 10, 11]]
    assert x[ts.tensor([True, False, True])].shape == (2, 4)
    assert x[ts.tensor([1, 0, 1], dtype=ts.uint8)].shape == (2, 4)  # legacy byte mask
    assert x[True].shape == (1, 3, 4) and x[False].shape == (0, 3, 4)
    assert x[: ts.tensor(2)].shape == (2, 4)
    assert x[1:, ts.tensor(3)].tolist() == [7, 11]
    assert x[[]].shape == (0, 4)
    s = ts.tensor(5.0)
    assert s[...].item() == 5.0 and s[None].shape == (1,) and s[()].shape == ()
    assert x[0, 0].shape == () and x[0, 0]._base is not None  # a 0-d view, not a copy


def test_basic_indexing_is_a_view():
    x = ts.zeros(3, 4)
    v = x[1:, ::2]
    assert v._version_counter is x._version_counter
    assert np.shares_memory(v.numpy(), x.numpy())
    v[0, 1] = 7.0
    assert x[1, 2].item() == 7.0
    assert x._version == 1
    e = x[0, 0]
    e[...] = 3.0
    assert x[0, 0].item() == 3.0
    a = x[[0, 1]]  # advanced indexing copies
    assert not np.shares_memory(a.numpy(), x.numpy())
    a[0, 0] = 100.0
    assert x[0, 0].item() == 3.0


@pytest.mark.parametrize(
    "key,exc,msg",
    [
        (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
        (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
        ((0, 4), IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
        ((Ellipsis, 9), IndexError, "index 9 is out of bounds for dimension 1 with size 4"),
        ([0, 5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
        ((slice(None), np.array([-5])), IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
        (slice(None, None, -1), ValueError, "step must be greater than zero"),
        (slice(None, None, 0), ValueError, "slice step cannot be zero"),
        ((0, 0, 0), IndexError, "too many indices for tensor of dimension 2"),
        ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
        ("a", TypeError, "only integers, slices"),
        (1.5, TypeError, "only integers, slices"),
        (np.array([1.0]), IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
        (np.array([True, False]), IndexError, "The shape of the mask [2] at index 0 does not match"),
        ((np.array([0, 1]), np.array([0, 1, 2])), IndexError, "shape mismatch"),
    ],
)
def test_getitem_errors(key, exc, msg):
    x = ts.zeros(3, 4)
    k = ts.tensor(key) if isinstance(key, np.ndarray) else key
    with pytest.raises(exc, match=msg.replace("[", r"\[").replace("]", r"\]")):
        x[k]


def test_getitem_0d_errors():
    with pytest.raises(IndexError, match="0-dim"):
        ts.tensor(1.0)[0]


def test_duplicate_advanced_indices_accumulate():
    x = ts.zeros(4, requires_grad=True)
    x[[1, 1, 1, 3]].sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0, 1.0]
    x = ts.zeros(2, 3, requires_grad=True)
    y = x[ts.tensor([[0, 0], [1, 0]]), ts.tensor([2, 2])]
    (y * ts.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[0, 0, 7.0], [0, 0, 3.0]]


def test_iteration_and_len():
    x = ts.arange(6.0).reshape(3, 2)
    rows = list(x)
    assert len(rows) == 3 and rows[2].tolist() == [4.0, 5.0]


# -- __setitem__ ---------------------------------------------------------------------------------------------
SET_CASES = [
    ((slice(1, None), 0), (2,)),
    ((slice(1, None), 0), (1,)),
    (0, (4,)),
    (0, ()),
    ((Ellipsis, 1), (3,)),
    ((slice(None), slice(None, None, 2)), (1, 2)),
    ((slice(None), slice(None, None, 2)), (1, 1, 2)),  # leading size-1 dims are dropped
    (np.array([0, 2]), (2, 4)),
    (np.array([2, 0]), (4,)),
    ((np.array([0, 1]), np.array([3, 3])), (2,)),
    ((slice(None), np.array([1, 0])), (3, 1)),
    (np.array([True, False, True]), (4,)),
    ((1, np.array([0, 2])), ()),
    (np.array([[True, False, True, False]] * 3), ()),
]


@pytest.mark.parametrize("key,vshape", SET_CASES, ids=repr)
def test_setitem_grads_vs_torch(key, vshape):
    x, v, w = rand(3, 4), rand(*vshape, seed=1), rand(3, 4, seed=2)

    def f_ts(x, v):
        y = x.clone()
        y[_conv(key, "ts")] = v
        return y * ts.tensor(w)

    def f_torch(x, v):
        y = x.clone()
        y[_conv(key, "torch")] = v
        return y * torch.from_numpy(w)

    check_torch(f_ts, f_torch, x, v)
    check_grad(f_ts, x, v)


def test_setitem_double_backward():
    def f(x, v):
        y = x * 1
        y[1:, 0] = v * v
        y[[0, 0], [1, 2]] = v * 2
        return y * y

    x = ts.tensor(rand(3, 4).astype(np.float64), requires_grad=True)
    v = ts.tensor(rand(2, seed=3).astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(f, (x, v))


def test_setitem_scalar_and_nograd_writes_in_place():
    x = ts.zeros(3, 4)
    ptr, ver = x.data_ptr(), x._version
    x[0] = 1.0
    x[:, 1] = ts.tensor([2.0, 3.0, 4.0])
    x[[2, 2], [3, 0]] = 5
    x[ts.tensor([[False] * 4, [True] * 4, [False] * 4])] = -1.0
    assert x.data_ptr() == ptr and x._version == ver + 4
    assert x.tolist() == [[1, 2, 1, 1], [-1, -1, -1, -1], [5, 4, 0, 5]]
    i = ts.zeros(3, dtype=ts.int64)
    i[0] = 1.7  # truncates like PyTorch
    i[1:] = ts.tensor([2.0, 3.0])  # basic: cast
    assert i.tolist() == [1, 2, 3]
    x = ts.zeros(2, 3)
    x[0] = np.array([1.0, 2.0, 3.0])
    x[1] = [4, 5, 6]
    assert x.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_setitem_records_grad_when_value_requires_grad():
    x = ts.zeros(3)
    v = ts.tensor(2.0, requires_grad=True)
    x[1] = v
    assert x.requires_grad and x.grad_fn is not None
    (x * ts.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert v.grad.item() == 10.0


def test_setitem_errors():
    x = ts.zeros(3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"__setitem__: shape mismatch: value tensor of shape \[3\] cannot "
        r"be broadcast to indexing result of shape \[2\]",
    ):
        x[1:, 0] = ts.ones(3)
    with pytest.raises(
        RuntimeError,
        match=r"shape mismatch: value tensor of shape \[2, 2\] cannot be "
        r"broadcast to indexing result of shape \[3, 4\]",
    ):
        x[[0, 1, 2]] = ts.ones(2, 2)
    with pytest.raises(RuntimeError, match="__setitem__: Index put requires the source and destination"):
        x[[0, 1]] = ts.ones(4, dtype=ts.float64)
    with pytest.raises(IndexError, match="__setitem__: index 3 is out of bounds for dimension 0 with size 3"):
        x[3] = 1.0
    with pytest.raises(IndexError, match="__setitem__: index 7 is out of bounds for dimension 1 with size 4"):
        x[0, [0, 7]] = 1.0
    with pytest.raises(TypeError, match="__setitem__: can't assign a str"):
        x[0] = "a"
    assert x.abs().sum().item() == 0 if hasattr(x, "abs") else True
    assert x._version == 0  # nothing was written
    leaf = ts.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf[0] = 1.0
    with ts.no_grad():
        leaf[0] = 1.0
    assert leaf.tolist() == [1.0, 0.0, 0.0]


def test_saved_tensor_modified_by_setitem_raises():
    x = ts.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_getitem_grad_does_not_need_saved_values():
    # Like PyTorch, indexing only needs the input's shape in backward: later writes are fine.
    x = ts.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y[[0, 1]]
    y[2] = 0.0
    z.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0]


def test_setitem_matches_torch_inplace_chain():
    x, v = rand(4, 3), rand(3, seed=5)
    xt, vt = ts.tensor(x, requires_grad=True), ts.tensor(v, requires_grad=True)
    y = xt * 1.5
    y[0] = vt
    y[1:3, 1] = vt[:2] * 2
    y[[3, 3], [0, 2]] = vt[0]
    (y * y).sum().backward()
    if torch is None:
        return
    xp, vp = torch.tensor(x, requires_grad=True), torch.tensor(v, requires_grad=True)
    yp = xp * 1.5
    yp[0] = vp
    yp[1:3, 1] = vp[:2] * 2
    yp[[3, 3], [0, 2]] = vp[0]
    (yp * yp).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yp.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), xp.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(vt.grad.numpy(), vp.grad.numpy(), rtol=1e-5)


# -- index_put -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    x, v = rand(3, 4), rand(3, seed=1)
    idx = (np.array([0, 2, 0]), np.array([1, 1, 1]))
    if accumulate:
        check_torch(
            lambda x, v: ts.index_put(x, _conv(idx, "ts"), v, accumulate=True),
            lambda x, v: torch.index_put(x, _conv(idx, "torch"), v, accumulate=True),
            x,
            v,
        )
        check_grad(lambda x, v: ts.index_put(x, _conv(idx, "ts"), v, accumulate=True), x, v)
    idx2 = (np.array([0, 2]),)
    v2 = rand(2, 4, seed=2)
    check_torch(
        lambda x, v: x.index_put(_conv(idx2, "ts"), v, accumulate=accumulate),
        lambda x, v: x.index_put(_conv(idx2, "torch"), v, accumulate=accumulate),
        x,
        v2,
    )
    y = ts.zeros(3)
    y.index_put_((ts.tensor([0, 0, 2]),), ts.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert y.tolist() == [3.0, 0.0, 3.0]
    with pytest.raises(RuntimeError, match="index_put: Index put requires the source and destination dtypes"):
        ts.index_put(ts.zeros(3), (ts.tensor([0]),), ts.ones(1, dtype=ts.float64))
    with pytest.raises(RuntimeError, match=r"index_put: shape mismatch: value tensor of shape \[3\]"):
        ts.index_put(ts.zeros(3, 4), (ts.tensor([0]),), ts.ones(3))


# -- gather / scatter ----------------------------------------------------------------------------------------
GATHER_CASES = [
    ((3, 4), 0, np.array([[0, 1, 2, 0], [2, 2, 1, 0]])),
    ((3, 4), 1, np.array([[0, 3], [1, 1], [3, 2]])),
    ((3, 4), -1, np.array([[1], [0]])),  # index smaller than input outside dim
    ((2, 3, 4), 1, np.array([[[0, 2, 1, 1]], [[2, 2, 0, 1]]])),
    ((5,), 0, np.array([4, 0, 0, 2, 1, 3, 3])),
]


@pytest.mark.parametrize("shape,dim,index", GATHER_CASES)
def test_gather(shape, dim, index):
    x = rand(*shape)
    check_forward(lambda x, i: ts.gather(x, dim, i), lambda x, i: torch_free_gather(x, dim, i), x, index)
    check_torch(lambda x, i: ts.gather(x, dim, i), lambda x, i: torch.gather(x, dim, i), x, index)
    check_grad(lambda x: x.gather(dim, ts.tensor(index)), x)
    xt = ts.tensor(x.astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda t: t.gather(dim, ts.tensor(index)) * t.sum(), (xt,))


def torch_free_gather(x, dim, index):
    sl = tuple(slice(None) if d == dim % x.ndim else slice(0, s) for d, s in enumerate(index.shape))
    return np.take_along_axis(x[sl], index, axis=dim)


def test_gather_int32_and_errors():
    x = ts.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert ts.gather(x, 1, ts.tensor([[1], [0]], dtype=ts.int32)).tolist() == [[2.0], [3.0]]
    with pytest.raises(RuntimeError, match="gather: Expected dtype int32/int64 for index"):
        ts.gather(x, 1, ts.tensor([[1.0]]))
    with pytest.raises(RuntimeError, match="gather: Index tensor must have the same number of dimensions"):
        ts.gather(x, 1, ts.tensor([1]))
    with pytest.raises(RuntimeError, match="gather: index 2 is out of bounds for dimension 1 with size 2"):
        ts.gather(x, 1, ts.tensor([[2]]))
    with pytest.raises(RuntimeError, match="gather: index -1 is out of bounds"):
        ts.gather(x, 0, ts.tensor([[-1]]))
    with pytest.raises(RuntimeError, match=r"Size does not match at dimension 1 expected index \[1, 3\]"):
        ts.gather(x, 0, ts.tensor([[0, 0, 0]]))
    with pytest.raises(IndexError, match="gather: dimension out of range"):
        ts.gather(x, 2, ts.tensor([[0]]))
    with pytest.raises(TypeError, match="gather: argument 'index' must be a Tensor"):
        ts.gather(x, 0, [[0]])


@pytest.mark.parametrize(
    "dim,index,sshape",
    [
        (0, np.array([[0, 1, 2, 0], [2, 0, 1, 1]]), (2, 4)),
        (1, np.array([[3, 1], [0, 2], [1, 0]]), (3, 3)),  # src larger than index
        (-1, np.array([[2, 0, 1]]), (2, 3)),
    ],
)
def test_scatter_and_scatter_add(dim, index, sshape):
    x, s = rand(3, 4), rand(*sshape, seed=1)
    same = sshape == index.shape  # PyTorch's own backward fails when src is larger than index
    check_torch(
        lambda x, i, s: ts.scatter(x, dim, i, s),
        lambda x, i, s: torch.scatter(x, dim, i, s),
        x,
        index,
        s,
        grad=same,
    )
    check_torch(
        lambda x, i, s: x.scatter_add(dim, i, s),
        lambda x, i, s: x.scatter_add(dim, i, s),
        x,
        index,
        s,
        grad=same,
    )
    check_torch(lambda x, i: x.scatter(dim, i, 2.5), lambda x, i: x.scatter(dim, i, 2.5), x, index)
    check_torch(
        lambda x, i: x.scatter(dim, i, value=2.5), lambda x, i: x.scatter(dim, i, value=2.5), x, index
    )
    check_grad(lambda x, s: ts.scatter(x, dim, ts.tensor(index), s), x, s)
    check_grad(lambda x, s: ts.scatter_add(x, dim, ts.tensor(index), s), x, s)
    xt = ts.tensor(x.astype(np.float64), requires_grad=True)
    st = ts.tensor(s.astype(np.float64), requires_grad=True)
    fn = lambda a, b: ts.scatter_add(a, dim, ts.tensor(index), b * b) * a  # noqa: E731
    assert ts.autograd.gradgradcheck(fn, (xt, st))


def test_scatter_duplicates_accumulate_and_inplace():
    x = ts.zeros(3)
    x.scatter_add_(0, ts.tensor([0, 0, 2, 0]), ts.tensor([1.0, 2.0, 3.0, 4.0]))
    assert x.tolist() == [7.0, 0.0, 3.0]
    x.scatter_(0, ts.tensor([1]), ts.tensor([9.0]))
    assert x.tolist() == [7.0, 9.0, 3.0]
    x.scatter_(0, ts.tensor([2]), 1.0, reduce="add")
    assert x.tolist() == [7.0, 9.0, 4.0]
    assert x._version == 3
    # in place with autograd on a non-leaf, vs torch
    x0, s0 = rand(3, 4), rand(2, 4, seed=1)
    idx = np.array([[0, 1, 2, 0], [0, 1, 1, 1]])
    a, s = ts.tensor(x0, requires_grad=True), ts.tensor(s0, requires_grad=True)
    y = a * 2
    y.scatter_add_(0, ts.tensor(idx), s)
    y.scatter_(1, ts.tensor([[0], [3]]), -1.0)
    (y * y).sum().backward()
    if torch is not None:
        ap, sp = torch.tensor(x0, requires_grad=True), torch.tensor(s0, requires_grad=True)
        yp = ap * 2
        yp.scatter_add_(0, torch.from_numpy(idx), sp)
        yp.scatter_(1, torch.tensor([[0], [3]]), -1.0)
        (yp * yp).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ap.grad.numpy(), rtol=1e-5)
        np.testing.assert_allclose(s.grad.numpy(), sp.grad.numpy(), rtol=1e-5)


def test_scatter_errors():
    x = ts.zeros(3, 4)
    with pytest.raises(RuntimeError, match="scatter: index 3 is out of bounds for dimension 0 with size 3"):
        ts.scatter(x, 0, ts.tensor([[3]]), ts.ones(1, 1))
    with pytest.raises(RuntimeError, match=r"to be no larger size than src \[1, 1\]"):
        ts.scatter(x, 0, ts.tensor([[0, 0]]), ts.ones(1, 1))
    with pytest.raises(RuntimeError, match="scatter: Expected self.dtype to be equal to src.dtype"):
        ts.scatter(x, 0, ts.tensor([[0]]), ts.ones(1, 1, dtype=ts.float64))
    with pytest.raises(RuntimeError, match="scatter_add_: Expected dtype int32/int64 for index"):
        x.scatter_add_(0, ts.tensor([[0.0]]), ts.ones(1, 1))
    with pytest.raises(RuntimeError, match="scatter: reduce argument must be either add or multiply"):
        x.scatter(0, ts.tensor([[0]]), 1.0, reduce="mean")
    assert x._version == 0


# -- index_select / index_add --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dim,index",
    [
        (0, np.array([2, 0, 2])),
        (1, np.array([3])),
        (-1, np.array([1, 1, 0])),
        (0, np.array(1)),
        (1, np.array([], dtype=I64)),
    ],
)
def test_index_select(dim, index):
    x = rand(3, 4)
    check_torch(lambda x, i: ts.index_select(x, dim, i), lambda x, i: torch.index_select(x, dim, i), x, index)
    check_torch(
        lambda x, i: x.index_select(dim, i.int()), lambda x, i: x.index_select(dim, i.int()), x, index
    )
    check_grad(lambda x: x.index_select(dim, ts.tensor(index)), x)
    xt = ts.tensor(x.astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda t: t.index_select(dim, ts.tensor(index)) * t.sum(), (xt,))


def test_index_select_errors():
    x = ts.zeros(3, 4)
    with pytest.raises(IndexError, match="index_select: Index is supposed to be a vector"):
        ts.index_select(x, 0, ts.tensor([[0]]))
    with pytest.raises(IndexError, match="index_select: index 3 is out of bounds for dimension 0 with size"):
        ts.index_select(x, 0, ts.tensor([3]))
    with pytest.raises(RuntimeError, match="index_select: Expected dtype int32/int64"):
        ts.index_select(x, 0, ts.tensor([0.0]))


@pytest.mark.parametrize("dim,index,alpha", [(0, np.array([2, 0, 2]), 1), (1, np.array([3, 1]), 2.5)])
def test_index_add(dim, index, alpha):
    x = rand(3, 4)
    sshape = (len(index), 4) if dim == 0 else (3, len(index))
    s = rand(*sshape, seed=1)
    check_torch(
        lambda x, i, s: ts.index_add(x, dim, i, s, alpha=alpha),
        lambda x, i, s: torch.index_add(x, dim, i, s, alpha=alpha),
        x,
        index,
        s,
    )
    check_grad(lambda x, s: x.index_add(dim, ts.tensor(index), s, alpha=alpha), x, s)
    y = ts.tensor(x)
    y.index_add_(dim, ts.tensor(index), ts.tensor(s), alpha=alpha)
    np.testing.assert_allclose(
        y.numpy(),
        torch.index_add(torch.tensor(x), dim, torch.tensor(index), torch.tensor(s), alpha=alpha).numpy()
        if torch
        else y.numpy(),
        rtol=1e-6,
    )
    with pytest.raises(RuntimeError, match=r"index_add: Number of indices \(1\) should be equal to source"):
        ts.index_add(ts.zeros(3, 4), 0, ts.tensor([1]), ts.zeros(2, 4))
    with pytest.raises(RuntimeError, match="index_add_: index 5 is out of bounds for dimension 0 with size"):
        ts.zeros(3, 4).index_add_(0, ts.tensor([5]), ts.zeros(1, 4))


# -- masks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("xshape,mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (3, 4)), ((), (2,))])
def test_masked_fill(xshape, mshape):
    x = rand(*xshape)
    m = np.random.default_rng(0).random(mshape) > 0.5
    check_torch(lambda x, m: ts.masked_fill(x, m, -1.5), lambda x, m: torch.masked_fill(x, m, -1.5), x, m)
    check_forward(lambda x, m: x.masked_fill(m, 2), lambda x, m: np.where(m, 2.0, x), x, m)
    v = np.array(0.75, dtype=np.float32)
    check_torch(lambda x, m, v: x.masked_fill(m, v), lambda x, m, v: x.masked_fill(m, v), x, m, v)
    check_grad(lambda x, v: x.masked_fill(ts.tensor(m), v), x, v)
    xt = ts.tensor(x.astype(np.float64), requires_grad=True)
    assert ts.autograd.gradgradcheck(lambda t: t.masked_fill(ts.tensor(m), 0.0) * t, (xt,))


def test_masked_fill_inplace_and_errors():
    x = ts.tensor([1.0, 2.0, 3.0])
    ptr = x.data_ptr()
    x.masked_fill_(ts.tensor([True, False, True]), 0.0)
    assert x.tolist() == [0.0, 2.0, 0.0] and x.data_ptr() == ptr and x._version == 1
    i = ts.tensor([1, 2, 3])
    i.masked_fill_(ts.tensor([False, True, False]), 7)
    assert i.tolist() == [1, 7, 3]
    with pytest.raises(RuntimeError, match="masked_fill: only supports boolean masks"):
        x.masked_fill(ts.tensor([1.0, 0.0, 1.0]), 0.0)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.masked_fill(ts.tensor([True, False, True]), ts.ones(1))
    with pytest.raises(RuntimeError, match=r"masked_fill_: output with shape \[3\] doesn't match the"):
        x.masked_fill_(ts.ones(2, 3, dtype=ts.bool), 1.0)
    with pytest.raises(RuntimeError, match="not broadcastable"):
        x.masked_fill(ts.ones(2, dtype=ts.bool), 1.0)
    a = ts.tensor([1.0, 2.0], requires_grad=True)
    y = a * 1
    y.masked_fill_(ts.tensor([True, False]), 5.0)
    (y * 3).sum().backward()
    assert a.grad.tolist() == [0.0, 3.0]


@pytest.mark.parametrize("xshape,mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (2, 4))])
def test_masked_select(xshape, mshape):
    x = rand(*xshape)
    m = np.random.default_rng(1).random(mshape) > 0.4
    check_torch(lambda x, m: ts.masked_select(x, m), lambda x, m: torch.masked_select(x, m), x, m)
    check_grad(lambda x: x.masked_select(ts.tensor(m)), x)


# -- take / take_along_dim / nonzero -------------------------------------------------------------------------
@pytest.mark.parametrize("index", [np.array([0, 11, -1, 5, 5]), np.array([[1, 2], [3, 3]]), np.array(4)])
def test_take(index):
    x = rand(3, 4)
    check_torch(lambda x, i: ts.take(x, i), lambda x, i: torch.take(x, i), x, index)
    check_grad(lambda x: x.take(ts.tensor(index)), x)
    with pytest.raises(IndexError, match="take: out of range: tried to access index 12 on a tensor of 12"):
        ts.take(ts.zeros(3, 4), ts.tensor([12]))


@pytest.mark.parametrize("dim,ishape", [(1, (3, 2)), (0, (2, 4)), (1, (1, 2)), (0, (2, 1)), (None, (5,))])
def test_take_along_dim(dim, ishape):
    x = rand(3, 4)
    hi = 12 if dim is None else x.shape[dim]
    index = np.random.default_rng(2).integers(0, hi, ishape)
    check_torch(
        lambda x, i: ts.take_along_dim(x, i, dim), lambda x, i: torch.take_along_dim(x, i, dim), x, index
    )
    check_grad(lambda x: x.take_along_dim(ts.tensor(index), dim=dim), x)
    with pytest.raises(RuntimeError, match="take_along_dim: input and indices should have the same number"):
        ts.take_along_dim(ts.zeros(3, 4), ts.tensor([1]), 1)


def test_nonzero_argwhere():
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], dtype=np.float32)
    x = ts.tensor(a)
    nz = ts.nonzero(x)
    assert nz.dtype == ts.int64 and nz.tolist() == [[0, 1], [1, 0], [1, 2]]
    assert ts.argwhere(x).tolist() == nz.tolist()
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    assert x[x.nonzero(as_tuple=True)].tolist() == [1.5, 2.0, -1.0]
    assert ts.nonzero(ts.zeros(3)).shape == (0, 1)
    assert ts.nonzero(ts.tensor(3.0)).shape == (1, 0)
    assert ts.nonzero(ts.tensor([True, False, True])).tolist() == [[0], [2]]
    if torch is not None:
        np.testing.assert_array_equal(nz.numpy(), torch.nonzero(torch.from_numpy(a)).numpy())


@needs_torch
def test_getitem_random_keys_vs_torch():
    # Random mixes of ints, slices, None, Ellipsis, int arrays and masks, against PyTorch.
    rng = np.random.default_rng(0)
    shape = (3, 4, 5)
    x = rand(*shape)
    tried = 0
    for _ in range(300):
        key, d = [], 0
        ell = False
        for _ in range(rng.integers(1, 5)):
            r = rng.integers(0, 7)
            if r == 0 and d < 3:
                key.append(int(rng.integers(-shape[d], shape[d])))
                d += 1
            elif r == 1 and d < 3:
                a, b = sorted(rng.integers(-6, 6, 2))
                key.append(slice(int(a), int(b), int(rng.integers(1, 3))))
                d += 1
            elif r == 2:
                key.append(None)
            elif r == 3 and not ell:
                key.append(Ellipsis)
                ell = True
                d = 3
            elif r == 4 and d < 3:
                key.append(rng.integers(-shape[d], shape[d], (2,)))
                d += 1
            elif r == 5 and d < 3:
                key.append(rng.random(shape[d]) > 0.5)
                d += 1
            elif r == 6 and d < 3:
                key.append(rng.integers(0, shape[d], (2, 1)))
                d += 1
        key = tuple(key)
        try:
            ref = torch.from_numpy(x)[_conv(key, "torch")]
        except (IndexError, RuntimeError, ValueError):
            continue
        tried += 1
        got = ts.tensor(x)[_conv(key, "ts")]
        assert tuple(got.shape) == tuple(ref.shape), key
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
    assert tried > 150


def test_index_tensor_modified_after_forward_does_not_change_backward():
    x = ts.zeros(4, requires_grad=True)
    idx = ts.tensor([0, 1])
    y = x[idx]
    idx[0] = 3  # the key was copied at indexing time
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]


@needs_torch
def test_setitem_through_view_chain_vs_torch():
    x0 = rand(3, 4)
    a = ts.tensor(x0, requires_grad=True)
    y = a * 2
    y[0][1] = 5.0
    y[1:][:, 2] = a[2, :2]
    (y * y).sum().backward()
    ap = torch.tensor(x0, requires_grad=True)
    yp = ap * 2
    yp[0][1] = 5.0
    yp[1:][:, 2] = ap[2, :2]
    (yp * yp).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yp.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), ap.grad.numpy(), rtol=1e-5)


def test_dtypes_preserved():
    for dt in (ts.float16, ts.bfloat16, ts.float64, ts.int32, ts.bool):
        x = ts.zeros(3, 2, dtype=dt)
        assert x[1].dtype == dt and x[[0, 2]].dtype == dt and x.gather(0, ts.tensor([[1, 0]])).dtype == dt
    x = ts.randn(4, 3, dtype=ts.bfloat16, requires_grad=True)
    (x[[0, 0]].sum() + x[1:, 0].sum()).backward()
    assert x.grad.dtype == ts.bfloat16 and x.grad[0].tolist() == [2.0, 2.0, 2.0]
