"""ts.export's file: fresh-process loading, tampered and malformed files, versions."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tessera as ts
from tessera.serialization import from_safetensors, to_safetensors

nn = ts.nn
DATA = os.path.join(os.path.dirname(__file__), "data")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _golden_model():
    """The model behind data/linear_relu_v1.tessera (written by format version 1 of ts.export)."""
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    with ts.no_grad():
        m[0].weight.copy_(ts.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 10 - 0.2))
        m[0].bias.copy_(ts.tensor([0.1, -0.3]))
    return m.eval()


def _write_golden(path):  # how the committed file was made
    m = _golden_model()
    ts.export.export(m, (ts.randn(2, 3),), dynamic_shapes={"input": {0: "batch"}}).save(path)


@pytest.fixture
def saved(tmp_path):
    ts.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    path = tmp_path / "model.tessera"
    ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}}).save(path)
    return model, path


def _parts(path):
    arrays, meta = from_safetensors(open(path, "rb").read(), str(path))
    return dict(arrays), dict(meta), json.loads(meta["program"])


def _rewrite(path, arrays, meta, program=None):
    meta = dict(meta)
    if program is not None:
        meta["program"] = json.dumps(program)
    with open(path, "wb") as f:
        f.write(to_safetensors(arrays, meta))


class _Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.fc(out[:, -1]), h


def test_fresh_subprocess_matches_eager(saved, tmp_path):
    model, path = saved
    rnn = _Recurrent().eval()
    rpath = tmp_path / "rnn.tessera"
    ts.export.export(rnn, (ts.randn(2, 3, 4),), dynamic_shapes={"x": {0: "batch"}}).save(rpath)
    x, xr = ts.randn(5, 4), ts.randn(6, 3, 4)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "xr.npy", xr.numpy())
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tessera as ts
        prog = ts.export.load({str(path)!r})
        y = prog(ts.tensor(np.load({str(tmp_path / "x.npy")!r})))
        np.save({str(tmp_path / "y.npy")!r}, y.numpy())
        out, h = ts.export.load({str(rpath)!r})(np.load({str(tmp_path / "xr.npy")!r}))
        np.save({str(tmp_path / "yr.npy")!r}, out.numpy())
        np.save({str(tmp_path / "hr.npy")!r}, h.numpy())
        assert not [m for m in sys.modules if "test_export" in m or m.startswith("tests")]
        print(prog.signatures["serving_default"])
        """
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "input: float32[batch, 4]" in res.stdout
    with ts.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=1e-6, atol=1e-6)
    with ts.no_grad():
        out, h = rnn(xr)
    np.testing.assert_allclose(np.load(tmp_path / "yr.npy"), out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "hr.npy"), h.numpy(), rtol=1e-5, atol=1e-6)


def test_golden_v1_file_still_loads():
    prog = ts.export.load(os.path.join(DATA, "linear_relu_v1.tessera"))
    assert prog.metadata["format_version"] == 1
    m = _golden_model()
    for n in (1, 4):
        x = ts.randn(n, 3)
        with ts.no_grad():
            np.testing.assert_allclose(prog(x).numpy(), m(x).numpy(), rtol=1e-6, atol=1e-6)


def test_metadata(saved):
    _, path = saved
    prog = ts.export.load(path)
    assert prog.metadata == {"tessera_version": ts.__version__, "opset_version": ts.export.OPSET_VERSION,
                             "format_version": ts.export.FORMAT_VERSION}  # fmt: skip
    _, meta, program = _parts(path)
    assert meta["format"] == "tessera.export"
    assert set(program["opset"]["ops"]) >= {"matmul", "add"}


def test_truncated_file(saved, tmp_path):
    _, path = saved
    data = open(path, "rb").read()
    for cut in (4, 40, len(data) // 2, len(data) - 3):
        bad = tmp_path / "cut.tessera"
        bad.write_bytes(data[:cut])
        with pytest.raises(ts.export.ExportError, match="cut.tessera.*(truncated|corrupt|only 4 bytes)"):
            ts.export.load(bad)


def test_wrong_offsets(saved, tmp_path):
    _, path = saved
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    key = next(k for k in header if k != "__metadata__")
    begin, end = header[key]["data_offsets"]
    header[key]["data_offsets"] = [begin + 4, end + 4]
    text = json.dumps(header).encode()
    bad = tmp_path / "offsets.tessera"
    bad.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n :])
    with pytest.raises(ts.export.ExportError, match="offsets.tessera.*(truncated or corrupt)"):
        ts.export.load(bad)


def test_unknown_op(saved):
    _, path = saved
    arrays, meta, program = _parts(path)
    program["signatures"]["serving_default"]["graph"]["nodes"][0]["op"] = "os.system"
    _rewrite(path, arrays, meta, program)
    with pytest.raises(
        ts.export.ExportError, match="uses the op 'os.system', which this Tessera does not have"
    ):
        ts.export.load(path)
    program["opset"]["ops"].append("os.system")
    _rewrite(path, arrays, meta, program)
    with pytest.raises(
        ts.export.ExportError, match=r"uses the ops \['os.system'\], which this Tessera does not"
    ):
        ts.export.load(path)


