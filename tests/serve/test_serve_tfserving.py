"""The model server's TF Serving REST API, repository, config and hot reload, against a real server."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import tessera as ts  # noqa: E402
from tessera.serve import Server  # noqa: E402
from tessera.serve.repository import ConfigError, parse_config  # noqa: E402


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


@pytest.fixture
def repo(tmp_path):
    lin = _save(tmp_path / "lin", 1, 0)
    return tmp_path, lin


@pytest.fixture
def server(repo):
    root, lin = repo
    srv = Server(root, rest_port=0, poll_seconds=0, max_body_bytes=4096, workers=2).start()
    client = httpx.Client(base_url=srv.url, timeout=30)
    try:
        yield srv, client, lin, root
    finally:
        client.close()
        srv.stop()


X = [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0], [3.0, 3.0, -3.0, 1.0]]


def test_serve_status_and_metadata(server):
    srv, c, _, _ = server
    r = c.get("/v1/models/lin")
    assert r.status_code == 200
    st = r.json()["model_version_status"]
    assert st == [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    assert c.get("/v1/models/lin/versions/1").json()["model_version_status"][0]["version"] == "1"
    md = c.get("/v1/models/lin/metadata").json()
    assert md["model_spec"] == {"name": "lin", "signature_name": "", "version": "1"}
    sig = md["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["inputs"]["input"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in sig["inputs"]["input"]["tensor_shape"]["dim"]] == ["-1", "4"]
    assert c.get("/healthz").status_code == 200


def test_serve_predict_row_and_columnar(server):
    _, c, lin, _ = server
    want = _eager(lin, X)
    r = c.post("/v1/models/lin:predict", json={"instances": X})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], want, rtol=1e-5, atol=1e-6)
    r = c.post("/v1/models/lin/versions/1:predict", json={"instances": [{"input": x} for x in X]})
    np.testing.assert_allclose(r.json()["predictions"], want, rtol=1e-5, atol=1e-6)
    r = c.post("/v1/models/lin:predict", json={"inputs": X, "signature_name": "serving_default"})
    np.testing.assert_allclose(r.json()["outputs"], want, rtol=1e-5, atol=1e-6)
    r = c.post("/v1/models/lin:predict", json={"inputs": {"input": X[:1]}})
    np.testing.assert_allclose(r.json()["outputs"], want[:1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "path, body, status, needle",
    [
        ("/v1/models/nope:predict", {"instances": X}, 404, "nope"),
        ("/v1/models/lin/versions/7:predict", {"instances": X}, 404, "version 7"),
        ("/v1/models/lin/labels/stable:predict", {"instances": X}, 404, "stable"),
        ("/v1/models/lin:predict", {"instances": [[1.0, 2.0]]}, 400, "[1, 2]"),
        ("/v1/models/lin:predict", {"instances": [["a", "b", "c", "d"]]}, 400, "input"),
        ("/v1/models/lin:predict", {"instances": [[1, 2, 3, 4], [1, 2]]}, 400, "input"),
        ("/v1/models/lin:predict", {"instances": [{"b64": base64.b64encode(b"xy").decode()}]}, 400, "bytes"),
        ("/v1/models/lin:predict", {"inputs": {"other": X}}, 400, "other"),
        ("/v1/models/lin:predict", {"instances": X, "signature_name": "nope"}, 404, "nope"),
        ("/v1/models/lin:predict", {"instances": X, "inputs": X}, 400, "exactly one"),
        ("/v1/models/lin:predict", [1, 2], 400, "object"),
        ("/v1/models/lin:classify", {"examples": []}, 501, "classify"),
        ("/v1/models/lin:regress", {"examples": []}, 501, "regress"),
    ],
)
def test_serve_bad_requests(server, path, body, status, needle):
    _, c, lin, _ = server
    r = c.post(path, json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    # the server and the model still work
    r = c.post("/v1/models/lin:predict", json={"instances": X})
    np.testing.assert_allclose(r.json()["predictions"], _eager(lin, X), rtol=1e-5, atol=1e-6)


def test_serve_malformed_oversize_and_methods(server):
    _, c, _, _ = server
    r = c.post("/v1/models/lin:predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    big = json.dumps({"instances": [[1.0, 2.0, 3.0, 4.0]] * 500})
    r = c.post("/v1/models/lin:predict", content=big)
    assert r.status_code == 413 and "4096" in r.json()["error"]
    assert c.get("/v1/models/lin:predict").status_code == 405
    assert c.post("/v1/models/lin").status_code == 405
    assert "error" in c.get("/v1/models/lin:predict").json()
    assert c.get("/v1/nothing").status_code == 404


def test_serve_metrics(server):
    _, c, _, _ = server
    c.post("/v1/models/lin:predict", json={"instances": X})
    c.post("/v1/models/lin:predict", json={"instances": [[1.0]]})
    text = c.get("/metrics").text
    assert 'tessera_serve_requests_total{api="predict",model="lin",status="200",version="1"} 1.0' in text
    assert 'tessera_serve_requests_total{api="predict",model="lin",status="400",version="1"} 1.0' in text
    assert "tessera_serve_request_latency_seconds_bucket" in text


def test_serve_two_servers_one_process(repo):
    root, lin = repo
    with Server(root, rest_port=0, poll_seconds=0) as a, Server(root, rest_port=0, poll_seconds=0) as b:
        assert a.port != b.port
        for s in (a, b):
            r = httpx.post(f"{s.url}/v1/models/lin:predict", json={"instances": X[:1]}, timeout=30)
            np.testing.assert_allclose(r.json()["predictions"], _eager(lin, X[:1]), rtol=1e-5, atol=1e-6)


def test_serve_labels_policy_and_hot_reload(tmp_path):
    lin1 = _save(tmp_path / "m", 1, 1)
    lin2 = _save(tmp_path / "m", 2, 2)
    (tmp_path / "m" / "config.json").write_text(
        json.dumps(
            {
                "version_policy": {"specific": [1, 2]},
                "version_labels": {"stable": 1, "canary": 2},
                "warmup": [{"instances": [[0.0, 0.0, 0.0, 0.0]]}],
            }
        )
    )
    with (
        Server(tmp_path, rest_port=0, poll_seconds=0) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        for path, lin in (("labels/stable", lin1), ("labels/canary", lin2), ("versions/1", lin1), ("", lin2)):
            url = f"/v1/models/m/{path}:predict" if path else "/v1/models/m:predict"
            r = c.post(url, json={"instances": X})
            np.testing.assert_allclose(r.json()["predictions"], _eager(lin, X), rtol=1e-5, atol=1e-6)
        # switch to latest:1, add a version 3: it serves after the poll, 1 and 2 unload
        (tmp_path / "m" / "config.json").write_text(json.dumps({"version_policy": {"latest": 1}}))
        lin3 = _save(tmp_path / "m", 3, 3)
        srv.repository.poll()
        srv.repository.join_unloads(10)
        states = {s["version"]: s["state"] for s in c.get("/v1/models/m").json()["model_version_status"]}
        assert states == {"3": "AVAILABLE", "2": "END", "1": "END"}
        r = c.post("/v1/models/m:predict", json={"instances": X})
        np.testing.assert_allclose(r.json()["predictions"], _eager(lin3, X), rtol=1e-5, atol=1e-6)
        assert c.post("/v1/models/m/versions/1:predict", json={"instances": X}).status_code == 404
        # a broken version 4 is reported and does not replace version 3
        (tmp_path / "m" / "4").mkdir()
        (tmp_path / "m" / "4" / "model.tessera").write_bytes(b"not a model")
        srv.repository.poll()
        st = {s["version"]: s for s in c.get("/v1/models/m").json()["model_version_status"]}
        assert st["4"]["state"] == "END" and st["4"]["status"]["error_code"] != "OK"
        assert st["4"]["status"]["error_message"]
        assert st["3"]["state"] == "AVAILABLE"
        r = c.post("/v1/models/m:predict", json={"instances": X})
        np.testing.assert_allclose(r.json()["predictions"], _eager(lin3, X), rtol=1e-5, atol=1e-6)


def test_serve_poller_picks_up_new_version(tmp_path):
    import time

    _save(tmp_path / "p", 1, 1)
    with Server(tmp_path, rest_port=0, poll_seconds=0.2) as srv:
        lin2 = _save(tmp_path / "p", 2, 2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            st = srv.repository.status("p")
            if any(s["version"] == "2" and s["state"] == "AVAILABLE" for s in st):
                break
            time.sleep(0.1)
        r = httpx.post(f"{srv.url}/v1/models/p:predict", json={"instances": X}, timeout=30)
        np.testing.assert_allclose(r.json()["predictions"], _eager(lin2, X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "cfg, needle",
    [
        ({"version_policy": {"latest": 0}}, "latest"),
        ({"version_policy": "newest"}, "version_policy"),
        ({"version_policy": {"specific": []}}, "specific"),
        ({"version_labels": {"stable": "one"}}, "stable"),
        ({"max_batch_size": -1}, "max_batch_size"),
        ({"batch_timeout_micros": 1.5}, "batch_timeout_micros"),
        ({"warmup": {"instances": []}}, "warmup"),
        ({"colour": 1}, "colour"),
    ],
)
def test_serve_config_validation(cfg, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_config(cfg)


def test_serve_config_parse():
    cfg = parse_config({"version_policy": {"latest": {"num_versions": 2}}, "max_batch_size": 8,
                        "batch_timeout_micros": 0, "max_enqueued_batches": 4})  # fmt: skip
    assert cfg.policy == ("latest", 2) and cfg.max_batch_size == 8 and cfg.batch_timeout_micros == 0
    assert cfg.select([1, 5, 3]) == [5, 3]
    assert parse_config({"version_policy": {"specific": [1, 3]}}).select([1, 2, 3]) == [3, 1]


def test_serve_bad_config_reported(tmp_path):
    _save(tmp_path / "bad", 1, 0)
    (tmp_path / "bad" / "config.json").write_text('{"version_policy": "sometimes"}')
    with Server(tmp_path, rest_port=0, poll_seconds=0) as srv:
        r = httpx.get(f"{srv.url}/v1/models/bad", timeout=30)
        st = r.json()["model_version_status"][0]
        assert st["state"] == "END" and "version_policy" in st["status"]["error_message"]


def test_serve_cli_args():
    from tessera.serve.__main__ import main

    assert main(["serve", "--model-repository", "/nonexistent/dir", "--rest-port", "0"]) == 2


def test_serve_two_signatures_two_inputs_two_outputs(tmp_path):
    ts.manual_seed(7)
    lin = ts.nn.Linear(4, 3)
    lin.eval()

    def both(a, b):
        return lin(a) + b, a.sum(-1)

    prog = ts.export.export(lin, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}},
                            signatures={"both": (both, (ts.randn(2, 4), ts.randn(2, 3)),
                                                 {"a": {0: "n"}, "b": {0: "n"}})})  # fmt: skip
    (tmp_path / "s" / "1").mkdir(parents=True)
    prog.save(tmp_path / "s" / "1" / "model.tessera")
    a = np.asarray(X, np.float32)
    b = np.arange(9, dtype=np.float32).reshape(3, 3)
    want0, want1 = _eager(lin, a) + b, a.sum(-1)
    with (
        Server(tmp_path, rest_port=0, poll_seconds=0) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        inst = [{"a": x, "b": y} for x, y in zip(X, b.tolist())]
        r = c.post("/v1/models/s:predict", json={"signature_name": "both", "instances": inst})
        assert r.status_code == 200, r.text
        preds = r.json()["predictions"]
        assert len(preds) == 3 and set(preds[0]) == {"output_0", "output_1"}
        np.testing.assert_allclose([p["output_0"] for p in preds], want0, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose([p["output_1"] for p in preds], want1, rtol=1e-5, atol=1e-5)
        r = c.post(
            "/v1/models/s:predict", json={"signature_name": "both", "inputs": {"a": X, "b": b.tolist()}}
        )
        outs = r.json()["outputs"]
        np.testing.assert_allclose(outs["output_0"], want0, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(outs["output_1"], want1, rtol=1e-5, atol=1e-5)
        r = c.post(
            "/v1/models/s:predict", json={"signature_name": "both", "inputs": {"a": X, "b": b[:2].tolist()}}
        )
        assert r.status_code == 400 and "'b'" in r.json()["error"]
        r = c.post("/v1/models/s:predict", json={"signature_name": "both", "instances": X})
        assert r.status_code == 400 and "2 inputs" in r.json()["error"]
        sigs = c.get("/v1/models/s/metadata").json()["metadata"]["signature_def"]["signature_def"]
        assert set(sigs) == {"serving_default", "both"} and set(sigs["both"]["inputs"]) == {"a", "b"}


def test_serve_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, tessera, tessera.serve; assert 'starlette' not in sys.modules and 'uvicorn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_serve_model_without_versions_and_malformed_paths(server):
    srv, c, _, root = server
    (root / "empty").mkdir()
    srv.repository.poll()
    r = c.get("/v1/models/empty")
    assert r.status_code == 404 and "empty" in r.json()["error"]
    assert c.get("/v1/models/lin/versions").status_code == 404
    assert c.get("/v1/models/lin/whatever/1").status_code == 404
    assert c.post("/v1/models/lin:explain", json={}).status_code == 404
