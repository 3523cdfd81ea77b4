"""``ts.save(model)`` / ``ts.load``: whole modules stored as class + constructor arguments + state in a
safetensors file (never a pickle), the allow-list (``add_safe_globals`` / ``safe_globals`` /
``weights_only``), and the state_dict fallback."""

from __future__ import annotations

import functools
import io
import json
import warnings

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
import tessera.nn.functional as F
from tessera import nn
from tessera.serialization import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals


class Net(nn.Module):
    def __init__(self, n_in: int, hidden: int = 8, act=F.gelu, norm_layer=nn.LayerNorm):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.norm = norm_layer(hidden)
        self.act = act
        self.fc = nn.Linear(hidden, 3)
        self.register_buffer("calls", ts.zeros((), dtype=ts.int64))
        self.register_buffer("scratch", ts.ones(2), persistent=False)

    def forward(self, x):
        return self.fc(self.act(self.norm(self.fc1(x))))


class Wrapper(nn.Module):
    def __init__(self, backbone: nn.Module, scale: float = 2.0):
        super().__init__()
        self.backbone = backbone
        self.scale = scale

    def forward(self, x):
        return self.backbone(x) * self.scale


class Config:
    pass


class Configured(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.fc = nn.Linear(2, 2)


def my_act(x):
    return x.tanh()


@pytest.fixture(autouse=True)
def _clean_allow_list():
    clear_safe_globals()
    yield
    clear_safe_globals()


def roundtrip(obj, **load_kw):
    buf = io.BytesIO()
    ts.save(obj, buf)
    buf.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning expected
        return ts.load(buf, **load_kw)


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy(), err_msg=k)


def test_builtin_modules_round_trip_without_allow_list():
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5))
    x = ts.randn(2, 1, 6, 6)
    m(x)  # initialises the lazy layer and the running statistics
    m.eval()
    back = roundtrip(m)
    assert type(back) is nn.Sequential and [type(c) for c in back] == [type(c) for c in m]
    assert type(back[4]) is nn.Linear and back[4].in_features == 64
    assert not back.training and not back[1].training
    same_state(back, m)
    np.testing.assert_array_equal(back(x).detach().numpy(), m(x).detach().numpy())
    assert back[0].weight is not m[0].weight and back[0].weight.requires_grad
    assert isinstance(back[0].weight, nn.Parameter)


def test_user_class_needs_allow_list_else_state_dict_with_warning(tmp_path):
    m = Net(4)
    path = tmp_path / "net.safetensors"
    ts.save({"model": m, "epoch": 3}, path)
    with pytest.warns(UserWarning, match=r"__main__\.Net|test_module_save\.Net") as rec:
        out = ts.load(path)
    msg = str(rec[0].message)
    assert "add_safe_globals" in msg and "safe_globals" in msg and "weights_only=False" in msg
    assert out["epoch"] == 3 and list(out["model"]) == list(m.state_dict())
    assert not isinstance(out["model"]["fc1.weight"], nn.Parameter)
    fresh = Net(4)
    fresh.load_state_dict(out["model"])  # the state_dict is usable as is
    same_state(fresh, m)
    with safe_globals([Net]):
        back = roundtrip({"model": m, "epoch": 3})["model"]
    assert type(back) is Net and get_safe_globals() == []
    x = ts.randn(5, 4)
    np.testing.assert_allclose(back(x).detach().numpy(), m(x).detach().numpy())
    assert "scratch" in back._non_persistent_buffers and back.act is F.gelu
    add_safe_globals([Net])
    assert get_safe_globals() == [Net]
    assert type(roundtrip(m)) is Net
    clear_safe_globals()
    assert type(roundtrip(m, weights_only=False)) is Net


