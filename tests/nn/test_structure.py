"""Module structure as PyTorch keeps it (re-assignment keeps positions, del/None/register_module, nn.Container),
lazy modules, nn.parallel.DataParallel and nn.init, each against torch."""

from __future__ import annotations

import copy
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera import nn
from tessera.nn.containers import Container
from tessera.nn.parallel import DataParallel, data_parallel

pytestmark = [
    needs_torch,
    pytest.mark.usefixtures("torch_one_thread"),
    pytest.mark.filterwarnings("ignore:input.s size at dim=1 does not match num_features"),
]


def both(build):
    """The same construction code run against torch.nn and tessera.nn."""
    return build(torch.nn, torch.zeros, torch.nn.Parameter), build(nn, ts.zeros, nn.Parameter)


class _Holder:
    pass


def _names(m):
    return (
        [n for n, _ in m.named_children()],
        [n for n, _ in m.named_parameters()],
        [n for n, _ in m.named_buffers()],
        list(m.state_dict()),
    )


# -- structure ----------------------------------------------------------------------------------------------
def _net(lib, zeros, Parameter):
    m = lib.Module()
    m.a = lib.Linear(2, 3)
    m.b = lib.ReLU()
    m.c = lib.Linear(3, 4)
    m.p = Parameter(zeros(2))
    m.q = Parameter(zeros(3))
    m.register_buffer("u", zeros(1))
    m.register_buffer("v", zeros(1), persistent=False)
    m.register_buffer("w", zeros(1))
    return m


def test_reassignment_keeps_positions_as_torch():
    def edit(lib, zeros, Parameter):
        m = _net(lib, zeros, Parameter)
        m.a = lib.Linear(2, 5)  # re-assigned child: stays first
        m.p = Parameter(zeros(4))  # re-assigned parameter: stays first
        m.u = zeros(2)  # re-assigned buffer: stays first, persistent
        m.v = zeros(2)  # stays non-persistent
        m.register_buffer("w", zeros(3), persistent=False)  # re-registered: keeps place, now non-persistent
        m.add_module("b", lib.Tanh())
        m.register_parameter("q", None)
        return m

    t, s = both(edit)
    assert _names(s) == _names(t)
    assert [type(c).__name__ for c in s.children()] == [type(c).__name__ for c in t.children()]
    assert s.a.out_features == 5 and s.p.shape == (4,)


def test_sequential_of_children_after_replacing_a_layer():
    # The silent bug: replacing a layer moved it to the end of children(), so dropping the "last" child
    # dropped the wrong layer.
    def build(lib, zeros, Parameter):
        m = lib.Sequential(OrderedDict(fc1=lib.Linear(4, 8), act=lib.ReLU(), fc2=lib.Linear(8, 2)))
        m.fc1 = lib.Linear(4, 8)
        return lib.Sequential(*list(m.children())[:-1])

    t, s = both(build)
    assert [type(c).__name__ for c in s] == [type(c).__name__ for c in t] == ["Linear", "ReLU"]
    assert s(ts.randn(3, 4)).shape == (3, 8)


def test_kind_changes_move_the_name_and_none_placeholders():
    def edit(lib, zeros, Parameter):
        m = _net(lib, zeros, Parameter)
        m.u = Parameter(zeros(1))  # buffer -> parameter: moves to the end of the parameters
        m.b = None  # child placeholder: keeps its slot, not listed
        m.c = None
        m.c = lib.Linear(3, 4)  # filled again in place
        m.q = None
        return m

    t, s = both(edit)
    assert _names(s) == _names(t)
    assert list(s._modules) == list(t._modules) == ["a", "b", "c"]
    assert s.b is None and s.q is None


def test_del_and_register_module():
    def edit(lib, zeros, Parameter):
        m = _net(lib, zeros, Parameter)
        del m.a, m.p, m.u, m.v
        m.register_module("a", lib.Linear(1, 1))  # re-added after deletion: at the end
        m.x = 3
        del m.x
        return m

    t, s = both(edit)
    assert _names(s) == _names(t)
    assert "v" not in s._non_persistent_buffers
    for m in (s, t):
        with pytest.raises(AttributeError):
            m.p  # noqa: B018
        with pytest.raises(AttributeError):
            del m.nothing


