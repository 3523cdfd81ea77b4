"""KServe v2 REST (``tessera.serve.kserve``) against a real uvicorn server on loopback.

The server is a minimal starlette app made from ``kserve_routes`` over a fake repository holding a NumPy
model and a real Tessera exported program; clients are ``tritonclient.http`` (binary tensors, its
defaults) and httpx (JSON). Outputs are compared with the models' eager results.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

import tessera as ts  # noqa: E402
from tessera.serve.kserve import kserve_routes  # noqa: E402
from tessera.serve.v2_tensors import V2Error, deserialize_bytes, serialize_bytes, v2_datatype  # noqa: E402


# -- fake repository -----------------------------------------------------------------------------------------
class Handle:
    def __init__(self, name, version, inputs, outputs, fn, platform="tessera"):
        self.name, self.version, self.platform = name, version, platform
        self.inputs, self.outputs, self._fn = inputs, outputs, fn

    def predict(self, inputs):
        return self._fn(inputs)


def numpy_model(inputs):
    a, b = inputs["a"], inputs["b"]
    return {"sum": a + b, "pos": a > 0, "words": np.array([f"n{int(v)}".encode() for v in b.reshape(-1)],
                                                            dtype=object).reshape(b.shape)}  # fmt: skip


def program_handle(version="1"):
    ts.manual_seed(0)
    prog = ts.export.export(ts.nn.Linear(4, 3), (ts.randn(2, 4),), dynamic_shapes={"input": {0: "batch"}})
    sig = prog.signatures["serving_default"]
    spec = lambda s: {"name": s["name"], "datatype": v2_datatype(s["dtype"]), "shape": s["shape"]}

    def run(inputs):
        out = sig(**inputs)
        return {sig.outputs[0]["name"]: out.numpy()}

    return Handle("linear", version, [spec(s) for s in sig.inputs], [spec(s) for s in sig.outputs], run), prog


class FakeRepository:
    def __init__(self):
        self.models: dict[str, dict[str, Handle]] = {}
        self.unloaded: set[str] = set()
        self.not_ready: set[str] = set()
        self.calls = 0
        ab = [
            {"name": "a", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "b", "datatype": "INT64", "shape": [-1, 3]},
        ]
        outs = [
            {"name": "sum", "datatype": "FP64", "shape": [-1, 3]},
            {"name": "pos", "datatype": "BOOL", "shape": [-1, 3]},
            {"name": "words", "datatype": "BYTES", "shape": [-1, 3]},
        ]
        self.models["adder"] = {"1": Handle("adder", "1", ab, outs, self._count(numpy_model), "numpy")}
        text = [{"name": "t", "datatype": "BYTES", "shape": [-1]}]
        self.models["upper"] = {
            "1": Handle(
                "upper",
                "1",
                text,
                [{"name": "u", "datatype": "BYTES", "shape": [-1]}],
                lambda d: {"u": np.array([x.upper() for x in d["t"]], dtype=object)},
            )  # fmt: skip
        }
        lin1, self.prog = program_handle("1")
        lin2, _ = program_handle("2")
        self.models["linear"] = {"1": lin1, "2": lin2}
        bad = [{"name": "x", "datatype": "FP32", "shape": [2]}]
        self.models["broken"] = {"1": Handle("broken", "1", bad, bad, lambda d: 1 / 0)}

    def _count(self, fn):
        def wrapped(inputs):
            self.calls += 1
            return fn(inputs)

        return wrapped

    def names(self):
        return [n for n in self.models if n not in self.unloaded]

    def get(self, name, version=None):
        if name in self.unloaded:
            raise KeyError(name)
        vs = self.models[name]
        return vs[max(vs, key=int) if version is None else version]

    def versions(self, name):
        return sorted(self.models[name], key=int)

    def ready(self, name, version=None):
        return name not in self.unloaded and name not in self.not_ready

    def index(self):
        return [{"name": n, "version": v, "state": "UNAVAILABLE" if n in self.unloaded else "READY"}
                for n in self.models for v in self.models[n]]  # fmt: skip

    def load(self, name):
        if name not in self.models:
            raise KeyError(name)
        self.unloaded.discard(name)

    def unload(self, name):
        if name not in self.models:
            raise KeyError(name)
        self.unloaded.add(name)


# -- server ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served():
    from starlette.applications import Starlette

    repo = FakeRepository()
    app = Starlette(routes=kserve_routes(repo, max_body_bytes=1 << 20))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield repo, f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def triton(served):
    client = httpclient.InferenceServerClient(served[1])
    yield client
    client.close()


@pytest.fixture
def http(served):
    with httpx.Client(base_url=f"http://{served[1]}", timeout=10) as c:
        yield c


def test_health_and_server_metadata(triton, http):
    assert triton.is_server_live() and triton.is_server_ready()
    meta = triton.get_server_metadata()
    assert meta["name"] == "tessera" and meta["version"] == ts.__version__
    assert set(meta["extensions"]) == {"binary_tensor_data", "model_repository"}
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert triton.is_model_ready("linear") and triton.is_model_ready("linear", "1")


def test_model_metadata(triton, http):
    meta = triton.get_model_metadata("linear")
    assert meta == {
        "name": "linear",
        "versions": ["1", "2"],
        "platform": "tessera",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "output_0", "datatype": "FP32", "shape": [-1, 3]}],
    }
    assert http.get("/v2/models/adder/versions/1").json()["inputs"][1] == {
        "name": "b", "datatype": "INT64", "shape": [-1, 3]}  # fmt: skip


def test_triton_binary_infer_matches_eager(served, triton):
    repo, _ = served
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    inp = httpclient.InferInput("input", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    res = triton.infer("linear", [inp], model_version="2", request_id="r-7")
    want = repo.prog(ts.tensor(x)).numpy()
    got = res.as_numpy("output_0")
    assert got.dtype == np.float32 and got.shape == (5, 3)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    resp = res.get_response()
    assert resp["model_name"] == "linear" and resp["model_version"] == "2" and resp["id"] == "r-7"
    assert resp["outputs"][0]["parameters"]["binary_data_size"] == 5 * 3 * 4


def test_triton_mixed_outputs_and_bytes(triton):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    b = np.arange(6, dtype=np.int64).reshape(2, 3) * 10
    ia, ib = httpclient.InferInput("a", [2, 3], "FP32"), httpclient.InferInput("b", [2, 3], "INT64")
    ia.set_data_from_numpy(a)
    ib.set_data_from_numpy(b, binary_data=False)  # JSON input next to a binary one
    outs = [httpclient.InferRequestedOutput("pos", binary_data=False), httpclient.InferRequestedOutput("words"),
            httpclient.InferRequestedOutput("sum")]  # fmt: skip
    res = triton.infer("adder", [ia, ib], outputs=outs)
    want = numpy_model({"a": a, "b": b})
    np.testing.assert_array_equal(res.as_numpy("sum"), want["sum"])
    np.testing.assert_array_equal(res.as_numpy("pos"), want["pos"])
    np.testing.assert_array_equal(res.as_numpy("words"), want["words"])
    assert [o["name"] for o in res.get_response()["outputs"]] == ["pos", "words", "sum"]
    assert "data" in res.get_response()["outputs"][0]

    t = np.array([b"abc", "ünï".encode(), b""], dtype=object)
    it = httpclient.InferInput("t", [3], "BYTES")
    it.set_data_from_numpy(t)
    got = triton.infer("upper", [it]).as_numpy("u")
    assert list(got) == [b"ABC", "ünï".encode().upper(), b""]


def test_json_infer_nested_and_flat(served, http):
    repo, _ = served
    x = [[0.5, -1, 2, 3], [1, 1, 1, 1]]
    for data in (x, sum(x, [])):
        r = http.post("/v2/models/linear/infer", json={
            "id": "j1", "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": data}]})  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert (
            body["id"] == "j1"
            and body["model_version"] == "2"
            and "inference-header-content-length" not in r.headers
        )
        (out,) = body["outputs"]
        assert out["name"] == "output_0" and out["datatype"] == "FP32" and out["shape"] == [2, 3]
        want = repo.prog(ts.tensor(np.array(x, np.float32))).numpy()
        np.testing.assert_allclose(
            np.array(out["data"], np.float32).reshape(2, 3), want, rtol=1e-6, atol=1e-6
        )
    r = http.post("/v2/models/upper/infer", json={"inputs": [{"name": "t", "shape": [2], "datatype": "BYTES",
                                                               "data": ["hi", "yo"]}]})  # fmt: skip
    assert r.json()["outputs"][0]["data"] == ["HI", "YO"]


def test_raw_binary_request(http):
    a = np.ones((1, 3), np.float32)
    header = {"inputs": [{"name": "a", "shape": [1, 3], "datatype": "FP32", "parameters": {"binary_data_size": 12}},
                         {"name": "b", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}],
              "outputs": [{"name": "sum", "parameters": {"binary_data": True}}]}  # fmt: skip
    import json

    h = json.dumps(header).encode()
    r = http.post(
        "/v2/models/adder/infer",
        content=h + a.tobytes(),
        headers={"Inference-Header-Content-Length": str(len(h))},
    )
    assert r.status_code == 200, r.text
    n = int(r.headers["inference-header-content-length"])
    meta = json.loads(r.content[:n])
    assert meta["outputs"][0]["parameters"]["binary_data_size"] == 24
    np.testing.assert_array_equal(np.frombuffer(r.content[n:], "<f8"), [2.0, 3.0, 4.0])


def _err(r, status, *words):
    assert r.status_code == status, (r.status_code, r.text)
    msg = r.json()["error"]
    for w in words:
        assert w in msg, msg
    return msg


def test_errors(served, http, triton):
    ok = {"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [0] * 8}
    infer = lambda model, body, **kw: http.post(f"/v2/models/{model}/infer", json=body, **kw)
    _err(infer("nope", {"inputs": [ok]}), 404, "nope")
    _err(http.post("/v2/models/linear/versions/9/infer", json={"inputs": [ok]}), 404, "version", "9")
    _err(http.get("/v2/models/nope"), 404, "nope")
    _err(http.get("/v2/models/linear/versions/9/ready"), 404)
    _err(http.get("/v2/models/linear/infer"), 405, "GET")
    _err(http.post("/v2/health/live"), 405)
    _err(http.post("/v2/models/linear/infer", content=b"{not json"), 400, "malformed JSON")
    _err(http.post("/v2/models/linear/infer", content=b"[1]"), 400, "JSON object")
    _err(
        infer("linear", {"inputs": [dict(ok, shape=[2, 5], data=[0] * 10)]}),
        400,
        "'input'",
        "[2, 5]",
        "[-1, 4]",
    )
    _err(infer("linear", {"inputs": [dict(ok, datatype="FP64")]}), 400, "'input'", "FP64", "FP32")
    _err(infer("linear", {"inputs": [dict(ok, datatype="FLOAT")]}), 400, "datatype", "FLOAT")
    _err(infer("linear", {"inputs": [dict(ok, data=[0] * 7)]}), 400, "7 elements", "[2, 4]", "8")
    _err(infer("linear", {"inputs": [dict(ok, data=[[0, 1], [2]])]}), 400, "'input'")
    _err(infer("linear", {"inputs": [dict(ok, data=["a"] * 8)]}), 400, "'input'", "numbers")
    _err(infer("linear", {"inputs": [dict(ok, name="x")]}), 400, "unknown input 'x'")
    _err(infer("linear", {"inputs": [ok, ok]}), 400, "twice")
    _err(infer("linear", {"inputs": [ok], "outputs": [{"name": "zz"}]}), 400, "unknown output 'zz'")
    _err(infer("linear", {"inputs": [dict(ok, shape=[2, -4])]}), 400, "shape")
    _err(infer("adder", {"inputs": [{"name": "a", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}), 400,
         "missing input 'b'")  # fmt: skip
    _err(infer("adder", {"inputs": [{"name": "a", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]},
                                    {"name": "b", "shape": [1, 3], "datatype": "INT64", "data": [1.5, 2, 3]}]}),
         400, "'b'", "integers")  # fmt: skip
    _err(infer("adder", {"inputs": [{"name": "a", "shape": [2, 3], "datatype": "FP32", "data": [1] * 6},
                                    {"name": "b", "shape": [3, 3], "datatype": "INT64", "data": [1] * 9}]}),
         400, "rejected")  # NumPy broadcasting error from the model: a client error  # fmt: skip
    h = b'{"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 32}}]}'
    hdr = {"Inference-Header-Content-Length": str(len(h))}
    _err(http.post("/v2/models/linear/infer", content=h + b"\0" * 31, headers=hdr), 400, "32", "31")
    _err(http.post("/v2/models/linear/infer", content=h + b"\0" * 33, headers=hdr), 400, "33")
    _err(
        http.post("/v2/models/linear/infer", content=h, headers={"Inference-Header-Content-Length": "x"}), 400
    )
    _err(
        http.post("/v2/models/linear/infer", content=h, headers={"Inference-Header-Content-Length": "9999"}),
        400,
    )
    _err(http.post("/v2/models/linear/infer", content=b"\0" * (2 << 20)), 413)
    _err(infer("broken", {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}), 500,
         "ZeroDivisionError")  # fmt: skip

    # through tritonclient: a wrong shape is an InferenceServerException naming the input and both shapes
    inp = httpclient.InferInput("input", [2, 5], "FP32")
    inp.set_data_from_numpy(np.zeros((2, 5), np.float32))
    with pytest.raises(InferenceServerException, match=r"'input'.*\[2, 5\].*\[-1, 4\]"):
        triton.infer("linear", [inp])
    # the server is still up and answers correctly after all of that
    assert triton.is_server_live()
    x = np.ones((1, 4), np.float32)
    inp = httpclient.InferInput("input", [1, 4], "FP32")
    inp.set_data_from_numpy(x)
    np.testing.assert_allclose(triton.infer("linear", [inp]).as_numpy("output_0"), served[0].prog(ts.tensor(x)).numpy(),
                               rtol=1e-6, atol=1e-6)  # fmt: skip


def test_model_repository_extension(served, triton, http):
    repo, _ = served
    index = triton.get_model_repository_index()
    assert {"name": "linear", "version": "2", "state": "READY"} in index
    triton.unload_model("upper")
    try:
        assert not triton.is_model_ready("upper")
        assert triton.is_server_ready()  # every model still listed is ready
        _err(http.get("/v2/models/upper"), 404, "upper")
        assert {
            "name": "upper",
            "version": "1",
            "state": "UNAVAILABLE",
        } in triton.get_model_repository_index()
    finally:
        triton.load_model("upper")
    assert triton.is_model_ready("upper") and triton.is_server_ready()
    with pytest.raises(InferenceServerException, match="nope"):
        triton.load_model("nope")


def test_not_ready(served, http):
    repo, _ = served
    repo.not_ready.add("linear")
    try:
        assert http.get("/v2/health/ready").json() == {"ready": False}
        assert http.get("/v2/health/ready").status_code == 400
        assert http.get("/v2/models/linear/ready").status_code == 400
        body = {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [0] * 4}]}
        _err(http.post("/v2/models/linear/infer", json=body), 400, "not ready")
    finally:
        repo.not_ready.discard("linear")
    assert http.get("/v2/models/linear/ready").json() == {"name": "linear", "ready": True}


def test_codec_units():
    arr = np.array([[b"a", b"bc"], [b"", b"\xff"]], dtype=object)
    assert deserialize_bytes(serialize_bytes(arr)) == [b"a", b"bc", b"", b"\xff"]
    with pytest.raises(V2Error):
        deserialize_bytes(struct.pack("<I", 5) + b"abc")
    assert (
        v2_datatype("float16") == "FP16"
        and v2_datatype(np.uint64) == "UINT64"
        and v2_datatype("bfloat16") == "BF16"
    )


def test_compressed_request_and_bool_bytes(served, triton, http):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    inp = httpclient.InferInput("input", [2, 4], "FP32")
    inp.set_data_from_numpy(x)
    for algo in ("gzip", "deflate"):
        got = triton.infer("linear", [inp], request_compression_algorithm=algo).as_numpy("output_0")
        np.testing.assert_allclose(got, served[0].prog(ts.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)
    hdr = {"Content-Encoding": "gzip"}
    _err(http.post("/v2/models/linear/infer", content=b"not gzip", headers=hdr), 400, "gzip")
    _err(http.post("/v2/models/linear/infer", content=b"{}", headers={"Content-Encoding": "br"}), 415, "br")
    import gzip

    _err(http.post("/v2/models/linear/infer", content=gzip.compress(b" " * (2 << 20)), headers=hdr), 413)
    _err(http.get("/v2/models/linear/versions/abc"), 404, "abc")
    _err(http.post("/v2/repository/models/upper/load", json={"parameters": {"config": "{}"}}), 400, "config")
    _err(http.post("/v2/repository/models/upper/load", content=b"{oops"), 400, "malformed")
    _err(http.post("/v2/repository/models/nope/unload"), 404, "nope")

    # a BOOL tensor's binary bytes other than 0/1 read as true; the model sees a proper bool array
    seen = {}
    repo = served[0]
    spec = [{"name": "m", "datatype": "BOOL", "shape": [3]}]
    repo.models["flags"] = {
        "1": Handle("flags", "1", spec, spec, lambda d: seen.setdefault("m", {"m": ~d["m"]}))
    }
    try:
        h = b'{"inputs": [{"name": "m", "shape": [3], "datatype": "BOOL", "parameters": {"binary_data_size": 3}}]}'
        r = http.post("/v2/models/flags/infer", content=h + bytes([0, 2, 1]),
                      headers={"Inference-Header-Content-Length": str(len(h))})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["data"] == [True, False, False]
    finally:
        del repo.models["flags"]


def test_concurrent_requests(served):
    from concurrent.futures import ThreadPoolExecutor

    repo, url = served

    def one(i):
        x = np.random.default_rng(i).standard_normal((1 + i % 5, 4)).astype(np.float32)
        client = httpclient.InferenceServerClient(url)
        try:
            inp = httpclient.InferInput("input", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            return x, client.infer("linear", [inp]).as_numpy("output_0")
        finally:
            client.close()

    with ThreadPoolExecutor(4) as pool:
        for x, got in pool.map(one, range(16)):
            np.testing.assert_allclose(got, repo.prog(ts.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)
