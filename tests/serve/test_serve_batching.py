"""Tests for tessera.serve.batching: dynamic batching with TF Serving's semantics."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import CancelledError

import numpy as np
import pytest

from tessera.serve.batching import Batcher, BatcherClosed, QueueFull

T = 30.0  # generous timeout (seconds) for anything that should complete

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 4))
B = RNG.standard_normal(4)


def affine(x: np.ndarray) -> np.ndarray:
    """x @ W + b for feature sizes 2 or 3, keeping x's dtype."""
    return (x @ W[: x.shape[-1]].astype(x.dtype) + B.astype(x.dtype)).astype(x.dtype)


class Recorder:
    """A run_batch that records what it saw."""

    def __init__(self, fn=None, gate: threading.Event | None = None) -> None:
        self.fn = fn or (lambda t: {"y": affine(t["x"]), "rows": np.arange(len(t["x"]))})
        self.gate = gate
        self.lock = threading.Lock()
        self.sizes: list[int] = []
        self.keys: list[tuple] = []
        self.threads: set[int] = set()

    def __call__(self, inputs: dict) -> dict:
        with self.lock:
            self.sizes.append(len(next(iter(inputs.values()))) if np.ndim(next(iter(inputs.values()))) else 0)
            self.keys.append(tuple((n, a.shape[1:], a.dtype.str) for n, a in sorted(inputs.items())))
            self.threads.add(threading.get_ident())
        if self.gate is not None:
            assert self.gate.wait(T)
        return self.fn(inputs)


def wait_until(cond, timeout: float = T) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def test_concurrent_results_equal_unbatched_and_shapes_not_merged():
    rec = Recorder()
    n_threads, per_thread, max_bs = 12, 15, 8
    results: list[tuple[np.ndarray, object]] = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)
    with Batcher(rec, max_batch_size=max_bs, batch_timeout_micros=2000, num_batch_threads=2) as batcher:

        def client(seed: int) -> None:
            rng = np.random.default_rng(seed)
            start.wait(T)
            pending = []
            for _ in range(per_thread):
                rows = int(rng.integers(1, 5))
                feat = int(rng.choice([2, 3]))
                dtype = rng.choice([np.float64, np.float32])
                x = rng.standard_normal((rows, feat)).astype(dtype)
                pending.append((x, batcher.submit({"x": x})))
            with lock:
                results.extend(pending)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T)
            assert not t.is_alive()
        for x, fut in results:
            out = fut.result(T)
            assert set(out) == {"y", "rows"}
            assert out["y"].dtype == x.dtype and out["y"].shape == (len(x), 4)
            tol = 1e-5 if x.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(out["y"], affine(x), rtol=tol, atol=tol)
            assert out["rows"].shape == (len(x),)
        stats = batcher.stats()
    assert len(results) == n_threads * per_thread
    assert all(1 <= s <= max_bs for s in rec.sizes)
    assert sum(rec.sizes) == sum(len(x) for x, _ in results) == stats.rows
    assert stats.requests == len(results) and stats.batches == len(rec.sizes) and stats.failed_batches == 0
    assert sum(stats.batch_size_counts.values()) == stats.batches
    # every batch is homogeneous: one input name, one feature size, one dtype (4 keys in all)
    assert {k for k in rec.keys} <= {(("x", (f,), np.dtype(d).str),) for f in (2, 3) for d in ("f8", "f4")}
    assert threading.get_ident() not in rec.threads


def test_full_batches_dispatch_without_timeout_and_respect_max_rows():
    rec = Recorder()
    b = Batcher(rec, max_batch_size=4, batch_timeout_micros=60_000_000, num_batch_threads=1)
    xs = [np.full((r, 3), float(i)) for i, r in enumerate([3, 2, 1, 2])]
    futs = [b.submit({"x": x}) for x in xs]
    # [3] cannot take the 2 after it; [2, 1] cannot take the last 2: two batches of 3 rows, no timeout needed
    futs[0].result(T)
    futs[2].result(T)
    assert rec.sizes == [3, 3]
    assert not futs[3].done() and b.queue_depth == 2
    b.close()  # drains: the last request runs at once, not after 60 s
    assert rec.sizes == [3, 3, 2]
    for x, f in zip(xs, futs):
        np.testing.assert_allclose(f.result(0)["y"], affine(x), rtol=1e-12)


def test_four_single_rows_form_one_batch_with_split_copies():
    rec = Recorder()
    with Batcher(rec, max_batch_size=4, batch_timeout_micros=60_000_000, num_batch_threads=1) as b:
        xs = [np.full((1, 3), float(i)) for i in range(4)]
        futs = [b.submit({"x": x}) for x in xs]
        outs = [f.result(T) for f in futs]
    assert rec.sizes == [4]
    for i, (x, out) in enumerate(zip(xs, outs)):
        np.testing.assert_allclose(out["y"], affine(x), rtol=1e-12)
        assert out["rows"].tolist() == [i]  # the row position inside the batch, split back in order
    assert not np.shares_memory(outs[0]["y"], outs[1]["y"])
    assert outs[0]["y"].base is None


