"""``Server``: the ASGI app (starlette) run by uvicorn in a background thread, the inference thread pool,
the repository poller, ``/metrics`` and ``/healthz``."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .metrics import ServeMetrics
from .repository import ModelRepository, RequestError

__all__ = ["Server"]

log = logging.getLogger("tessera.serve")


class Server:
    """Serve a model repository over REST (TF Serving's ``/v1`` API, plus routes from ``route_factories``).

    ``model_repository``: a directory (TF Serving layout) or a repository object with
    ``get(name, version=None, label=None)``, ``status(name, version=None)``, ``names()`` and ``poll()``.
    ``kserve`` mounts the KServe v2 routes (``/v2/...``, tritonclient's protocol) beside TF Serving's;
    ``route_factories``: callables ``f(server) -> list of starlette routes``, mounted too.
    ``rest_port=0`` binds a free port (``server.port`` after ``start()``).
    ``grpc_port`` is accepted but gRPC is not served yet. ``poll_seconds=0`` turns hot reload off.

    Example:
        >>> srv = Server("models", rest_port=0).start()  # doctest: +SKIP
        >>> srv.url  # doctest: +SKIP
        'http://127.0.0.1:54321'
        >>> srv.stop()  # doctest: +SKIP
    """

    def __init__(self, model_repository, *, host: str = "127.0.0.1", rest_port: int = 8501,
                 grpc_port: int | None = None, poll_seconds: float = 5.0,
                 max_body_bytes: int = 64 * 1024 * 1024, workers: int | None = None,
                 route_factories: list[Callable] | tuple = (), kserve: bool = True):  # fmt: skip
        where = "Server"
        if not isinstance(rest_port, int) or isinstance(rest_port, bool) or not 0 <= rest_port <= 65535:
            raise ValueError(f"{where}: rest_port must be an integer in [0, 65535], got {rest_port!r}")
        if grpc_port is not None and (not isinstance(grpc_port, int) or not 0 <= grpc_port <= 65535):
            raise ValueError(
                f"{where}: grpc_port must be an integer in [0, 65535] or None, got {grpc_port!r}"
            )
        if not isinstance(poll_seconds, (int, float)) or poll_seconds < 0:
            raise ValueError(f"{where}: poll_seconds must be a number >= 0, got {poll_seconds!r}")
        if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ValueError(f"{where}: max_body_bytes must be a positive integer, got {max_body_bytes!r}")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"{where}: workers must be a positive integer or None, got {workers!r}")
        for f in route_factories:
            if not callable(f):
                raise TypeError(f"{where}: route_factories must be callables server -> routes, got {f!r}")
        if isinstance(model_repository, (str, os.PathLike)):
            model_repository = ModelRepository(model_repository, warmup=self._warmup)
        self.repository = model_repository
        self.host, self.rest_port, self.grpc_port = host, rest_port, grpc_port
        if grpc_port is not None:
            log.warning("gRPC is not served yet; --grpc-port %s is ignored", grpc_port)
        self.poll_seconds = float(poll_seconds)
        self.max_body_bytes = max_body_bytes
        self.metrics = ServeMetrics()
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._route_factories = list(route_factories)
        self.kserve = bool(kserve)
        self._uvicorn = None
        self._thread: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self.port: int | None = None

    # -- hooks used by the route modules ------------------------------------------------------------------
    async def run_blocking(self, fn: Callable, *args):
        """Run ``fn(*args)`` in the inference thread pool (off the event loop) and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @staticmethod
    def _warmup(handle, request) -> None:
        from .tfserving import predict_body

        out = predict_body(handle, request)
        if "error" in out:
            raise RequestError(f"warmup request failed: {out['error']}")

    # -- the app -----------------------------------------------------------------------------------------
    def app(self):
        """The starlette application (routes: ``/v1/models/...``, ``/metrics``, ``/healthz``, extras)."""
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        from .tfserving import tfserving_routes

        async def metrics(request):
            body, ctype = self.metrics.render()
            return Response(body, media_type=ctype)

        async def healthz(request):
            return JSONResponse({"status": "ok", "models": list(self.repository.names())})

        async def http_error(request, exc):
            return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}"},
                                status_code=exc.status_code)  # fmt: skip

        routes = [Route("/metrics", metrics, methods=["GET"]), Route("/healthz", healthz, methods=["GET"])]
        routes += tfserving_routes(self)
        if self.kserve:  # KServe v2 / Open Inference Protocol (what tritonclient speaks)
            from .kserve import kserve_routes

            routes += kserve_routes(self.repository, max_body_bytes=self.max_body_bytes)
        for f in self._route_factories:
            routes += list(f(self))
        return Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://host:port`` of the REST endpoint (after ``start()``)."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        """Load the repository, bind the REST port and serve in a background thread; returns ``self``."""
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("Server.start: the server is already running")
        self.repository.poll()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tessera-serve")
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.rest_port))
        except OSError as e:
            sock.close()
            raise OSError(f"Server.start: cannot bind {self.host}:{self.rest_port}: {e}") from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._uvicorn = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [sock]},
                                        name="tessera-serve-http", daemon=True)  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Server.start: the HTTP server did not start on {self.url}")
            time.sleep(0.01)
        if self.poll_seconds > 0:
            self._stop.clear()
            self._poller = threading.Thread(target=self._poll_loop, name="tessera-serve-poll", daemon=True)
            self._poller.start()
        log.info("serving %s on %s", getattr(self.repository, "root", "models"), self.url)
        return self

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.repository.poll()
            except Exception:  # noqa: BLE001 - a bad repository state must not end polling
                log.exception("polling the model repository failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (in-flight requests finish first) and the poller; idempotent."""
        self._stop.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._poller is not None:
            self._poller.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.close()
        self._thread = self._poller = self._pool = self._uvicorn = self._sock = None

    def serve_forever(self) -> None:
        """``start()`` and block until interrupted (the CLI)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Server({getattr(self.repository, 'root', self.repository)!s}, url={self.url if self.port else None})"
