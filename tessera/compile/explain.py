"""``ts.compiler.explain(fn, *args)``: what the compiler makes of a call, without reading logs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

__all__ = ["explain", "ExplainOutput"]


@dataclass
class ExplainOutput:
    """Graphs (text form), graph breaks as ``(file:line, reason)``, guards, op counts before and after the
    passes, fusion groups, and why a version runs eagerly if it does."""

    graphs: list = field(default_factory=list)
    graph_breaks: list = field(default_factory=list)
    guards: list = field(default_factory=list)
    ops_before: dict = field(default_factory=dict)
    ops_after: dict = field(default_factory=dict)
    kernels: list = field(default_factory=list)
    backend: str = ""
    eager_reason: str | None = None

    @property
    def graph_count(self) -> int:
        return len(self.graphs)

    @property
    def graph_break_count(self) -> int:
        return len(self.graph_breaks)

    def __str__(self) -> str:
        lines = [
            f"graphs: {self.graph_count}, graph breaks: {self.graph_break_count}, backend: {self.backend}"
        ]
        for loc, reason in self.graph_breaks:
            lines.append(f"  break at {loc}: {reason}")
        if self.eager_reason:
            lines.append(f"  runs eagerly: {self.eager_reason}")
        lines.append("guards:")
        lines += [f"  {g}" for g in self.guards]
        lines.append(f"ops before optimization: {sum(self.ops_before.values())} {self.ops_before}")
        lines.append(f"ops after optimization:  {sum(self.ops_after.values())} {self.ops_after}")
        for k in self.kernels:
            lines.append(f"fused kernel {k['name']} {list(k['shape'])}: {' -> '.join(k['ops'])}")
        for i, g in enumerate(self.graphs):
            lines.append(f"graph {i}:")
            lines += ["  " + line for line in g.splitlines()]
        return "\n".join(lines)


def explain(fn, *args, **kwargs) -> ExplainOutput:
    """Trace ``fn(*args, **kwargs)`` once (it runs, with its side effects, as a compiled first call does)
    and report the graph, its breaks, its guards and what the optimizer and fusion did.

    Example:
        >>> out = ts.compiler.explain(lambda x: (x * 2).relu().sum(), ts.randn(8, 8))
        >>> out.graph_count, out.graph_break_count
        (1, 0)
    """
    from .api import CompiledFunction

    cf = CompiledFunction(fn)
    breaks = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf(*args, **kwargs)
    out = ExplainOutput()
    for entry in cf._entries.values():
        out.guards = _guards(entry.key, cf)
        if entry.eager:
            out.eager_reason = entry.reason
            continue
        out.graphs.append(entry.graph.text())
        out.ops_before, out.ops_after = entry.stats["ops_before"], entry.stats["ops_after"]
        out.kernels = entry.stats["kernels"]
        out.backend = entry.stats["backend"]
        out.guards += [f"state tensor {acc[0]} {tuple(shape)} {dtype} requires_grad={rg}"
                       for acc, shape, dtype, rg in entry.state]  # fmt: skip
    breaks = list(getattr(cf, "_breaks", []))
    out.graph_breaks = breaks
    del caught
    return out


def _guards(key, cf) -> list[str]:
    args, static, grad_mode, uni, _ = key
    lines = [
        f"tensor argument {i}: shape {tuple(s)} {d.name} requires_grad={rg}"
        for i, (s, d, rg) in enumerate(args)
    ]
    lines.append(f"grad mode: {'enabled' if grad_mode else 'disabled'}")
    training, grads_none, rgs, opt_state, named = uni
    if training:
        lines.append(f"training flags of {len(training)} modules: {training}")
    if grads_none:
        lines.append(f".grad is None for {sum(grads_none)} of {len(grads_none)} parameters")
    if opt_state:
        lines.append(f"optimizer state entries: {opt_state}")
    if named:
        lines.append(f"the tensors bound to {', '.join(repr(n) for n, _ in named)} are the ones traced")
    lines.append("static arguments: equal to the traced call's")
    return lines