def test_taken_names_and_errors_as_torch():
    s = _net(nn, ts.zeros, nn.Parameter)
    t = _net(torch.nn, torch.zeros, torch.nn.Parameter)
    s.plain, t.plain = 1, 1
    cases = [
        (lambda m, z, P: m.register_buffer("p", z(1)), KeyError, "attribute 'p' already exists"),
        (lambda m, z, P: m.register_parameter("u", P(z(1))), KeyError, "attribute 'u' already exists"),
        (lambda m, z, P: m.add_module("plain", None), KeyError, "attribute 'plain' already exists"),
        (lambda m, z, P: m.add_module("forward", None), KeyError, "attribute 'forward' already exists"),
        (lambda m, z, P: m.register_buffer("a.b", z(1)), KeyError, "name can.*contain"),
        (lambda m, z, P: m.add_module(3, None), TypeError, "string"),
        (lambda m, z, P: setattr(m, "a", 3), TypeError, "as child module 'a'"),
        (lambda m, z, P: setattr(m, "u", 3), TypeError, "as buffer 'u'"),
        (lambda m, z, P: m.add_module("k", 3), TypeError, "is not a Module subclass"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn(s, ts.zeros, nn.Parameter)
        with pytest.raises(exc):
            fn(t, torch.zeros, torch.nn.Parameter)
    assert _names(s) == _names(t)  # nothing half-changed
    x = ts.ones(2, requires_grad=True) * 2
    with pytest.raises(ValueError, match="cannot assign non-leaf Tensor to parameter 'nl'"):
        s.register_parameter("nl", _non_leaf_param(x))
    with pytest.raises(AttributeError, match="before Module.__init__"):

        class Early(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(1, 1)
                super().__init__()

        Early()


def _non_leaf_param(x):
    p = nn.Parameter(ts.zeros(2))
    p.grad_fn = x.grad_fn
    return p


def test_buffer_marker_and_container():
    def edit(lib, zeros, Parameter):
        m = lib.Module()
        m.a = lib.Buffer(zeros(1))
        m.b = lib.Buffer(zeros(1), persistent=False)
        m.a = lib.Buffer(zeros(2), persistent=False)  # keeps its place, becomes non-persistent
        return m

    t, s = both(edit)
    assert _names(s) == _names(t) and isinstance(s.a, ts.Tensor) and not isinstance(s.a, nn.Buffer)
    with pytest.warns(FutureWarning, match="`nn.Container` is deprecated"):
        c = Container(fc=nn.Linear(2, 3), act=nn.ReLU())
    with pytest.warns(FutureWarning):
        tc = torch.nn.Container(fc=torch.nn.Linear(2, 3), act=torch.nn.ReLU())
    assert _names(c) == _names(tc) and repr(c) == repr(tc)


# -- lazy modules -----------------------------------------------------------------------------------------
LAZY = [
    ("LazyLinear", (5,), {}, (3, 7)),
    ("LazyLinear", (5,), {"bias": False}, (2, 4, 6)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 9)),
    ("LazyConv1d", (4, 3), {"groups": 2, "bias": False}, (2, 6, 9)),
    ("LazyConv2d", (6, 3), {"stride": 2}, (2, 3, 8, 8)),
    ("LazyConv2d", (6, 3), {}, (3, 8, 8)),  # unbatched
    ("LazyConv3d", (2, 2), {}, (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2}, (2, 6, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (6, 3)),
    ("LazyBatchNorm1d", (), {"affine": False}, (6, 3, 4)),
    ("LazyBatchNorm2d", (), {"momentum": None}, (4, 3, 5, 5)),
    ("LazyBatchNorm3d", (), {"track_running_stats": False}, (2, 3, 3, 3, 3)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False}, (2, 3, 5, 5)),
    ("LazyInstanceNorm3d", (), {}, (2, 3, 3, 3, 3)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAZY, ids=lambda v: str(v))
def test_lazy_module_against_torch(name, args, kwargs, shape):
    t = getattr(torch.nn, name)(*args, **kwargs)
    s = getattr(nn, name)(*args, **kwargs)
    assert repr(s).split("(")[0] == repr(t).split("(")[0] == name
    assert list(s.state_dict()) == list(t.state_dict())
    assert s.has_uninitialized_params() == t.has_uninitialized_params() == bool(list(t.state_dict()))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    to = t(torch.tensor(x))
    so = s(ts.tensor(x))  # first call: materialize, reset_parameters, become the regular class
    regular = name.removeprefix("Lazy")
    assert type(s) is getattr(nn, regular) and type(t) is getattr(torch.nn, regular)
    assert not s._forward_pre_hooks and "_initialize_hook" not in s.__dict__
    assert repr(s) == repr(t) or regular.startswith(("BatchNorm", "InstanceNorm"))  # norms print `bias=`
    tsd, ssd = t.state_dict(), s.state_dict()
    assert list(ssd) == list(tsd)
    assert {k: tuple(v.shape) for k, v in ssd.items()} == {k: tuple(v.shape) for k, v in tsd.items()}
    assert {k: str(v.dtype).split(".")[-1] for k, v in ssd.items()} == {
        k: str(v.dtype).split(".")[-1] for k, v in tsd.items()
    }
    assert all(isinstance(p, nn.Parameter) and type(p) is nn.Parameter for p in s.parameters())
    assert all(type(b) is ts.Tensor for b in s.buffers())
    # initialised as the regular layer is: the same bounds (different random streams)
    if "Linear" in name or "Conv" in name:
        bound = 1 / math.sqrt(nn.init._calculate_fan_in_and_fan_out(s.weight)[0])
        w = s.weight.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).std() > 0
    else:
        np.testing.assert_array_equal(so.shape, to.shape)
    # with torch's state copied in: the same outputs (a second call through the regular class)
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(
        s(ts.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_uninitialized_parameter_behaviour():
    s, t = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert repr(s.weight) == repr(t.weight) == "<UninitializedParameter>"
    assert isinstance(s.weight, nn.UninitializedParameter) and isinstance(s.weight, nn.Parameter)
    assert s.weight.requires_grad and s.weight.dtype is ts.float32
    assert nn.parameter.is_lazy(s.weight) and not nn.parameter.is_lazy(nn.Parameter(ts.zeros(1)))
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        s.weight.shape  # noqa: B018
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        s.weight + 1
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        sum(p.numel() for p in s.parameters())
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        s.weight.numpy()
    sd = s.state_dict()
    assert [type(v).__name__ for v in sd.values()] == ["UninitializedParameter"] * 2
    b = nn.UninitializedBuffer(persistent=False)
    assert repr(b) == "<UninitializedBuffer>" and not b.persistent and not b.requires_grad
    p = nn.UninitializedParameter(requires_grad=False, dtype=ts.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype is ts.float64 and not p.requires_grad
    assert (p.numpy() == 0).all()


def test_lazy_dtype_deepcopy_and_load_state_dict():
    s = nn.LazyLinear(3).double()
    assert s.weight.dtype is ts.float64
    c = copy.deepcopy(s)
    assert nn.parameter.is_lazy(c.weight) and c.weight is not s.weight
    s(ts.randn(2, 4, dtype=ts.float64))
    assert s.weight.dtype is ts.float64 and type(s) is nn.Linear
    assert type(c) is nn.LazyLinear  # the copy is still lazy, with its own hook
    c(ts.randn(1, 6, dtype=ts.float64))
    assert c.in_features == 6 and type(c) is nn.Linear
    # loading a checkpoint into a lazy module takes its shapes; the next forward only switches the class
    t = torch.nn.Conv2d(3, 4, 3)
    lazy = nn.LazyConv2d(4, 3)
    lazy.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    assert not lazy.has_uninitialized_params() and tuple(lazy.weight.shape) == (4, 3, 3, 3)
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), t.weight.detach().numpy())
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(
        lazy(ts.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )
    assert type(lazy) is nn.Conv2d


def test_lazy_in_a_model_trains_and_errors():
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    model(ts.randn(2, 1, 6, 6))  # dummy batch initialises every lazy layer
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    opt = ts.optim.SGD(model.parameters(), lr=0.1)
    loss = model(ts.randn(2, 1, 6, 6)).square().mean()
    loss.backward()
    opt.step()
    with pytest.raises(
        RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"
    ):
        nn.LazyConv2d(4, 3)(ts.randn(5, 5))
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        nn.LazyConv2d(4, 3, groups=2)(ts.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="LazyLinear: out_features must be"):
        nn.LazyLinear(-1)
    with pytest.raises(ValueError, match="save: cannot store an uninitialized parameter"):
        ts.save(nn.LazyLinear(2).state_dict(), "/tmp/never-written.safetensors")


# -- DataParallel -----------------------------------------------------------------------------------------
def test_data_parallel_against_torch():
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    sm = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    sm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    t, s = torch.nn.DataParallel(tm), DataParallel(sm, device_ids=[0])
    assert s.module is sm and repr(s) == repr(t)
    assert list(s.state_dict()) == list(t.state_dict()) == ["module.0.weight", "module.0.bias"]
    assert s.device_ids == t.device_ids == []
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        s(ts.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-6
    )
    # a checkpoint of a torch DataParallel model loads into the Tessera wrapper, and its .module into a bare one
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    s.module.load_state_dict({k: v.detach().numpy() for k, v in t.module.state_dict().items()})
    s(ts.tensor(x)).sum().backward()
    assert sm[0].weight.grad is not None
    np.testing.assert_allclose(
        data_parallel(sm, ts.tensor(x)).detach().numpy(), s(ts.tensor(x)).detach().numpy()
    )
    assert data_parallel(nn.Bilinear(2, 3, 1), (ts.randn(4, 2), ts.randn(4, 3))).shape == (4, 1)
    assert data_parallel(nn.Linear(4, 3), None, module_kwargs={"input": ts.randn(2, 4)}).shape == (2, 3)
    with pytest.raises(TypeError, match="DataParallel: module must be an nn.Module"):
        DataParallel(lambda x: x)
    with pytest.raises(TypeError, match="DataParallel: device_ids must be a sequence"):
        DataParallel(sm, device_ids=3)
    with pytest.raises(TypeError, match="data_parallel: module_kwargs must be a dict"):
        data_parallel(sm, ts.tensor(x), module_kwargs=[1])


# -- nn.init ------------------------------------------------------------------------------------------------
DEPRECATED = [
    ("uniform", (ts.empty(3, 4),)),
    ("normal", (ts.empty(3, 4),)),
    ("constant", (ts.empty(3, 4), 0.5)),
    ("eye", (ts.empty(3, 4),)),
    ("dirac", (ts.empty(4, 2, 3),)),
    ("xavier_uniform", (ts.empty(3, 4),)),
    ("xavier_normal", (ts.empty(3, 4),)),
    ("kaiming_uniform", (ts.empty(3, 4),)),
    ("kaiming_normal", (ts.empty(3, 4),)),
    ("orthogonal", (ts.empty(3, 4),)),
    ("sparse", (ts.empty(6, 4), 0.5)),
]


@pytest.mark.parametrize(("name", "args"), DEPRECATED, ids=[n for n, _ in DEPRECATED])
def test_deprecated_init_aliases_warn_as_torch(name, args):
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        getattr(torch.nn.init, name)(torch.empty(*args[0].shape), *args[1:])
    with warnings.catch_warnings(record=True) as sw:
        warnings.simplefilter("always")
        out = getattr(nn.init, name)(*args)
    assert out is args[0]
    assert [(w.category, str(w.message)) for w in sw] == [(w.category, str(w.message)) for w in tw]
    assert sw[0].filename == __file__  # points at the caller
    ts.manual_seed(3)
    a = getattr(nn.init, name + "_")(ts.empty(*args[0].shape), *args[1:]).numpy().copy()
    ts.manual_seed(3)
    with pytest.warns(FutureWarning):
        b = getattr(nn.init, name)(ts.empty(*args[0].shape), *args[1:]).numpy()
    np.testing.assert_array_equal(a, b)


def _draw(fn, shape=(400, 300), **kw):
    w = ts.empty(*shape, dtype=ts.float64)
    fn(w, **kw)
    return w.numpy()


def test_random_initialisers_distributions_and_generator():
    a = _draw(nn.init.trunc_normal_, mean=0.1, std=0.5, a=-0.3, b=0.6)
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 300, dtype=torch.float64), 0.1, 0.5, -0.3, 0.6).numpy()
    assert a.min() >= -0.3 and a.max() <= 0.6
    assert abs(a.mean() - ref.mean()) < 0.01 and abs(a.std() - ref.std()) < 0.01
    q = _draw(nn.init.orthogonal_, shape=(30, 50), gain=2.0)
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(30), atol=1e-10)
    q = _draw(nn.init.orthogonal_, shape=(6, 2, 2))
    np.testing.assert_allclose(q.reshape(6, 4).T @ q.reshape(6, 4), np.eye(4), atol=1e-10)
    sp = _draw(nn.init.sparse_, shape=(10, 50), sparsity=0.3, std=2.0)
    assert ((sp == 0).sum(axis=0) == 3).all() and 1.5 < sp[sp != 0].std() < 2.5
    g1, g2 = ts.Generator().manual_seed(7), ts.Generator().manual_seed(7)
    for fn, kw in [
        (nn.init.trunc_normal_, {}),
        (nn.init.orthogonal_, {}),
        (nn.init.sparse_, {"sparsity": 0.5}),
    ]:
        x = _draw(fn, shape=(8, 5), generator=g1, **kw)
        y = _draw(fn, shape=(8, 5), generator=g2, **kw)
        np.testing.assert_array_equal(x, y)
        ts.manual_seed(1)
        x = _draw(fn, shape=(8, 5), **kw)
        ts.manual_seed(1)
        np.testing.assert_array_equal(x, _draw(fn, shape=(8, 5), **kw))


def test_init_goes_through_the_registry():
    seen = []

    def record(call):
        seen.append(call.op.name)
        return call.proceed()

    w = nn.Parameter(ts.empty(5, 4))
    version = w._version_counter[0]
    with ts.core.intercept(record):
        for fn in (
            nn.init.trunc_normal_,
            nn.init.orthogonal_,
            nn.init.xavier_uniform_,
            nn.init.kaiming_normal_,
        ):
            fn(w)
        nn.init.sparse_(w, 0.5)
    assert {"random", "rng_advance", "copy"} <= set(seen)
    assert w._version_counter[0] > version and w.requires_grad and w.grad_fn is None


def test_init_errors_and_fans():
    assert nn.init._calculate_correct_fan(
        ts.empty(3, 4, 5), "fan_out"
    ) == torch.nn.init._calculate_correct_fan(torch.empty(3, 4, 5), "fan_out")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(ts.empty(3, 4), mode="fan_avg")
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        nn.init.normal_(ts.empty(3), std=-1.0)
    with pytest.raises(ValueError, match="trunc_normal_: expected a < b"):
        nn.init.trunc_normal_(ts.empty(3), a=1.0, b=0.0)
    with pytest.raises(ValueError, match="dirac_: dim 0 \\(3\\) must be divisible by groups \\(2\\)"):
        nn.init.dirac_(ts.empty(3, 2, 3), groups=2)
    with pytest.raises(ValueError, match="orthogonal_: only tensors with 2 or more dimensions"):
        nn.init.orthogonal_(ts.empty(3))
    with pytest.raises(TypeError, match="xavier_uniform_: expected a Tensor"):
        nn.init.xavier_uniform_(np.zeros((2, 2)))
    d = nn.init.dirac_(ts.empty(4, 2, 3), groups=2).numpy()
    np.testing.assert_array_equal(d, torch.nn.init.dirac_(torch.empty(4, 2, 3), groups=2).numpy())
