"""ts.export: capture, save/load and running of standalone programs, compared with eager Tessera."""

import numpy as np
import pytest

import tessera as ts

nn = ts.nn


def _eager(fn, *xs):
    with ts.no_grad():
        out = fn(*xs)
    return out


def _close(a, b, tol=1e-5):
    a = a.detach().numpy() if isinstance(a, ts.Tensor) else a
    b = b.detach().numpy() if isinstance(b, ts.Tensor) else b
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _roundtrip(prog, tmp_path, backend):
    path = tmp_path / "model.tessera"
    prog.save(path)
    return ts.export.load(path, backend=backend)


class LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def _mlp():
    return nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 3))


def _cnn():
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 5),
    )  # fmt: skip
    m.train()
    with ts.no_grad():
        m(ts.randn(6, 3, 8, 8) * 2 + 1)  # running statistics away from their initial values
    return m


CASES = {
    "mlp": (_mlp, (4,), "input"),
    "cnn": (_cnn, (3, 8, 8), "input"),
    "lstm": (LSTMHead, (5, 4), "x"),
}


@pytest.mark.parametrize("backend", ["numpy", "auto"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_models_dynamic_batch_roundtrip(case, backend, tmp_path):
    ts.manual_seed(0)
    make, tail, name = CASES[case]
    model = make()
    model.train()  # export switches to eval mode for the capture and restores the flag
    prog = ts.export.export(model, (ts.randn(2, *tail),), dynamic_shapes={name: {0: "batch"}})
    assert model.training
    model.eval()
    sig = prog.signatures["serving_default"]
    assert sig.inputs == [{"name": name, "dtype": "float32", "shape": ["batch", *tail]}]
    assert sig.outputs[0]["shape"][0] == "batch"
    loaded = _roundtrip(prog, tmp_path, backend)
    for n in (1, 2, 7):
        x = ts.randn(n, *tail)
        ref = _eager(model, x)
        _close(prog(x), ref)
        _close(loaded(x), ref)


def test_static_shape_is_checked():
    model = _mlp().eval()
    prog = ts.export.export(model, (ts.randn(3, 4),))
    assert prog.signatures["serving_default"].inputs[0]["shape"] == [3, 4]
    with pytest.raises(ValueError, match=r"input 'input': expected float32\[3, 4\], got float32\[5, 4\]"):
        prog(ts.randn(5, 4))
    with pytest.raises(ValueError, match=r"expected float32\[3, 4\], got float64\[3, 4\]"):
        prog(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="expected 1 inputs"):
        prog(ts.randn(3, 4), ts.randn(3, 4))
    with pytest.raises(TypeError, match="missing input 'input'"):
        prog()
    with pytest.raises(TypeError, match="must be a Tensor or a NumPy array"):
        prog([[1.0] * 4] * 3)
    _close(prog(input=np.ones((3, 4), np.float32)), _eager(model, ts.ones(3, 4)))


def test_shared_symbol_and_dict_outputs(tmp_path):
    lin = nn.Linear(4, 4)

    def fn(a, b):
        h = lin(a) + b
        return {"sum": h.sum(-1), "both": (h, a * 2)}

    prog = ts.export.export(
        fn, (ts.randn(2, 4), ts.randn(2, 4)), dynamic_shapes={"a": {0: "n"}, "b": {0: "n"}}
    )
    loaded = _roundtrip(prog, tmp_path, "numpy")
    a, b = ts.randn(6, 4), ts.randn(6, 4)
    ref = _eager(fn, a, b)
    for p in (prog, loaded):
        out = p(a, b)
        assert sorted(out) == ["both", "sum"]
        _close(out["sum"], ref["sum"])
        _close(out["both"][0], ref["both"][0])
        _close(out["both"][1], ref["both"][1])
    with pytest.raises(ValueError, match=r"input 'b'.*the dimension 'n' is 6 in an earlier input"):
        loaded(a, ts.randn(5, 4))


def test_multiple_signatures_share_weights(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(6, 8), nn.Tanh())
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.encoder(x))

        def embed(self, x):
            return self.encoder(x)

    ts.manual_seed(1)
    net = Net().eval()
    x = ts.randn(2, 6)
    prog = ts.export.export(
        net, (x,), dynamic_shapes={"x": {0: "batch"}},
        signatures={"predict": (net, (x,), {"x": {0: "batch"}}), "embed": (net.embed, (x,), [{0: "batch"}])},
    )  # fmt: skip
    assert sorted(prog.signatures) == ["embed", "predict", "serving_default"]
    assert sorted(prog.weights) == ["encoder.0.bias", "encoder.0.weight", "head.bias", "head.weight"]
    loaded = _roundtrip(prog, tmp_path, "auto")
    x3 = ts.randn(3, 6)
    for p in (prog, loaded):
        _close(p(x3), _eager(net, x3))
        _close(p.signatures["predict"](x3), _eager(net, x3))
        _close(p.signatures["embed"](x3), _eager(net.embed, x3))
    assert loaded.signatures["embed"].outputs == [
        {"name": "output_0", "dtype": "float32", "shape": ["batch", 8]}
    ]


def test_outputs_do_not_alias_the_program():
    w = ts.randn(3, 3)

    def fn(x):
        return x, w.T

    prog = ts.export.export(fn, (ts.randn(2, 3),))
    x = ts.randn(2, 3)
    a, wt = prog(x)
    a._data[...] = 0
    wt._data[...] = 0
    assert not np.all(x.numpy() == 0)
    _close(prog(x)[1], w.T)


def test_export_errors():
    model = _mlp()
    with pytest.raises(TypeError, match="ts.export.export: example_args must be a tuple"):
        ts.export.export(model, [[1.0]] if False else 3)
    with pytest.raises(ValueError, match="dynamic_shapes names 'y', which is not an input"):
        ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"y": {0: "batch"}})
    with pytest.raises(ValueError, match="dim 5 is out of range"):
        ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {5: "batch"}})
    with pytest.raises(ValueError, match="has size 1 in the example inputs"):
        ts.export.export(model, (ts.randn(1, 4),), dynamic_shapes={"input": {0: "batch"}})
    with pytest.raises(ts.export.ExportError, match="not the same for every size"):
        ts.export.export(LSTMHead(), (ts.randn(2, 5, 4),), dynamic_shapes={"x": {1: "seq"}})

    def reads(x):
        return x * float(x.sum())

    with pytest.raises(ts.export.ExportError, match="cannot be captured as one graph"):
        ts.export.export(reads, (ts.randn(2, 2),))

    def writes(x):
        x.add_(1)
        return x * 2

    with pytest.raises(ts.export.ExportError, match="writes an input in place"):
        ts.export.export(writes, (ts.randn(2, 2),))
    with pytest.raises(ts.export.ExportError, match="returned a int"):
        ts.export.export(lambda x: 3, (ts.randn(2, 2),))


