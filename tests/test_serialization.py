"""ts.save / ts.load (safetensors + JSON structure, never pickle) and tessera._atomic.atomic_write."""

import io
import json
import math
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from opcheck import needs_torch, torch

import tessera as ts
from tessera._atomic import atomic_write
from tessera.core.dtypes import ALL_DTYPES


def _sample(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if dtype is ts.bool:
        arr = rng.integers(0, 2, size=shape).astype(bool)
    elif dtype.is_floating_point:
        arr = (rng.standard_normal(shape) * 100).astype(dtype.np)
        if arr.size >= 3:
            arr.reshape(-1)[:3] = np.array([np.inf, -np.inf, np.nan]).astype(dtype.np)
    else:
        info = np.iinfo(dtype.np)
        arr = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype.np)
    return ts.tensor(arr, dtype=dtype)


def _same_bits(a, b):
    a = a._data if isinstance(a, ts.Tensor) else a
    b = b._data if isinstance(b, ts.Tensor) else b
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_every_dtype_bit_identical(tmp_path, dtype):
    for shape in [(3, 4), (), (0, 5), (2, 1, 3)]:
        t = _sample(dtype, shape)
        path = tmp_path / f"{dtype.name}.safetensors"
        ts.save(t, path)
        back = ts.load(path)
        assert isinstance(back, ts.Tensor) and back.dtype is dtype
        _same_bits(back, t)


def test_non_contiguous_and_views(tmp_path):
    base = ts.arange(24, dtype=ts.float32).reshape(4, 6)
    view = base.t()[::2]
    ts.save({"v": view}, tmp_path / "a.st")
    back = ts.load(tmp_path / "a.st")["v"]
    np.testing.assert_array_equal(back.numpy(), view.numpy())
    back.add_(1)  # loaded tensors are writable and independent
    assert base[0, 0].item() == 0


def test_nested_structure(tmp_path):
    w = ts.randn(3, 2)
    obj = {
        "model": OrderedDict([("fc.weight", w), ("fc.bias", ts.zeros(2))]),
        "step": 12,
        "lr": 0.001,
        "nan": math.nan,
        "inf": -math.inf,
        "name": "run-1",
        "flags": [True, False, None],
        "shape": (3, (4, 5)),
        7: "int key",
        "empty": {"list": [], "tuple": (), "dict": {}},
        "arrays": [np.arange(5, dtype=np.uint16), np.float32(2.5), np.ones((2, 2), np.complex64)],
        "dtype": ts.bfloat16,
        "big": 2**70,
    }
    buf = io.BytesIO()
    ts.save(obj, buf)
    buf.seek(0)
    back = ts.load(buf)
    assert list(back) == list(obj)
    assert isinstance(back["model"], OrderedDict) and list(back["model"]) == ["fc.weight", "fc.bias"]
    _same_bits(back["model"]["fc.weight"], w)
    assert back["step"] == 12 and isinstance(back["step"], int)
    assert back["lr"] == 0.001 and isinstance(back["lr"], float)
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf
    assert back["name"] == "run-1" and back["flags"] == [True, False, None]
    assert back["shape"] == (3, (4, 5)) and back[7] == "int key"
    assert back["empty"] == {"list": [], "tuple": (), "dict": {}}
    a0, a1, a2 = back["arrays"]
    assert isinstance(a0, np.ndarray) and a0.dtype == np.uint16 and a0.tolist() == [0, 1, 2, 3, 4]
    assert isinstance(a1, np.float32) and a1 == 2.5
    assert a2.dtype == np.complex64 and a2.shape == (2, 2)
    assert back["dtype"] is ts.bfloat16 and back["big"] == 2**70


