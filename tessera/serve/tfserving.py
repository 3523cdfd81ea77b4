"""TF Serving's REST API (``/v1/models/...``) on a ``ModelRepository``, as starlette routes.

``GET /v1/models/NAME[/versions/N | /labels/L]`` (version status), the same with ``/metadata`` (signature
defs), ``POST /v1/models/NAME[/versions/N | /labels/L]:predict`` with the row format (``instances``: a list
of values, or of dicts input name -> value) answered as ``predictions``, or the columnar format
(``inputs``: a value, or a dict input name -> value) answered as ``outputs``; ``{"b64": "..."}`` stands for
bytes. ``:classify`` and ``:regress`` answer 501. Errors are ``{"error": "..."}`` with the HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time

from .repository import DEFAULT_SIGNATURE, ModelHandle, NotFoundError, RequestError

__all__ = ["tfserving_routes", "predict_body", "read_body", "BodyTooLarge"]

access_log = logging.getLogger("tessera.serve.access")

_DT = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF", "bfloat16": "DT_BFLOAT16",
       "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8",
       "uint16": "DT_UINT16", "uint32": "DT_UINT32", "uint64": "DT_UINT64", "bool": "DT_BOOL",
       "complex64": "DT_COMPLEX64", "complex128": "DT_COMPLEX128"}  # fmt: skip


class BodyTooLarge(ValueError):
    """A request body over the server's limit (HTTP 413)."""


