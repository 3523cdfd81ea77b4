"""Graph nodes, re-exported from ``tessera.core.graph`` (the dispatcher records them)."""

from ..core.graph import Node, _RemovableHandle  # noqa: F401

__all__ = ["Node"]
