"""ts.tensorboard.SummaryWriter: event files read back with the tensorboard package's own reader."""

import io
import os
import sys

import numpy as np
import pytest

import tessera as ts

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from tessera.tensorboard import SummaryWriter  # noqa: E402

_ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0, "compressedHistograms": 0}


def _read(path):
    acc = EventAccumulator(str(path), size_guidance=_ALL)
    acc.Reload()
    return acc


def test_import_is_lazy():
    # ``import tessera`` must not pull in tensorboard or protobuf.
    code = "import sys, tessera; assert 'tensorboard' not in sys.modules and 'google.protobuf' not in sys.modules"
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)


def test_scalars_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_scalar("tensor_value", ts.tensor(2.5), 7)
        w.add_scalar("array_value", np.array([3.25], np.float32), 8)
        w.add_scalar("new", ts.tensor(0.125), 3, new_style=True)
        w.add_scalar("new64", 0.1, 4, new_style=True, double_precision=True)
    acc = _read(tmp_path)
    ev = acc.Scalars("loss")
    assert [e.step for e in ev] == list(range(5))
    np.testing.assert_allclose([e.value for e in ev], [1.0 / (s + 1) for s in range(5)], rtol=1e-7)
    assert [(e.step, e.value) for e in acc.Scalars("tensor_value")] == [(7, 2.5)]
    assert [(e.step, e.value) for e in acc.Scalars("array_value")] == [(8, 3.25)]
    (t,) = acc.Tensors("new")
    assert t.step == 3 and list(t.tensor_proto.float_val) == [0.125]
    assert acc.SummaryMetadata("new").plugin_data.plugin_name == "scalars"
    assert list(acc.Tensors("new64")[0].tensor_proto.double_val) == [0.1]


def test_walltime_and_files(tmp_path):
    w = SummaryWriter(tmp_path, filename_suffix=".x")
    w.add_scalar("a", 1.0, 0, walltime=1234.5)
    w.close()
    w.close()  # double close is harmless
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("events.out.tfevents.") and files[0].endswith(".x")
    assert _read(tmp_path).Scalars("a")[0].wall_time == 1234.5


def test_default_log_dir(tmp_path, monkeypatch):
    import socket

    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.close()
    d = w.get_logdir()
    assert d.startswith("runs" + os.sep) and d.endswith("_" + socket.gethostname() + "_exp")
    assert os.path.isdir(d)