def _b64(x, where):
    if isinstance(x, dict):
        if set(x) == {"b64"} and isinstance(x["b64"], str):
            try:
                return base64.b64decode(x["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise RequestError(f"{where}: invalid base64 in {{'b64': ...}}") from None
        return {k: _b64(v, where) for k, v in x.items()}
    if isinstance(x, list):
        return [_b64(v, where) for v in x]
    return x


def _is_named(x) -> bool:
    return isinstance(x, dict) and set(x) != {"b64"}


def predict_body(handle: ModelHandle, body) -> dict:
    """Answer one TF Serving predict request body (already JSON-decoded) with ``handle``: the response
    dict (``predictions`` for the row format, ``outputs`` for the columnar one).

    Example:
        >>> predict_body(handle, {"instances": [[1.0, 2.0, 3.0, 4.0]]})  # doctest: +SKIP
        {'predictions': [[0.1, -0.3, 0.7]]}
    """
    where = f"model {handle.name!r} version {handle.version}"
    if not isinstance(body, dict):
        raise RequestError(f"{where}: the request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - {"instances", "inputs", "signature_name"})
    if unknown:
        raise RequestError(f"{where}: unknown request key {unknown[0]!r} "
                           "(expected 'instances' or 'inputs', and optionally 'signature_name')")  # fmt: skip
    sig_name = body.get("signature_name") or DEFAULT_SIGNATURE
    if not isinstance(sig_name, str):
        raise RequestError(f"{where}: 'signature_name' must be a string, got {sig_name!r}")
    sig = handle.signature(sig_name)
    names = [s["name"] for s in sig["inputs"]]
    if ("instances" in body) == ("inputs" in body):
        raise RequestError(f"{where}: the request must have exactly one of 'instances' (row format) and "
                           "'inputs' (columnar format)")  # fmt: skip
    row = "instances" in body
    if row:
        inst = _b64(body["instances"], where)
        if not isinstance(inst, list) or not inst:
            raise RequestError(f"{where}: 'instances' must be a non-empty list, got {type(inst).__name__}")
        if any(_is_named(i) for i in inst):
            if not all(_is_named(i) for i in inst):
                raise RequestError(f"{where}: 'instances' mixes named (objects) and unnamed instances")
            keys = set(inst[0])
            for k, i in enumerate(inst):
                if set(i) != keys:
                    raise RequestError(f"{where}: instance {k} has inputs {sorted(i)}, instance 0 has "
                                       f"{sorted(keys)}; every instance must name the same inputs")  # fmt: skip
            inputs = {n: [i[n] for i in inst] for n in inst[0]}
        else:
            if len(names) != 1:
                raise RequestError(f"{where}: signature {sig_name!r} has {len(names)} inputs "
                                   f"({', '.join(names)}); instances must be objects naming them")  # fmt: skip
            inputs = {names[0]: inst}
    else:
        cols = _b64(body["inputs"], where)
        if _is_named(cols):
            inputs = dict(cols)
        else:
            if len(names) != 1:
                raise RequestError(f"{where}: signature {sig_name!r} has {len(names)} inputs "
                                   f"({', '.join(names)}); 'inputs' must be an object naming them")  # fmt: skip
            inputs = {names[0]: cols}
    outs = handle.predict(inputs, sig_name)
    if not row:
        if len(outs) == 1:
            return {"outputs": next(iter(outs.values())).tolist()}
        return {"outputs": {k: v.tolist() for k, v in outs.items()}}
    if len(outs) == 1:
        return {"predictions": next(iter(outs.values())).tolist()}
    n = {v.shape[0] if v.ndim else None for v in outs.values()}
    if len(n) != 1 or None in n:
        return {"error": "the outputs have different batch sizes; use the columnar format ('inputs')"}
    b = n.pop()
    return {"predictions": [{k: v[i].tolist() for k, v in outs.items()} for i in range(b)]}


async def read_body(request, limit: int) -> bytes:
    """The request body, or ``BodyTooLarge`` once it passes ``limit`` bytes (read no further)."""
    cl = request.headers.get("content-length")
    if cl is not None and cl.isdigit() and int(cl) > limit:
        raise BodyTooLarge(f"the request body is {int(cl)} bytes; the limit is {limit}")
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _metadata(name: str, handle: ModelHandle) -> dict:
    def tensors(specs):
        return {
            s["name"]: {
                "dtype": _DT.get(s["dtype"], s["dtype"]),
                "tensor_shape": {
                    "dim": [
                        {"size": str(d), "name": ""}
                        if isinstance(d, int)
                        else {"size": "-1", "name": d or ""}
                        for d in s["shape"]
                    ]
                },
                "name": s["name"],
            }
            for s in specs
        }

    sigs = {
        k: {"inputs": tensors(s["inputs"]), "outputs": tensors(s["outputs"]),
            "method_name": "tensorflow/serving/predict"}
        for k, s in handle.signatures.items()
    }  # fmt: skip
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(handle.version)},
        "metadata": {"signature_def": {"signature_def": sigs}},
    }


def _parse(rest: str):
    """(name, version, label, metadata?, verb) from the path after ``/v1/models/``; ``None`` if malformed."""
    verb = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        head, verb = rest.rsplit(":", 1)
        rest = head
    segs = rest.split("/")
    if not segs[0]:
        return None
    name, version, label, meta = segs[0], None, None, False
    tail = segs[1:]
    if tail[:1] == ["versions"] and len(tail) >= 2:
        version, tail = tail[1], tail[2:]
    elif tail[:1] == ["labels"] and len(tail) >= 2:
        label, tail = tail[1], tail[2:]
    if tail == ["metadata"]:
        meta, tail = True, []
    if tail or (meta and verb):
        return None
    return name, version, label, meta, verb


def tfserving_routes(server) -> list:
    """Starlette routes for TF Serving's REST API. ``server`` provides ``repository`` (``get``,
    ``status``, ``names``), ``run_blocking(fn, *args)`` (awaitable, runs off the event loop), ``metrics``
    (``ServeMetrics``) and ``max_body_bytes``.

    Example:
        >>> routes = tfserving_routes(server)  # doctest: +SKIP
    """
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def err(status, msg):
        return JSONResponse({"error": msg}, status_code=status)

    async def models(request):
        t0 = time.perf_counter()
        rest = request.path_params["rest"]
        parsed = _parse(rest)
        api, mname, mver, status = "status", "", "", 404
        try:
            if parsed is None:
                raise NotFoundError(f"Malformed request: {request.method} /v1/models/{rest}")
            name, version, label, meta, verb = parsed
            repo = server.repository
            mname = name if name in repo.names() else "unknown"
            if verb is None:
                api = "metadata" if meta else "status"
                if request.method != "GET":
                    resp = err(405, f"{request.method} /v1/models/{rest}: the {api} API takes GET")
                elif meta:
                    h = repo.get(name, version, label)
                    mver = str(h.version)
                    resp = JSONResponse(_metadata(name, h))
                else:
                    if label is not None:
                        version = repo.get(name, None, label).version
                    mver = str(version or "")
                    resp = JSONResponse({"model_version_status": repo.status(name, version)})
            else:
                api = verb
                if request.method != "POST":
                    resp = err(405, f"{request.method} /v1/models/{rest}: :{verb} takes POST")
                elif verb in ("classify", "regress"):
                    resp = err(501, f":{verb} is not implemented for Tessera models (they have no "
                                    "tf.Example input); use :predict")  # fmt: skip
                elif verb != "predict":
                    resp = err(404, f"unknown method :{verb} (Tessera serves :predict)")
                else:
                    h = repo.get(name, version, label)
                    mver = str(h.version)
                    raw = await read_body(request, server.max_body_bytes)
                    try:
                        body = json.loads(raw)
                    except (json.JSONDecodeError, UnicodeDecodeError) as e:
                        raise RequestError(f"malformed JSON in the request body: {e}") from None
                    out = await server.run_blocking(predict_body, h, body)
                    resp = JSONResponse(out, status_code=500 if "error" in out else 200)
        except NotFoundError as e:
            resp = err(404, str(e))
        except RequestError as e:
            resp = err(400, str(e))
        except BodyTooLarge as e:
            resp = err(413, str(e))
        except Exception as e:  # noqa: BLE001 - sorted below
            if type(e).__name__ == "QueueFull":  # the batcher's queue is full: come back later
                resp = err(429, f"the model's batching queue is full: {e}")
                resp.headers["Retry-After"] = str(max(1, math.ceil(getattr(e, "retry_after", 1.0))))
            else:
                logging.getLogger("tessera.serve").exception("internal error on %s", request.url.path)
                resp = err(500, f"internal error: {type(e).__name__}: {e}")
        status = resp.status_code
        dt = time.perf_counter() - t0
        server.metrics.observe(mname or "unknown", mver, api, status, dt)
        access_log.info(
            "%s %s %d %.2fms model=%s version=%s",
            request.method, request.url.path, status, dt * 1e3, mname, mver,
            extra={"method": request.method, "path": request.url.path, "status": status,
                   "latency_ms": dt * 1e3, "model": mname, "version": mver},
        )  # fmt: skip
        return resp

    return [Route("/v1/models/{rest:path}", models, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
