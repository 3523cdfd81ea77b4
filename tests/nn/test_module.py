"""nn.Module machinery, containers, Linear, activations, dropout, init and nn.utils."""

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", ts.zeros(1))
        self.register_buffer("scratch", ts.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def torch_net():
    return torch.nn.Sequential(
        OrderedDict(fc1=torch.nn.Linear(4, 8), act=torch.nn.ReLU(), fc2=torch.nn.Linear(8, 3))
    )


def test_registration_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.state_dict()) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]  # as torch
    assert net.get_submodule("fc1") is net.fc1 and net.get_parameter("fc2.bias") is net.fc2.bias
    assert len(list(net.parameters())) == 4 and len(list(net.children())) == 3
    shared = nn.Sequential(net.fc1, net.fc1)
    assert len(list(shared.parameters())) == 2  # shared parameters are listed once
    with pytest.raises(TypeError, match="parameter 'weight'"):
        net.fc1.weight = ts.zeros(8, 4)
    net.fc1.bias = None
    assert [n for n, _ in net.fc1.named_parameters()] == ["weight"]
    del net.act
    assert "act" not in dict(net.named_children())
    with pytest.raises(KeyError, match="register_buffer: name can"):
        net.register_buffer("a.b", ts.zeros(1))
    with pytest.raises(TypeError, match="register_parameter"):
        net.register_parameter("w", ts.zeros(1))


def test_train_eval_zero_grad_requires_grad_and_apply():
    net = Net()
    assert net.training and net.fc1.training
    net.eval()
    assert not net.training and not net.fc2.training
    net.train()
    out = net(ts.randn(2, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Net"]


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    w = net.fc1.weight
    net.to(ts.float64)
    assert net.fc1.weight is w and w.dtype is ts.float64 and net.steps.dtype is ts.float64
    assert net(ts.randn(2, 4, dtype=ts.float64)).dtype is ts.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(ts.int64)


def test_hooks():
    net = Net()
    calls = []
    h1 = net.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = net.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = net(ts.randn(2, 4))
    expected = net.fc2(net.fc1(ts.zeros(2, 4)).relu()) + 1
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    assert calls == [(2, 3)]
    h1.remove()
    h2.remove()
    x = ts.randn(2, 4)
    np.testing.assert_allclose(net(x).detach().numpy(), net.forward(x).detach().numpy())


def test_load_state_dict_reports_all_problems_and_changes_nothing():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    bad = {k: v.clone() for k, v in net.state_dict().items()}
    bad["fc1.weight"] = ts.zeros(3, 3)
    bad["extra"] = ts.zeros(1)
    del bad["fc2.bias"]
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(bad)
    msg = str(err.value)
    assert "Net" in msg and '"extra"' in msg and '"fc2.bias"' in msg and "size mismatch for fc1.weight" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    bad["fc1.weight"] = ts.ones(8, 4)
    result = net.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["extra"]
    assert (net.fc1.weight.detach().numpy() == 1).all()


@needs_torch
def test_state_dict_moves_between_torch_and_tessera():
    tnet = torch_net()
    net = Net()
    net.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()}, strict=False)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        net(ts.tensor(x)).detach().numpy(), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    back = torch_net()
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in net.state_dict().items() if k != "steps"})
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), tnet(torch.tensor(x)).detach().numpy())


@needs_torch
def test_repr_matches_torch():
    t = torch.nn.Sequential(
        torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(20, 1)
    )
    s = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 1))
    assert repr(s) == repr(t)
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.GELU(approximate="tanh")) == repr(torch.nn.GELU(approximate="tanh"))


