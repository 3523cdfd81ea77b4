"""Timing helpers: medians over repeats after warm-up, printed as a table with the Tessera/peer ratio.

A case whose makers include ``"tessera.compile"`` is a compile case: it gets its own table with an eager
and a compiled column per framework (``tessera``, ``tessera.compile``, ``torch``, ``torch.compile``) and
the ratios of ``tessera.compile`` to each other column.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    """One benchmark: ``make_<framework>()`` returns a zero-argument callable that runs one iteration.

    In a compile case (makers keyed ``tessera``, ``tessera.compile``, ``<peer>``, ``<peer>.compile``) a
    maker may instead return a number: seconds it timed itself (a first call, a subprocess). ``target``
    is then a dict: ``{column: max ratio of tessera.compile to that column}`` and/or ``{"seconds": max}``.
    """

    name: str
    makers: dict[str, Callable[[], Callable[[], object]]] = field(default_factory=dict)
    target: float | dict | None = None  # the ratio Tessera/PyTorch we aim for, shown beside the measurement

    @property
    def is_compile(self) -> bool:
        return COMPILED in self.makers


COMPILED = "tessera.compile"
WARMUP = 3  # extra calls before timing a compiled column (its first calls trace, compile, recompile)


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
    plain = [c for c in cases if not c.is_compile]
    compiled = [c for c in cases if c.is_compile]
    rows = _run_plain(plain, peers, min_time=min_time) if plain or not compiled else []
    if compiled:
        if rows:
            print()
        rows += run_compile(compiled, peers, min_time=min_time)
    return rows


def _run_plain(cases: list[Case], peers: list[str], *, min_time: float) -> list[dict]:
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


def _fmt_wide(seconds: float | None) -> str:
    return f"{seconds:8.2f} s " if seconds is not None and seconds >= 10 else fmt(seconds)


def _target_text(target, ratios: dict, compiled: float | None) -> str:
    """``<= 0.25x tessera, <= 0.6x torch.compile  ok`` (or ``MISS``; nothing when not measured)."""
    if target is None:
        return ""
    if not isinstance(target, dict):
        target = {"tessera": target}
    parts, met = [], []
    for col, limit in target.items():
        if col == "seconds":
            parts.append(f"< {limit:g} s")
            met.append(None if compiled is None else compiled < limit)
        else:
            parts.append(f"<= {limit:g}x {col}")
            r = ratios.get(col)
            met.append(None if r is None else r <= limit)
    verdict = "" if None in met else ("  ok" if all(met) else "  MISS")
    return "  " + ", ".join(parts) + verdict


def _one_column(case: Case, col: str, min_time: float, notes: list) -> float | None:
    """Seconds per call for one column of a compile case; None (noted) if it fails."""
    maker = case.makers.get(col)
    if maker is None:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn = maker()
            if fn is None or isinstance(fn, (int, float)):
                return fn
            if col.endswith(".compile"):
                for _ in range(WARMUP):
                    fn()
            note = getattr(fn, "bench_note", None)
            note = note() if note is not None else None
            if note:
                notes.append((col, note))
        except Exception as e:  # noqa: BLE001 - a failing column shows "-", the run goes on
            notes.append((col, f"failed: {type(e).__name__}: {_one_line(str(e))}"))
            return None
        finally:
            for w in caught:
                if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
                    continue
                msg = f"warning: {_one_line(str(w.message))}"
                if (col, msg) not in notes:
                    notes.append((col, msg))
    try:
        return measure(fn, min_time=min_time)
    except Exception as e:  # noqa: BLE001
        notes.append((col, f"failed while timing: {type(e).__name__}: {_one_line(str(e))}"))
        return None


def _one_line(text: str, width: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def run_compile(cases: list[Case], peers: list[str], *, min_time: float = 0.2) -> list[dict]:
    """The compile table: eager and compiled time per framework, ratios of ``tessera.compile`` (tsc) to
    each other column (ts: Tessera eager, torch.c: ``torch.compile``), the target, notes per column."""
    cols = ["tessera", COMPILED] + [c for p in peers for c in (p, f"{p}.compile")]
    others = [c for c in cols if c != COMPILED]
    label = {COMPILED: "ts.compile"}
    short = {"tessera": "ts", COMPILED: "tsc"} | {f"{p}.compile": f"{p}.c" for p in peers}
    header = (
        f"{'compile case':46s}" + "".join(f" {label.get(c, c):>13s}" for c in cols)
        + "".join(f" {'tsc/' + short.get(c, c):>11s}" for c in others) + "  target"
    )  # fmt: skip
    print(header)
    print("-" * len(header))
    rows = []
    for case in cases:
        notes: list = []
        times = {c: _one_column(case, c, min_time, notes) for c in cols}
        ratios = {}
        for c in others:
            ratios[c] = times[COMPILED] / times[c] if times[COMPILED] and times[c] else None
        line = f"{case.name:46s}" + "".join(f" {_fmt_wide(times[c]):>13s}" for c in cols)
        line += "".join(f" {(f'{ratios[c]:6.2f}x' if ratios[c] else '-'):>11s}" for c in others)
        line += _target_text(case.target, ratios, times[COMPILED])
        print(line, flush=True)
        for col, note in notes:
            print(f"    [{col}] {note}", flush=True)
        rows.append(
            {"case": case.name, "times": times, "ratios": ratios, "target": case.target, "notes": notes}
        )
    return rows
