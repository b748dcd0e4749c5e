"""The action journal: real files, real processes, the real CLI; nothing mocked."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.config.records import AppConfig
from core.dirs.backend import DirsBackend
from core.durations import parse_duration
from core.errors import ActionNotSupported, SessionNotFound, UsageError
from core.inventory import Inventory
from core.journal import (
    Journal,
    JournalEntry,
    JournalUnreadable,
    cli_command,
    ttl_text,
)
from core.kv.backend import KvBackend
from core.kv.manager import SessionManager
from core.kv.providers import MemoryStores
from core.kv.schema import KvBackendConfig
from core.model import SessionRef
from core.paths import state_dir
from tests.helpers import dirs_config, make_session, run_cli, unique
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent


def stamp(minutes_ago: float) -> datetime:
    return datetime.now().astimezone() - timedelta(minutes=minutes_ago)


# -- the file -------------------------------------------------------------------


def test_record_then_read_round_trips_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deep" / "journal.jsonl"
    j = Journal(path)
    j.record("stop", "runs:abc", "ok", source="cli", command="sesstui stop runs:abc --timeout 10")
    j.record("delete", ["runs:a", "runs:b"], "partial", detail="removed 1", source="tui")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["action"] == "stop" and first["target"] == "runs:abc"
    assert first["pid"] == os.getpid() and first["user"]
    assert datetime.fromisoformat(first["time"]).tzinfo is not None  # ISO-8601 with offset
    read = j.read()
    assert [e.action for e in read] == ["stop", "delete"]  # newest last
    assert read.entries[1].target == ("runs:a", "runs:b")
    assert read.entries[1].target_text() == "runs:a, runs:b"
    assert read.entries[1].detail == "removed 1" and read.entries[1].source == "tui"
    assert read.problems == ()


def test_a_missing_journal_reads_empty(tmp_path: Path) -> None:
    read = Journal(tmp_path / "nope.jsonl").read()
    assert read.entries == () and read.problems == ()


def test_corrupt_lines_are_reported_with_their_line_number(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.record("start", "bot")
    with path.open("a") as f:
        f.write("{not json\n")
        f.write('{"action": "stop"}\n')  # no result, no target
        f.write("\n")
        f.write(b"\xff\xfe\n".decode("latin-1"))
    j.record("attach", "work:main")
    with path.open("ab") as f:
        f.write(b'{"action": "kill", "targ')  # a torn last line
    read = j.read()
    assert [e.action for e in read] == ["start", "attach"]
    assert [p.line for p in read.problems] == [2, 3, 5, 7]
    assert all(p.file == path for p in read.problems)
    assert str(read.problems[0]).startswith(f"{path}:2: skipped a corrupt line")


def test_limit_since_and_action_filters(tmp_path: Path) -> None:
    times = iter([stamp(300), stamp(90), stamp(30), stamp(1)])
    j = Journal(tmp_path / "j.jsonl", clock=lambda: next(times))
    for action in ("stop", "start", "stop", "prune"):
        j.record(action, "x")
    assert [e.action for e in j.read(2)] == ["stop", "prune"]
    assert j.read(0).entries == ()
    assert [e.action for e in j.read(action="stop")] == ["stop", "stop"]
    recent = j.read(since=datetime.now().astimezone() - timedelta(hours=2))
    assert [e.action for e in recent] == ["start", "stop", "prune"]
    assert len(j.read(1, action="stop")) == 1


def test_rotation_keeps_one_old_file_and_reads_both(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path, rotate_bytes=600)
    for n in range(12):
        j.record("stop", f"runs:{n:02d}", detail="x" * 40)
    assert j.rotated.exists() and path.exists()
    assert path.stat().st_size <= 600 and j.rotated.stat().st_size <= 600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl", "journal.jsonl.1"]
    targets = [e.target for e in j.read()]
    assert targets[-1] == "runs:11"
    assert targets == sorted(targets)  # the rotated file first, in order
    assert len(targets) < 12  # older rotations are gone: one file kept


WRITER = """
import sys
from pathlib import Path
from core.journal import Journal
j = Journal(Path(sys.argv[1]), rotate_bytes=int(sys.argv[3]))
for n in range(int(sys.argv[2])):
    j.record("stop", f"w{sys.argv[4]}:{n}", detail="y" * 120, source="api")
