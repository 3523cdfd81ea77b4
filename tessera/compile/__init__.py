"""The compiler (``ts.compile`` and ``ts.compiler``): graph capture by tracing through the registry's one
dispatch point, a typed IR with text and JSON forms, optimization passes, fusion of elementwise chains
into generated C kernels (NumPy when no C compiler is present), guards and a per-signature cache."""

from __future__ import annotations

from . import logs
from .api import CompiledFunction, compile, reset
from .explain import ExplainOutput, explain
from .ir import Graph, IRError, Node, Value
from .logs import set_logs
from .trace import GraphBreak

__all__ = [
    "compile", "explain", "ExplainOutput", "CompiledFunction", "reset",
    "Graph", "Node", "Value", "IRError", "GraphBreak", "set_logs", "logs", "cache_size_limit",
]  # fmt: skip


def __getattr__(name):
    if name == "cache_size_limit":
        from . import api

        return api.cache_size_limit
    raise AttributeError(name)