def test_add_scalars_layout(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss/all", {"train": step, "val": 10 + step}, step)
    sub = sorted(p for p in os.listdir(tmp_path) if (tmp_path / p).is_dir())
    assert sub == ["loss_all_train", "loss_all_val"]
    for name, offset in (("loss_all_train", 0), ("loss_all_val", 10)):
        ev = _read(tmp_path / name).Scalars("loss/all")
        assert [(e.step, e.value) for e in ev] == [(s, offset + s) for s in range(3)]


def test_histogram(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", ts.tensor(values), 1)
        w.add_histogram("fixed", np.arange(10.0), 2, bins=5)
        w.add_histogram("bf16", ts.ones(4, dtype=ts.bfloat16), 3, bins=3)
        w.add_histogram("maxbins", values, 4, bins=100, max_bins=10)
    acc = _read(tmp_path)
    (h,) = acc.Histograms("w")
    hv = h.histogram_value
    assert h.step == 1 and hv.num == 1000
    assert hv.min == pytest.approx(values.min()) and hv.max == pytest.approx(values.max())
    assert hv.sum == pytest.approx(values.astype(np.float64).sum(), rel=1e-9, abs=1e-9)
    assert hv.sum_squares == pytest.approx((values.astype(np.float64) ** 2).sum())
    assert sum(hv.bucket) == 1000
    assert list(hv.bucket_limit) == sorted(hv.bucket_limit)
    fixed = acc.Histograms("fixed")[0].histogram_value
    # np.histogram(arange(10), 5): edges 0, 1.8, ..., 9; counts 2 each; a leading empty bin keeps edge 0.
    np.testing.assert_allclose(fixed.bucket_limit, [0.0, 1.8, 3.6, 5.4, 7.2, 9.0])
    assert list(fixed.bucket) == [0.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    assert (fixed.min, fixed.max, fixed.num, fixed.sum, fixed.sum_squares) == (0, 9, 10, 45, 285)
    assert acc.Histograms("bf16")[0].histogram_value.num == 4
    mb = acc.Histograms("maxbins")[0].histogram_value
    assert len(mb.bucket) <= 11 and sum(mb.bucket) == 1000


def test_histogram_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="add_histogram.*NaN"):
            w.add_histogram("bad", np.array([1.0, np.nan]))
        with pytest.raises(ValueError, match="empty"):
            w.add_histogram("empty", np.zeros(0))
        with pytest.raises(ValueError, match="invalid bins"):
            w.add_histogram("b", np.ones(3), bins="nonsense")


def _decode_png(data):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("fmt", ["CHW", "HWC", "HW"])
def test_image(tmp_path, fmt):
    rng = np.random.default_rng(1)
    hwc = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    if fmt == "CHW":
        img, expect = hwc.transpose(2, 0, 1), hwc
    elif fmt == "HWC":
        img, expect = hwc, hwc
    else:
        img, expect = hwc[:, :, 0], hwc[:, :, :1]
    with SummaryWriter(tmp_path) as w:
        w.add_image("img", ts.tensor(img), 4, dataformats=fmt)
    (ev,) = _read(tmp_path).Images("img")
    assert ev.step == 4 and (ev.height, ev.width) == (5, 7)
    png = ev.encoded_image_string
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    try:
        decoded = _decode_png(png)
    except ImportError:
        return
    np.testing.assert_array_equal(decoded.reshape(expect.shape), expect)


def test_image_float_scaling_and_rgba(tmp_path):
    img = np.linspace(0, 1, 2 * 3 * 4, dtype=np.float32).reshape(4, 2, 3)  # CHW, 4 channels = RGBA
    img[0, 0, 0] = 2.0  # clipped to 255
    with SummaryWriter(tmp_path) as w:
        w.add_image("rgba", img, 0)
    ev = _read(tmp_path).Images("rgba")[0]
    assert (ev.height, ev.width) == (2, 3)
    pytest.importorskip("PIL")
    decoded = _decode_png(ev.encoded_image_string)
    expect = (np.clip(img.transpose(1, 2, 0) * 255, 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(decoded, expect)


def test_images_grid(tmp_path):
    batch = np.arange(10 * 2 * 3, dtype=np.uint8).reshape(10, 1, 2, 3) * 4  # NCHW, greyscale
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", batch, 1)
        w.add_images("nhwc", batch.transpose(0, 2, 3, 1), 1, dataformats="NHWC")
        with pytest.raises(ValueError, match="dataformats"):
            w.add_images("bad", batch, 1, dataformats="CHW")
    acc = _read(tmp_path)
    ev = acc.Images("batch")[0]
    assert (ev.height, ev.width) == (2 * 2, 8 * 3)  # 10 images, 8 per row -> 2 rows
    assert acc.Images("nhwc")[0].encoded_image_string == ev.encoded_image_string
    pytest.importorskip("PIL")
    grid = _decode_png(ev.encoded_image_string)
    np.testing.assert_array_equal(grid[2:4, 3:6], batch[9, 0])  # image 9: row 1, column 1
    np.testing.assert_array_equal(grid[0:2, 21:24], batch[7, 0])
    assert (grid[2:4, 6:] == 0).all()  # padding


def test_image_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=r"add_image\('x'\).*channels"):
            w.add_image("x", np.zeros((5, 4, 4)))
        with pytest.raises(ValueError, match="dataformats"):
            w.add_image("x", np.zeros((3, 4, 4)), dataformats="NCHW")
        with pytest.raises(ValueError, match="3-D image"):
            w.add_image("x", np.zeros((4, 4)))


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **world** ü", 2)
        with pytest.raises(TypeError, match="text_string"):
            w.add_text("bad", 3)
    acc = _read(tmp_path)
    (ev,) = acc.Tensors("notes/text_summary")
    assert ev.step == 2 and ev.tensor_proto.string_val == ["hello **world** ü".encode()]
    assert acc.SummaryMetadata("notes/text_summary").plugin_data.plugin_name == "text"


def test_graph(tmp_path):
    nn = ts.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x))) * 2.0

    net = Net()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(net, ts.randn(3, 4))
    g = _read(tmp_path).Graph()
    nodes = {n.name: n for n in g.node}
    assert "input/input.0" in nodes and "output/output.0" in nodes
    for p in (
        "Net/Linear[fc1]/weight",
        "Net/Linear[fc1]/bias",
        "Net/Linear[fc2]/weight",
        "Net/Linear[fc2]/bias",
    ):
        assert nodes[p].op == "Parameter"
    ops = [n for n in g.node if n.op not in ("IO Node", "Parameter")]
    assert any(n.name.startswith("Net/ReLU[act]/relu") for n in ops)
    assert any(n.name.startswith("Net/Linear[fc1]/") and n.op == "matmul" for n in ops)
    # every edge points at an existing node; the output comes from the final multiply by 2
    for n in g.node:
        for src in n.input:
            assert src in nodes, (n.name, src)
    (out_src,) = nodes["output/output.0"].input
    assert nodes[out_src].op == "mul" and nodes[out_src].name.startswith("Net/mul")
    shape = [d.size for d in nodes[out_src].attr["_output_shapes"].list.shape[0].dim]
    assert shape == [3, 2]
    # tracing leaves the module and the dispatcher as they were
    from tessera.core import dispatch

    assert not dispatch.is_tracing()
    assert not net._forward_hooks and not net.fc1._forward_pre_hooks
    assert net(ts.ones(1, 4)).shape == (1, 2)


