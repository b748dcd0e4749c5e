"""Advisory locks across processes (one pruner per base directory)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import LockBusy


def _program() -> str:
    """A short name of this program for the lock file (no spaces, no newline)."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if not name or name in ("-c", "-m", "__main__.py"):
        with contextlib.suppress(OSError):
            name = Path("/proc/self/comm").read_text(encoding="utf-8").strip()
    return "".join(ch for ch in name if ch.isprintable() and not ch.isspace())[:64] or "python"


def describe_holder(content: bytes) -> str:
    """Who holds a lock, from what the holder wrote into the lock file.

    Our holders write ``<pid> <program>``; anything else (an empty file, text
    we did not write) means another program holds the lock without saying.
    """
    words = content.decode(errors="replace").split()
    if words and words[0].isdigit():
        program = f" ({words[1]})" if len(words) > 1 else ""
        return f"held by pid {words[0]}{program}"
    return "held by another program (it did not write its pid into the lock file)"


@contextlib.contextmanager
def exclusive_lock(
    path: Path, *, wait: float = 0.0, what: str = "this operation"
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing).

    Waits up to ``wait`` seconds for another holder, then raises LockBusy naming
    the holder (its pid and program, which each of our holders writes into the
    file), or saying that another program holds it.
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
                    holder = describe_holder(os.pread(fd, 256, 0))
                    raise LockBusy(
                        f"{what} is already running ({holder}; lock {path}); "
                        "wait for it to finish, then try again"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {_program()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
