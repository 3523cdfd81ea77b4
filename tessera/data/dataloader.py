"""``DataLoader``: batches samples from a dataset, in the main process or in worker processes."""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import numbers
import os
import queue
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import numpy as np

from ..core.random import Generator, default_generator
from . import _worker
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

T_co = TypeVar("T_co", covariant=True)

# How long the main process waits for a worker at shutdown before terminating it (seconds).
_JOIN_TIMEOUT = 5.0
# How often the main process, while waiting for a batch, checks that the workers are alive (seconds).
_STATUS_CHECK_INTERVAL = 5.0


class _InfiniteConstantSampler(Sampler):
    """The sampler behind iterable datasets: yields ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _default_mp_context():
    """'fork' on Linux (fast start, the dataset is shared copy-on-write), else 'spawn' (fork is unsafe on
    macOS and absent on Windows)."""
    fork = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")


class DataLoader(Generic[T_co]):
    """Iterate over a dataset in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__`` and ``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch; ``None`` disables batching (each sample goes through
            ``default_convert``).
        shuffle: reshuffle the indices every epoch (a ``RandomSampler`` driven by ``generator``).
        sampler / batch_sampler: custom index order / custom index batches (exclusive with ``shuffle``, and
            ``batch_sampler`` with ``batch_size``, ``sampler`` and ``drop_last``).
        num_workers: worker processes loading batches in parallel (0: load in the main process). Batches
            come back in the same order as with ``num_workers=0``; each worker seeds ``random``, NumPy and
            Tessera with ``base_seed + worker_id`` (``base_seed`` is drawn from ``generator`` per epoch).
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        pin_memory, pin_memory_device: accepted for compatibility; no effect on the CPU.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers before raising (0: wait forever).
        worker_init_fn: called with the worker id in each worker after seeding.
        multiprocessing_context: start method name (``"fork"``, ``"spawn"``, ``"forkserver"``) or context;
            default ``"fork"`` where available, else ``"spawn"``.
        generator: a ``ts.Generator`` for the shuffling order and the workers' base seed.
        prefetch_factor: batches loaded in advance per worker (default 2 with workers).
        persistent_workers: keep the worker processes alive between epochs.
        in_order: accepted for compatibility; batches are always returned in order.

    Example:
        >>> ds = ts.data.TensorDataset(ts.arange(10.0), ts.arange(10))
        >>> loader = ts.data.DataLoader(ds, batch_size=4, shuffle=True, generator=ts.Generator().manual_seed(0))
        >>> [x.shape[0] for x, y in loader]
        [4, 4, 2]
    """

    _initialized = False

    def __init__(
        self,
        dataset: Dataset[T_co] | Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler[list] | Iterable[list] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, numbers.Integral) or isinstance(num_workers, bool):
            raise TypeError(f"DataLoader: num_workers must be an int, got {type(num_workers).__name__}")
        if num_workers < 0:
            raise ValueError(
                f"DataLoader: num_workers option should be non-negative, got {num_workers}; "
                "use num_workers=0 to disable multiprocessing."
            )
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                "Let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (
            not isinstance(prefetch_factor, numbers.Integral) or prefetch_factor < 1
        ):
            raise ValueError(f"DataLoader: prefetch_factor should be a positive int, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError("DataLoader: worker_init_fn must be callable or None")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable or None")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"DataLoader: generator must be a ts.Generator or None, got {type(generator).__name__}"
            )

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, but got "
                    f"batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
            if not hasattr(dataset, "__getitem__"):
                raise TypeError(
                    f"DataLoader: dataset must be a map-style dataset (with __getitem__ and __len__) or an "
                    f"IterableDataset, got {type(dataset).__name__}"
                )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # validates batch_size / drop_last
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = iterable
        self._iterator = None
        self._initialized = True

    # -- configuration --------------------------------------------------------------------------------
    @property
    def multiprocessing_context(self):
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "DataLoader: multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
            if isinstance(ctx, str):
                methods = multiprocessing.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError(
                        f"DataLoader: multiprocessing_context option should specify a valid start method in "
                        f"{methods!r}, but got multiprocessing_context={ctx!r}"
                    )
                ctx = multiprocessing.get_context(ctx)
            elif not isinstance(ctx, multiprocessing.context.BaseContext):
                raise TypeError(
                    "DataLoader: multiprocessing_context option should be a valid context object or a string "
                    f"specifying the start method, but got multiprocessing_context={ctx!r}"
                )
        self._mp_context = ctx

    def __setattr__(self, attr: str, val) -> None:
        if self._initialized and attr in (
            "batch_size",
            "batch_sampler",
            "sampler",
            "drop_last",
            "dataset",
            "persistent_workers",
        ):
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    # -- iteration ------------------------------------------------------------------------------------
    def _get_iterator(self) -> _BaseDataLoaderIter:
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self) -> Iterator:
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)  # TypeError when the iterable dataset has no length
            if self.batch_size is not None:
                if self.drop_last:
                    length //= self.batch_size
                else:
                    length = -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"num_workers={self.num_workers})"
        )


def _draw_base_seed(generator: Generator | None) -> int:
    rng = (generator if generator is not None else default_generator)._rng
    return int(rng.integers(0, 2**63 - 1, dtype=np.int64))


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._collate_fn = loader.collate_fn
        self._timeout = loader.timeout
        self._sampler_iter = iter(self._index_sampler)
        # Drawn before the sampler starts (samplers are lazy), with or without workers, so the shuffled
        # order for a given generator seed does not depend on num_workers.
        self._base_seed = _draw_base_seed(loader.generator)
        self._num_yielded = 0
        self._shutdown = False

    def __iter__(self):
        return self

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(
            self._iterable, self._dataset, self._auto_collation, self._collate_fn, self._drop_last
        )

    def _next_data(self):
        index = self._next_index()
        return self._fetcher.fetch(index)


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Worker processes fed ``(epoch, idx, indices)`` tasks round-robin through one pipe each; results come
    back (pickled in the worker) on a shared queue and are re-ordered by ``idx``."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._shutdown = True  # until the workers exist, there is nothing to shut down
        self._prefetch_factor = loader.prefetch_factor
        self._persistent_workers = loader.persistent_workers
        ctx = loader.multiprocessing_context or _default_mp_context()
        self._worker_result_queue = ctx.Queue()
        _grow_pipe(self._worker_result_queue)
        self._workers_done_event = ctx.Event()
        self._index_conns = []
        self._workers = []
        self._shutdown = False
        try:
            for i in range(self._num_workers):
                reader, writer = ctx.Pipe(duplex=False)
                w = ctx.Process(
                    target=_worker._worker_loop,
                    args=(
                        self._iterable,
                        self._dataset,
                        reader,
                        self._worker_result_queue,
                        self._workers_done_event,
                        self._auto_collation,
                        self._collate_fn,
                        self._drop_last,
                        self._base_seed,
                        loader.worker_init_fn,
                        i,
                        self._num_workers,
                        os.getpid(),
                    ),
                    daemon=True,
                )
                w.start()
                reader.close()  # the worker holds the read end: writes fail fast once it is gone
                self._index_conns.append(writer)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._epoch = 0
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0  # next task id to send
        self._rcvd_idx = 0  # next task id to return
        self._task_info: dict[int, tuple] = {}  # idx -> (worker_id,) or (worker_id, data)
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers start a new epoch; results of the previous one still in flight are dropped.
            self._epoch += 1
            for wid in range(self._num_workers):
                self._send(wid, ("resume", self._epoch))
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _send(self, worker_id: int, msg) -> None:
        try:
            self._index_conns[worker_id].send(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._raise_dead_workers(force=True)

    def _try_put_index(self) -> None:
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next active worker
            worker_id = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # no active worker left
        self._send(worker_id, (self._epoch, self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _raise_dead_workers(self, force: bool = False) -> None:
        dead = [(i, w) for i, w in enumerate(self._workers) if not w.is_alive()]
        if dead or force:
            detail = ", ".join(f"worker {i} (pid {w.pid}, exit code {w.exitcode})" for i, w in dead)
            self._shutdown_workers(join_timeout=0.5)
            raise RuntimeError(
                f"DataLoader worker process exited unexpectedly: {detail or 'a worker pipe was closed'}. "
                "Its dataset or collate_fn may have crashed the process (e.g. os._exit, a signal, out of memory)."
            )

    def _get_data(self):
        """The next ``(idx, data)`` of the current epoch from the result queue."""
        q = self._worker_result_queue
        reader = getattr(q, "_reader", None)
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    self._shutdown_workers(join_timeout=0.1)  # they are stuck: don't wait for them
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            if reader is not None:
                # Wake up on a result or on a worker's death, whichever comes first.
                ready = multiprocessing.connection.wait([reader] + [w.sentinel for w in self._workers], wait)
                try:
                    raw = q.get(timeout=0.05) if reader in ready else None
                except queue.Empty:
                    raw = None
            else:
                try:
                    raw = q.get(timeout=wait)
                except queue.Empty:
                    raw = None
            if raw is None:
                self._raise_dead_workers()
                continue
            epoch, idx, data = _loads(raw)
            if epoch == self._epoch:
                return idx, data

    def _next_data(self):
        if self._shutdown:  # exhausted, or stopped by an error: the workers are gone
            raise StopIteration
        while True:
            # Skip tasks sent to workers whose iterable dataset is exhausted: they will never be answered.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                    self._tasks_outstanding -= 1
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:  # already received out of order
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(info[1])
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker._IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                del self._task_info[idx]  # answered, with nothing: the skip loop above steps over it
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process_data(data)

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _shutdown_workers(self, join_timeout: float = _JOIN_TIMEOUT) -> None:
        """Stop the workers: ask politely, wait up to ``join_timeout`` seconds, then terminate."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for conn in self._index_conns:
                try:
                    conn.send(None)
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + join_timeout
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for conn in self._index_conns:
                conn.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=1.0)
                    if w.is_alive():
                        w.kill()
                        w.join()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass


def _grow_pipe(q) -> None:
    """Best effort: a 1 MiB pipe buffer (Linux) lets a worker write a whole batch without waiting for the
    main process to drain the pipe in 64 KiB steps."""
    try:
        import fcntl

        fcntl.fcntl(q._writer.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except Exception:  # not Linux, a smaller pipe-max-size, or a Queue without a pipe: keep the default
        pass


def _loads(raw: bytes):
    from multiprocessing.reduction import ForkingPickler

    try:
        return ForkingPickler.loads(raw)
    except Exception as e:
        raise RuntimeError(
            f"DataLoader: could not unpickle a batch sent by a worker process ({type(e).__name__}: {e})"
        ) from e
