"""The model server's concurrency and lifecycle: inference off the event loop, draining on unload, warmup,
ONNX models, the access log and ``python -m tessera.serve``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import tessera as ts  # noqa: E402
from tessera.serve import Server  # noqa: E402

X = [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0]]


def _save(model_dir, version, seed):
    ts.manual_seed(seed)
    lin = ts.nn.Linear(4, 3)
    prog = ts.export.export(lin, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}})
    (model_dir / str(version)).mkdir(parents=True)
    prog.save(model_dir / str(version) / "model.tessera")
    lin.eval()
    return lin


def _eager(lin, x):
    with ts.no_grad():
        return lin(ts.tensor(np.asarray(x, np.float32))).numpy()


def _slow(handle, gate: threading.Event):
    """Make ``handle`` block in its runner until ``gate`` is set (then run the real model)."""
    run = handle._runner
    started = threading.Event()

    def slow(sig, arrays):
        started.set()
        assert gate.wait(20)
        return run(sig, arrays)

    handle._runner = slow
    return started


@pytest.fixture
def slow_server(tmp_path):
    lin = _save(tmp_path / "m", 1, 0)
    srv = Server(tmp_path, rest_port=0, poll_seconds=0, workers=2).start()
    gate = threading.Event()
    try:
        yield srv, lin, gate, tmp_path
    finally:
        gate.set()
        srv.stop()


def _post_in_thread(url, body, out):
    def go():
        out.append(httpx.post(url, json=body, timeout=30))

    t = threading.Thread(target=go)
    t.start()
    return t


def test_serve_health_answers_during_inference(slow_server):
    srv, lin, gate, _ = slow_server
    started = _slow(srv.repository.get("m"), gate)
    out = []
    t = _post_in_thread(f"{srv.url}/v1/models/m:predict", {"instances": X}, out)
    assert started.wait(20)
    t0 = time.perf_counter()
    r = httpx.get(f"{srv.url}/healthz", timeout=5)
    assert r.status_code == 200 and time.perf_counter() - t0 < 2
    assert httpx.get(f"{srv.url}/v1/models/m", timeout=5).status_code == 200
    assert t.is_alive()  # the predict is still blocked
    gate.set()
    t.join(20)
    np.testing.assert_allclose(out[0].json()["predictions"], _eager(lin, X), rtol=1e-5, atol=1e-6)


def test_serve_unload_waits_for_inflight(slow_server):
    srv, lin1, gate, root = slow_server
    started = _slow(srv.repository.get("m"), gate)
    out = []
    t = _post_in_thread(f"{srv.url}/v1/models/m:predict", {"instances": X}, out)
    assert started.wait(20)
    lin2 = _save(root / "m", 2, 5)
    srv.repository.poll()  # version 2 serves; version 1 drains
    states = {s["version"]: s["state"] for s in srv.repository.status("m")}
    assert states == {"2": "AVAILABLE", "1": "UNLOADING"}
    r = httpx.post(f"{srv.url}/v1/models/m:predict", json={"instances": X}, timeout=30)
    np.testing.assert_allclose(r.json()["predictions"], _eager(lin2, X), rtol=1e-5, atol=1e-6)
    gate.set()
    t.join(20)
    np.testing.assert_allclose(out[0].json()["predictions"], _eager(lin1, X), rtol=1e-5, atol=1e-6)
    srv.repository.join_unloads(10)
    assert {s["version"]: s["state"] for s in srv.repository.status("m")}["1"] == "END"


def test_serve_failed_warmup_keeps_old_version(tmp_path):
    lin1 = _save(tmp_path / "w", 1, 0)
    with Server(tmp_path, rest_port=0, poll_seconds=0) as srv:
        (tmp_path / "w" / "config.json").write_text(json.dumps({"warmup": [{"instances": [[1.0, 2.0]]}]}))
        _save(tmp_path / "w", 2, 1)
        srv.repository.poll()
        st = {s["version"]: s for s in srv.repository.status("w")}
        assert st["2"]["state"] == "END" and "warmup" in st["2"]["status"]["error_message"]
        assert st["1"]["state"] == "AVAILABLE"
        r = httpx.post(f"{srv.url}/v1/models/w:predict", json={"instances": X}, timeout=30)
        np.testing.assert_allclose(r.json()["predictions"], _eager(lin1, X), rtol=1e-5, atol=1e-6)


def test_serve_onnx_model(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    ts.manual_seed(3)
    lin = ts.nn.Linear(4, 3)
    lin.eval()
    (tmp_path / "o" / "1").mkdir(parents=True)
    ts.onnx.export(lin, ts.randn(2, 4), str(tmp_path / "o" / "1" / "model.onnx"), input_names=["x"],
                   dynamic_axes={"x": {0: "batch"}})  # fmt: skip
    with Server(tmp_path, rest_port=0, poll_seconds=0) as srv:
        r = httpx.post(f"{srv.url}/v1/models/o:predict", json={"inputs": {"x": X}}, timeout=30)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["outputs"], _eager(lin, X), rtol=1e-5, atol=1e-6)
        r = httpx.post(f"{srv.url}/v1/models/o:predict", json={"inputs": {"x": [[1.0]]}}, timeout=30)
        assert r.status_code == 400 and "'x'" in r.json()["error"]


def test_serve_access_log(tmp_path, caplog):
    _save(tmp_path / "a", 1, 0)
    with caplog.at_level("INFO", logger="tessera.serve.access"):
        with Server(tmp_path, rest_port=0, poll_seconds=0) as srv:
            httpx.post(f"{srv.url}/v1/models/a:predict", json={"instances": X}, timeout=30)
    recs = [r for r in caplog.records if r.name == "tessera.serve.access"]
    assert recs and recs[-1].status == 200 and recs[-1].model == "a" and recs[-1].version == "1"


def test_serve_python_m(tmp_path):
    lin = _save(tmp_path / "c", 1, 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tessera.serve", "--model-repository", str(tmp_path),
                             "--rest-port", str(port), "--poll-seconds", "0"])  # fmt: skip
    try:
        deadline, r = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v1/models/c:predict", json={"instances": X}, timeout=5
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r is not None and r.status_code == 200
        np.testing.assert_allclose(r.json()["predictions"], _eager(lin, X), rtol=1e-5, atol=1e-6)
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_batching_from_config(tmp_path):
    pytest.importorskip("tessera.serve.batching")
    lin = _save(tmp_path / "b", 1, 0)
    (tmp_path / "b" / "config.json").write_text(
        json.dumps({"max_batch_size": 4, "batch_timeout_micros": 200_000, "max_enqueued_batches": 8})
    )
    rows = [[float(i), 1.0, -2.0, 0.5 * i] for i in range(4)]
    with Server(tmp_path, rest_port=0, poll_seconds=0, workers=4) as srv:
        handle = srv.repository.get("b")
        assert handle.batcher is not None
        out, threads = [None] * 4, []
        for i in range(4):

            def go(i=i):
                out[i] = httpx.post(
                    f"{srv.url}/v1/models/b:predict", json={"instances": [rows[i]]}, timeout=30
                )

            threads.append(threading.Thread(target=go))
            threads[-1].start()
        for t in threads:
            t.join(30)
        for i in range(4):
            assert out[i].status_code == 200, out[i].text
            np.testing.assert_allclose(
                out[i].json()["predictions"], _eager(lin, [rows[i]]), rtol=1e-5, atol=1e-6
            )
        st = handle.batcher.stats()
        assert st.requests == 4 and st.batches < 4
        r = httpx.post(f"{srv.url}/v1/models/b:predict", json={"instances": rows + rows}, timeout=30)
        assert r.status_code == 400 and "error" in r.json()


def test_serve_model_failure_is_500_and_server_survives(slow_server):
    srv, lin, _, _ = slow_server
    handle = srv.repository.get("m")
    run = handle._runner

    def boom(sig, arrays):
        raise RuntimeError("kernel exploded")

    handle._runner = boom
    r = httpx.post(f"{srv.url}/v1/models/m:predict", json={"instances": X}, timeout=30)
    assert r.status_code == 500 and "kernel exploded" in r.json()["error"]
    handle._runner = run
    r = httpx.post(f"{srv.url}/v1/models/m:predict", json={"instances": X}, timeout=30)
    np.testing.assert_allclose(r.json()["predictions"], _eager(lin, X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"rest_port": 70000}, "rest_port"),
        ({"poll_seconds": -1}, "poll_seconds"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"workers": 0}, "workers"),
    ],
)
def test_serve_server_arguments(tmp_path, kw, needle):
    with pytest.raises(ValueError, match=needle):
        Server(tmp_path, **kw)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        Server(tmp_path / "missing")
