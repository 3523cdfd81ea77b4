"""Timing helpers: medians over repeats after warm-up, printed as a table with the Tessera/peer ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    """One benchmark: ``make_<framework>()`` returns a zero-argument callable that runs one iteration."""

    name: str
    makers: dict[str, Callable[[], Callable[[], object]]] = field(default_factory=dict)
    target: float | None = None  # the ratio Tessera/PyTorch we aim for, shown beside the measurement


def measure(fn: Callable[[], object], *, min_time: float = 0.2, repeats: int = 7) -> float:
    """Median seconds per call of ``fn``: calibrate a loop count, warm up, then time ``repeats`` loops."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / repeats or n >= 1 << 20:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} us"
    return f"{seconds * 1e3:8.3f} ms"


def run(cases: list[Case], peers: list[str], *, min_time: float = 0.2) -> list[dict]:
    """Measure every case for tessera and each available peer, print a table, return the rows."""
    rows = []
    header = (
        f"{'case':46s} {'tessera':>12s}" + "".join(f" {p:>12s} {'ratio':>7s}" for p in peers) + "  target"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        times = {}
        for fw in ["tessera"] + peers:
            maker = case.makers.get(fw)
            times[fw] = measure(maker(), min_time=min_time) if maker is not None else None
        line = f"{case.name:46s} {fmt(times['tessera']):>12s}"
        ratios = {}
        for p in peers:
            r = times["tessera"] / times[p] if times.get(p) else None
            ratios[p] = r
            shown = f"{r:6.2f}x" if r else "-"
            line += f" {fmt(times[p]):>12s} {shown:>7s}"
        if case.target is not None:
            line += f"  <= {case.target:g}x"
        print(line, flush=True)
        rows.append({"case": case.name, "times": times, "ratios": ratios, "target": case.target})
    return rows
