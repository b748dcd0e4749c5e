"""The tmux backend against real tmux servers on private sockets: starting
(arguments, shells, refusals, dying programs), exact-name targets, stopping
and attaching."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec.structs
import pytest

from core.config.records import Origin
from core.errors import (
    ActionFailed,
    ConfigError,
    SessionNotFound,
    UsageError,
)
from core.tmux.backend import TmuxBackend
from core.tmux.command import TmuxRunner
from tests.helpers import wait_for
from tests.tmux_fixtures import (  # noqa: F401 - fixtures
    TmuxServer,
    _tmux_server_fixture,
)
from tests.tmux_helpers import PY, sleeper, spec


@pytest.mark.tmux
def test_shell_false_passes_arguments_verbatim(tmux_server: TmuxServer, tmp_path: Path) -> None:
    out = tmp_path / "argv.txt"
    code = (
        "import json, os, sys, time\n"
        "open(sys.argv[1], 'w').write(json.dumps([sys.argv[2:], os.environ['GREETING']]))\n"
        "time.sleep(600)"
    )
    args = ("$HOME and spaces", "ends;", "back\\;", ";", "#{pane_pid}", "*")
    backend = tmux_server.backend()
    backend.start(spec("verbatim", PY, "-c", code, str(out), *args, env={"GREETING": "hi $HOME;"}))
    wait_for(out.exists, what="the program's output")
    assert json.loads(out.read_text()) == [list(args), "hi $HOME;"]


@pytest.mark.tmux
def test_single_argument_runs_without_a_shell(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "my prog $HOME"
    script.write_text(f"#!/bin/sh\necho ok > '{marker}'\nexec sleep 600\n")
    script.chmod(0o755)
    backend = tmux_server.backend()
    backend.start(spec("one-arg", str(script)))
    wait_for(marker.exists, what="the script to run")


@pytest.mark.tmux
def test_shell_true_runs_through_the_shell(tmux_server: TmuxServer, tmp_path: Path) -> None:
    out = tmp_path / "home.txt"
    backend = tmux_server.backend()
    backend.start(spec("shelled", f"echo $HOME > '{out}'; sleep 600", shell=True))
    wait_for(lambda: out.exists() and out.read_text().strip() != "", what="the shell's output")
    assert out.read_text().strip() not in ("", "$HOME")
    with pytest.raises(UsageError, match="one string"):
        backend.start(spec("two", "echo", "x", shell=True))


@pytest.mark.tmux
@pytest.mark.parametrize("name", ["a.b", "a:b", "-x", "", "x" * 65, "tab\there"])
def test_bad_names_are_refused_before_tmux(tmux_server: TmuxServer, name: str) -> None:
    backend = tmux_server.backend()
    before = backend.spawns
    with pytest.raises(UsageError, match="cannot start tmux session"):
        backend.start(sleeper(name))
    assert backend.spawns == before
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_bad_name_from_config_names_the_file(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    origin = Origin("sesstui.yml", 12, "sessions.a.b")
    with pytest.raises(ConfigError) as info:
        backend.start(sleeper("a.b", origin=origin))
    assert info.value.message.startswith("sesstui.yml:12: sessions.a.b: ")
    assert "'.' or ':'" in info.value.message


@pytest.mark.tmux
def test_lookups_never_reach_other_targets(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("a"))
    tmux_server.run("new-window", "-d", "-t", "=a:", "-n", "b", "sleep 600")
    for ref in ("a:b", "a.0", "a:", ""):
        with pytest.raises(SessionNotFound, match="not a tmux session name"):
            backend.get(ref)
        with pytest.raises(SessionNotFound):
            backend.stop(ref)
    assert tmux_server.has("a")


@pytest.mark.tmux
def test_exact_names_never_match_prefixes(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("foo-10"))
    with pytest.raises(SessionNotFound):
        backend.get("foo")
    with pytest.raises(SessionNotFound):
        backend.stop("foo", graceful=False)
    with pytest.raises(SessionNotFound):
        backend.attach_argv("foo")
    with pytest.raises(SessionNotFound):
        backend.tail("foo")
    assert tmux_server.has("foo-10")

    backend.start(sleeper("foo"))
    backend.stop("foo", graceful=False)
    assert not tmux_server.has("foo")
    assert tmux_server.has("foo-10")
    assert [s.name for s in backend.list_sessions()] == ["foo-10"]


class _VanishFirst(TmuxRunner):
    """The backend's runner, except that ``foo`` ends (through the test's own
    tmux) just before the backend's first ``command``: the moment between a
    lookup and the command that acts on it."""

    def __init__(self, backend: TmuxBackend, server: TmuxServer, command: str) -> None:
        inner = backend.runner
        super().__init__(inner.tmux, socket_name=inner.socket_name, timeout=inner.timeout)
        self.server = server
        self.command = command
        self.vanished = False

    def run(self, *args: str, timeout: float | None = None) -> Any:
        if args and args[0] == self.command and not self.vanished:
            self.vanished = True
            self.server.run("kill-session", "-t", "=foo")
        return super().run(*args, timeout=timeout)


@pytest.mark.tmux
def test_a_stop_racing_the_end_of_the_session_spares_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    racing = _VanishFirst(backend, tmux_server, "kill-session")
    backend.runner = racing
    backend.stop("foo", graceful=False)  # foo ended on its own: done, not an error
    assert racing.vanished
    assert not tmux_server.has("foo")
    assert tmux_server.has("foobar")  # `kill-session -t foo` would have killed foobar


@pytest.mark.tmux
def test_a_graceful_stop_sees_its_session_end_not_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """C-c ends ``foo`` (its only pane exits); the stop must notice that at
    once rather than watch ``foobar``'s panes until the timeout."""
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            backend.stop("foo", graceful=True, timeout=600)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    worker = threading.Thread(target=stop, daemon=True)
    worker.start()
    wait_for(lambda: not worker.is_alive(), 30, "the stop to see foo gone")
    assert not errors, errors
    assert not tmux_server.has("foo")
    assert tmux_server.has("foobar")


