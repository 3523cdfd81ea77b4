"""Dynamic batching for the model server (TF Serving's batching semantics).

Concurrent requests to one model are queued, grouped into batches of up to ``max_batch_size`` rows (a
request's rows are its leading dimension), run as one call to ``run_batch`` on worker threads (never on
the caller's thread or the event loop) and split back so that every caller gets exactly the rows it sent.

Semantics, in short:

* Requests are merged only when they agree on input names, dtypes and non-batch shapes; each such *key*
  has its own FIFO queue.
* A batch is dispatched when its queue holds at least ``max_batch_size`` rows, or when its oldest request
  has waited ``batch_timeout_micros``. A batch never exceeds ``max_batch_size`` rows: a request larger than
  that is **rejected** at :meth:`Batcher.submit` with :class:`ValueError` (as TF Serving does without
  large-batch splitting; the server answers 400).
* Outputs are split back by row counts; each future gets its own copies (never views into a shared
  buffer). An exception in ``run_batch`` (or malformed outputs) fails exactly the futures of that batch.
* When more than ``max_enqueued_batches * max_batch_size`` rows would be waiting, :meth:`Batcher.submit`
  raises :class:`QueueFull` carrying a ``retry_after`` hint in seconds (the server's 503 + ``Retry-After``).
* Pass-through mode (``max_batch_size`` None or 1): each request runs alone, exactly as given (any shapes,
  no batch axis needed), still on a worker thread; the queue limit then counts requests.
* :meth:`Batcher.close` drains by default (every queued request still runs, at once, without waiting for
  timeouts); ``close(drain=False)`` cancels queued futures instead. Either way batches already running
  finish and the worker threads are joined.

Example:
    >>> import numpy as np
    >>> W = np.arange(6.0).reshape(3, 2)
    >>> with Batcher(lambda t: {"y": t["x"] @ W}, max_batch_size=8, batch_timeout_micros=1000) as b:
    ...     b.submit({"x": np.ones((2, 3))}).result(timeout=10)["y"].tolist()
    [[6.0, 9.0], [6.0, 9.0]]
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Batcher", "BatcherClosed", "BatcherStats", "QueueFull"]

_log = logging.getLogger(__name__)

Inputs = dict[str, np.ndarray]
Outputs = dict[str, np.ndarray]


class QueueFull(Exception):
    """Raised by :meth:`Batcher.submit` when the batching queue is saturated.

    ``retry_after`` is a hint in seconds (a float > 0); for an HTTP ``Retry-After`` header use
    ``max(1, math.ceil(err.retry_after))``.

    Example:
        >>> err = QueueFull("queue full", retry_after=0.25)
        >>> err.retry_after
        0.25
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = float(retry_after)


class BatcherClosed(RuntimeError):
    """Raised by :meth:`Batcher.submit` after :meth:`Batcher.close`.

    Example:
        >>> issubclass(BatcherClosed, RuntimeError)
        True
    """


@dataclass(frozen=True)
class BatcherStats:
    """A snapshot of a :class:`Batcher`'s counters (for metrics).

    ``batch_size_counts`` maps a batch size in rows (requests, in pass-through mode) to the number of batches
    of that size run so far: ready for a histogram. ``queue_depth`` is the rows (pass-through: requests)
    waiting now, not counting running batches.

    Example:
        >>> BatcherStats().batches
        0
    """

    batches: int = 0
    requests: int = 0
    rows: int = 0
    failed_batches: int = 0
    rejected_requests: int = 0
    queue_depth: int = 0
    queued_requests: int = 0
    running_batches: int = 0
    batch_size_counts: dict[int, int] = field(default_factory=dict)


class _Request:
    __slots__ = ("inputs", "rows", "future", "enqueued")

    def __init__(self, inputs: Inputs, rows: int, future: Future, enqueued: float) -> None:
        self.inputs = inputs
        self.rows = rows
        self.future = future
        self.enqueued = enqueued


class _Queue:
    __slots__ = ("requests", "rows")

    def __init__(self) -> None:
        self.requests: collections.deque[_Request] = collections.deque()
        self.rows = 0


def _check_positive_int(name: str, value: object, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"Batcher: {name} must be a positive int{extra}, got {value!r}")


