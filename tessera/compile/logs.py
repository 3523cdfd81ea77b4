"""``TESSERA_LOGS=graph,fusion,kernels,recompiles,guards,graph_breaks``: what the compiler prints, by topic.

Set the variable before starting Python, or call ``ts.compiler.set_logs("graph,recompiles")``.
"""

from __future__ import annotations

import os
import sys

__all__ = ["TOPICS", "set_logs", "enabled", "log"]

TOPICS = ("graph", "fusion", "kernels", "recompiles", "guards", "graph_breaks")
_enabled: set[str] = set()


def set_logs(spec: str | None) -> None:
    """Enable the topics named in ``spec`` (comma-separated; "all" for every one; None or "" for none)."""
    _enabled.clear()
    for part in (spec or "").split(","):
        part = part.strip().lower().lstrip("+")
        if not part:
            continue
        if part == "all":
            _enabled.update(TOPICS)
        elif part in TOPICS:
            _enabled.add(part)
        else:
            raise ValueError(f"set_logs: unknown topic {part!r}; topics are {', '.join(TOPICS)}")


def enabled(topic: str) -> bool:
    return topic in _enabled


def log(topic: str, message: str) -> None:
    if topic in _enabled:
        print(f"[tessera:{topic}] {message}", file=sys.stderr, flush=True)


try:
    set_logs(os.environ.get("TESSERA_LOGS"))
except ValueError as e:  # a typo in the variable must not break import
    print(f"[tessera] ignoring TESSERA_LOGS: {e}", file=sys.stderr)