def test_modified_model_comes_back_as_saved():
    # Transfer learning: the head is replaced after construction, a layer is frozen, weights are tied.
    m = Wrapper(Net(4, hidden=6, act=ts.tanh, norm_layer=nn.BatchNorm1d), scale=0.5)
    m.backbone.fc = nn.Sequential(nn.Dropout(0.1), nn.Linear(6, 10))
    m.backbone.fc1.requires_grad_(False)
    m.extra = nn.Linear(10, 10, bias=False)
    tied = nn.Sequential(nn.Embedding(7, 6), nn.Linear(6, 7, bias=False))
    tied[1].weight = tied[0].weight
    m.eval()
    with safe_globals([Wrapper, Net]):
        back = roundtrip(m)
        tback = roundtrip(tied)
    assert [n for n, _ in back.named_modules()] == [n for n, _ in m.named_modules()]
    assert type(back.backbone.fc) is nn.Sequential and back.backbone.fc[1].out_features == 10
    assert back.scale == 0.5 and back.backbone.act is ts.tanh
    assert not back.backbone.fc1.weight.requires_grad and back.backbone.fc[1].weight.requires_grad
    same_state(back, m)
    x = ts.randn(3, 4)
    np.testing.assert_allclose(back.backbone(x).detach().numpy(), m.backbone(x).detach().numpy(), rtol=1e-6)
    assert tback[1].weight is tback[0].weight
    assert len(list(tback.parameters())) == 1


def test_arguments_classes_functions_partials_tensors():
    loss = nn.CrossEntropyLoss(weight=ts.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1)
    back = roundtrip(loss)
    np.testing.assert_array_equal(back.weight.numpy(), [1.0, 2.0, 0.5])
    assert back.label_smoothing == 0.1
    part = Net(3, norm_layer=functools.partial(nn.LayerNorm, eps=1e-3), act=my_act)
    with pytest.warns(UserWarning, match="my_act"), safe_globals([Net]):
        out = ts.load(_bytes(part), weights_only=True)
    assert list(out) == list(part.state_dict())
    with safe_globals([Net, my_act]):
        back = roundtrip(part)
    assert back.norm.eps == 1e-3 and back.act is my_act
    t = nn.Transformer(16, 2, 1, 1, 32, dropout=0.0, activation="gelu", batch_first=True)
    back = roundtrip(t)
    same_state(back, t)
    src, tgt = ts.randn(2, 5, 16), ts.randn(2, 3, 16)
    np.testing.assert_allclose(back(src, tgt).detach().numpy(), t(src, tgt).detach().numpy(), rtol=1e-5)
    dp = nn.parallel.DataParallel(nn.Linear(2, 3))
    assert list(roundtrip(dp).state_dict()) == ["module.weight", "module.bias"]


def _bytes(obj):
    buf = io.BytesIO()
    ts.save(obj, buf)
    buf.seek(0)
    return buf


def test_loading_does_not_touch_the_global_rng():
    m = nn.Sequential(nn.Linear(50, 50), nn.Dropout(0.5))
    data = _bytes(m)
    ts.manual_seed(0)
    a = ts.rand(3).numpy()
    ts.manual_seed(0)
    ts.load(data)
    np.testing.assert_array_equal(ts.rand(3).numpy(), a)


def test_undescribable_arguments_and_other_errors(tmp_path):
    c = Configured(Config())
    assert c._init_spec.args is None and "Config" in c._init_spec.why
    with pytest.raises(
        TypeError, match=r"save: cannot store Configured as a whole module .*Config.*state_dict"
    ):
        ts.save(c, tmp_path / "c.st")
    with pytest.raises(TypeError, match=r"cannot store Configured as a whole module \(at \['m'\]\)"):
        ts.save({"m": c}, tmp_path / "c.st")
    # a forged file without arguments: a clear error at load time
    forged = _forge(tmp_path, lambda node: node.update({"args": None, "why": "forged"}))
    with pytest.raises(ValueError, match=r"cannot rebuild the module \(Linear\).*forged"):
        ts.load(forged)
    # nested inside a parent that rebuilds it, an undescribable child is fine
    holder = Wrapper(nn.Linear(2, 2))
    with safe_globals([Wrapper]):
        assert type(roundtrip(holder).backbone) is nn.Linear
    lin = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="module Linear appears twice"):
        ts.save([lin, lin], tmp_path / "twice.safetensors")
    with pytest.raises(TypeError, match="only classes and functions importable by name"):
        ts.save(Net(2, act=lambda x: x), tmp_path / "l.st")
    with pytest.raises(ValueError, match="uninitialized parameter"):
        ts.save(nn.LazyLinear(3), tmp_path / "lazy.st")
    assert not list(tmp_path.glob("*.st"))  # nothing written for a failed save


