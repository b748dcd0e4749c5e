"""Advisory locks across processes (one pruner per base directory)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import LockBusy


@contextlib.contextmanager
def exclusive_lock(
    path: Path, *, wait: float = 0.0, what: str = "this operation"
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing).

    Waits up to ``wait`` seconds for another holder, then raises LockBusy naming
    the holder's pid, which each holder writes into the file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise LockBusy(
                        f"{what} is already running (pid {holder}, lock {path}); "
                        "wait for it to finish, then try again"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