def test_graph_requires_input(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="input_to_model"):
            w.add_graph(ts.nn.Linear(2, 2))


def test_hparams(tmp_path):
    from tensorboard.plugins.hparams import metadata

    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "opt": "adam", "bn": True, "skip": None}, {"hp/acc": 0.97}, run_name="r1")
    run = tmp_path / "r1"
    acc = _read(run)
    assert [(e.value) for e in acc.Scalars("hp/acc")] == [pytest.approx(0.97)]
    meta = acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG)
    ssi = metadata.parse_session_start_info_plugin_data(meta.plugin_data.content)
    assert ssi.hparams["lr"].number_value == 0.1
    assert ssi.hparams["opt"].string_value == "adam"
    assert ssi.hparams["bn"].bool_value is True
    assert "skip" not in ssi.hparams
    exp = metadata.parse_experiment_plugin_data(
        acc.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    )
    assert [h.name for h in exp.hparam_infos] == ["lr", "opt", "bn"]
    assert [m.name.tag for m in exp.metric_infos] == ["hp/acc"]
    with SummaryWriter(tmp_path) as w, pytest.raises(TypeError, match="add_hparams"):
        w.add_hparams([("lr", 1)], {})


def test_purge_step_and_reopen(tmp_path):
    w = SummaryWriter(tmp_path, purge_step=5)
    w.add_scalar("a", 1.0, 5)
    w.close()
    w.add_scalar("a", 2.0, 6)  # reopens a new event file after close
    w.close()
    assert len(os.listdir(tmp_path)) == 2
    assert [e.value for e in _read(tmp_path).Scalars("a")] == [1.0, 2.0]


def test_flush_makes_data_visible(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=1000, max_queue=1000)
    w.add_scalar("a", 3.0, 0)
    w.flush()
    assert [e.value for e in _read(tmp_path).Scalars("a")] == [3.0]
    w.close()


def test_validation(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="single value"):
            w.add_scalar("a", ts.ones(3))
        with pytest.raises(TypeError, match="tag"):
            w.add_scalar(3, 1.0)
        with pytest.raises(TypeError, match="global_step"):
            w.add_scalar("a", 1.0, "x")


def test_missing_tensorboard_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install tessera\[tensorboard\]"):
        SummaryWriter("unused")


def test_graph_of_unbuilt_keras_model(tmp_path):
    keras = ts.keras
    if not hasattr(keras.layers, "Dense") or not issubclass(keras.Sequential, ts.nn.Module):
        pytest.skip("ts.keras layers not available")
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, ts.randn(2, 3))
    names = [n.name for n in _read(tmp_path).Graph().node]
    # built before tracing: the graph holds one forward pass, every op scoped in its layer
    assert names[0] == "input/input.0" and names[-1] == "output/output.0"
    assert not any(n.endswith("constant_0") for n in names)
    assert {n.split("/")[1] for n in names[1:-1]} == {"Dense[0]", "Dense[1]"}