def test_containers():
    layers = [nn.Linear(2, 2) for _ in range(3)]
    seq = nn.Sequential(*layers)
    assert seq[0] is layers[0] and seq[-1] is layers[2] and len(seq) == 3
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    named = nn.Sequential(OrderedDict(a=nn.Linear(2, 3), b=nn.Tanh()))
    assert [n for n, _ in named.named_children()] == ["a", "b"] and named(ts.ones(1, 2)).shape == (1, 3)
    with pytest.raises(TypeError, match="Sequential"):
        nn.Sequential(nn.Linear(1, 1), "relu")
    ml = nn.ModuleList(layers)
    ml.append(nn.ReLU())
    assert len(ml) == 4 and [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    del ml[0]
    assert ml[0] is layers[1]
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.ReLU()
    assert list(md.keys()) == ["x", "y"] and "x" in md
    pl = nn.ParameterList([ts.zeros(2), nn.Parameter(ts.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"w": ts.ones(2)})
    assert isinstance(pd["w"], nn.Parameter)


def test_deepcopy_copies_parameters():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight.detach().numpy(), net.fc1.weight.detach().numpy())
    clone.fc1.weight.data.add_(1)
    assert not np.allclose(clone.fc1.weight.detach().numpy(), net.fc1.weight.detach().numpy())


@needs_torch
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    t = torch.nn.Linear(4, 6, bias=bias)
    m = nn.Linear(4, 6, bias=bias)
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    tx, mx = torch.tensor(x, requires_grad=True), ts.tensor(x, requires_grad=True)
    to, mo = t(tx), m(mx)
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(2).standard_normal(to.shape).astype(np.float32)
    to.backward(torch.tensor(g))
    mo.backward(ts.tensor(g))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (name, p), (_, tp) in zip(m.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    with pytest.raises(RuntimeError, match="Linear: expected input with last dimension 4"):
        m(ts.ones(2, 5))


def test_linear_default_init_follows_torch_bounds():
    ts.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = m.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    b = m.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound


@needs_torch
@pytest.mark.parametrize(
    "name,args",
    [
        ("ReLU", ()),
        ("GELU", ()),
        ("SiLU", ()),
        ("Tanh", ()),
        ("Sigmoid", ()),
        ("Softmax", (1,)),
        ("LogSoftmax", (1,)),
        ("LeakyReLU", (0.2,)),
        ("ELU", (0.7,)),
        ("Softplus", (2.0, 5.0)),
        ("Mish", ()),
        ("Hardswish", ()),
        ("SELU", ()),
        ("LogSigmoid", ()),
        ("Hardtanh", (-0.5, 0.5)),
        ("GLU", ()),
    ],
)
def test_activation_modules_match_torch(name, args):
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32) * 3
    tx, mx = torch.tensor(x, requires_grad=True), ts.tensor(x, requires_grad=True)
    to, mo = getattr(torch.nn, name)(*args)(tx), getattr(nn, name)(*args)(mx)
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    to.sum().backward()
    mo.sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_train_and_eval():
    ts.manual_seed(0)
    d = nn.Dropout(0.25)
    x = ts.ones(20000, requires_grad=True)
    y = d(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)  # the same mask in backward
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    z = nn.Dropout2d(0.5)(ts.ones(4, 8, 3, 3)).numpy()
    assert ((z == 0).all(axis=(2, 3)) | (z == 2).all(axis=(2, 3))).all()  # whole channels


def test_init_functions():
    ts.manual_seed(0)
    w = ts.empty(256, 128)
    nn.init.xavier_uniform_(w)
    a = math.sqrt(6 / (256 + 128))
    assert w.numpy().min() >= -a and w.numpy().max() <= a
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 256), rel=0.03)
    nn.init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert w.numpy().min() >= -0.5 and w.numpy().max() <= 0.5
    q = ts.empty(6, 4)
    nn.init.orthogonal_(q)
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(4), atol=1e-5)
    nn.init.constant_(q, 0.5)
    assert (q.numpy() == 0.5).all()
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    g1, g2 = ts.Generator().manual_seed(5), ts.Generator().manual_seed(5)
    assert (
        nn.init.normal_(ts.empty(3), generator=g1).tolist()
        == nn.init.normal_(ts.empty(3), generator=g2).tolist()
    )
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(ts.empty(3))


@needs_torch
def test_clip_grad_and_vector_utils_match_torch():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(3, 4), (5,)]]
    for norm_type in (2.0, 1.0, float("inf")):
        mp = [nn.Parameter(ts.zeros(*g.shape)) for g in grads]
        tp = [torch.nn.Parameter(torch.zeros(*g.shape)) for g in grads]
        for p, q, g in zip(mp, tp, grads):
            p.grad, q.grad = ts.tensor(g), torch.tensor(g)
        n1 = nn.utils.clip_grad_norm_(mp, 1.5, norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(tp, 1.5, norm_type)
        assert n1.item() == pytest.approx(n2.item(), rel=1e-5)
        for p, q in zip(mp, tp):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5)
    nn.utils.clip_grad_value_(mp, 0.1)
    assert max(np.abs(p.grad.numpy()).max() for p in mp) <= 0.1
    vec = nn.utils.parameters_to_vector(mp)
    assert vec.shape == (17,)
    nn.utils.vector_to_parameters(ts.arange(17, dtype=ts.float32), mp)
    assert mp[1].detach().tolist() == [12, 13, 14, 15, 16]