def test_timeout_dispatches_a_lone_request():
    rec = Recorder()
    with Batcher(rec, max_batch_size=64, batch_timeout_micros=20_000) as b:
        x = np.ones((2, 3))
        out = b.submit({"x": x}).result(T)
    np.testing.assert_allclose(out["y"], affine(x), rtol=1e-12)
    assert rec.sizes == [2]


def test_queue_full_raises_with_retry_after_and_recovers():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    b = Batcher(rec, max_batch_size=2, batch_timeout_micros=0, max_enqueued_batches=2, num_batch_threads=1)
    try:
        first = b.submit({"x": np.ones((2, 3))})
        wait_until(lambda: b.stats().running_batches == 1)
        queued = [
            b.submit({"x": np.ones((2, 3))}),
            b.submit({"x": np.ones((1, 3))}),
            b.submit({"x": np.ones((1, 3))}),
        ]
        assert b.queue_depth == 4
        with pytest.raises(QueueFull) as err:
            b.submit({"x": np.ones((1, 3))})
        assert err.value.retry_after > 0
        assert "queue full" in str(err.value)
        assert b.stats().rejected_requests == 1 and b.queue_depth == 4
        gate.set()
        for f in [first, *queued]:
            f.result(T)
        assert b.submit({"x": np.ones((1, 3))}).result(T)["y"].shape == (1, 4)
    finally:
        gate.set()
        b.close()


def test_error_fails_exactly_its_batch():
    def run(t):
        if np.isnan(t["x"]).any():
            raise ArithmeticError("nan in batch")
        return {"y": affine(t["x"])}

    with Batcher(run, max_batch_size=4, batch_timeout_micros=60_000_000, num_batch_threads=1) as b:
        bad = [b.submit({"x": np.full((1, 3), np.nan if i == 2 else 1.0)}) for i in range(4)]
        good = [b.submit({"x": np.full((1, 3), float(i))}) for i in range(4)]
        other_key = b.submit({"x": np.ones((4, 2))})
        for f in bad:
            with pytest.raises(ArithmeticError, match="nan in batch"):
                f.result(T)
        for i, f in enumerate(good):
            np.testing.assert_allclose(f.result(T)["y"], affine(np.full((1, 3), float(i))), rtol=1e-12)
        np.testing.assert_allclose(other_key.result(T)["y"], affine(np.ones((4, 2))), rtol=1e-12)
        stats = b.stats()
    assert stats.failed_batches == 1 and stats.batches == 3


def test_malformed_outputs_fail_the_batch():
    with Batcher(lambda t: {"y": np.zeros(1)}, max_batch_size=4, batch_timeout_micros=0) as b:
        with pytest.raises(ValueError, match="leading batch dimension of 3"):
            b.submit({"x": np.ones((3, 2))}).result(T)
    with Batcher(lambda t: [1, 2], max_batch_size=4) as b:
        with pytest.raises(TypeError, match="must return a mapping"):
            b.submit({"x": np.ones((1, 2))}).result(T)


def test_close_drains_then_rejects_and_joins():
    rec = Recorder()
    b = Batcher(rec, max_batch_size=8, batch_timeout_micros=60_000_000, num_batch_threads=2)
    futs = [b.submit({"x": np.full((1, 3), float(i))}) for i in range(3)]
    b.close()
    assert all(f.done() and not f.cancelled() for f in futs)
    assert rec.sizes == [3]
    assert not any(t.is_alive() for t in b._threads)
    with pytest.raises(BatcherClosed):
        b.submit({"x": np.ones((1, 3))})
    b.close()  # idempotent


def test_close_without_drain_cancels_queued_but_finishes_running():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    b = Batcher(rec, max_batch_size=2, batch_timeout_micros=0, num_batch_threads=1)
    running = b.submit({"x": np.ones((2, 3))})
    wait_until(lambda: b.stats().running_batches == 1)
    queued = [b.submit({"x": np.ones((1, 3))}) for _ in range(3)]
    closer = threading.Thread(target=b.close, kwargs={"drain": False})
    closer.start()
    wait_until(lambda: all(f.cancelled() for f in queued))
    assert b.queue_depth == 0
    gate.set()
    closer.join(T)
    assert not closer.is_alive()
    np.testing.assert_allclose(running.result(0)["y"], affine(np.ones((2, 3))), rtol=1e-12)
    for f in queued:
        with pytest.raises(CancelledError):
            f.result(0)
    assert rec.sizes == [2]


