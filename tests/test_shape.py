"""Shape and layout ops: forward vs NumPy, gradients vs finite differences, parity with PyTorch, view
semantics, error messages, and property-based round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import as_np, check_forward, check_grad, check_torch, rand, torch

import tessera as ts


def _pad(m):
    return ts.pad if m is ts else torch.nn.functional.pad


# Each case: (id, f(module, *inputs) run with module = ts or torch, NumPy reference, input shapes).
# f uses only names that PyTorch and Tessera share, so one function drives both.
CASES = [
    # -- pre-existing views ----------------------------------------------------------------------------
    ("reshape", lambda m, x: x.reshape(6, -1), lambda x: x.reshape(6, -1), [(2, 3, 4)]),
    ("reshape_flat", lambda m, x: m.reshape(x, (-1,)), lambda x: x.reshape(-1), [(4, 6)]),
    ("reshape_0d", lambda m, x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [()]),
    ("reshape_noncontig", lambda m, x: x.transpose(0, 1).reshape(-1), lambda x: x.T.reshape(-1), [(3, 4)]),
    ("view", lambda m, x: x.view(-1, 4), lambda x: x.reshape(-1, 4), [(2, 3, 4)]),
    ("view_as", lambda m, x, y: x.view_as(y), lambda x, y: x.reshape(y.shape), [(2, 6), (3, 4)]),
    ("reshape_as", lambda m, x, y: x.reshape_as(y), lambda x, y: x.reshape(y.shape), [(2, 6), (4, 3)]),
    ("transpose", lambda m, x: x.transpose(0, 2), lambda x: np.swapaxes(x, 0, 2), [(2, 3, 4)]),
    ("transpose_neg", lambda m, x: m.transpose(x, -1, -2), lambda x: np.swapaxes(x, -1, -2), [(2, 3, 4)]),
    ("swapaxes", lambda m, x: x.swapaxes(0, 1), lambda x: np.swapaxes(x, 0, 1), [(2, 3)]),
    ("t", lambda m, x: x.t(), lambda x: x.T, [(2, 3)]),
    ("t_1d", lambda m, x: m.t(x), lambda x: x, [(3,)]),
    ("T", lambda m, x: x.T, lambda x: x.T, [(3, 4)]),
    ("mT", lambda m, x: x.mT, lambda x: np.swapaxes(x, -1, -2), [(2, 3, 4)]),
    ("permute", lambda m, x: x.permute(2, 0, 1), lambda x: np.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    (
        "permute_tuple",
        lambda m, x: m.permute(x, (1, -1, 0)),
        lambda x: np.transpose(x, (1, 2, 0)),
        [(2, 3, 4)],
    ),
    ("squeeze_all", lambda m, x: x.squeeze(), lambda x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda m, x: x.squeeze(2), lambda x: x.squeeze(2), [(1, 3, 1, 2)]),
    ("squeeze_dim_noop", lambda m, x: x.squeeze(1), lambda x: x, [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda m, x: x.squeeze((0, 2)), lambda x: x.squeeze((0, 2)), [(1, 3, 1, 2)]),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), lambda x: x[:, None], [(2, 3)]),
    ("unsqueeze_neg", lambda m, x: m.unsqueeze(x, -1), lambda x: x[..., None], [(2, 3)]),
    ("unsqueeze_0d", lambda m, x: x.unsqueeze(0), lambda x: x.reshape(1), [()]),
    ("expand", lambda m, x: x.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    ("expand_keep", lambda m, x: x.expand(-1, 4), lambda x: np.broadcast_to(x, (3, 4)), [(3, 1)]),
    ("expand_as", lambda m, x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape), [(1, 4), (3, 4)]),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 4)), lambda x: np.broadcast_to(x, (2, 4)), [(4,)]),
    ("flatten", lambda m, x: x.flatten(), lambda x: x.reshape(-1), [(2, 3, 4)]),
    ("flatten_range", lambda m, x: m.flatten(x, 1, 2), lambda x: x.reshape(2, 12, 5), [(2, 3, 4, 5)]),
    ("flatten_0d", lambda m, x: x.flatten(), lambda x: x.reshape(1), [()]),
    ("unflatten", lambda m, x: x.unflatten(1, (3, -1)), lambda x: x.reshape(2, 3, 2), [(2, 6)]),
    ("movedim", lambda m, x: x.movedim(0, -1), lambda x: np.moveaxis(x, 0, -1), [(2, 3, 4)]),
    (
        "movedim_tuple",
        lambda m, x: m.movedim(x, (0, 1), (2, 0)),
        lambda x: np.moveaxis(x, (0, 1), (2, 0)),
        [(2, 3, 4)],
    ),
    ("moveaxis", lambda m, x: x.moveaxis(2, 0), lambda x: np.moveaxis(x, 2, 0), [(2, 3, 4)]),
    # -- joining -----------------------------------------------------------------------------------------
    ("cat", lambda m, x, y: m.cat([x, y]), lambda x, y: np.concatenate([x, y]), [(2, 3), (4, 3)]),
    (
        "cat_dim",
        lambda m, x, y, z: m.cat((x, y, z), dim=-1),
        lambda x, y, z: np.concatenate([x, y, z], -1),
        [(2, 1, 3), (2, 1, 1), (2, 1, 2)],
    ),
    ("cat_one", lambda m, x: m.cat([x], 1), lambda x: x, [(2, 3)]),
    ("concat", lambda m, x, y: m.concat([x, y], 1), lambda x, y: np.concatenate([x, y], 1), [(2, 2), (2, 3)]),
    (
        "concatenate",
        lambda m, x, y: m.concatenate([x, y], 0),
        lambda x, y: np.concatenate([x, y]),
        [(1, 2), (2, 2)],
    ),
    ("stack", lambda m, x, y: m.stack([x, y]), lambda x, y: np.stack([x, y]), [(2, 3), (2, 3)]),
    (
        "stack_last",
        lambda m, x, y, z: m.stack([x, y, z], dim=-1),
        lambda x, y, z: np.stack([x, y, z], -1),
        [(2, 3), (2, 3), (2, 3)],
    ),
    ("stack_0d", lambda m, x, y: m.stack([x, y]), lambda x, y: np.stack([x, y]), [(), ()]),
    ("hstack", lambda m, x, y: m.hstack([x, y]), lambda x, y: np.hstack([x, y]), [(2, 3), (2, 1)]),
    ("hstack_1d", lambda m, x, y: m.hstack([x, y]), lambda x, y: np.hstack([x, y]), [(2,), (3,)]),
    ("vstack", lambda m, x, y: m.vstack([x, y]), lambda x, y: np.vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda m, x, y: m.dstack([x, y]), lambda x, y: np.dstack([x, y]), [(2, 3), (2, 3)]),
    (
        "column_stack",
        lambda m, x, y: m.column_stack([x, y]),
        lambda x, y: np.column_stack([x, y]),
        [(3,), (3, 2)],
    ),
    # -- slicing -----------------------------------------------------------------------------------------
    ("narrow", lambda m, x: x.narrow(1, 1, 2), lambda x: x[:, 1:3], [(2, 4)]),
    ("narrow_neg", lambda m, x: m.narrow(x, -1, -3, 2), lambda x: x[..., 1:3], [(2, 3, 4)]),
    ("select", lambda m, x: m.select(x, 1, -1), lambda x: x[:, -1], [(2, 3, 4)]),
    # -- reordering --------------------------------------------------------------------------------------
    ("flip", lambda m, x: x.flip(0), lambda x: x[::-1], [(3, 4)]),
    ("flip_multi", lambda m, x: m.flip(x, (0, -1)), lambda x: x[::-1, :, ::-1], [(2, 3, 4)]),
    ("fliplr", lambda m, x: m.fliplr(x), lambda x: np.fliplr(x), [(2, 3)]),
    ("rot90", lambda m, x: m.rot90(x), lambda x: np.rot90(x), [(2, 3)]),
    ("rot90_k2", lambda m, x: x.rot90(2, (1, 2)), lambda x: np.rot90(x, 2, (1, 2)), [(2, 3, 4)]),
    ("rot90_k3", lambda m, x: m.rot90(x, 3, [-1, 0]), lambda x: np.rot90(x, 3, (-1, 0)), [(2, 3, 4)]),
    ("rot90_neg", lambda m, x: m.rot90(x, -1), lambda x: np.rot90(x, -1), [(3, 2)]),
    ("rot90_k0", lambda m, x: m.rot90(x, 4), lambda x: x, [(3, 2)]),
    ("flipud", lambda m, x: x.flipud(), lambda x: np.flipud(x), [(3, 2)]),
    ("roll", lambda m, x: x.roll(1, 0), lambda x: np.roll(x, 1, 0), [(3, 4)]),
    ("roll_multi", lambda m, x: m.roll(x, (1, -2), (1, 0)), lambda x: np.roll(x, (1, -2), (1, 0)), [(3, 4)]),
    ("roll_flat", lambda m, x: x.roll(5), lambda x: np.roll(x, 5), [(3, 4)]),
    # -- repeating ---------------------------------------------------------------------------------------
    ("repeat", lambda m, x: x.repeat(2, 3), lambda x: np.tile(x, (2, 3)), [(2, 3)]),
    ("repeat_newdims", lambda m, x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), [(3,)]),
    ("repeat_0d", lambda m, x: x.repeat(3), lambda x: np.tile(x, 3), [()]),
    ("tile", lambda m, x: m.tile(x, (2,)), lambda x: np.tile(x, (1, 2)), [(2, 3)]),
    ("tile_long", lambda m, x: x.tile(2, 1, 2), lambda x: np.tile(x, (2, 1, 2)), [(2, 3)]),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2), lambda x: np.repeat(x, 2), [(2, 3)]),
    (
        "repeat_interleave_dim",
        lambda m, x: m.repeat_interleave(x, 3, dim=1),
        lambda x: np.repeat(x, 3, 1),
        [(2, 3)],
    ),
    (
        "repeat_interleave_tensor",
        lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=-1),
        lambda x: np.repeat(x, [1, 0, 2], -1),
        [(2, 3)],
    ),
    # -- padding ------------------------------------------------------------------------------------------
    ("pad_const", lambda m, x: _pad(m)(x, (1, 2)), lambda x: np.pad(x, ((0, 0), (1, 2))), [(2, 3)]),
    (
        "pad_const_2d",
        lambda m, x: _pad(m)(x, (1, 0, 0, 2), value=1.5),
        lambda x: np.pad(x, ((0, 0), (0, 2), (1, 0)), constant_values=1.5),
        [(2, 3, 2)],
    ),
    (
        "pad_const_neg",
        lambda m, x: _pad(m)(x, (-1, 2, 1, -1)),
        lambda x: np.pad(x[:2, 1:], ((1, 0), (0, 2))),
        [(3, 4)],
    ),
    (
        "pad_reflect",
        lambda m, x: _pad(m)(x, (2, 1), mode="reflect"),
        lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="reflect"),
        [(2, 2, 4)],
    ),
    (
        "pad_reflect_2d",
        lambda m, x: _pad(m)(x, (1, 1, 2, 0), mode="reflect"),
        lambda x: np.pad(x, ((0, 0), (2, 0), (1, 1)), mode="reflect"),
        [(2, 3, 3)],
    ),
    (
        "pad_replicate",
        lambda m, x: _pad(m)(x, (3, 1, 1, 2), mode="replicate"),
        lambda x: np.pad(x, ((0, 0), (1, 2), (3, 1)), mode="edge"),
        [(1, 2, 3)],
    ),
    (
        "pad_replicate_3d",
        lambda m, x: _pad(m)(x, (1, 0, 0, 1, 1, 1), mode="replicate"),
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 1), (1, 0)), mode="edge"),
        [(1, 1, 2, 2, 2)],
    ),
    (
        "pad_circular",
        lambda m, x: _pad(m)(x, (2, 3), mode="circular"),
        lambda x: np.pad(x, ((0, 0), (2, 3)), mode="wrap"),
        [(2, 3)],
    ),
    # -- triangles and diagonals -----------------------------------------------------------------------
    ("tril", lambda m, x: x.tril(), lambda x: np.tril(x), [(3, 4)]),
    ("tril_k", lambda m, x: m.tril(x, -1), lambda x: np.tril(x, -1), [(2, 4, 3)]),
    ("triu", lambda m, x: x.triu(1), lambda x: np.triu(x, 1), [(4, 3)]),
    ("triu_neg", lambda m, x: m.triu(x, diagonal=-1), lambda x: np.triu(x, -1), [(2, 3, 3)]),
    ("diag_1d", lambda m, x: m.diag(x), lambda x: np.diag(x), [(3,)]),
    ("diag_1d_k", lambda m, x: x.diag(-2), lambda x: np.diag(x, -2), [(3,)]),
    ("diag_2d", lambda m, x: m.diag(x, 1), lambda x: np.diag(x, 1), [(3, 4)]),
    ("diagonal", lambda m, x: x.diagonal(), lambda x: np.diagonal(x), [(3, 4)]),
    ("diagonal_dims", lambda m, x: m.diagonal(x, -1, 2, 0), lambda x: np.diagonal(x, -1, 2, 0), [(3, 2, 4)]),
    ("diag_embed", lambda m, x: m.diag_embed(x), lambda x: x[..., None] * np.eye(3), [(2, 3)]),
    (
        "diag_embed_off",
        lambda m, x: x.diag_embed(1, 0, 2),
        lambda x: np.moveaxis(np.stack([np.diag(r, 1) for r in x]), 0, 1),
        [(2, 2)],
    ),
    # -- grids ---------------------------------------------------------------------------------------------
    ("atleast_1d", lambda m, x: m.atleast_1d(x), lambda x: np.atleast_1d(x), [()]),
    ("atleast_2d", lambda m, x: m.atleast_2d(x), lambda x: np.atleast_2d(x), [(3,)]),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), lambda x: np.atleast_3d(x), [(2, 3)]),
]

MULTI_CASES = [
    ("split_int", lambda m, x: x.split(2), lambda x: np.split(x, [2, 4]), [(5, 3)]),
    ("split_list", lambda m, x: m.split(x, [1, 3], dim=1), lambda x: np.split(x, [1], 1), [(2, 4)]),
    (
        "split_with_sizes",
        lambda m, x: x.split_with_sizes([2, 0, 1], -1),
        lambda x: np.split(x, [2, 2], -1),
        [(2, 3)],
    ),
    ("chunk", lambda m, x: x.chunk(3), lambda x: np.split(x, [3, 6]), [(7,)]),
    ("chunk_dim", lambda m, x: m.chunk(x, 2, dim=1), lambda x: np.split(x, [2], 1), [(3, 4)]),
    ("unbind", lambda m, x: x.unbind(), lambda x: tuple(x), [(3, 2)]),
    (
        "tensor_split_int",
        lambda m, x: m.tensor_split(x, 3, dim=1),
        lambda x: np.array_split(x, 3, 1),
        [(2, 7)],
    ),
    ("tensor_split_idx", lambda m, x: x.tensor_split([1, 4, -1]), lambda x: np.split(x, [1, 4, 4]), [(5,)]),
    ("hsplit", lambda m, x: m.hsplit(x, 2), lambda x: np.hsplit(x, 2), [(3, 4)]),
    ("hsplit_1d", lambda m, x: x.hsplit([1]), lambda x: np.hsplit(x, [1]), [(3,)]),
    ("vsplit", lambda m, x: m.vsplit(x, [2]), lambda x: np.vsplit(x, [2]), [(3, 2)]),
    ("dsplit", lambda m, x: x.dsplit(2), lambda x: np.dsplit(x, 2), [(1, 2, 4)]),
    ("unbind_dim", lambda m, x: m.unbind(x, -1), lambda x: tuple(np.moveaxis(x, -1, 0)), [(2, 3)]),
    ("unbind_1d", lambda m, x: x.unbind(0), lambda x: tuple(x), [(3,)]),
    (
        "meshgrid_ij",
        lambda m, x, y: m.meshgrid(x, y, indexing="ij"),
        lambda x, y: np.meshgrid(x, y, indexing="ij"),
        [(2,), (3,)],
    ),
    (
        "meshgrid_xy",
        lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy"),
        lambda x, y, z: np.meshgrid(x, y, z, indexing="xy"),
        [(2,), (3,), (4,)],
    ),
    (
        "broadcast_tensors",
        lambda m, x, y: m.broadcast_tensors(x, y),
        lambda x, y: np.broadcast_arrays(x, y),
        [(3, 1), (4,)],
    ),
    ("atleast_2d_multi", lambda m, x, y: m.atleast_2d(x, y), lambda x, y: np.atleast_2d(x, y), [(), (3,)]),
]


def _inputs(shapes):
    return [rand(*s, seed=i) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("name,f,np_f,shapes", CASES, ids=[c[0] for c in CASES])
def test_op(name, f, np_f, shapes):
    xs = _inputs(shapes)
    check_forward(lambda *a: f(ts, *a), np_f, *xs)
    check_grad(lambda *a: f(ts, *a), *xs)
    if torch is not None:
        check_torch(lambda *a: f(ts, *a), lambda *a: f(torch, *a), *xs)


@pytest.mark.parametrize("name,f,np_f,shapes", MULTI_CASES, ids=[c[0] for c in MULTI_CASES])
def test_multi_output_op(name, f, np_f, shapes):
    xs = _inputs(shapes)
    outs = f(ts, *[ts.tensor(x) for x in xs])
    refs = np_f(*xs)
    assert isinstance(outs, tuple) and len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert tuple(o.shape) == r.shape
        np.testing.assert_array_equal(o.numpy(), r)
    check_grad(lambda *a: f(ts, *a), *xs)
    if torch is not None:
        check_torch(lambda *a: f(ts, *a), lambda *a: f(torch, *a), *xs)


@pytest.mark.parametrize(
    "name,f",
    [
        ("cat", lambda m, x, y: m.cat([x, y], 1)),
        ("stack", lambda m, x, y: m.stack([x, y], 2)),
        ("narrow", lambda m, x, y: x.narrow(0, 1, 1) * y.narrow(1, 0, 1)),
        ("unbind", lambda m, x, y: x.unbind(1)[0] * y.unbind(1)[2]),
        ("pad_reflect", lambda m, x, y: _pad(m)(x * y, (1, 2), mode="reflect")),
        ("pad_const", lambda m, x, y: _pad(m)(x * y, (1, -1, 0, 2))),
        ("diagonal", lambda m, x, y: (x * y).diagonal(1)),
        ("diag_embed", lambda m, x, y: (x * y).diag_embed()),
        ("repeat", lambda m, x, y: (x * y).repeat(2, 1)),
        ("repeat_interleave", lambda m, x, y: (x * y).repeat_interleave(2, 1)),
        ("flip_roll", lambda m, x, y: (x * y).flip(0).roll(1, 1)),
        ("tril", lambda m, x, y: (x * y).tril()),
        (
            "view_chain",
            lambda m, x, y: (
                (x.t().unsqueeze(0) * y.reshape(3, 2))
                .expand(2, 3, 2)
                .permute(2, 0, 1)
                .squeeze()
                .flatten(1)
                .movedim(0, 1)
            ),
        ),
    ],
)
def test_second_order(name, f):
    xs = [ts.tensor(rand(2, 3, seed=i).astype(np.float64), requires_grad=True) for i in range(2)]
    assert ts.autograd.gradgradcheck(lambda *a: f(ts, *a), xs)


def test_cat_dtype_promotion():
    a = ts.tensor([1, 2])
    b = ts.tensor([0.5], dtype=ts.float16)
    out = ts.cat([a, b])
    assert out.dtype == ts.float16
    assert out.tolist() == [1.0, 2.0, 0.5]
    assert ts.cat([ts.tensor([True]), ts.tensor([3])]).dtype == ts.int64
    assert ts.stack([ts.tensor([1], dtype=ts.int32), ts.tensor([2.0], dtype=ts.float64)]).dtype == ts.float64
    # legacy empty 1-d tensors are skipped, but take part in type promotion (as in PyTorch)
    out = ts.cat([ts.tensor([], dtype=ts.float64), ts.ones(2, 3)])
    assert out.shape == (2, 3) and out.dtype == ts.float64


def test_cat_grad_mixed_dtypes():
    a = ts.ones(2, dtype=ts.float32, requires_grad=True)
    b = ts.ones(3, dtype=ts.float64, requires_grad=True)
    c = ts.tensor([1, 2])
    out = ts.cat([a, c, b])
    assert out.dtype == ts.float64
    (out * ts.arange(7.0, dtype=ts.float64)).sum().backward()
    assert a.grad.dtype == ts.float32 and a.grad.tolist() == [0.0, 1.0]
    assert b.grad.tolist() == [4.0, 5.0, 6.0]


def test_one_hot():
    x = ts.tensor([[0, 2], [1, 1]])
    out = ts.one_hot(x)
    assert out.dtype == ts.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[x.numpy()])
    assert ts.one_hot(ts.tensor([1]), 4).tolist() == [[0, 1, 0, 0]]
    if torch is not None:
        ref = torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 5)
        np.testing.assert_array_equal(ts.one_hot(x, num_classes=5).numpy(), ref.numpy())
    with pytest.raises(RuntimeError, match="one_hot"):
        ts.one_hot(ts.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="one_hot"):
        ts.one_hot(ts.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="one_hot"):
        ts.one_hot(ts.tensor([-1, 0]))
    with pytest.raises(RuntimeError, match="one_hot"):
        ts.one_hot(ts.tensor([], dtype=ts.int64))


def test_view_dtype():
    x = ts.tensor([1.0, -2.0])
    y = x.view(ts.int32)
    np.testing.assert_array_equal(y.numpy(), np.array([1.0, -2.0], np.float32).view(np.int32))
    assert y._version_counter is x._version_counter and np.shares_memory(x.numpy(), y.numpy())
    assert x.view(ts.int64).shape == (1,)
    assert x.view(ts.float16).shape == (4,)
    z = ts.ones(2, requires_grad=True)
    assert z.view(ts.float32).requires_grad


def test_int_and_bool_inputs():
    x = ts.arange(6).reshape(2, 3)
    assert ts.cat([x, x]).dtype == ts.int64
    assert x.flip(1).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert ts.pad(x, (1, 0), value=9).tolist() == [[9, 0, 1, 2], [9, 3, 4, 5]]
    assert x.tril().tolist() == [[0, 0, 0], [3, 4, 0]]
    m = ts.tensor([[True, True], [True, True]])
    assert m.triu().tolist() == [[True, True], [False, True]]
    assert ts.repeat_interleave(ts.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert x.repeat_interleave(ts.tensor([2])).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_empty_and_edge_shapes():
    z = ts.zeros(0, 3)
    assert ts.cat([z, ts.ones(2, 3)]).shape == (2, 3)
    assert [c.shape for c in ts.zeros(0).chunk(3)] == [(0,), (0,), (0,)]
    assert [c.shape for c in ts.zeros(5).chunk(3)] == [(2,), (2,), (1,)]
    assert ts.zeros(2, 0).repeat(2, 2).shape == (4, 0)
    assert ts.meshgrid(ts.tensor(1.0), ts.zeros(3))[0].shape == (1, 3)
    assert ts.diag(ts.ones(2, 3), 5).shape == (0,)
    assert ts.broadcast_shapes((2, 1), (3,), 1) == (2, 3)


# -- view semantics ---------------------------------------------------------------------------------------
VIEW_OPS = [
    ("reshape", lambda x: x.reshape(4, 6)),
    ("view", lambda x: x.view(-1)),
    ("view_as", lambda x: x.view_as(ts.zeros(6, 4))),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(1, 2, 0)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0)),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("flatten", lambda x: x.flatten(1)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))),
    ("movedim", lambda x: x.movedim(0, 2)),
    ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("split", lambda x: x.split(1, dim=2)[1]),
    ("chunk", lambda x: x.chunk(2, 1)[1]),
    ("unbind", lambda x: x.unbind(1)[2]),
    ("select", lambda x: ts.select(x, 2, -1)),
    ("diagonal", lambda x: x.diagonal(0, 1, 2)),
    ("mT", lambda x: x.mT),
    ("T", lambda x: x[0].T if hasattr(ts.Tensor, "__getitem__") else x.T),
]


@pytest.mark.parametrize("name,f", VIEW_OPS, ids=[v[0] for v in VIEW_OPS])
def test_view_shares_memory_and_version(name, f):
    x = ts.arange(24.0).reshape(2, 3, 4)
    y = f(x)
    assert np.shares_memory(x.numpy(), y.numpy())
    v0 = x._version
    y.add_(100.0)
    assert x._version == y._version == v0 + 1
    assert float(x.sum()) == pytest.approx(276.0 + 100.0 * y.numel())
    x.mul_(2.0)  # writes through the base are seen by the view
    assert y._version == x._version
    np.testing.assert_array_equal(as_np(y), as_np(f(x)))


def test_expand_and_broadcast_are_views():
    x = ts.arange(3.0).reshape(3, 1)
    for y in (
        x.expand(3, 4),
        ts.broadcast_to(x, (2, 3, 4)),
        ts.broadcast_tensors(x, ts.zeros(4))[0],
        ts.meshgrid(ts.arange(3.0), x.reshape(3))[1],
    ):
        assert np.shares_memory(x.numpy(), y.numpy())
        assert y._version_counter is x._version_counter
    v = x._version
    x.add_(1.0)
    assert x.expand(3, 2)._version == v + 1


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x.flip(0),
        lambda x: x.roll(1),
        lambda x: x.repeat(1, 1),
        lambda x: ts.cat([x]),
        lambda x: ts.stack([x]),
        lambda x: x.tril(),
        lambda x: ts.diag(x),
        lambda x: ts.pad(x, (0, 0)),
        lambda x: x.repeat_interleave(1),
        lambda x: x.transpose(0, 1).reshape(-1),
    ],
)
def test_copying_ops_do_not_alias(f):
    x = ts.arange(6.0).reshape(2, 3)
    y = f(x)
    assert not np.shares_memory(x.numpy(), y.numpy())
    assert y._version == 0


def test_view_of_noncontiguous_raises():
    x = ts.zeros(3, 4).transpose(0, 1)
    with pytest.raises(RuntimeError, match="view"):
        x.view(12)
    assert x.view(4, 3).shape == (4, 3)  # same shape is always fine
    assert x.reshape(12).shape == (12,)
    assert ts.zeros(2, 3, 4).transpose(1, 2).view(2, 12 // 3, 3).shape == (2, 4, 3)
    assert ts.zeros(2, 3, 4)[0].view(12).shape == (12,) if hasattr(ts.Tensor, "__getitem__") else True


def test_grad_through_view_then_inplace_on_base_input():
    # the reshape/cat gradients need only shapes, so modifying inputs afterwards is fine (as in PyTorch)
    a = ts.ones(2, 3, requires_grad=True)
    b = a * 2
    y = ts.cat([b.reshape(3, 2), b.reshape(3, 2)])
    b.add_(1.0)
    y.sum().backward()
    assert a.grad.tolist() == [[4.0] * 3] * 2


# -- errors -----------------------------------------------------------------------------------------------
ERRORS = [
    (lambda: ts.cat([ts.zeros(2, 3), ts.zeros(4, 5)], 1), RuntimeError, "cat: sizes of tensors must match"),
    (lambda: ts.cat([ts.zeros(2, 3), ts.zeros(3)]), RuntimeError, "cat"),
    (lambda: ts.cat([ts.zeros(2, 3)], 2), IndexError, "cat"),
    (lambda: ts.cat([ts.zeros(()), ts.zeros(())]), RuntimeError, "cat"),
    (lambda: ts.cat([]), ValueError, "cat"),
    (lambda: ts.cat(ts.zeros(2)), TypeError, "cat"),
    (lambda: ts.cat([ts.zeros(2), [1.0]]), TypeError, "cat"),
    (lambda: ts.stack([ts.zeros(2, 3), ts.zeros(3, 3)]), RuntimeError, "stack"),
    (lambda: ts.stack([ts.zeros(2)], 3), IndexError, "stack"),
    (lambda: ts.zeros(6).reshape(4, -1), RuntimeError, "reshape"),
    (lambda: ts.zeros(6).reshape(-1, -1), RuntimeError, "reshape"),
    (lambda: ts.zeros(6).view(5), RuntimeError, "view"),
    (lambda: ts.zeros(2, 3).transpose(0, 2), IndexError, "transpose"),
    (lambda: ts.zeros(2, 3).permute(0, 0), RuntimeError, "permute"),
    (lambda: ts.zeros(2, 3).permute(0), RuntimeError, "permute"),
    (lambda: ts.zeros(2, 3).expand(4, 3), RuntimeError, "expand"),
    (lambda: ts.zeros(2, 3).expand(3), RuntimeError, "expand"),
    (lambda: ts.zeros(2, 3).squeeze(2), IndexError, "squeeze"),
    (lambda: ts.zeros(2, 3).unsqueeze(3), IndexError, "unsqueeze"),
    (lambda: ts.zeros(2, 3).flatten(1, 0), RuntimeError, "flatten"),
    (lambda: ts.zeros(2, 3, 4).t(), RuntimeError, "t"),
    (lambda: ts.zeros(2, 3).rot90(1, (0, 0)), RuntimeError, "rot90"),
    (lambda: ts.zeros(2, 3).rot90(1, (0,)), RuntimeError, "rot90"),
    (lambda: ts.zeros(2, 3).tensor_split(0), RuntimeError, "tensor_split"),
    (lambda: ts.zeros(2, 3).hsplit(2), RuntimeError, "hsplit"),
    (lambda: ts.zeros(3).vsplit(1), RuntimeError, "vsplit"),
    (lambda: ts.zeros(2, 3).view(ts.int64), RuntimeError, "view"),
    (lambda: ts.zeros(3).mT, RuntimeError, "mT"),
    (lambda: ts.zeros(2, 6).unflatten(1, (4, -1)), RuntimeError, "unflatten"),
    (lambda: ts.zeros(2, 3).split([1, 3]), RuntimeError, "split"),
    (lambda: ts.zeros(2, 3).split(0), RuntimeError, "split"),
    (lambda: ts.zeros(2, 3).chunk(0), RuntimeError, "chunk"),
    (lambda: ts.zeros(2, 3).narrow(1, 2, 3), RuntimeError, "narrow"),
    (lambda: ts.zeros(2, 3).narrow(1, 5, 0), IndexError, "narrow"),
    (lambda: ts.zeros(2, 3).narrow(1, 0, -1), RuntimeError, "narrow"),
    (lambda: ts.select(ts.zeros(2, 3), 1, 3), IndexError, "select"),
    (lambda: ts.zeros(()).unbind(), RuntimeError, "unbind"),
    (lambda: ts.zeros(2, 3).movedim((0, 1), (1,)), RuntimeError, "movedim"),
    (lambda: ts.zeros(2, 3).movedim(0, 5), IndexError, "movedim"),
    (lambda: ts.zeros(2, 3).flip(0, 0), RuntimeError, "flip"),
    (lambda: ts.zeros(3).fliplr(), RuntimeError, "fliplr"),
    (lambda: ts.zeros(2, 3).roll((1, 2), 0), RuntimeError, "roll"),
    (lambda: ts.zeros(2, 3).roll((1, 2)), RuntimeError, "roll"),
    (lambda: ts.zeros(2, 3).repeat(2), RuntimeError, "repeat"),
    (lambda: ts.zeros(2, 3).repeat_interleave(ts.tensor([1, 2]), dim=1), RuntimeError, "repeat_interleave"),
    (lambda: ts.zeros(2, 3).repeat_interleave(-1), RuntimeError, "repeat_interleave"),
    (lambda: ts.pad(ts.zeros(2, 3), (1,)), RuntimeError, "pad"),
    (lambda: ts.pad(ts.zeros(2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError, "pad"),
    (lambda: ts.pad(ts.zeros(2, 3), (3, 3), mode="reflect"), RuntimeError, "pad"),
    (lambda: ts.pad(ts.zeros(2, 3), (4, 0), mode="circular"), RuntimeError, "pad"),
    (lambda: ts.pad(ts.zeros(2, 3), (1, 1), mode="wrap"), NotImplementedError, "pad"),
    (lambda: ts.pad(ts.zeros(2, 3), (-4, 0)), RuntimeError, "pad"),
    (lambda: ts.pad(ts.zeros(3), (1, 1), mode="replicate"), NotImplementedError, "pad"),
    (lambda: ts.zeros(3).tril(), RuntimeError, "tril"),
    (lambda: ts.zeros(3).triu(), RuntimeError, "triu"),
    (lambda: ts.zeros(2, 2, 2).diag(), RuntimeError, "diag"),
    (lambda: ts.zeros(2, 2).diagonal(0, 1, 1), RuntimeError, "diagonal"),
    (lambda: ts.zeros(2, 2).diagonal(0, 0, 2), IndexError, "diagonal"),
    (lambda: ts.zeros(2).diag_embed(0, 0, 0), RuntimeError, "diag_embed"),
    (lambda: ts.broadcast_tensors(ts.zeros(2, 3), ts.zeros(4)), RuntimeError, "broadcast_tensors"),
    (lambda: ts.broadcast_shapes((2,), (3,)), RuntimeError, "broadcast_shapes"),
    (lambda: ts.meshgrid(ts.zeros(2, 2)), RuntimeError, "meshgrid"),
    (lambda: ts.meshgrid(ts.zeros(2), indexing="xx"), ValueError, "meshgrid"),
]


ERROR_IDS = [f"{e[2].split(':')[0]}-{i}" for i, e in enumerate(ERRORS)]


@pytest.mark.parametrize("fn,exc,match", ERRORS, ids=ERROR_IDS)
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


# -- property-based round trips ---------------------------------------------------------------------------
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_reshape_infer_and_permute_match_numpy(shape, data):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = ts.tensor(a)
    # reshape to a random factorisation of the element count with one inferred dimension
    n = a.size
    factors = [d for d in range(1, n + 1) if n % d == 0]
    first = data.draw(st.sampled_from(factors))
    target = data.draw(st.sampled_from([(first, -1), (-1, first), (first, -1, 1)]))
    np.testing.assert_array_equal(x.reshape(target).numpy(), a.reshape(target))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    p = x.permute(perm)
    np.testing.assert_array_equal(p.numpy(), np.transpose(a, perm))
    np.testing.assert_array_equal(p.reshape(-1).numpy(), np.transpose(a, perm).reshape(-1))
    inv = tuple(int(i) for i in np.argsort(perm))
    np.testing.assert_array_equal(p.permute(inv).numpy(), a)


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_cat_split_and_stack_unbind_round_trip(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(1, 3))
    arrays = []
    for i in range(k):
        s = list(shape)
        s[dim] = data.draw(st.integers(0, 3))
        arrays.append(np.random.default_rng(i).standard_normal(s).astype(np.float32))
    tensors = [ts.tensor(a) for a in arrays]
    c = ts.cat(tensors, dim)
    np.testing.assert_array_equal(c.numpy(), np.concatenate(arrays, dim))
    parts = c.split([a.shape[dim] for a in arrays], dim)
    for p, a in zip(parts, arrays):
        np.testing.assert_array_equal(p.numpy(), a)
    same = [ts.tensor(np.full(shape, i, np.float32)) for i in range(k)]
    sdim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    s = ts.stack(same, sdim)
    np.testing.assert_array_equal(s.numpy(), np.stack([t.numpy() for t in same], sdim))
    for i, u in enumerate(s.unbind(sdim)):
        np.testing.assert_array_equal(u.numpy(), same[i].numpy())
