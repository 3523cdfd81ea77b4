"""What runs inside a ``DataLoader`` worker process: seeding, ``get_worker_info``, fetching and collating
batches, and shipping results (or the worker's exception, with its traceback text) back to the main process.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import traceback
from typing import Any

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

# How often (seconds) an idle worker checks that its parent is still alive.
STATUS_CHECK_INTERVAL = 1.0


class WorkerInfo:
    """Facts about the current ``DataLoader`` worker: ``id`` (0-based), ``num_workers``, ``seed`` (the seed
    ``random``, NumPy and Tessera were seeded with) and ``dataset`` (this worker's copy of the dataset)."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__keys if k != "dataset")
        return f"{self.__class__.__name__}({items}, dataset={type(self.dataset).__name__})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a ``DataLoader`` worker process, the worker's ``WorkerInfo`` (``id``, ``num_workers``,
    ``seed``, ``dataset``); ``None`` in the main process. Iterable datasets use it to shard their stream.

    Example:
        >>> ts.data.get_worker_info() is None  # in the main process
        True
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and traceback text."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # the exception type needs other constructor arguments
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            del exception  # no exception -> traceback -> frame -> exception cycle keeping the loader alive

    def __reduce__(self):
        # The exception class travels by reference; fall back to RuntimeError when it can't be pickled
        # (a class defined inside a function, say) so the error still reaches the main process.
        import pickle

        exc_type = self.exc_type
        try:
            pickle.dumps(exc_type)
        except Exception:
            exc_type = RuntimeError
        return (_rebuild_wrapper, (exc_type, self.exc_msg, self.where))


def _rebuild_wrapper(exc_type, exc_msg, where):
    w = ExceptionWrapper.__new__(ExceptionWrapper)
    w.exc_type, w.exc_msg, w.where = exc_type, exc_msg, where
    return w


class _KeyErrorMessage(str):
    """A KeyError shows its argument's repr; this keeps the multi-line traceback text readable."""

    def __repr__(self):
        return self


class _IterableDatasetStopIteration:
    """Sent by a worker whose iterable dataset is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class _MapFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        getitems = getattr(dataset, "__getitems__", None)
        self.getitems = getitems if callable(getitems) else None

    def fetch(self, index):
        if self.auto_collation:
            if self.getitems is not None:
                data = self.getitems(index)
            else:
                dataset = self.dataset
                data = [dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.iterator))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.iterator)
        return self.collate_fn(data)


def make_fetcher(iterable: bool, dataset, auto_collation: bool, collate_fn, drop_last: bool):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed ``random``, NumPy's global generator and Tessera's default generator for one worker."""
    from ..core.random import manual_seed

    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _dumps(obj) -> bytes:
    from multiprocessing.reduction import ForkingPickler

    return bytes(ForkingPickler.dumps(obj))


def _worker_loop(
    iterable: bool,
    dataset,
    index_conn,
    data_queue,
    done_event,
    auto_collation: bool,
    collate_fn,
    drop_last: bool,
    base_seed: int,
    init_fn,
    worker_id: int,
    num_workers: int,
    parent_pid: int,
) -> None:
    """The body of a worker process: answer ``(epoch, idx, index)`` tasks until told to stop (``None``)."""
    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    try:
        # Ctrl-C goes to the whole process group; the main process handles it and shuts workers down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=where)
        iteration_end = False
        while True:
            if not index_conn.poll(STATUS_CHECK_INTERVAL):
                if os.getppid() != parent_pid:  # the main process is gone: nobody to work for
                    break
                continue
            try:
                task = index_conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            if task[0] == "resume":  # a new epoch for persistent workers
                iteration_end = False
                if iterable and init_exception is None:
                    try:
                        fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                    except Exception:
                        init_exception = ExceptionWrapper(where=where)
                continue
            if done_event.is_set() or iteration_end:
                continue
            epoch, idx, index = task
            if init_exception is not None:
                data = init_exception
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where=where)
            try:
                payload = _dumps((epoch, idx, data))
            except Exception:
                payload = _dumps((epoch, idx, ExceptionWrapper(where=f"{where} while sending its batch")))
            data_queue.put(payload)
            del data, payload
    except KeyboardInterrupt:
        pass
    # Results still buffered are not needed any more: don't let them block this process's exit.
    data_queue.cancel_join_thread()
    data_queue.close()