def test_parameters_requires_grad_and_sharing(tmp_path):
    p = ts.nn.Parameter(ts.randn(2, 2))
    frozen = ts.nn.Parameter(ts.randn(2), requires_grad=False)
    t = ts.ones(3, requires_grad=True)
    ts.save({"p": p, "again": p, "frozen": frozen, "t": t, "plain": ts.ones(1)}, tmp_path / "x")
    back = ts.load(tmp_path / "x")
    assert isinstance(back["p"], ts.nn.Parameter) and back["p"].requires_grad
    assert back["again"] is back["p"]  # a tensor saved twice loads as one object, as in torch.load
    assert isinstance(back["frozen"], ts.nn.Parameter) and not back["frozen"].requires_grad
    assert back["t"].requires_grad and not isinstance(back["t"], ts.nn.Parameter)
    assert not back["plain"].requires_grad


def test_module_and_optimizer_state_round_trip(tmp_path):
    model = ts.nn.Sequential(
        ts.nn.Linear(3, 4), ts.nn.BatchNorm1d(4) if hasattr(ts.nn, "BatchNorm1d") else ts.nn.ReLU()
    )
    opt = ts.optim.Adam(model.parameters(), lr=0.01)
    model(ts.randn(5, 3)).sum().backward()
    opt.step()
    ts.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt")
    ck = ts.load(tmp_path / "ckpt")
    model2 = ts.nn.Sequential(
        ts.nn.Linear(3, 4), ts.nn.BatchNorm1d(4) if hasattr(ts.nn, "BatchNorm1d") else ts.nn.ReLU()
    )
    model2.load_state_dict(ck["model"])
    for (k, a), (k2, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert k == k2
        _same_bits(a, b)
    opt2 = ts.optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == 0.01
    sd1, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd1["param_groups"] == sd2["param_groups"]
    for i, st in sd1["state"].items():
        for k, v in st.items():
            if isinstance(v, ts.Tensor):
                _same_bits(v, sd2["state"][i][k])
            else:
                assert v == sd2["state"][i][k]


def test_state_dict_file_is_plain_safetensors(tmp_path):
    # A top-level dict of tensors keeps its keys: any safetensors reader sees the state_dict's names.
    from safetensors.numpy import load_file

    sd = ts.nn.Linear(3, 2).state_dict()
    ts.save(sd, tmp_path / "m.safetensors")
    raw = load_file(tmp_path / "m.safetensors")
    assert sorted(raw) == ["bias", "weight"]
    np.testing.assert_array_equal(raw["weight"], sd["weight"].numpy())


def test_plain_safetensors_file_loads_as_dict(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.arange(3, dtype=np.int32), "b": np.ones((2, 2), np.float32)}, tmp_path / "p.st")
    back = ts.load(tmp_path / "p.st")
    assert set(back) == {"a", "b"} and back["a"].dtype is ts.int32
    assert back["b"].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_unsupported_objects_rejected_before_writing(tmp_path):
    path = tmp_path / "x"
    with pytest.raises(TypeError, match=r"save: cannot store an object of type object \(at \['a'\]\[0\]\)"):
        ts.save({"a": [object()]}, path)
    with pytest.raises(TypeError, match="dict keys"):
        ts.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="Python objects"):
        ts.save(np.array([None, 1], dtype=object), path)
    assert not path.exists() and os.listdir(tmp_path) == []


# -- refusing pickles and corrupt files -----------------------------------------------------------------------
class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"x": _Evil(str(marker))}, f)
    for proto in (2, 4, 5):
        with open(path, "wb") as f:
            pickle.dump({"x": _Evil(str(marker))}, f, protocol=proto)
        with pytest.raises(ValueError, match=r"evil.pt' is a pickle file; Tessera never unpickles"):
            ts.load(path)
        with open(path, "rb") as f, pytest.raises(ValueError, match="is a pickle file"):
            ts.load(f)
    assert not marker.exists()


def test_protocol0_pickle_is_rejected(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil0.pkl"
    path.write_bytes(pickle.dumps(_Evil(str(marker)), protocol=0))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        ts.load(path)
    assert not marker.exists()


@needs_torch
def test_torch_save_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=r"model.pt' is a pickle file \(a PyTorch zip archive"):
        ts.load(path)
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="is a pickle file"):
        ts.load(path)