def test_cancelled_queued_request_is_dropped():
    gate = threading.Event()
    rec = Recorder(gate=gate)
    with Batcher(rec, max_batch_size=4, batch_timeout_micros=0, num_batch_threads=1) as b:
        first = b.submit({"x": np.ones((1, 3))})
        wait_until(lambda: b.stats().running_batches == 1)
        dropped = b.submit({"x": np.ones((2, 3))})
        kept = b.submit({"x": np.zeros((1, 3))})
        assert dropped.cancel()
        gate.set()
        first.result(T)
        np.testing.assert_allclose(kept.result(T)["y"], affine(np.zeros((1, 3))), rtol=1e-12)
    assert rec.sizes == [1, 1]


def test_argument_and_input_validation():
    run = lambda t: t
    with pytest.raises(ValueError, match="max_batch_size must be a positive int or None, got 0"):
        Batcher(run, max_batch_size=0)
    with pytest.raises(ValueError, match="batch_timeout_micros must be a finite number >= 0, got -1"):
        Batcher(run, max_batch_size=4, batch_timeout_micros=-1)
    with pytest.raises(ValueError, match="max_enqueued_batches must be a positive int or None, got 1.5"):
        Batcher(run, max_batch_size=4, max_enqueued_batches=1.5)
    with pytest.raises(ValueError, match="num_batch_threads must be a positive int or None, got True"):
        Batcher(run, max_batch_size=4, num_batch_threads=True)
    with pytest.raises(TypeError, match="run_batch must be callable"):
        Batcher(None, max_batch_size=4)
    with Batcher(run, max_batch_size=4) as b:
        with pytest.raises(ValueError, match="5 rows, more than max_batch_size=4"):
            b.submit({"x": np.ones((5, 2))})
        with pytest.raises(ValueError, match="disagree on the batch dimension"):
            b.submit({"x": np.ones((2, 2)), "y": np.ones((3, 2))})
        with pytest.raises(ValueError, match="'x' is a scalar"):
            b.submit({"x": np.float64(1.0)})
        with pytest.raises(ValueError, match="must not be empty"):
            b.submit({})
        with pytest.raises(TypeError, match="mapping of name to array"):
            b.submit(np.ones((1, 2)))
        assert b.stats().requests == 0 and b.queue_depth == 0


@pytest.mark.parametrize("max_batch_size", [None, 1])
def test_passthrough_runs_each_request_alone_off_the_caller_thread(max_batch_size):
    calls = []
    lock = threading.Lock()

    def run(t):
        with lock:
            calls.append((threading.get_ident(), {n: a.shape for n, a in t.items()}))
        return {"s": np.asarray(sum(float(np.sum(a)) for a in t.values()))}

    sizes = []
    with Batcher(
        run, max_batch_size=max_batch_size, batch_timeout_micros=60_000_000, on_batch=sizes.append
    ) as b:
        assert b.passthrough
        reqs = [{"a": np.float64(i), "b": np.ones((i + 1, 2))} for i in range(6)]  # no common batch axis
        futs = [b.submit(r) for r in reqs]
        outs = [f.result(T) for f in futs]
        stats = b.stats()
    for i, out in enumerate(outs):
        assert float(out["s"]) == i + 2 * (i + 1)
    assert len(calls) == 6 and threading.get_ident() not in {c[0] for c in calls}
    assert sorted(c[1]["b"] for c in calls) == [(i + 1, 2) for i in range(6)]
    assert sizes == [1] * 6 and stats.batch_size_counts == {1: 6}


def test_on_batch_hook_sees_sizes_and_its_errors_are_ignored():
    seen = []

    def hook(size):
        seen.append(size)
        raise RuntimeError("hook bug")

    with Batcher(Recorder(), max_batch_size=4, batch_timeout_micros=60_000_000, on_batch=hook) as b:
        futs = [b.submit({"x": np.ones((2, 3))}) for _ in range(2)]
        for f in futs:
            f.result(T)
    assert seen == [4]


def test_asyncio_predict_gathers_and_loop_stays_responsive():
    gate = threading.Event()
    rec = Recorder(gate=gate)

    async def main(b: Batcher) -> None:
        xs = [np.full((1 + i % 3, 3), float(i)) for i in range(20)]
        task = asyncio.ensure_future(asyncio.gather(*(b.predict({"x": x}) for x in xs)))
        await asyncio.sleep(0)
        wait_start = time.monotonic()
        ticks = 0
        while not rec.sizes:  # a batch is now blocked in run_batch: the loop still answers ("health check")
            await asyncio.sleep(0.001)
            assert time.monotonic() - wait_start < T
        for _ in range(5):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 5 and not task.done()
        gate.set()
        outs = await asyncio.wait_for(task, T)
        for x, out in zip(xs, outs):
            np.testing.assert_allclose(out["y"], affine(x), rtol=1e-12)
        with pytest.raises(ValueError, match="more than max_batch_size"):
            await b.predict({"x": np.ones((9, 3))})

    with Batcher(rec, max_batch_size=8, batch_timeout_micros=1000) as b:
        try:
            asyncio.run(main(b))
        finally:
            gate.set()
    assert all(s <= 8 for s in rec.sizes)