def test_train_mode_dropout_is_eval(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    prog = ts.export.export(model, (ts.randn(2, 4),))
    x = ts.randn(2, 4)
    model.eval()
    _close(prog(x), _eager(model, x))


def test_keras_sequential_and_functional(tmp_path, capsys):
    k = ts.keras
    ts.manual_seed(2)
    seq = k.Sequential([k.Input(shape=(6,)), k.layers.Dense(5, activation="relu"), k.layers.Dropout(0.3),
                        k.layers.BatchNormalization(), k.layers.Dense(2)])  # fmt: skip
    path = tmp_path / "seq.tessera"
    seq.export(path)
    assert "Endpoints" in capsys.readouterr().out
    p = ts.export.load(path)
    for n in (1, 9):
        x = ts.randn(n, 6)
        _close(p(x), seq(x, training=False))

    a, b = k.Input(shape=(3,), name="a"), k.Input(shape=(4,), name="b")
    h = k.layers.Concatenate()([k.layers.Dense(4)(a), b])
    fmodel = k.Model([a, b], k.layers.Dense(2, activation="sigmoid")(h))
    fpath = tmp_path / "functional.tessera"
    fmodel.export(fpath, verbose=False)
    p = ts.export.load(fpath, backend="numpy")
    assert [s["name"] for s in p.signatures["serving_default"].inputs] == ["a", "b"]
    xa, xb = ts.randn(5, 3), ts.randn(5, 4)
    _close(p(xa, xb), fmodel([xa, xb], training=False))

    # explicit signatures: example arrays (static) or InputSpec-like specs
    spath = tmp_path / "static.tessera"
    seq.export(spath, verbose=False, input_signature=[np.zeros((3, 6), np.float32)])
    assert ts.export.load(spath).signatures["serving_default"].inputs[0]["shape"] == [3, 6]

    class Spec:
        shape, dtype = (None, 6), "float32"

    seq.export(spath, verbose=False, input_signature=[Spec()])
    assert ts.export.load(spath).signatures["serving_default"].inputs[0]["shape"] == ["batch", 6]


def test_keras_export_errors(tmp_path):
    k = ts.keras
    seq = k.Sequential([k.Input(shape=(6,)), k.layers.Dense(2)])
    with pytest.raises(ValueError, match="format 'tf_saved_model' is not supported.*format='tessera'"):
        seq.export(tmp_path / "m", format="tf_saved_model")
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        seq.export(tmp_path / "m", is_static=True)
    with pytest.raises(ValueError, match="pass input_signature"):
        k.Sequential([k.layers.Dense(2)]).export(tmp_path / "m")
    with pytest.raises(TypeError, match=r"input_signature\[0\] must be an InputSpec-like"):
        seq.export(tmp_path / "m", input_signature=[object()])
    assert not (tmp_path / "m").exists()


def test_integer_inputs_two_symbols(tmp_path):
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, ids):
            return self.fc(self.emb(ids).mean(1))

    model = Bag().eval()
    ids = ts.tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    prog = ts.export.export(model, (ids,), dynamic_shapes={"ids": {0: "batch", 1: "seq"}})
    assert prog.signatures["serving_default"].inputs[0] == {
        "name": "ids",
        "dtype": "int64",
        "shape": ["batch", "seq"],
    }
    loaded = _roundtrip(prog, tmp_path, "auto")
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 5), (7, 2)]:
        x = ts.tensor(rng.integers(0, 10, shape))
        _close(loaded(x), _eager(model, x))
    with pytest.raises(ValueError, match=r"expected int64\[batch, seq\], got int32\[2, 2\]"):
        loaded(np.zeros((2, 2), np.int32))


def test_concurrent_calls_at_different_sizes():
    import threading

    model = _mlp().eval()
    prog = ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}})
    errors = []

    def work(n):
        try:
            for _ in range(20):
                x = ts.randn(n, 4)
                _close(prog(x), _eager(model, x))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 3, 5, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_closure_modules_are_put_in_eval_mode_and_named():
    block = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))

    def fn(x):
        return block(x) * 2

    prog = ts.export.export(fn, (ts.randn(2, 4),))
    assert block.training
    assert sorted(prog.weights) == ["0.bias", "0.weight"]
    block.eval()
    x = ts.randn(2, 4)
    _close(prog(x), _eager(fn, x))