def test_weights_that_do_not_fit_the_graph(saved, tmp_path):
    _, path = saved
    arrays, meta, program = _parts(path)
    key = next(k for k, a in arrays.items() if a.ndim == 2)
    arrays2 = dict(arrays, **{key: np.zeros((3, 3), np.float32)})
    _rewrite(path, arrays2, meta)
    with pytest.raises(
        ts.export.ExportError, match=r"the weight .* is float32\[3, 3\] in the file but the graph"
    ):
        ts.export.load(path)
    # the graph changed to match the new weight: its ops' shape rules catch it
    sig = program["signatures"]["serving_default"]
    name = key[len("weights/") :]
    vid = sig["state"].index(name) + len(sig["inputs"])
    sig["graph"]["inputs"][vid]["shape"] = [3, 3]
    _rewrite(path, arrays2, meta, program)
    with pytest.raises(ts.export.ExportError, match="serving_default"):
        ts.export.load(path)
    # a weight the graph reads is missing
    _rewrite(path, {k: v for k, v in arrays.items() if k != key}, meta)
    with pytest.raises(ts.export.ExportError, match="which the file does not hold"):
        ts.export.load(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p: p["signatures"]["serving_default"]["graph"]["nodes"][1]["inputs"].__setitem__(0, {"v": 999}),
         "not defined before use"),
        (lambda p: p["signatures"]["serving_default"]["graph"].__setitem__("outputs", [12345]), "not defined"),
        (lambda p: p["signatures"]["serving_default"].__setitem__("structure", {"seq": ["T", "T"]}),
         "output structure"),
        (lambda p: p["signatures"]["serving_default"]["graph"]["inputs"][0].__setitem__(
            "shape", [{"sym": [1, [7], 0, False]}, 4]), "bad size expression"),
        (lambda p: p["signatures"]["serving_default"]["graph"]["nodes"][0].__setitem__(
            "attrs", {"x": {"pickle": "gASV"}}), "unknown attribute tag"),
        # code smuggled into the names the plan renders as Python, or the strings lowered into C
        (lambda p: p["signatures"]["serving_default"]["graph"]["nodes"][0]["attrs"].__setitem__(
            "dim0=__import__('os').system('true'),x", 0), "bad attribute name"),
        (lambda p: p["signatures"]["serving_default"]["graph"]["nodes"][2]["inputs"].__setitem__(
            1, {"c": "0); system(\"true\"); (0"}), "not one an op takes"),
        (lambda p: p["signatures"]["serving_default"]["inputs"][0].__setitem__("dtype", "float64"),
         "does not match the graph"),
        (lambda p: p["signatures"]["serving_default"].pop("graph"), "malformed"),
        (lambda p: p["signatures"].__setitem__("serving_default", []), "not an object"),
    ],
)  # fmt: skip
def test_malformed_program_json(saved, edit, message):
    _, path = saved
    arrays, meta, program = _parts(path)
    edit(program)
    _rewrite(path, arrays, meta, program)
    with pytest.raises(ts.export.ExportError, match=message):
        ts.export.load(path)


def test_unreadable_program_json(saved):
    _, path = saved
    arrays, meta, _ = _parts(path)
    _rewrite(path, arrays, dict(meta, program="{not json"))
    with pytest.raises(ts.export.ExportError, match="unreadable program JSON"):
        ts.export.load(path)
    _rewrite(path, arrays, dict(meta, program="[" * 100000 + "]" * 100000))
    with pytest.raises(ts.export.ExportError):
        ts.export.load(path)


@pytest.mark.parametrize(
    "where, value",
    [("format_version", "2"), ("opset", 99), ("ir", 99)],
)
def test_newer_versions_ask_for_an_upgrade(saved, where, value):
    _, path = saved
    arrays, meta, program = _parts(path)
    if where == "format_version":
        meta["format_version"] = str(ts.export.FORMAT_VERSION + 1)
    elif where == "opset":
        program["opset"]["version"] = value
    else:
        program["signatures"]["serving_default"]["graph"]["format"] = value
    _rewrite(path, arrays, meta, program)
    with pytest.raises(ts.export.ExportError, match="upgrade Tessera"):
        ts.export.load(path)


def test_other_files_are_refused(tmp_path):
    ckpt = tmp_path / "ckpt.safetensors"
    ts.save({"w": ts.randn(2)}, ckpt)
    with pytest.raises(ts.export.ExportError, match="not an exported Tessera program"):
        ts.export.load(ckpt)
    pk = tmp_path / "evil.tessera"
    pk.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ts.export.ExportError, match="pickle"):
        ts.export.load(pk)
    with pytest.raises(FileNotFoundError):
        ts.export.load(tmp_path / "missing.tessera")
    with pytest.raises(ValueError, match="backend must be one of"):
        ts.export.load(ckpt, backend="gpu")


def test_loading_never_unpickles(saved, monkeypatch):
    _, path = saved

    def refuse(*a, **k):
        raise AssertionError("unpickling during ts.export.load")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    prog = ts.export.load(path)
    assert tuple(prog(ts.randn(3, 4)).shape) == (3, 2)


def test_save_is_atomic(saved, tmp_path, monkeypatch):
    _, path = saved
    before = open(path, "rb").read()
    prog = ts.export.load(path)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "fsync", boom)  # fails after the temporary file is written, before the rename
    with pytest.raises(RuntimeError, match="disk full"):
        prog.save(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["model.tessera"]
