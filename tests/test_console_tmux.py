"""The operator's console (#13) on real private tmux servers: start a session
whose panes exited, restart from a spec, inspect with the process tree,
stats from /proc, what stop does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config.records import AppConfig, SessionSpec
from core.errors import ActionNotSupported
from core.inventory import Inventory
from core.journal import Journal
from core.model import SessionRef, State
from tests.helpers import run_cli, wait_for
from tests.tmux_fixtures import TmuxServer, _tmux_server_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.tmux

SLEEPER = (sys.executable, "-c", "import time; time.sleep(600)")


def dead(server: TmuxServer, name: str) -> bool:
    return server.value(f"={name}:", "#{pane_dead}") == "1"


def exited_session(server: TmuxServer, name: str) -> None:
    """A session whose only pane exited, kept by remain-on-exit."""
    server.run("set-option", "-g", "remain-on-exit", "on")
    server.run("new-session", "-d", "-s", name, "sleep 0.2; exit 3")
    wait_for(lambda: dead(server, name), 10, f"the pane of {name} to exit")


def test_a_session_whose_panes_exited_is_offered_and_resumed(tmux_server: TmuxServer) -> None:
    exited_session(tmux_server, "job")
    inv = Inventory([tmux_server.backend()])
    snap = inv.refresh()
    assert snap.by_ref()[SessionRef("tm", "job")].state is State.STOPPED
    choices = inv.startable(snap)
    assert [(c.key, c.spec) for c in choices] == [("tm:job", None)]
    session = inv.start("tm:job")  # respawn-pane: the same command again
    assert session.state is State.RUNNING and not dead(tmux_server, "job")
    with pytest.raises(Exception, match="is running"):
        inv.start("tm:job")


def test_restart_from_a_spec_and_refused_without_one(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    spec = SessionSpec(name="svc", backend="tm", command=SLEEPER, stop_timeout=2)
    config = AppConfig(backends=(tmux_server.config(),), sessions={"svc": spec})
    journal = Journal(tmp_path / "journal.jsonl")
    inv = Inventory([tmux_server.backend()], config=config, journal=journal)
    choices = inv.startable(inv.refresh())
    assert [c.key for c in choices] == ["svc"]
    first = inv.start("svc")
    assert not inv.startable(inv.refresh())
    assert "running already: svc" in inv.startable(inv.refresh()).reason
    after = inv.restart(SessionRef("tm", "svc"))
    assert after.state is State.RUNNING and after.pid != first.pid  # a new process

    tmux_server.run("new-session", "-d", "-s", "loose", "sleep 600")
    with pytest.raises(ActionNotSupported, match="no spec under `sessions:`"):
        inv.restart(SessionRef("tm", "loose"))
    assert tmux_server.has("loose")  # nothing was stopped
    entries = [(e.action, e.result, e.command) for e in journal.read().entries]
    assert ("restart", "ok", "sesstui restart tm:svc --timeout 2") in entries
    assert ("restart", "failed", "sesstui restart tm:loose --timeout 10") in entries


def test_nothing_to_start_says_why(tmux_server: TmuxServer) -> None:
    inv = Inventory([tmux_server.backend()])
    choices = inv.startable(inv.refresh())
    assert not choices
    assert "no session specs are configured" in choices.reason
    assert "no stopped session in tm" in choices.reason


def test_cli_start_resumes_and_says_what_cannot(tmux_server: TmuxServer, tmp_path: Path) -> None:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: tm, kind: tmux, socket_name: {tmux_server.socket}}}\n")
    r = run_cli("--config", str(cfg), "start", "--list")
    assert r.returncode == 0 and "nothing to start" in r.stdout
    exited_session(tmux_server, "job")
    r = run_cli("--config", str(cfg), "start", "--list")
    assert r.returncode == 0 and r.stdout.startswith("tm:job\ttm\tstopped tmux session")
    r = run_cli("--config", str(cfg), "start", "job")
    assert r.returncode == 0, r.stderr
    assert not dead(tmux_server, "job")
    r = run_cli("--config", str(cfg), "start", "nope")
    assert r.returncode == 4 and "nothing named 'nope' to start" in r.stderr
    r = run_cli("--config", str(cfg), "restart", "tm:job", "--yes")
    assert r.returncode == 2 and "no spec under `sessions:`" in r.stderr


def test_inspect_shows_windows_panes_and_the_process_tree(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    tmux_server.run(
        "new-session", "-d", "-s", "web", "-n", "srv", "-c", str(tmp_path),
        "sleep 600 & exec sleep 601",
    )  # fmt: skip
    tmux_server.run("new-window", "-t", "=web:", "-n", "aux", "sleep 602")
    inv = Inventory([tmux_server.backend()])

    def both_sleeps() -> bool:
        text = "\n".join(inv.inspect(SessionRef("tm", "web")).lines())
        # and tmux reports the pane's cwd (just after a start it can be empty)
        return "sleep 600" in text and "sleep 601" in text and str(tmp_path) in text

    wait_for(both_sleeps, 10, "the pane's processes")
    ins = inv.inspect(SessionRef("tm", "web"))
    assert [s.title for s in ins.sections] == [
        "session",
        "tmux session",
        "window 0: srv",
        "window 1: aux · active",
    ]
    assert dict(ins.section("tmux session").fields)["windows"] == "2"
    (pane,) = ins.section("window 0").children
    fields = dict(pane.fields)
    assert fields["cwd"] == str(tmp_path) and fields["state"] == "running"
    pid = int(fields["pid"])
    assert pane.lines[0] == "processes (pid state rss command):"
    root, child = pane.lines[1], pane.lines[2]
    assert root.startswith(f"{pid} ") and root.endswith("sleep 601")
    assert child.startswith("  ") and child.endswith("sleep 600")  # one level in
    r = run_cli_for(tmux_server, tmp_path, "inspect", "tm:web", "--json")
    assert r.returncode == 0, r.stderr
    assert "sleep 602" in r.stdout


def run_cli_for(server: TmuxServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: tm, kind: tmux, socket_name: {server.socket}}}\n")
    return run_cli("--config", str(cfg), *args)


def test_stats_of_a_busy_session_from_its_process_tree(tmux_server: TmuxServer) -> None:
    from core.procs import clock_ticks, read_processes

    tmux_server.run("new-session", "-d", "-s", "busy", f"{sys.executable} -c 'while True: pass'")
    tmux_server.run("new-session", "-d", "-s", "calm", "sleep 600")
    inv = Inventory([tmux_server.backend()])
    by_name = {s.name: s for s in inv.refresh().sessions}
    pid = by_name["busy"].pid
    assert pid is not None

    def burn(seconds: float) -> None:  # the "interval": until the pane used 20 ticks
        start = read_processes(cmdlines=False)[pid].cpu_ticks
        wait_for(lambda: read_processes(cmdlines=False)[pid].cpu_ticks >= start + 20, 30, "CPU use")

    clock = iter([100.0, 101.0])
    busy, calm = inv.stats(
        [by_name["busy"], by_name["calm"]], sleep=burn, clock=lambda: next(clock)
    )
    # at least the 20 ticks it burned, over the 1 s the clock says passed
    assert busy.cpu_percent is not None and busy.cpu_percent >= 20 / clock_ticks() * 100
    assert busy.memory_bytes and busy.processes == 1
    assert calm.cpu_percent is not None and calm.cpu_percent < busy.cpu_percent
    assert calm.processes == 1
