"""KServe v2 / Open Inference Protocol REST routes (with Triton's binary tensor data extension).

``kserve_routes(repository)`` returns starlette routes for::

    GET  /v2                                        server metadata (name, version, extensions)
    GET  /v2/health/live, /v2/health/ready          200 {"live"/"ready": true}, 400 when not ready
    GET  /v2/models/M[/versions/V]                  model metadata (name, versions, platform, inputs, outputs)
    GET  /v2/models/M[/versions/V]/ready            200 / 400
    POST /v2/models/M[/versions/V]/infer            inference: JSON tensors or binary tensor data
    POST /v2/repository/index                       model repository extension (when the repository
    POST /v2/repository/models/M/load | /unload     has index() / load(name) / unload(name))

``repository`` is duck-typed: ``names() -> list[str]``, ``get(name, version=None) -> handle`` (``KeyError``:
404), ``ready(name, version=None) -> bool``; a handle has ``name``, ``version`` (str), ``platform``,
``inputs``/``outputs`` (lists of ``{"name", "datatype", "shape"}``, -1 for a dynamic dimension, and so is a
named one such as Tessera's ``"batch"``; a dtype name such as ``"float32"`` is read as its v2 name) and a
synchronous ``predict(dict[str, ndarray]) -> dict[str, ndarray]``, run in a worker thread. Errors are
``{"error": "..."}``: 404 unknown model or version, 400 bad request (malformed JSON, wrong shapes or
datatypes, named), 405 wrong method, 413 body too large (``max_body_bytes``, also after decompression), 415
an unknown ``Content-Encoding`` (gzip and deflate request bodies are read), 500 when the model fails. A
``ValueError``/``TypeError`` from ``predict`` is the client's fault (400); any other exception is 500. No
request takes the server down.

Example:
    >>> from starlette.applications import Starlette  # doctest: +SKIP
    >>> app = Starlette(routes=kserve_routes(repo))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import Any

from .v2_tensors import V2Error, encode_infer_response, parse_infer_request, v2_datatype

__all__ = ["kserve_routes", "DEFAULT_MAX_BODY_BYTES"]

DEFAULT_MAX_BODY_BYTES = 256 << 20
_log = logging.getLogger("tessera.serve.kserve")
_HEADER = "inference-header-content-length"


def _json(obj: Any, status: int = 200, headers: dict | None = None):
    from starlette.responses import Response

    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict | None = None):
    return _json({"error": message}, status, headers)


class _Endpoint:
    """An ASGI endpoint that takes every method (so a wrong one gets a JSON 405) and turns ``V2Error``
    and unexpected exceptions into JSON errors."""

    def __init__(self, methods: tuple[str, ...], fn):
        self.methods = methods
        self.fn = fn

    async def __call__(self, scope, receive, send):
        from starlette.requests import Request

        request = Request(scope, receive)
        if request.method not in self.methods and not (request.method == "HEAD" and "GET" in self.methods):
            allow = ", ".join(self.methods)
            response = _error(405, f"method {request.method} is not allowed on {request.url.path} "
                                   f"(allowed: {allow})", {"Allow": allow})  # fmt: skip
        else:
            try:
                response = await self.fn(request)
            except V2Error as e:
                response = _error(e.status, e.message)
            except Exception as e:  # never let a request take the server down
                _log.exception("KServe v2 handler failed")
                response = _error(500, f"internal error: {type(e).__name__}: {e}")
        await response(scope, receive, send)


def kserve_routes(
    repository,
    *,
    server_name: str = "tessera",
    server_version: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> list:
    """Starlette routes for the KServe v2 REST protocol over ``repository`` (see the module docstring).

    Example:
        >>> from starlette.applications import Starlette  # doctest: +SKIP
        >>> app = Starlette(routes=kserve_routes(repo, server_name="tessera"))  # doctest: +SKIP
    """
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    if server_version is None:
        try:
            from .. import __version__ as server_version
        except ImportError:  # pragma: no cover
            server_version = "0"
    has_repo_ext = all(callable(getattr(repository, m, None)) for m in ("index", "load", "unload"))
    extensions = ["binary_tensor_data"] + (["model_repository"] if has_repo_ext else [])

    def resolve(request):
        name = request.path_params["model"]
        version = request.path_params.get("version")
        try:
            return repository.get(name, version)
        except (KeyError, ValueError):  # ValueError: e.g. a version that is not a number
            names = list(repository.names())
            if name not in names:
                raise V2Error(404, f"unknown model {name!r} (models: {', '.join(names) or 'none'})") from None
            raise V2Error(404, f"model {name!r} has no version {version!r}") from None

    def versions_of(handle) -> list[str]:
        vs = getattr(handle, "versions", None)
        if vs is None and callable(getattr(repository, "versions", None)):
            vs = repository.versions(handle.name)
        return [str(v) for v in (vs or [handle.version])]

    def tensor_meta(specs) -> list[dict]:
        return [
            {
                "name": s["name"],
                "datatype": v2_datatype(s["datatype"]),
                "shape": [
                    int(d) if isinstance(d, int) and not isinstance(d, bool) else -1 for d in s["shape"]
                ],
            }
            for s in specs
        ]

    async def read_body(request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise V2Error(413, f"the request body of {declared} bytes is over the limit of {max_body_bytes}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise V2Error(413, f"the request body is over the limit of {max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def inflate(body: bytes, encoding: str) -> bytes:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        try:
            out = d.decompress(body, max_body_bytes + 1)
        except zlib.error as e:
            raise V2Error(400, f"the body is not valid {encoding} data: {e}") from None
        if len(out) > max_body_bytes or d.unconsumed_tail:
            raise V2Error(413, f"the decompressed request body is over the limit of {max_body_bytes} bytes")
        if not d.eof:
            raise V2Error(400, f"the {encoding} body is truncated")
        return out

    async def server_metadata(request):
        return _json({"name": server_name, "version": str(server_version), "extensions": extensions})

    async def live(request):
        return _json({"live": True})

    async def server_ready(request):
        ok = await run_in_threadpool(lambda: all(repository.ready(n) for n in repository.names()))
        return _json({"ready": bool(ok)}, 200 if ok else 400)

    async def model_metadata(request):
        h = resolve(request)
        return _json(
            {
                "name": h.name,
                "versions": versions_of(h),
                "platform": h.platform,
                "inputs": tensor_meta(h.inputs),
                "outputs": tensor_meta(h.outputs),
            }
        )

    async def model_ready(request):
        h = resolve(request)
        ok = bool(await run_in_threadpool(repository.ready, h.name, request.path_params.get("version")))
        return _json({"name": h.name, "ready": ok}, 200 if ok else 400)

    async def infer(request):
        h = resolve(request)
        body = await read_body(request)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "deflate"):
            body = await run_in_threadpool(inflate, body, encoding)
        elif encoding not in ("identity", ""):
            raise V2Error(415, f"Content-Encoding {encoding!r} is not supported (gzip, deflate or identity)")
        raw_len = request.headers.get(_HEADER)
        header_length = None
        if raw_len is not None:
            if not raw_len.strip().isdigit():
                raise V2Error(400, f"Inference-Header-Content-Length must be an integer, got {raw_len!r}")
            header_length = int(raw_len)
        specs = tensor_meta(h.inputs)
        out_names = [o["name"] for o in h.outputs]
        req = parse_infer_request(body, header_length, specs, out_names)
        if not await run_in_threadpool(repository.ready, h.name, request.path_params.get("version")):
            raise V2Error(400, f"model {h.name!r} (version {h.version}) is not ready")
        try:
            results = await run_in_threadpool(h.predict, req.inputs)
        except (ValueError, TypeError) as e:
            raise V2Error(400, f"model {h.name!r} rejected the inputs: {e}") from None
        if not isinstance(results, dict):
            raise V2Error(500, f"model {h.name!r} returned {type(results).__name__}, not a dict of outputs")
        lost = [o for o in req.outputs if o not in results]
        if lost:
            raise V2Error(500, f"model {h.name!r} did not return the output {lost[0]!r}")
        payload, n = encode_infer_response(h.name, str(h.version), results, req.outputs, req.id)
        from starlette.responses import Response

        headers = {_HEADER: str(n)} if n is not None else None
        media = "application/octet-stream" if n is not None else "application/json"
        return Response(payload, media_type=media, headers=headers)

    async def repo_index(request):
        await read_body(request)
        entries = await run_in_threadpool(repository.index)
        return _json(list(entries))

    async def repo_load(request):
        return await _repo_change(request, repository.load, "load")

    async def repo_unload(request):
        return await _repo_change(request, repository.unload, "unload")

    async def _repo_change(request, fn, what):
        name = request.path_params["model"]
        body = await read_body(request)
        if body.strip():
            try:
                parsed = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
                raise V2Error(400, f"malformed JSON in the {what} request: {e}") from None
            if not isinstance(parsed, dict):
                raise V2Error(400, f"the {what} request must be a JSON object")
            params = parsed.get("parameters") or {}
            if not isinstance(params, dict):
                raise V2Error(400, f"the {what} request's 'parameters' must be a JSON object")
            override = [k for k in params if k == "config" or k.startswith("file:")]
            if override:
                raise V2Error(400, f"{what}: overriding the model's config or files is not supported "
                                   f"(parameter {override[0]!r})")  # fmt: skip
        try:
            await run_in_threadpool(fn, name)
        except KeyError:
            raise V2Error(404, f"unknown model {name!r}") from None
        except (ValueError, OSError) as e:
            raise V2Error(400, f"cannot {what} model {name!r}: {e}") from None
        return _json({})

    get, post = ("GET",), ("POST",)
    routes = [
        Route("/v2", _Endpoint(get, server_metadata)),
        Route("/v2/health/live", _Endpoint(get, live)),
        Route("/v2/health/ready", _Endpoint(get, server_ready)),
    ]
    for base in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        routes += [
            Route(base, _Endpoint(get, model_metadata)),
            Route(base + "/ready", _Endpoint(get, model_ready)),
            Route(base + "/infer", _Endpoint(post, infer)),
        ]
    if has_repo_ext:
        routes += [
            Route("/v2/repository/index", _Endpoint(post, repo_index)),
            Route("/v2/repository/models/{model}/load", _Endpoint(post, repo_load)),
            Route("/v2/repository/models/{model}/unload", _Endpoint(post, repo_unload)),
        ]
    return routes