def test_truncated_and_corrupt_files(tmp_path):
    path = tmp_path / "good.safetensors"
    ts.save({"w": ts.randn(10, 10), "meta": {"step": 3}}, path)
    data = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    cases = {
        "empty": b"",
        "short": data[:5],
        "truncated header": data[:40],
        "truncated data": data[:-7],
        "extra data": data + b"\0" * 8,
        "garbage": os.urandom(64),
        "header not json": (20).to_bytes(8, "little") + b"{not json at all!!!!" + b"\0" * 8,
        "header array": (2).to_bytes(8, "little") + b"[]",
        "npy": b"\x93NUMPY\x01\x00" + b"\0" * 20,
    }
    for what, content in cases.items():
        bad.write_bytes(content)
        with pytest.raises(ValueError, match="bad.safetensors") as info:
            ts.load(bad)
        assert "bad.safetensors" in str(info.value), what


def test_corrupt_structure_metadata(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "s.st"
    for structure in [
        '{"tensor": "missing"}',
        "{bad json",
        '{"tuple": 3}',
        '{"weird": 1}',
        '{"float": "1e5"}',
    ]:
        meta = {"format": "tessera", "tessera.version": "1", "tessera.structure": structure}
        save_file({"a": np.ones(2, np.float32)}, path, metadata=meta)
        with pytest.raises(ValueError, match="corrupt Tessera structure metadata"):
            ts.load(path)
    meta = {"format": "tessera", "tessera.version": "99", "tessera.structure": "null"}
    save_file({}, path, metadata=meta)
    with pytest.raises(ValueError, match="newer Tessera"):
        ts.load(path)


def test_zip_archives(tmp_path):
    import zipfile

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="Keras model archive.*load_model"):
        ts.load(path)


def test_file_arguments(tmp_path):
    with pytest.raises(TypeError, match="path or a writable"):
        ts.save(ts.ones(1), 3)
    with pytest.raises(TypeError, match="path or a readable"):
        ts.load(3.5)
    with pytest.raises(FileNotFoundError):
        ts.load(tmp_path / "nope")
    path = tmp_path / "t.st"
    ts.save(ts.ones(1), str(path))
    with open(path) as f, pytest.raises(TypeError, match="binary mode"):
        ts.load(f)
    assert ts.load(path, map_location="cpu").tolist() == [1.0]


def test_import_does_not_load_safetensors():
    import subprocess
    import sys

    code = "import sys, tessera; assert 'safetensors' not in sys.modules, 'safetensors imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- atomic writes --------------------------------------------------------------------------------------------