class Batcher:
    """Groups concurrent requests into batches and runs them on worker threads.

    Args:
        run_batch: ``run_batch(inputs) -> outputs``, both ``dict[str, np.ndarray]``; in batching mode the
            leading axis of every input and output is the batch axis.
        max_batch_size: most rows in one batch; None or 1 selects pass-through mode (no merging).
        batch_timeout_micros: how long (microseconds, >= 0) the oldest request of a partial batch waits for
            more rows before the partial batch is dispatched anyway.
        max_enqueued_batches: queue limit in batches' worth of rows (pass-through: requests); None means
            unbounded (not recommended for a server).
        num_batch_threads: worker threads running batches concurrently; default ``os.cpu_count()``.
        on_batch: optional ``on_batch(size)`` hook called on a worker thread before each batch runs, with its
            size in rows (pass-through: 1); exceptions in it are logged and ignored.

    Example:
        >>> import numpy as np
        >>> b = Batcher(lambda t: {"y": t["x"] * 2}, max_batch_size=4, batch_timeout_micros=0)
        >>> b.submit({"x": np.array([1.0, 2.0])}).result(timeout=10)["y"].tolist()
        [2.0, 4.0]
        >>> b.close()
    """

    def __init__(
        self,
        run_batch: Callable[[Inputs], Mapping[str, np.ndarray]],
        *,
        max_batch_size: int | None,
        batch_timeout_micros: int | float = 0,
        max_enqueued_batches: int | None = 100,
        num_batch_threads: int | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> None:
        if not callable(run_batch):
            raise TypeError(f"Batcher: run_batch must be callable, got {run_batch!r}")
        _check_positive_int("max_batch_size", max_batch_size, allow_none=True)
        if (
            isinstance(batch_timeout_micros, bool)
            or not isinstance(batch_timeout_micros, (int, float))
            or not math.isfinite(batch_timeout_micros)
            or batch_timeout_micros < 0
        ):
            raise ValueError(
                f"Batcher: batch_timeout_micros must be a finite number >= 0, got {batch_timeout_micros!r}"
            )
        _check_positive_int("max_enqueued_batches", max_enqueued_batches, allow_none=True)
        _check_positive_int("num_batch_threads", num_batch_threads, allow_none=True)
        if on_batch is not None and not callable(on_batch):
            raise TypeError(f"Batcher: on_batch must be callable or None, got {on_batch!r}")

        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.passthrough = max_batch_size is None or max_batch_size == 1
        self.batch_timeout_micros = batch_timeout_micros
        self._timeout_s = 0.0 if self.passthrough else batch_timeout_micros / 1e6
        self.max_enqueued_batches = max_enqueued_batches
        self.num_batch_threads = num_batch_threads or (os.cpu_count() or 1)
        self._on_batch = on_batch
        if max_enqueued_batches is None:
            self._limit: int | None = None
        else:
            self._limit = max_enqueued_batches * (1 if self.passthrough else max_batch_size)  # type: ignore[operator]

        self._cond = threading.Condition()
        self._queues: dict[tuple, _Queue] = {}  # insertion-ordered; empty queues are removed
        self._depth = 0
        self._queued_requests = 0
        self._closed = False
        self._running = 0
        self._batches = 0
        self._requests = 0
        self._rows = 0
        self._failed = 0
        self._rejected = 0
        self._size_counts: collections.Counter[int] = collections.Counter()
        self._avg_batch_s: float | None = None  # moving average of run_batch time, for retry_after

        self._threads = [
            threading.Thread(target=self._worker, name=f"tessera-batcher-{i}", daemon=True)
            for i in range(self.num_batch_threads)
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ submission

    def submit(self, inputs: Mapping[str, np.ndarray]) -> Future:
        """Queues one request and returns a future of its outputs (thread-safe).

        Raises ``ValueError``/``TypeError`` for malformed inputs or a request larger than ``max_batch_size``,
        :class:`QueueFull` when the queue is saturated and :class:`BatcherClosed` after :meth:`close`.
        Cancelling the future before its batch starts drops the request. Inputs are not copied: do not
        mutate them until the future is done.

        Example:
            >>> import numpy as np
            >>> with Batcher(lambda t: {"y": t["x"] + 1}, max_batch_size=2) as b:
            ...     b.submit({"x": np.zeros((1, 2))}).result(timeout=10)["y"].tolist()
            [[1.0, 1.0]]
        """
        arrays, rows, key = self._prepare(inputs)
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise BatcherClosed("Batcher: submit() called after close()")
            if self._limit is not None and self._depth + rows > self._limit:
                self._rejected += 1
                retry = self._retry_after_locked()
                unit = "requests" if self.passthrough else "rows"
                raise QueueFull(
                    f"Batcher: queue full ({self._depth} {unit} waiting, limit {self._limit}); "
                    f"retry after {retry:.3f}s",
                    retry_after=retry,
                )
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = _Queue()
            queue.requests.append(_Request(arrays, rows, future, time.monotonic()))
            queue.rows += rows
            self._depth += rows
            self._queued_requests += 1
            self._cond.notify()
        return future

    async def predict(self, inputs: Mapping[str, np.ndarray]) -> Outputs:
        """Awaitable :meth:`submit`: the event loop stays free while the batch runs.

        Cancelling the awaiting task cancels the request if its batch has not started yet.

        Example:
            >>> import asyncio, numpy as np
            >>> with Batcher(lambda t: {"y": -t["x"]}, max_batch_size=4) as b:
            ...     asyncio.run(b.predict({"x": np.ones(2)}))["y"].tolist()
            [-1.0, -1.0]
        """
        return await asyncio.wrap_future(self.submit(inputs))

    def _prepare(self, inputs: Mapping[str, np.ndarray]) -> tuple[Inputs, int, tuple]:
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"Batcher.submit: inputs must be a mapping of name to array, got {type(inputs)!r}"
            )
        if not inputs:
            raise ValueError("Batcher.submit: inputs must not be empty")
        arrays: Inputs = {}
        for name, value in inputs.items():
            if not isinstance(name, str):
                raise TypeError(f"Batcher.submit: input names must be str, got {name!r}")
            arrays[name] = value if isinstance(value, np.ndarray) else np.asarray(value)
        if self.passthrough:
            return arrays, 1, ("passthrough",)
        rows: int | None = None
        for name, a in arrays.items():
            if a.ndim == 0:
                raise ValueError(
                    f"Batcher.submit: input {name!r} is a scalar; batched inputs need a batch axis"
                )
            if rows is None:
                rows = a.shape[0]
            elif a.shape[0] != rows:
                lead = {n: v.shape[0] for n, v in arrays.items()}
                raise ValueError(f"Batcher.submit: inputs disagree on the batch dimension: {lead}")
        assert rows is not None
        if rows > self.max_batch_size:  # type: ignore[operator]
            raise ValueError(
                f"Batcher.submit: request has {rows} rows, more than max_batch_size={self.max_batch_size}; "
                "split it into smaller requests"
            )
        key = tuple(sorted((n, a.shape[1:], a.dtype.str) for n, a in arrays.items()))
        return arrays, rows, key

    def _retry_after_locked(self) -> float:
        avg = self._avg_batch_s if self._avg_batch_s is not None else 0.1
        per = 1 if self.passthrough else self.max_batch_size
        waves = math.ceil(self._depth / per / self.num_batch_threads) + 1  # type: ignore[operator]
        return float(min(60.0, max(0.001, waves * avg + self._timeout_s)))

    # ------------------------------------------------------------------ workers

    def _take_locked(self, now: float) -> tuple[list[_Request] | None, float | None]:
        """Pops the next ready batch; else returns (None, seconds until the next deadline or None)."""
        while True:
            best_key, best_t, next_deadline = None, math.inf, None
            for key, q in self._queues.items():
                head = q.requests[0].enqueued
                deadline = head + self._timeout_s
                full = self.passthrough or q.rows >= self.max_batch_size  # type: ignore[operator]
                if full or self._closed or deadline <= now:
                    if head < best_t:
                        best_key, best_t = key, head
                elif next_deadline is None or deadline < next_deadline:
                    next_deadline = deadline
            if best_key is None:
                return None, None if next_deadline is None else max(0.0, next_deadline - now)
            q = self._queues[best_key]
            limit = 1 if self.passthrough else self.max_batch_size
            batch: list[_Request] = []
            rows = 0
            while q.requests and rows + q.requests[0].rows <= limit:  # pass-through: one row per request
                req = q.requests.popleft()
                q.rows -= req.rows
                self._depth -= req.rows
                self._queued_requests -= 1
                if req.future.set_running_or_notify_cancel():  # False: cancelled while queued, drop it
                    batch.append(req)
                    rows += req.rows
            if not q.requests:
                del self._queues[best_key]
            if batch:
                return batch, None

    def _worker(self) -> None:
        while True:
            with self._cond:
                while True:
                    batch, wait = self._take_locked(time.monotonic())
                    if batch is not None:
                        break
                    if self._closed and not self._queues:
                        return
                    self._cond.wait(wait)
                self._running += 1
                if self._queues:
                    self._cond.notify()  # another batch may be ready for another worker
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self._running -= 1

    def _run(self, batch: list[_Request]) -> None:
        size = len(batch) if self.passthrough else sum(r.rows for r in batch)
        if self._on_batch is not None:
            try:
                self._on_batch(size)
            except Exception:
                _log.exception("Batcher: on_batch hook failed")
        start = time.monotonic()
        ok = False
        try:
            if self.passthrough or len(batch) == 1:
                inputs = batch[0].inputs
            else:
                inputs = {n: np.concatenate([r.inputs[n] for r in batch], axis=0) for n in batch[0].inputs}
            outputs = self._run_batch(inputs)
            results = self._split(outputs, batch, size)
        except BaseException as exc:
            for r in batch:
                r.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            ok = True
            for r, res in zip(batch, results):
                r.future.set_result(res)
        finally:
            elapsed = time.monotonic() - start
            with self._cond:
                self._batches += 1
                self._requests += len(batch)
                self._rows += sum(r.rows for r in batch)
                self._size_counts[size] += 1
                if not ok:
                    self._failed += 1
                prev = self._avg_batch_s
                self._avg_batch_s = elapsed if prev is None else 0.8 * prev + 0.2 * elapsed

    def _split(self, outputs: object, batch: list[_Request], size: int) -> list[Outputs]:
        if not isinstance(outputs, Mapping):
            raise TypeError(
                f"Batcher: run_batch must return a mapping of name to array, got {type(outputs)!r}"
            )
        if self.passthrough:
            return [dict(outputs)]
        arrays = {}
        for name, value in outputs.items():
            a = np.asarray(value)
            if a.ndim == 0 or a.shape[0] != size:
                raise ValueError(
                    f"Batcher: run_batch output {name!r} has shape {a.shape}; expected a leading batch "
                    f"dimension of {size}"
                )
            arrays[name] = a
        if len(batch) == 1:
            return [arrays]
        results = []
        start = 0
        for r in batch:
            stop = start + r.rows
            results.append({n: a[start:stop].copy() for n, a in arrays.items()})
            start = stop
        return results

    # ------------------------------------------------------------------ stats and lifecycle

    @property
    def queue_depth(self) -> int:
        """Rows (pass-through: requests) waiting now, not counting running batches.

        Example:
            >>> with Batcher(lambda t: t, max_batch_size=2) as b:
            ...     b.queue_depth
            0
        """
        with self._cond:
            return self._depth

    def stats(self) -> BatcherStats:
        """A consistent snapshot of the counters (see :class:`BatcherStats`).

        Example:
            >>> import numpy as np
            >>> with Batcher(lambda t: t, max_batch_size=2) as b:
            ...     _ = b.submit({"x": np.ones(1)}).result(timeout=10)
            ...     b.stats().batch_size_counts
            {1: 1}
        """
        with self._cond:
            return BatcherStats(
                batches=self._batches,
                requests=self._requests,
                rows=self._rows,
                failed_batches=self._failed,
                rejected_requests=self._rejected,
                queue_depth=self._depth,
                queued_requests=self._queued_requests,
                running_batches=self._running,
                batch_size_counts=dict(sorted(self._size_counts.items())),
            )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stops accepting requests and joins the worker threads (idempotent).

        With ``drain=True`` (default) every queued request still runs, dispatched at once; with
        ``drain=False`` queued futures are cancelled. Running batches always finish. ``timeout`` bounds the
        join of each thread (seconds; None waits).

        Example:
            >>> b = Batcher(lambda t: t, max_batch_size=4)
            >>> b.close(); b.closed
            True
        """
        with self._cond:
            self._closed = True
            if not drain:
                for q in self._queues.values():
                    for r in q.requests:
                        r.future.cancel()
                self._queues.clear()
                self._depth = 0
                self._queued_requests = 0
            self._cond.notify_all()
        me = threading.current_thread()
        for t in self._threads:
            if t is not me:
                t.join(timeout)

    def __enter__(self) -> Batcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Batcher(max_batch_size={self.max_batch_size}, batch_timeout_micros={self.batch_timeout_micros}, "
            f"max_enqueued_batches={self.max_enqueued_batches}, num_batch_threads={self.num_batch_threads})"
        )