def _forge(tmp_path, edit):
    """A whole-module file whose structure ``edit`` rewrites (as an attacker could)."""
    from tessera.serialization import from_safetensors, to_safetensors

    arrays, meta = from_safetensors(_bytes(nn.Linear(2, 3)).read(), "x")
    tree = json.loads(meta["tessera.structure"])
    edit(tree["module"])
    meta["tessera.structure"] = json.dumps(tree)
    path = tmp_path / "forged.safetensors"
    path.write_bytes(to_safetensors({k: np.array(v) for k, v in arrays.items()}, meta))
    return path


def test_forged_class_paths_never_run(tmp_path, monkeypatch):
    import os

    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    for path in ("os:system", "tessera.serialization:os.system", "builtins:eval"):
        forged = _forge(tmp_path, lambda node, p=path: node.update({"class": p, "args": ["echo hi"]}))
        with pytest.warns(UserWarning, match="not an allowed global"):
            out = ts.load(forged)
        assert list(out) == ["weight", "bias"]
        with pytest.raises(ValueError, match="is not a Module class|is not found under that name"):
            ts.load(forged, weights_only=False)
    assert calls == []
    bad = _forge(tmp_path, lambda node: node.update({"class": "tessera.nn:Linear; import os"}))
    with pytest.raises(ValueError, match="corrupt Tessera structure metadata"):
        ts.load(bad)
    args = _forge(tmp_path, lambda node: node.update({"args": [2, "three"]}))
    with pytest.raises(ValueError, match=r"rebuilding the module as Linear\(...\) failed"):
        ts.load(args)
    shape = _forge(tmp_path, lambda node: node.update({"args": [5, 3]}))  # rebuilt, then given saved weights
    assert tuple(ts.load(shape).weight.shape) == (3, 2)


@needs_torch
def test_module_file_is_a_plain_state_dict_for_safetensors(tmp_path):
    from safetensors.torch import load_file

    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    path = tmp_path / "m.safetensors"
    ts.save(m, path)
    sd = load_file(str(path))
    assert sorted(sd) == sorted(m.state_dict())
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    t.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(
        t(torch.tensor(x)).detach().numpy(),
        ts.load(path)(ts.tensor(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_format_versions(tmp_path):
    from tessera.serialization import from_safetensors

    plain = tmp_path / "plain.safetensors"
    ts.save({"w": ts.ones(2), "step": 1}, plain)
    _, meta = from_safetensors(plain.read_bytes(), "p")
    assert meta["tessera.version"] == "1"  # files without modules stay readable by older Tessera
    mod = tmp_path / "mod.safetensors"
    ts.save({"m": nn.Linear(2, 2)}, mod)
    _, meta = from_safetensors(mod.read_bytes(), "m")
    assert meta["tessera.version"] == "2"
    assert type(ts.load(mod)["m"]) is nn.Linear
    with pytest.raises(TypeError, match="Tessera never unpickles"):
        ts.load(mod, pickle_module=object())
    with pytest.raises(TypeError, match="save\\(\\) got an unexpected keyword argument 'foo'"):
        ts.save(1, tmp_path / "x", foo=1)
    ts.save(nn.ReLU(), tmp_path / "r", pickle_protocol=4, _use_new_zipfile_serialization=True)


def test_specs_keep_no_replaced_module_alive_and_copy_with_the_module():
    import copy
    import gc
    import pickle
    import weakref

    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    old = weakref.ref(m[2])
    m[2] = nn.Linear(3, 4)
    gc.collect()
    assert old() is None  # the constructor argument that was replaced is freed
    back = roundtrip(m)
    assert [type(c) for c in back] == [nn.Linear, nn.ReLU, nn.Linear] and back[2].out_features == 4
    c = copy.deepcopy(m)
    assert type(roundtrip(c)) is nn.Sequential and roundtrip(c)[2].out_features == 4
    p = pickle.loads(pickle.dumps(m))
    assert roundtrip(p)[2].out_features == 4
    same_state(roundtrip(p), m)