"""


@pytest.mark.parametrize("rotate", [10**9, 20_000], ids=["append", "rotating"])
def test_appends_from_many_processes_never_interleave(tmp_path: Path, rotate: int) -> None:
    path = tmp_path / "journal.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), "150", str(rotate), str(w)], env=env
        )
        for w in range(4)
    ]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    read = Journal(path).read()
    assert read.problems == ()  # every line whole: no torn or mixed writes
    per_writer: dict[str, list[int]] = {}
    for e in read:
        assert isinstance(e.target, str)
        w, _, n = e.target.partition(":")
        per_writer.setdefault(w, []).append(int(n))
    for ns in per_writer.values():
        assert ns == sorted(ns)  # each writer's lines in its own order
    if rotate > 10**8:
        assert sum(len(ns) for ns in per_writer.values()) == 600
    else:
        assert path.stat().st_size <= rotate
        # what is kept ends with every writer's last line
        assert {ns[-1] for ns in per_writer.values()} == {149}


def test_a_journal_that_cannot_be_written_warns_once_and_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    warnings: list[str] = []
    j = Journal(blocker / "journal.jsonl", on_warning=warnings.append)
    entry = j.record("stop", "runs:a")
    j.record("stop", "runs:b")
    assert entry.action == "stop"  # returned, though not saved
    assert len(warnings) == 1
    assert str(blocker / "journal.jsonl") in warnings[0] and "not recorded" in warnings[0]
    assert j.warning == warnings[0]


def test_a_journal_that_cannot_be_read_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(JournalUnreadable, match=r"cannot read the journal .*journal\.jsonl"):
        Journal(path).read()


def test_entry_from_json_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="target"):
        JournalEntry.from_json(
            {"time": stamp(0).isoformat(), "action": "stop", "result": "ok", "target": 3}
        )
    with pytest.raises(TypeError, match="object"):
        JournalEntry.from_json([1, 2])


@pytest.mark.parametrize(
    ("ttl", "text"),
    [
        (timedelta(hours=2), "2h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0s"),
    ],
)
def test_ttl_text_reads_back_exactly(ttl: timedelta, text: str) -> None:
    assert ttl_text(ttl) == text
    assert parse_duration(text) == ttl


def test_cli_command_quotes_and_names_the_config() -> None:
    assert cli_command("stop", "runs:a b") == "sesstui stop 'runs:a b'"
    assert cli_command("start", "bot", config=Path("/etc/my conf.yml")) == (
        "sesstui --config '/etc/my conf.yml' start bot"
    )


# -- the inventory records every action -------------------------------------------


def dirs_inventory(tmp_path: Path, *, protected: bool = False) -> tuple[Inventory, Journal, Path]:
    base = tmp_path / "runs"
    base.mkdir()
    cfg = dirs_config(base)
    journal = Journal(tmp_path / "journal.jsonl")
    config = AppConfig(backends=(cfg,), source=tmp_path / "sesstui.yml")
    inv = Inventory(
        [DirsBackend(cfg)],
        config=config,
        journal=journal,
        source="tui",
        protected=["runs"] if protected else [],
    )
    return inv, journal, base


def test_delete_and_prune_are_journaled_with_their_commands(tmp_path: Path) -> None:
    inv, journal, base = dirs_inventory(tmp_path)
    a = make_session(base, age=timedelta(days=30), files={"big": b"x" * 8192})
    b = make_session(base, age=timedelta(days=20))
    keep = make_session(base)
    inv.execute(inv.plan_delete([SessionRef("runs", a.name)]), action="delete")
    inv.execute(inv.plan_prune())
    assert not a.exists() and not b.exists() and keep.exists()
    deleted, pruned = journal.read().entries
    cfg = tmp_path / "sesstui.yml"
    assert deleted.action == "delete" and deleted.result == "ok" and deleted.source == "tui"
    assert deleted.target == (f"runs:{a.name}",)
    assert deleted.command == f"sesstui --config {cfg} delete runs:{a.name} --yes"
    assert deleted.detail.startswith("removed 1, freed ")
    assert pruned.action == "prune" and pruned.target == (f"runs:{b.name}",)
    assert pruned.command == f"sesstui --config {cfg} prune --backend runs --yes"


def test_nothing_to_execute_records_nothing(tmp_path: Path) -> None:
    inv, journal, base = dirs_inventory(tmp_path)
    make_session(base)
    assert inv.execute(inv.plan_prune()) == []
    assert journal.read().entries == ()


def test_protected_and_forced_prunes_carry_their_flags(tmp_path: Path) -> None:
    inv, journal, base = dirs_inventory(tmp_path, protected=True)
    old = [make_session(base, age=timedelta(days=30 + n)) for n in range(2)]
    inv.execute(inv.plan_prune(force=True), force=True)
    (entry,) = journal.read().entries
    assert entry.command.endswith("prune --backend runs --yes --force --confirm-count 2")
    assert sorted(entry.targets) == sorted(f"runs:{p.name}" for p in old)


def test_a_partly_failed_delete_is_partial(tmp_path: Path) -> None:
    inv, journal, base = dirs_inventory(tmp_path)
    a = make_session(base)
    b = make_session(base)
    plans = inv.plan_delete([SessionRef("runs", a.name), SessionRef("runs", b.name)])
    b.rename(base / "gone-elsewhere")  # removed by someone else before the delete runs
    results = inv.execute(plans, action="delete")
    assert not results[0].ok
    (entry,) = journal.read().entries
    assert entry.result == "partial"
    assert "removed 1" in entry.detail and f"runs:{b.name}" in entry.detail


def test_failures_are_journaled_then_raised(tmp_path: Path) -> None:
    inv, journal, base = dirs_inventory(tmp_path)
    s = make_session(base)
    ref = SessionRef("runs", s.name)
    with pytest.raises(ActionNotSupported):
        inv.stop(ref, timeout=3)
    with pytest.raises(SessionNotFound):
        inv.start("bot")
    with pytest.raises(ActionNotSupported):
        inv.stop(ref, graceful=False)
    stop, start, kill = journal.read().entries
    assert (stop.action, stop.result, stop.target) == ("stop", "failed", str(ref))
    assert stop.command.endswith(f"stop runs:{s.name} --timeout 3")
    assert stop.detail  # the error's message
    assert (start.action, start.result, start.target) == ("start", "failed", "bot")
    assert start.command.endswith("start bot") and "no session spec named 'bot'" in start.detail
    assert (kill.action, kill.command.split()[-1]) == ("kill", "--force")


def test_an_unknown_execute_action_is_refused(tmp_path: Path) -> None:
    inv, _, _ = dirs_inventory(tmp_path)
    with pytest.raises(UsageError, match="prune' or 'delete"):
        inv.execute([], action="remove")


def test_extend_expire_and_attach_are_journaled(tmp_path: Path) -> None:
    store = f"jr-{unique()}"
    stores = MemoryStores()
    mgr = SessionManager("app", provider=stores.provider(store))
    sid = asyncio.run(mgr.allocate_session(user_id="alice"))
    journal = Journal(tmp_path / "journal.jsonl")
    backend = KvBackend(KvBackendConfig(name=store, kind="kv", provider="memory"), stores=stores)
    inv = Inventory([backend], journal=journal, source="cli")
    ref = SessionRef(store, sid)
    inv.extend(ref, timedelta(hours=2))
    inv.extend(ref, timedelta(0))
    inv.record_attach(SessionRef("work", "main"))
    extend, expire, attach = journal.read().entries
    assert extend.command == f"sesstui extend {ref} --ttl 2h" and extend.result == "ok"
    assert extend.detail == "expires in 2h"
    assert expire.action == "expire" and expire.command == f"sesstui expire {ref} --yes"
    assert (attach.action, attach.command) == ("attach", "sesstui attach work:main")
    assert {e.source for e in (extend, expire, attach)} == {"cli"}
    assert not asyncio.run(mgr.validate_session(sid))  # really expired
    stores.clear()


def test_no_journal_means_nothing_is_written(tmp_path: Path, isolated_home: Path) -> None:
    base = tmp_path / "runs"
    make_session(base, age=timedelta(days=30))
    inv = Inventory.from_config(AppConfig(backends=(dirs_config(base),)), journal=False)
    assert inv.journal is None
    inv.execute(inv.plan_prune())
    assert not (state_dir() / "journal.jsonl").exists()


def test_from_config_journals_into_the_state_dir(tmp_path: Path, isolated_home: Path) -> None:
    base = tmp_path / "runs"
    old = make_session(base, age=timedelta(days=30))
    inv = Inventory.from_config(AppConfig(backends=(dirs_config(base),)), source="tui")
    assert inv.journal is not None
    assert inv.journal.path == isolated_home / ".local/state/sesstui/journal.jsonl"
    inv.execute(inv.plan_prune())
    (entry,) = Journal.default().read().entries
    assert entry.source == "tui" and entry.target == (f"runs:{old.name}",)
    assert entry.command == "sesstui prune --backend runs --yes"  # embedded config: no --config


def test_the_test_run_never_writes_the_real_state_dir() -> None:
    # conftest's session-wide XDG_STATE_HOME: a tmp dir, not ~/.local/state
    assert ".local/state" not in str(state_dir())
    assert Journal.default().path.parent == state_dir()


# -- the CLI ----------------------------------------------------------------------


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp_path / "state"), "SESSTUI_CONFIG": ""}


def write_config(tmp_path: Path, base: Path) -> Path:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        f"backends:\n  - name: runs\n    kind: dirs\n    base: {base}\n"
        "    retention: {max_sessions: 20, max_age_days: 10}\n"
    )
    return cfg


def test_cli_actions_land_in_the_journal_and_sesstui_journal_shows_them(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    a = make_session(base)
    make_session(base, age=timedelta(days=30))
    cfg = write_config(tmp_path, base)
    env = cli_env(tmp_path)
    assert (
        run_cli("--config", str(cfg), "delete", f"runs:{a.name}", "--yes", env=env).returncode == 0
    )
    assert run_cli("--config", str(cfg), "prune", "--yes", env=env).returncode == 0
    out = run_cli("journal", env=env)
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.splitlines()
    assert header.split() == ["TIME", "SOURCE", "ACTION", "TARGET", "RESULT", "COMMAND"]
    assert len(rows) == 2
    assert f"sesstui --config {cfg} delete runs:{a.name} --yes" in rows[0]
    assert rows[0].split()[2:4] == ["cli", "delete"]
    assert rows[1].split()[3] == "prune" and rows[1].rstrip().endswith("--backend runs --yes")

    js = run_cli("journal", "--json", "--action", "prune", env=env)
    assert js.returncode == 0
    (line,) = js.stdout.splitlines()
    doc = json.loads(line)
    assert doc["action"] == "prune" and doc["source"] == "cli" and doc["result"] == "ok"
    assert doc["command"] == f"sesstui --config {cfg} prune --backend runs --yes"

    one = run_cli("journal", "-n", "1", "--json", env=env)
    assert [json.loads(x)["action"] for x in one.stdout.splitlines()] == ["prune"]


def test_cli_journal_since_filters_and_reports_corrupt_lines(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    path = tmp_path / "state" / "sesstui" / "journal.jsonl"
    times = iter([stamp(60 * 5), stamp(10)])
    j = Journal(path, clock=lambda: next(times))
    j.record("stop", "runs:old", command="sesstui stop runs:old --timeout 10")
    with path.open("a") as f:
        f.write("garbage\n")
    j.record("start", "bot", command="sesstui start bot")
    out = run_cli("journal", "--since", "2h", "--json", env=env)
    assert out.returncode == 0
    assert [json.loads(x)["action"] for x in out.stdout.splitlines()] == ["start"]
    assert f"{path}:2: skipped a corrupt line" in out.stderr
    bad = run_cli("journal", "--since", "soon", env=env)
    assert bad.returncode == 2 and "duration" in bad.stderr


def test_cli_journal_empty_and_unreadable(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    empty = run_cli("journal", env=env)
    assert (empty.returncode, empty.stdout) == (0, "(no journal entries)\n")
    (tmp_path / "state" / "sesstui" / "journal.jsonl").mkdir(parents=True)
    out = run_cli("journal", env=env)
    assert out.returncode == 1
    assert "journal unreadable: cannot read the journal" in out.stderr


def test_cli_warns_once_when_the_journal_cannot_be_written(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    make_session(base, age=timedelta(days=30))
    make_session(base, age=timedelta(days=31))
    cfg = write_config(tmp_path, base)
    (tmp_path / "state").write_text("a file where the state dir should be")
    out = run_cli("--config", str(cfg), "prune", "--yes", env=cli_env(tmp_path))
    assert out.returncode == 0  # the action itself went through
    assert list(base.glob("session_*")) == []
    assert out.stderr.count("warning: cannot write the journal") == 1


@pytest.mark.tmux
def test_cli_start_stop_attach_on_real_tmux_are_journaled(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(
        f"backends:\n  - {{name: work, kind: tmux, socket_name: {tmux_server.socket}}}\n"
        "sessions:\n  bot:\n    backend: work\n"
        f"    command: [{sys.executable}, -c, 'import time; time.sleep(600)']\n"
        "    stop_timeout: 2\n"
    )
    env = cli_env(tmp_path)
    assert run_cli("--config", str(cfg), "start", "bot", env=env).returncode == 0
    assert run_cli("--config", str(cfg), "start", "bot", env=env).returncode == 1  # running
    # attach execs tmux, which refuses a terminal-less stdin: launched all the same
    run_cli("--config", str(cfg), "attach", "work:bot", env=env)
    stop = run_cli("--config", str(cfg), "stop", "work:bot", "--yes", env=env)
    assert stop.returncode == 0, stop.stderr
    assert not tmux_server.has("bot")
    out = run_cli("journal", "--json", env=env)
    entries = [json.loads(x) for x in out.stdout.splitlines()]
    config = f"sesstui --config {cfg}"
    assert [(e["action"], e["result"], e["command"]) for e in entries] == [
        ("start", "ok", f"{config} start bot"),
        ("start", "failed", f"{config} start bot"),
        ("attach", "ok", f"{config} attach work:bot"),
        ("stop", "ok", f"{config} stop work:bot --timeout 2"),
    ]
    assert entries[0]["detail"] == "started work:bot"
    assert entries[1]["detail"]  # why it failed
    assert {e["source"] for e in entries} == {"cli"}
