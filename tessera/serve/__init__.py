"""``ts.serve``: serving exported models over HTTP (the TF Serving / Triton analog).

This package owns the model server: the model repository in TF Serving's layout (``DIR/NAME/VERSION/
model.tessera`` or ``model.onnx``, an optional ``DIR/NAME/config.json``) with version policies, labels,
warmup, status and hot reload (``repository``), TF Serving's REST API (``tfserving``), Prometheus metrics
(``metrics``), the ``Server`` that runs them (``server``) and the ``tessera serve`` command
(``__main__``). starlette and uvicorn (the ``serve`` extra) load only when a server is built.
gRPC is not served yet (``--grpc-port`` is accepted and ignored).

Example:
    >>> import tessera as ts
    >>> srv = ts.serve.Server("models", rest_port=0).start()  # doctest: +SKIP
    >>> srv.url  # doctest: +SKIP
    'http://127.0.0.1:54321'
    >>> srv.stop()  # doctest: +SKIP
"""

from __future__ import annotations

from .repository import ConfigError, ModelConfig, ModelHandle, ModelRepository, NotFoundError, RequestError
from .server import Server

__all__ = [
    "Server",
    "ModelRepository",
    "ModelHandle",
    "ModelConfig",
    "ConfigError",
    "NotFoundError",
    "RequestError",
]
