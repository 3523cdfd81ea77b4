"""Atomic file writes shared by every Tessera saver (``ts.save``, ``model.save``, ``save_weights``).

The data goes to a temporary file in the target's directory, which is flushed and fsync'ed, then renamed
over the target with ``os.replace`` (atomic on POSIX and Windows), and the directory is fsync'ed so the
rename itself survives a power loss. A crash or an exception at any point leaves the previous file intact,
and the temporary file is removed on failure.

A process killed mid-write (SIGKILL, power loss) cannot remove its temporary file. Temporary files are named
``.<target>.<pid>.<random>.tmp``, so the next write of the same target removes those of processes that are no
longer running (and older ones without a pid once they are an hour old): stale files never pile up, and a
concurrent writer's file is left alone.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["atomic_write", "clean_stale_temporaries"]

_UMASK: int | None = None
_STALE_AGE_S = 3600.0  # temporary files without a pid (older Tessera) count as stale after this long
_TMP_TAIL = re.compile(r"(?:(\d+)\.)?[A-Za-z0-9_]+\.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # exists (another user's process), or cannot tell: keep its file
        return True
    return True


def clean_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files that interrupted writes of ``path`` left beside it (their writer is no
    longer running); returns the removed paths.

    Example:
        >>> clean_stale_temporaries("ckpt.safetensors")  # doctest: +SKIP
        []
    """
    path = os.fsdecode(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not name.startswith(prefix):
            continue
        m = _TMP_TAIL.fullmatch(name[len(prefix) :])
        if m is None:
            continue
        full = os.path.join(directory, name)
        try:
            if m.group(1) is not None:
                if _pid_alive(int(m.group(1))):
                    continue
            elif now - os.stat(full).st_mtime < _STALE_AGE_S:
                continue
            os.unlink(full)
            removed.append(full)
        except OSError:  # raced with another cleaner, or not ours to remove
            continue
    return removed


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK = mask
    return _UMASK


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":  # pragma: no cover - Windows cannot open directories
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - e.g. a directory we may write but not read
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write_fn: Callable[[IO[bytes]], Any]) -> Any:
    """Write ``path`` atomically: ``write_fn(f)`` fills a binary temporary file that replaces ``path``
    only once it is completely written and synced. Returns what ``write_fn`` returns.

    Example:
        >>> atomic_write("weights.bin", lambda f: f.write(b"..."))  # doctest: +SKIP
    """
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"atomic_write: {path!r} is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"atomic_write: directory {directory!r} does not exist (writing {path!r})")
    clean_stale_temporaries(path)
    prefix = "." + os.path.basename(path) + f".{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            result = write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would have.
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        try:
            os.chmod(tmp, mode)
        except OSError:  # pragma: no cover
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    return result
