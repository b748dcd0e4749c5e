"""Test helpers: real session directories, real processes, real users."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from core.dirs.naming import make_name
from core.dirs.schema import DirsBackendConfig
from core.model import PrunePolicy

T = TypeVar("T")


def unavailable(reason: str) -> NoReturn:
    """A part this test needs is missing here: skip, naming it, except under
    ``CI=true``, where the test command installed everything and a missing part
    is a failure (a CI run never skips)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI=true, but {reason}", pytrace=False)
    pytest.skip(reason)


# a pid that is certainly not running: larger than any pid_max
DEAD_PID = 4_194_999


def make_session(
    base: Path,
    *,
    age: timedelta = timedelta(0),
    pid: int = DEAD_PID,
    files: dict[str, bytes | str] | None = None,
    prefix: str = "session_",
    now: datetime | None = None,
) -> Path:
    """A session directory named as the producer API names them, with files,
    its mtime (and its files') set ``age`` into the past."""
    when = (now or datetime.now()) - age
    path = base / make_name(prefix, now=when, pid=pid)
    path.mkdir(parents=True)
    for rel, data in (files or {"logs/app.log": "hello\n"}).items():
        f = path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            f.write_text(data)
        else:
            f.write_bytes(data)
    ts = when.timestamp()
    for root, dirs, fnames in os.walk(path):
        for n in [*dirs, *fnames]:
            os.utime(Path(root) / n, (ts, ts), follow_symlinks=False)
    os.utime(path, (ts, ts))
    return path


def dirs_config(
    base: Path,
    *,
    name: str = "runs",
    max_sessions: int = 20,
    max_age_days: float | None = 10,
    create_base: bool = False,
) -> DirsBackendConfig:
    return DirsBackendConfig(
        name=name,
        kind="dirs",
        base=base,
        retention=PrunePolicy(
            max_sessions,
            timedelta(days=max_age_days) if max_age_days is not None else None,
        ),
        create_base=create_base,
    )


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the real `sesstui` CLI in a subprocess (python -m tui.cli)."""
    root = Path(__file__).resolve().parent.parent
    full_env = {**os.environ, "PYTHONPATH": str(root), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or root,
        input=input_text,
        timeout=timeout,
        check=False,
    )


def kv_record(
    sid: str,
    sandbox: str = "app-1",
    user: str | None = "alice",
    *,
    ttl: float = 3600.0,
    meta: dict[str, Any] | None = None,
    zulu: bool = False,
    now: datetime | None = None,
) -> str:
    """A session value exactly as chuk-sessions writes it, at ``now`` (default
    the real time, for backends on the real clock)."""
    now = now or datetime.now(UTC)

    def stamp(moment: datetime) -> str:
        text = moment.isoformat()
        return text.replace("+00:00", "Z") if zulu else text

    return json.dumps(
        {
            "session_id": sid,
            "sandbox_id": sandbox,
            "user_id": user,
            "created_at": stamp(now - timedelta(minutes=5)),
            "expires_at": stamp(now + timedelta(seconds=ttl)),
            "last_accessed": stamp(now - timedelta(minutes=1)),
            "status": "active",
            "custom_metadata": meta if meta is not None else {"role": "admin"},
        }
    )


def live_process() -> subprocess.Popen[bytes]:
    """A real process that stays alive until killed (to own an active session)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])


def as_nobody(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a forked child that has dropped to uid/gid 65534.

    Root reads any file, so permission errors need a real unprivileged user;
    forking keeps the already-imported code usable without a readable python.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        # modules the stdlib imports lazily must be loaded while the
        # interpreter's own folder is still readable (it may sit under /root)
        import encodings.idna  # noqa: F401
        import importlib

        importlib.import_module("_strptime")  # used by datetime.strptime

        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out: object = ("ok", fn())
        except BaseException as exc:  # noqa: BLE001 - shipped back to the parent
            out = ("err", exc)
        with os.fdopen(w, "wb") as f:
            try:
                pickle.dump(out, f)
            except Exception as exc:  # noqa: BLE001
                pickle.dump(("err", RuntimeError(repr(exc))), f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        kind, value = pickle.load(f)
    os.waitpid(pid, 0)
    if kind == "err":
        raise value
    return value  # type: ignore[no-any-return]


def wait_for(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class ManualClock:
    """A time source the test moves (``now``, :meth:`advance`), never the wall clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def unique() -> str:
    return uuid.uuid4().hex[:8]


@contextmanager
def tmpfs(mnt: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs mounted on ``mnt`` (made if missing), unmounted afterwards."""
    mnt.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
