"""Keras-style progress bar (``fit``/``evaluate``/``predict`` output).

On a terminal (``stream.isatty()``) the bar is redrawn in place with ``\\r``::

    Epoch 1/10
    12/50 [======>.......................] - ETA: 3s - loss: 0.4321 - accuracy: 0.8750

and finished with the total time, the time per step and the final values (validation included)::

    50/50 [==============================] - 2s 40ms/step - loss: 0.3012 - val_loss: 0.3320

When the stream is not a terminal (a log file, a pipe), or with ``verbose=2``, nothing is drawn during the
epoch and a single line is written at its end::

    Epoch 1/10 - 50/50 - 2s 40ms/step - loss: 0.3012 - val_loss: 0.3320
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import numpy as np

__all__ = ["Progbar"]

#: Minimum seconds between two redraws on a terminal (the last update of an epoch is always drawn).
DEFAULT_INTERVAL = 0.05


def _is_dynamic(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # closed stream
        return False


def format_value(value: Any) -> str:
    """A logged value as Keras shows it: ``%.4f``, or ``%.4e`` for magnitudes up to 1e-3."""
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        v = float(value)
        return f"{v:.4f}" if abs(v) > 1e-3 or v != v else f"{v:.4e}"
    if hasattr(value, "shape") and getattr(value, "ndim", 1) == 0:
        return format_value(float(value))
    return str(value)


def format_time(seconds_per_unit: float, unit_name: str) -> str:
    if seconds_per_unit >= 1 or seconds_per_unit == 0:
        return f"{seconds_per_unit:.0f}s/{unit_name}"
    if seconds_per_unit >= 1e-3:
        return f"{seconds_per_unit * 1e3:.0f}ms/{unit_name}"
    return f"{seconds_per_unit * 1e6:.0f}us/{unit_name}"


def format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"


class Progbar:
    """A progress bar for ``target`` steps (``None``: unknown, shown as a counter).

    Args:
        target: total number of steps, or ``None``.
        width: bar width in characters.
        verbose: 0 silent, 1 a bar on a terminal (one line per run otherwise), 2 one line per run.
        interval: minimum seconds between redraws on a terminal.
        unit_name: the unit shown in the time per unit (``"step"``).
        header: a title (``"Epoch 3/10"``): its own line above a live bar, else the start of the one line.
        stream: where to write (default ``sys.stdout`` at creation).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = ts.keras.progbar.Progbar(2, stream=out)
        >>> bar.update(1, [("loss", 0.5)]); bar.update(2, [("loss", 0.25)], finalize=True)
        >>> out.getvalue().startswith("2/2 - ")
        True
    """

    def __init__(
        self,
        target: int | None,
        width: int = 30,
        verbose: int = 1,
        interval: float | None = None,
        unit_name: str = "step",
        header: str | None = None,
        stream: TextIO | None = None,
    ) -> None:
        if target is not None and target < 0:
            raise ValueError(f"Progbar: target must be None or >= 0, got {target}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = DEFAULT_INTERVAL if interval is None else interval
        self.unit_name = unit_name
        self.header = header
        self.stream = stream if stream is not None else sys.stdout
        self._dynamic = verbose == 1 and _is_dynamic(self.stream)
        self._start = time.perf_counter()
        self._last_update = 0.0
        self._total_width = 0
        self._header_written = False
        self._finalized = False
        self._values: dict[str, Any] = {}
        self._seen = 0

    def _write(self, text: str) -> None:
        from . import config

        if not config.is_interactive_logging_enabled():
            for line in text.replace("\r", "\n").splitlines():
                if line.strip():
                    logging.getLogger("tessera.keras").info(line.rstrip())
            return
        self.stream.write(text)
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()

    def _bar(self, current: int) -> str:
        if self.target is None or self.target == 0:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        bar = f"{current:{digits}d}/{self.target} ["
        prog_width = int(self.width * min(current / self.target, 1.0))
        if prog_width > 0:
            bar += "=" * (prog_width - 1)
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - prog_width) + "]"
        return bar

    def _values_text(self) -> str:
        return "".join(f" - {k}: {format_value(v)}" for k, v in self._values.items())

    def update(
        self, current: int, values: list[tuple[str, Any]] | dict | None = None, finalize: bool | None = None
    ):
        """Show ``current`` steps done with the latest ``values`` (``(name, value)`` pairs or a dict);
        ``finalize`` (default: ``current >= target``) writes the closing line."""
        if values:
            for k, v in values.items() if isinstance(values, dict) else values:
                self._values[k] = v
        self._seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0 or self._finalized:
            return
        now = time.perf_counter()
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        if not self._dynamic:
            if not finalize:
                return
            count = f"{current}/{self.target}" if self.target else f"{current}"
            head = f"{self.header} - " if self.header else ""
            line = (
                f"{head}{count} - {elapsed:.0f}s {format_time(per_unit, self.unit_name)}{self._values_text()}"
            )
            self._write(line + "\n")
            self._finalized = True
            return
        if not finalize and now - self._last_update < self.interval:
            return
        self._last_update = now
        if self.header and not self._header_written:
            self._write(self.header + "\n")
            self._header_written = True
        bar = self._bar(current)
        if finalize:
            info = f" - {elapsed:.0f}s {format_time(per_unit, self.unit_name)}"
        elif self.target is None:
            info = f" - {elapsed:.0f}s {format_time(per_unit, self.unit_name)}"
        else:
            info = f" - ETA: {format_eta(per_unit * (self.target - current))}"
        text = bar + info + self._values_text()
        pad = max(0, self._total_width - len(text))
        self._total_width = len(text)
        self._write("\r" + text + " " * pad + ("\n" if finalize else ""))
        if finalize:
            self._finalized = True

    def add(self, n: int, values=None) -> None:
        """Advance by ``n`` steps."""
        self.update(self._seen + n, values)
