"""One real server on a loopback port answers TF Serving's REST API and KServe v2 for the same exported model:
httpx on /v1 and tritonclient.http on /v2 get the eager model's outputs."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
tritonclient_http = pytest.importorskip("tritonclient.http")


@pytest.fixture
def served(tmp_path):
    ts.manual_seed(0)
    model = ts.nn.Sequential(ts.nn.Linear(4, 8), ts.nn.ReLU(), ts.nn.Linear(8, 3)).eval()
    version = tmp_path / "mlp" / "1"
    version.mkdir(parents=True)
    ts.export.export(model, (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}}).save(
        version / "model.tessera"
    )
    server = ts.serve.Server(tmp_path, rest_port=0, poll_seconds=0).start()
    try:
        yield server, model
    finally:
        server.stop()


def test_tfserving_and_kserve_give_the_eager_outputs(served):
    server, model = served
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    with ts.no_grad():
        want = model(ts.tensor(x)).numpy()
    r = httpx.post(f"{server.url}/v1/models/mlp:predict", json={"instances": x.tolist()})
    assert r.status_code == 200
    np.testing.assert_allclose(np.array(r.json()["predictions"]), want, rtol=1e-5, atol=1e-6)
    client = tritonclient_http.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_model_ready("mlp")
    meta = client.get_model_metadata("mlp")
    name = meta["inputs"][0]["name"]
    inp = tritonclient_http.InferInput(name, list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    result = client.infer("mlp", [inp])
    out_name = meta["outputs"][0]["name"]
    np.testing.assert_allclose(result.as_numpy(out_name), want, rtol=1e-5, atol=1e-6)
    wrong = {"inputs": [{"name": name, "shape": [2, 5], "datatype": "FP32", "data": [0.0] * 10}]}
    bad = httpx.post(f"{server.url}/v2/models/mlp/infer", json=wrong)
    assert bad.status_code == 400 and name in bad.json()["error"]
    assert httpx.get(f"{server.url}/v2/models/nope").status_code == 404
