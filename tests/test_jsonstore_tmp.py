"""The JSON store's atomic write, and the temporary files a crash leaves.

Stale temporary files are made the way they happen: a real writer process is
SIGKILLed in the middle of ``atomic_write`` (at the moment it would replace the
record).  Their age comes from their mtime (set with ``os.utime``) against an
injected clock; nothing sleeps.

The write-order test wraps ``os.replace`` and ``os.fsync`` to watch the
sequence of a real write: at the moment the record's name is replaced, the
file that takes it must already hold the complete new record and have been
fsynced; after it, the directory is fsynced and the record is never written
again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.config.records import AppConfig
from core.inventory import Inventory
from core.jsonstore.backend import JsonBackend
from core.jsonstore.manager import SessionManager
from core.jsonstore.schema import JsonBackendConfig
from core.jsonstore.store import (
    STALE_TEMP_SECONDS,
    FileSessionStore,
    is_temp_name,
    temp_files,
)
from core.orphans import find_orphans
from tests.helpers import run_cli

NOW = 1_900_000_000.0  # the injected clock


def crash_mid_write(base: Path, session_id: str, workspace: str | None = None) -> Path:
    """Run a writer that is SIGKILLed when it would replace the record; the
    temporary file it leaves behind."""
    before = {t.path for t in temp_files(base)}
    code = textwrap.dedent(
        f"""
        import os, signal
        from core.jsonstore.manager import SessionManager
        from core.jsonstore.store import FileSessionStore
        manager = SessionManager(FileSessionStore({str(base)!r}))
        record = manager.get_session({session_id!r})
        os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        manager.record_turn({session_id!r}, prompt="lost in the crash")
        """
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    (left,) = {t.path for t in temp_files(base)} - before
    assert is_temp_name(left.name)
    if workspace is not None:
        assert left.parent.name == workspace
    return left


def aged(path: Path, seconds: float) -> None:
    os.utime(path, (NOW - seconds, NOW - seconds))


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "agents"


def config(base: Path) -> AppConfig:
    return AppConfig(backends=(JsonBackendConfig(name="agents", kind="json", base=base),))


def test_orphans_list_crash_temp_files_with_size(base: Path) -> None:
    manager = SessionManager(FileSessionStore(base))
    loose = manager.start_session(agent_id="a")
    inws = manager.start_session(workspace_id="support", agent_id="b")
    stale = crash_mid_write(base, loose.session_id)
    fresh = crash_mid_write(base, inws.session_id, workspace="support")
    aged(stale, STALE_TEMP_SECONDS + 600)
    aged(fresh, 60)
    cfg = config(base)
    snapshot = Inventory.from_config(cfg, journal=False).refresh()
    report = find_orphans(snapshot, cfg, clock=lambda: NOW)
    temps = {o.path: o for o in report if o.category == "json-temp"}
    assert set(temps) == {str(stale), str(fresh)}
    assert temps[str(stale)].bytes == stale.stat().st_size > 0
    stale_reason = temps[str(stale)].reason
    assert stale_reason == (
        "temporary file, 1h10m old: left by an interrupted write; prune removes it"
    )
    assert "a write may be in flight" in temps[str(fresh)].reason
    assert temps[str(fresh)].label == f"agents:support/{fresh.name}"
    # the records themselves are untouched by the crash
    record = manager.get_session(loose.session_id)
    assert record is not None and record.turns == ()


def test_prune_removes_only_temp_files_older_than_an_hour(base: Path) -> None:
    manager = SessionManager(FileSessionStore(base))
    sid = manager.start_session(agent_id="a").session_id
    over = crash_mid_write(base, sid)
    at_limit = crash_mid_write(base, sid)
    aged(over, STALE_TEMP_SECONDS + 1)
    aged(at_limit, STALE_TEMP_SECONDS)
    backend = JsonBackend(config(base).backends[0], clock=lambda: NOW)
    plan = backend.plan_prune()
    assert [(e.id, e.path, e.bytes) for e in plan.entries] == [
        (over.name, str(over), over.stat().st_size)
    ]
    (entry,) = plan.entries
    assert entry.reason.value == "age" and "stale temporary file" in entry.detail
    assert at_limit.exists() and over.exists()  # planning removes nothing
    result = backend.prune(plan)
    assert result.ok
    assert not over.exists() and at_limit.exists()
    assert manager.get_session(sid) is not None  # the record stays


def test_prune_refuses_a_planned_temp_swapped_for_a_symlink(base: Path, tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(base))
    sid = manager.start_session(agent_id="a").session_id
    temp = crash_mid_write(base, sid)
    aged(temp, 2 * STALE_TEMP_SECONDS)
    backend = JsonBackend(config(base).backends[0], clock=lambda: NOW)
    plan = backend.plan_prune()
    assert [e.path for e in plan.entries] == [str(temp)]
    outside = tmp_path / "precious"
    outside.write_text("keep me")
    temp.unlink()
    temp.symlink_to(outside)
    result = backend.prune(plan)
    assert not result.ok and "symlink" in (result.results[0].error or "")
    assert outside.read_text() == "keep me" and temp.is_symlink()


def test_cli_orphans_and_prune_dry_run_show_them(base: Path, tmp_path: Path) -> None:
    manager = SessionManager(FileSessionStore(base))
    sid = manager.start_session(workspace_id="ws", agent_id="a").session_id
    temp = crash_mid_write(base, sid, workspace="ws")
    old = os.stat(temp).st_mtime - 2 * STALE_TEMP_SECONDS  # relative to the file's own time
    os.utime(temp, (old, old))
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"backends:\n  - {{name: agents, kind: json, base: '{base}'}}\n")
    orphans = run_cli("--config", str(cfg), "orphans", "--json")
    assert orphans.returncode == 0, orphans.stderr
    (entry,) = [o for o in json.loads(orphans.stdout)["orphans"] if o["category"] == "json-temp"]
    assert entry["path"] == str(temp) and entry["bytes"] == temp.stat().st_size
    dry = run_cli("--config", str(cfg), "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    (planned,) = json.loads(dry.stdout)["plan"]
    assert planned["id"] == f"ws/{temp.name}" and planned["reason"] == "age"
    assert "interrupted write" in planned["detail"] and planned["bytes"] == temp.stat().st_size
    assert temp.exists()
    done = run_cli("--config", str(cfg), "prune", "--yes")
    assert done.returncode == 0, done.stderr
    assert not temp.exists() and manager.get_session(f"{sid}") is not None


# --- the order of the atomic write -------------------------------------------------


def test_the_record_is_complete_and_synced_when_it_replaces(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = SessionManager(FileSessionStore(base))
    sid = manager.start_session(agent_id="a").session_id
    target = base / f"{sid}.json"
    events: list[str] = []
    synced: set[tuple[int, int]] = set()
    real_fsync, real_replace, real_open = os.fsync, os.replace, os.open
    fds: dict[int, str] = {}

    def open_(path: str | os.PathLike[str], flags: int, *args: int, **kw: object) -> int:
        fd = real_open(path, flags, *args, **kw)  # type: ignore[arg-type]
        fds[fd] = os.fspath(path)
        return fd

    def fsync(fd: int) -> None:
        real_fsync(fd)
        st = os.fstat(fd)
        synced.add((st.st_dev, st.st_ino))
        events.append(f"fsync {'dir' if os.path.isdir(fds.get(fd, '')) else 'file'}")

    at_replace: list[bytes] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        st = os.stat(src)
        data = Path(src).read_bytes()
        # the file taking the record's name holds the whole new record, on disk
        assert (st.st_dev, st.st_ino) in synced, "replaced before the temp file was fsynced"
        assert [t["prompt"] for t in json.loads(data)["turns"]] == ["hello"]
        at_replace.append(data)
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    manager.record_turn(sid, prompt="hello", response="hi")
    monkeypatch.undo()
    assert events[-3:] == ["fsync file", "replace", "fsync dir"], events
    # nothing wrote into the record after it was replaced
    assert at_replace == [target.read_bytes()]
    record = manager.get_session(sid)
    assert record is not None and [t["prompt"] for t in record.turns] == ["hello"]