@pytest.mark.tmux
def test_attach_argv_of_a_session_that_ended_never_attaches_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """The argv runs later (after the app suspends); by then ``foo`` may be gone."""
    backend = tmux_server.backend()
    backend.start(sleeper("foobar"))
    backend.start(sleeper("foo"))
    argv = backend.attach_argv("foo", env={})
    tmux_server.run("kill-session", "-t", "=foo")
    # no terminal here: tmux reaches "not a terminal" only after it found a target
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    proc = subprocess.run(
        argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert "can't find session" in proc.stderr, proc.stderr
    assert tmux_server.has("foobar")


@pytest.mark.tmux
def test_switch_argv_of_a_session_that_ended_never_switches_to_a_prefix_named_one(
    tmux_server: TmuxServer,
) -> None:
    """Inside the server the argv is switch-client: a client on ``bar`` must
    stay there when ``foo`` ended meanwhile, not move to ``foobar``."""
    backend = tmux_server.backend()
    for name in ("bar", "foobar", "foo"):
        backend.start(sleeper(name))
    argv = backend.attach_argv("foo", env={"TMUX": f"{tmux_server.socket_file()},1,0"})
    assert "switch-client" in argv
    tmux_server.run("kill-session", "-t", "=foo")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    with tmux_server.control_client("bar"):
        wait_for(lambda: tmux_server.run("list-clients", "-F", "#{client_session}") != "", 10)
        # from outside any pane tmux picks the attached client as the current one
        proc = subprocess.run(
            argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env
        )
        assert proc.returncode != 0
        assert "can't find session" in proc.stderr, proc.stderr
        assert tmux_server.run("list-clients", "-F", "#{client_session}").split() == ["bar"]


@pytest.mark.tmux
def test_starting_a_running_session_is_refused(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("twice"))
    with pytest.raises(ActionFailed, match="already running") as info:
        backend.start(sleeper("twice"))
    assert info.value.title == "Already running"
    assert len(backend.list_sessions()) == 1


@pytest.mark.tmux
def test_missing_command_is_reported_and_leaves_nothing(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    with pytest.raises(ActionFailed, match="'sesstui-no-such-cmd' was not found") as info:
        backend.start(spec("ghost", "sesstui-no-such-cmd", "--flag"))
    assert info.value.title == "Command not found"
    with pytest.raises(ActionFailed, match="not an executable file"):
        backend.start(spec("ghost", "/nonexistent/bin/thing"))
    assert not tmux_server.has("ghost")
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_missing_command_in_a_shell_is_reported_and_leaves_nothing(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    with pytest.raises(ActionFailed, match="status 127: command not found") as info:
        backend.start(spec("ghost", "sesstui-no-such-cmd --flag", shell=True))
    assert "sesstui-no-such-cmd" in info.value.message
    assert not tmux_server.has("ghost")
    assert backend.list_sessions() == []


@pytest.mark.tmux
def test_command_that_dies_at_once_is_reported_with_its_output(
    tmux_server: TmuxServer,
) -> None:
    backend = tmux_server.backend()
    code = (
        "import sys, time\n"
        "print('bad config: port missing', flush=True)\n"
        "time.sleep(0.05)\n"
        "sys.exit(3)"
    )
    with pytest.raises(ActionFailed, match="exited at once with status 3") as info:
        backend.start(spec("crash", PY, "-c", code))
    assert "bad config: port missing" in info.value.message
    assert not tmux_server.has("crash")
    with pytest.raises(ActionFailed, match="exited at once on signal 15"):
        backend.start(spec("killed", "sh", "-c", "kill -TERM $$"))
    assert not tmux_server.has("killed")
    # the pane of a started session closes normally again when it exits later
    backend.start(spec("later", PY, "-c", "import time; time.sleep(1.5)"))
    wait_for(lambda: not tmux_server.has("later"), what="the session to end by itself")


@pytest.mark.tmux
def test_bad_working_dir_and_env_are_usage_errors(tmux_server: TmuxServer, tmp_path: Path) -> None:
    backend = tmux_server.backend()
    with pytest.raises(UsageError, match="working_dir"):
        backend.start(sleeper("wd", working_dir=tmp_path / "missing"))
    with pytest.raises(UsageError, match="env name"):
        backend.start(sleeper("wd", env={"A=B": "1"}))
    assert backend.list_sessions() == []


def _signal_program(marker: Path, *, ignore: bool) -> tuple[str, ...]:
    handler = (
        "signal.signal(signal.SIGINT, signal.SIG_IGN)"
        if ignore
        else "signal.signal(signal.SIGINT, lambda *a: (marker.write_text('stopped'), sys.exit(0)))"
    )
    code = (
        "import pathlib, signal, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        f"{handler}\n"
        "marker.with_suffix('.ready').write_text('1')\n"
        "while True: time.sleep(0.1)\n"
    )
    return (PY, "-c", code)


@pytest.mark.tmux
def test_graceful_stop_lets_the_program_exit(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("polite", *_signal_program(marker, ignore=False)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("polite", timeout=30)
    assert marker.read_text() == "stopped"
    assert not tmux_server.has("polite")


@pytest.mark.tmux
def test_graceful_stop_reaches_a_program_whose_pane_is_in_copy_mode(
    tmux_server: TmuxServer, tmp_path: Path
) -> None:
    """In copy mode tmux keeps C-c for itself (it cancels copy mode): the stop
    leaves copy mode first, so the program still sees SIGINT."""
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("reading", *_signal_program(marker, ignore=False)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    tmux_server.run("copy-mode", "-t", "=reading:")
    assert tmux_server.value("=reading:", "#{pane_in_mode}") == "1"
    before = backend.spawns
    backend.stop("reading", timeout=30)
    assert marker.read_text() == "stopped", "SIGINT reached the program, no kill was needed"
    assert not tmux_server.has("reading")
    assert backend.spawns > before, "libtmux's commands run through the backend's runner"


@pytest.mark.tmux
def test_graceful_stop_kills_after_the_timeout(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("stubborn", *_signal_program(marker, ignore=True)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("stubborn", timeout=0.5)
    assert not tmux_server.has("stubborn")
    assert not marker.exists()


@pytest.mark.tmux
def test_forced_stop_kills_at_once(tmux_server: TmuxServer, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    backend = tmux_server.backend()
    backend.start(spec("victim", *_signal_program(marker, ignore=False)))
    wait_for(marker.with_suffix(".ready").exists, what="the handler")
    backend.stop("victim", graceful=False)
    assert not tmux_server.has("victim")
    assert not marker.exists()
    with pytest.raises(SessionNotFound, match="no tmux session 'victim'"):
        backend.stop("victim")


@pytest.mark.tmux
def test_attach_argv_against_the_real_socket(tmux_server: TmuxServer) -> None:
    backend = tmux_server.backend()
    backend.start(sleeper("bot"))
    real_socket = tmux_server.socket_file()
    inside = backend.attach_argv("bot", env={"TMUX": f"{real_socket},1,0"})
    assert inside[1:] == ["-L", tmux_server.socket, "switch-client", "-t", "=bot"]
    outside = backend.attach_argv("bot", env={})
    assert outside[1:] == ["-L", tmux_server.socket, "attach-session", "-t", "=bot"]
    assert Path(outside[0]).name == "tmux"
    elsewhere = backend.attach_argv("bot", env={"TMUX": "/tmp/tmux-0/other,1,0"})
    assert elsewhere[3] == "attach-session"


@pytest.mark.tmux
def test_too_old_tmux_is_refused_before_starting(tmux_server: TmuxServer, tmp_path: Path) -> None:
    # An old tmux cannot be installed next to the real one here, so a wrapper
    # reports version 2.9 for `-V` and runs the real tmux for everything else.
    old = tmp_path / "tmux-2.9"
    old.write_text(
        "#!/bin/sh\n"
        '[ "$1" = -V ] && { echo "tmux 2.9"; exit 0; }\n'
        f'exec {tmux_server.tmux} "$@"\n'
    )
    old.chmod(0o755)
    cfg = msgspec.structs.replace(tmux_server.config(), tmux=str(old))
    backend = TmuxBackend(cfg)
    with pytest.raises(ActionFailed, match=r"tmux 2\.9 is too old .* 3\.0 or newer"):
        backend.start(sleeper("ancient"))
    assert not tmux_server.has("ancient")
    assert backend.list_sessions() == []  # listing still works on the old binary


@pytest.mark.tmux
def test_start_works_when_stdout_has_no_encoding(
    tmux_server: TmuxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the dashboard, Textual replaces sys.stdout with an object that has
    no ``encoding``; starting a session (and its version check) must not care."""

    class Capture:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            return None

    monkeypatch.setattr(sys, "stdout", Capture())
    backend = tmux_server.backend()
    backend.start(sleeper("captured"))
    assert tmux_server.has("captured")
    backend.stop("captured", timeout=10)  # libtmux's objects do the stop
    assert not tmux_server.has("captured")


@pytest.mark.tmux
def test_first_import_under_a_stdout_without_encoding(tmux_server: TmuxServer) -> None:
    """libtmux reads sys.stdout.encoding when imported: a first import of the
    backend under Textual's capture must still give a working backend."""
    code = (
        "import sys\n"
        "class Capture:\n"
        "    def write(self, text): return len(text)\n"
        "    def flush(self): return None\n"
        "sys.stdout = Capture()\n"
        "from core.tmux.schema import TmuxBackendConfig\n"
        "from core.tmux.backend import TmuxBackend\n"
        "from core.config.records import SessionSpec\n"
        f"config = TmuxBackendConfig(name='tm', kind='tmux', socket_name={tmux_server.socket!r})\n"
        "backend = TmuxBackend(config)\n"
        "backend.start(SessionSpec(name='fresh', backend='tm', command=('sleep', '600')))\n"
        "backend.stop('fresh', graceful=False)\n"
        "sys.stderr.write('stopped' if sys.stdout.__class__ is Capture else 'stdout replaced')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith("stopped"), "the capture is back in place after the import"
    assert not tmux_server.has("fresh")