def test_atomic_save_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ts.save({"w": ts.ones(3)}, path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated crash"):
        ts.save({"w": ts.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the temporary file was removed
    assert ts.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_atomic_write_failure_mid_write(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old contents")

    def write(f):
        f.write(b"half of the new")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="mid-write"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_fsyncs_and_keeps_mode(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    os.chmod(path, 0o640)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    assert atomic_write(path, lambda f: f.write(b"new")) == 3
    assert path.read_bytes() == b"new" and (os.stat(path).st_mode & 0o777) == 0o640
    assert len(synced) == 2  # the file, then its directory
    new = tmp_path / "g.bin"
    atomic_write(new, lambda f: f.write(b"1"))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(new).st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "no" / "f", lambda f: None)
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, lambda f: None)


# -- PyTorch interop ------------------------------------------------------------------------------------------
@needs_torch
def test_load_state_dict_from_pytorch_safetensors(tmp_path):
    from safetensors.numpy import load_file
    from safetensors.torch import save_file

    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    save_file(tmodel.state_dict(), tmp_path / "torch.safetensors")
    model = ts.nn.Sequential(ts.nn.Linear(5, 7), ts.nn.ReLU(), ts.nn.Linear(7, 3))
    model.load_state_dict(load_file(tmp_path / "torch.safetensors"))
    for k, v in tmodel.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v.numpy())
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(
        model(ts.tensor(x)).detach().numpy(), tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-6
    )
    # ts.load reads the same file, and torch reads what ts.save writes
    model.load_state_dict(ts.load(tmp_path / "torch.safetensors"))
    from safetensors.torch import load_file as torch_load_file

    ts.save(model.state_dict(), tmp_path / "ts.safetensors")
    tmodel.load_state_dict(torch_load_file(tmp_path / "ts.safetensors"))


@needs_torch
def test_bfloat16_interop_with_torch(tmp_path):
    from safetensors.torch import load_file, save_file

    t = torch.randn(4, 3).to(torch.bfloat16)
    save_file({"x": t}, tmp_path / "a.st")
    back = ts.load(tmp_path / "a.st")["x"]
    assert back.dtype is ts.bfloat16
    np.testing.assert_array_equal(back.numpy().astype(np.float32), t.float().numpy())
    ts.save({"x": back}, tmp_path / "b.st")
    assert torch.equal(load_file(tmp_path / "b.st")["x"], t)


def test_metadata_is_json(tmp_path):
    from safetensors import safe_open

    ts.save({"a": 1, "b": [ts.ones(1)]}, tmp_path / "m.st")
    with safe_open(tmp_path / "m.st", framework="np") as f:
        meta = f.metadata()
    assert meta["format"] == "tessera"
    assert json.loads(meta["tessera.structure"])["dict"][0] == ["a", 1]


def test_header_length_that_looks_like_a_pickle_opcode_still_loads(tmp_path):
    # A safetensors header of 0x380 bytes starts the file with b"\x80\x03", the pickle protocol-3 signature.
    for pad in range(0, 400):
        obj = {"w": ts.ones(2), "pad": "x" * pad}
        path = tmp_path / "m.safetensors"
        ts.save(obj, path)
        raw = path.read_bytes()
        if raw[0] == 0x80 and 1 <= raw[1] <= 5:
            assert ts.load(path)["pad"] == "x" * pad
            return
    pytest.skip("no padding produced the colliding header length")


# -- hardening: deep nesting, metadata that is not an object, stale temporary files -----------------------
def _tessera_file(path, structure: str, version="1", arrays=None):
    from safetensors.numpy import save_file

    meta = {"format": "tessera", "tessera.version": version, "tessera.structure": structure}
    save_file(arrays or {}, path, metadata=meta)


@pytest.mark.parametrize("kind", ["lists", "tuples", "dicts"])
def test_deeply_nested_file_is_a_clear_error(tmp_path, kind):
    n = 900
    open_, close = {"lists": ("[", "]"), "tuples": ('{"tuple": [', "]}"), "dicts": ('{"dict": [[1, ', "]]}")}[
        kind
    ]
    structure = open_ * n + "0" + close * n
    path = tmp_path / "deep.safetensors"
    _tessera_file(path, structure)
    assert path.stat().st_size < 20_000
    with pytest.raises(
        ValueError, match=r"deep.safetensors.*corrupt Tessera structure metadata \(nested \d+ levels"
    ):
        ts.load(path)


def test_nesting_that_json_alone_would_reject_and_deep_headers(tmp_path):
    path = tmp_path / "h.safetensors"
    deep = "[" * 100_000 + "]" * 100_000
    header = ('{"__metadata__": {"a": "b"}, "x": ' + deep + "}").encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ValueError, match="h.safetensors"):
        ts.load(path)
    from tessera.serialization import parse_structure

    with pytest.raises(ValueError, match="k.st: corrupt Tessera structure metadata"):
        parse_structure(deep, "k.st")
    with pytest.raises(ValueError, match="k.st: corrupt Tessera structure metadata \\(not a string\\)"):
        parse_structure(3, "k.st")


def test_saving_something_too_deep_to_load_fails_before_writing(tmp_path):
    obj = []
    for _ in range(400):
        obj = [obj]
    path = tmp_path / "never.safetensors"
    with pytest.raises(ValueError, match="save: the object is nested more than"):
        ts.save(obj, path)
    assert not path.exists()
    ok = []
    for _ in range(50):
        ok = [ok]
    ts.save(ok, path)
    assert ts.load(path) == ok


def _raw(header: dict) -> bytes:
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h


@pytest.mark.parametrize("meta", [[], None, "tessera", 0, ["format", "tessera"]], ids=repr)
def test_metadata_that_is_not_an_object_is_refused(tmp_path, meta):
    path = tmp_path / "m.safetensors"
    path.write_bytes(_raw({"__metadata__": meta}))
    with pytest.raises(
        ValueError, match=r"m.safetensors' is not a valid safetensors file: __metadata__ is not a JSON"
    ):
        ts.load(path)
    path.write_bytes(_raw({"__metadata__": {"format": "tessera", "tessera.version": 2}}))
    with pytest.raises(
        ValueError, match="m.safetensors.*__metadata__ value 'tessera.version' is not a string"
    ):
        ts.load(path)


def test_format_version_is_always_checked(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "v.safetensors"
    cases = [
        ({"format": "tessera", "tessera.structure": "1"}, "corrupt Tessera metadata"),  # no version
        ({"tessera.version": "1", "tessera.structure": "1"}, "corrupt Tessera metadata"),  # no format
        ({"format": "tessera", "tessera.version": "1"}, "no tessera.structure"),
        ({"format": "tessera", "tessera.version": "3", "tessera.structure": "1"}, "newer Tessera"),
    ]
    for meta, msg in cases:
        save_file({"a": np.ones(1, np.float32)}, path, metadata=meta)
        with pytest.raises(ValueError, match=f"v.safetensors.*{msg}"):
            ts.load(path)
    _tessera_file(path, '{"tuple": [1, "a"]}', version="1")  # files of format 1 still load
    assert ts.load(path) == (1, "a")
    save_file({"a": np.ones(1, np.float32)}, path, metadata={"format": "pt"})  # someone else's file
    assert list(ts.load(path)) == ["a"]


_KILLED_SAVE = """
import os, signal, sys
sys.path.insert(0, {root!r})
import tessera as ts
from tessera import _atomic

real = _atomic.os.fsync
def die(fd):
    os.kill(os.getpid(), signal.SIGKILL)
_atomic.os.fsync = die  # killed after writing, before the rename
ts.save({{"w": ts.ones(1000)}}, {path!r})
"""


def test_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "ckpt.safetensors"
    ts.save({"w": ts.zeros(3)}, path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(ts.__file__)))
    seen = set()
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _KILLED_SAVE.format(root=root, path=str(path))])
        assert proc.returncode == -signal.SIGKILL
        stale = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        # each killed save leaves its temporary file; the next save (here the next killed one) removes it
        assert len(stale) == 1 and stale[0].startswith(".ckpt.safetensors.") and stale[0] not in seen
        seen.add(stale[0])
    assert ts.load(path)["w"].tolist() == [0.0, 0.0, 0.0]  # the previous file is intact
    # a live writer's file, another target's and a recent one of an older Tessera (no pid) stay
    live = tmp_path / f".ckpt.safetensors.{os.getppid()}.abc123.tmp"
    other = tmp_path / ".ckpt.safetensors.bak.1.x.tmp"
    old_style = tmp_path / ".ckpt.safetensors.q1w2e3.tmp"
    older = tmp_path / ".ckpt.safetensors.z9y8x7.tmp"
    for p in (live, other, old_style, older):
        p.write_bytes(b"partial")
    os.utime(older, (1, 1))
    ts.save({"w": ts.ones(2)}, path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["ckpt.safetensors", live.name, other.name, old_style.name])
    assert ts.load(path)["w"].tolist() == [1.0, 1.0]
    from tessera._atomic import clean_stale_temporaries

    assert clean_stale_temporaries(path) == []
