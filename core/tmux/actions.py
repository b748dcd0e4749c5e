"""Starting, resuming, stopping and attaching to tmux sessions."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from core.config.records import SessionSpec
from core.errors import ActionFailed
from core.model import Session, StopDescription
from core.tmux.attach import attach_command
from core.tmux.base import GONE
from core.tmux.command import Outcome
from core.tmux.launch import LaunchMixin
from core.tmux.listing import FORMAT, LOG_OPTION, active_pane, parse_panes
from core.tmux.logs import capture_lines
from core.tmux.objects import LibTmuxError, error_text, outcome_of
from core.tmux.syntax import literal, new_name_problem, no_format, session_target, window_target

_POLL = 0.05
_LOG_WAIT = 5.0

_STATUS_WAIT = 0.5


def _zombie_status(pid: int) -> str:
    """The exit status of ``pid`` if it is a zombie ("3", "signal 15"), else ""."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""  # not Linux, or already reaped
    fields = stat[stat.rfind(")") + 2 :].split()
    # fields[0] is the state (field 3 of proc(5)); exit_code is field 52
    if len(fields) < 50 or fields[0] != "Z":
        return ""
    code = int(fields[49])
    if os.WIFSIGNALED(code):
        return f"signal {os.WTERMSIG(code)}"
    return str(os.WEXITSTATUS(code)) if os.WIFEXITED(code) else ""


def _status_words(status: str) -> str:
    if status.startswith("signal"):
        return f" on {status}"
    return f" with status {status}" if status else ""


def tmux_stop_description(timeout: float) -> StopDescription:
    """What a tmux backend's stop does (graceful, kill, and for a bulk stop)."""
    return StopDescription(
        f"Stop interrupts what runs in it (Ctrl+C) and waits up to {timeout:g}s "
        "before it kills the session.",
        "Kill now ends it at once.",
        f"Ctrl+C, then up to {timeout:g}s before a kill",
    )


class ActionsMixin(LaunchMixin):
    """start / resume / stop / attach of a :class:`TmuxBackend`."""

    def start(self, spec: SessionSpec) -> Session:
        """Start ``spec`` as a detached session and return it, running.

        Raises :class:`UsageError` (or :class:`ConfigError` naming the file and
        key, for specs from config) for a bad name, command, working_dir or
        env; :class:`ActionFailed` when the session exists already, the
        program is missing, or it exits within ``start_check`` seconds (the
        session is removed then).
        """
        name = spec.name
        problem = new_name_problem(name)
        if problem is not None:
            raise self._spec_error(spec, f"cannot start tmux session {name!r}: {problem}")
        argv = self._argv(spec)
        cwd = self._working_dir(spec)
        env = self._env(spec)
        plan = self._log_plan(spec)
        self._check_version()
        if spec.command and not spec.shell:
            self._check_program(spec, cwd)

        args = ["new-session", "-d", "-s", literal(no_format(name)), "-P", "-F", "#{pane_pid}"]
        if spec.window_name:
            args += ["-n", literal(no_format(spec.window_name))]
        if cwd is not None:
            args += ["-c", literal(no_format(str(cwd)))]
        for item in env:
            args += ["-e", literal(item)]
        if argv:
            args += ["--", *(literal(a) for a in argv)]
        target = window_target(name)
        # keep a pane whose program exits: set in the same call, so before the
        # server can notice the exit; unset again once the start is confirmed
        args += [";", "set-option", "-w", "-t", target, "remain-on-exit", "on"]
        if plan is not None:
            args += [";", "pipe-pane", "-t", target, plan.pipe_command()]
            args += [";", "set-option", "-F", "-t", target, LOG_OPTION, plan.option_value()]
        result = self.runner.run(*args)
        if result.outcome is Outcome.DUPLICATE:
            raise ActionFailed(
                f"tmux session {name!r} is already running on server {self.socket}; "
                f"stop it first (sesstui stop {self.name}:{name}) or attach to it",
                title="Already running",
            )
        if not result.ok:
            raise ActionFailed(
                f"tmux could not start session {name!r} on server {self.socket}: {result.message}",
                title="Start failed",
            )
        try:
            pane_pid = int(result.text.split()[0])
        except (IndexError, ValueError):
            pane_pid = 0
        log = plan.path(pane_pid) if plan is not None and pane_pid else None
        return self._confirm_start(spec, log)

    def _confirm_start(self, spec: SessionSpec, log: Path | None) -> Session:
        """Watch the new session for ``start_check`` s, then make its pane
        close normally on exit again; a program that died is an error."""
        name = spec.name
        target = window_target(name)
        started = time.monotonic()
        while True:
            poll = self.runner.run(
                "list-panes", "-t", target, "-F", "#{pane_dead} #{pane_id} #{pane_pid}"
            )
            if not poll.ok:
                raise ActionFailed(
                    f"tmux session {name!r} vanished right after it started: {poll.message}",
                    title="Start failed",
                )
            dead = poll.text.startswith("1")
            waited = time.monotonic() - started
            log_ready = log is None or log.exists()
            if dead or (waited >= self.start_check and log_ready):
                break
            if waited >= max(self.start_check, _LOG_WAIT):
                self._discard(name)
                raise ActionFailed(
                    f"cannot log tmux session {name!r}: {log} did not appear; check that "
                    "the session_dir base is writable and /bin/sh works",
                    title="Start failed",
                )
            time.sleep(_POLL)
        if dead:  # report while remain-on-exit still holds the pane and its status
            _, pane_id, pid = poll.text.split()
            self._fail_start(spec, pane_id, int(pid), log)
        # unset and look in one call: a pane that dies after this closes as usual
        final = self.runner.run(
            "set-option", "-w", "-u", "-t", target, "remain-on-exit", ";",
            "list-panes", "-s", "-t", target, "-F", FORMAT,
        )  # fmt: skip
        rows = [r for r in parse_panes(final.stdout)[0] if r.session_name == name]
        if not final.ok or not rows:
            raise ActionFailed(
                f"tmux session {name!r} vanished right after it started: {final.message}",
                title="Start failed",
            )
        if all(r.pane_dead for r in rows):  # died in the moment before the unset
            pane = active_pane(rows)
            self._fail_start(spec, pane.pane_id, pane.pane_pid, log)
        return self._session(rows)

    def _fail_start(self, spec: SessionSpec, pane_id: str, pid: int, log: Path | None) -> NoReturn:
        message = self._death_report(spec, pane_id, pid, log)
        self._discard(spec.name)
        raise ActionFailed(message, title="Start failed")

    def _death_report(self, spec: SessionSpec, pane_id: str, pid: int, log: Path | None) -> str:
        # tmux marks the pane dead when its terminal closes and learns the
        # exit status a moment later, when it reaps the process
        status = ""
        deadline = time.monotonic() + _STATUS_WAIT
        while not status and time.monotonic() < deadline:
            probe = self.runner.run(
                "display-message", "-p", "-t", pane_id,
                "#{pane_dead_status}#{?pane_dead_signal,signal #{pane_dead_signal},}",
            )  # fmt: skip
            status = probe.text.strip() if probe.ok else "?"
            if not status:
                time.sleep(_POLL)
        if status in ("", "?"):
            # tmux 3.3 now and then leaves the child unreaped for a long while;
            # the kernel knows the status of the zombie
            status = _zombie_status(pid)
        capture = self.runner.run("capture-pane", "-p", "-J", "-t", pane_id, "-S", "-50")
        output = [
            line.text
            for line in capture_lines(capture.stdout, 50)
            if line.text and not line.text.startswith("Pane is dead")
        ][-5:]
        what = spec.command[0] if spec.shell else shlex.join(spec.command) or "the default shell"
        if len(what) > 80:
            what = what[:79] + "…"
        hint = ""
        if status == "127":
            hint = ": command not found"
        elif status == "126":
            hint = ": not executable"
        elif status == "1" and not output and not spec.shell:
            hint = ": tmux could not execute it, or it failed at once"
        text = (
            f"tmux session {spec.name!r}: command {what!r} exited at once"
            f"{_status_words(status)}{hint}; the session was removed"
        )
        if output:
            text += "; its last output:\n  " + "\n  ".join(output)
        if log is not None and log.exists():
            text += f"\n(output kept in {log})"
        return text

    def _discard(self, name: str) -> None:
        try:
            self.libtmux_server.kill_session(session_target(name))
        except LibTmuxError:
            pass  # already gone, or tmux refuses: the start error is what counts

    def resume(self, session_id: str) -> Session:
        """Run the command of every exited pane again (``respawn-pane``: the
        same command, directory and environment), so a session whose panes
        all exited (kept by ``remain-on-exit``) runs again.  Raises
        :class:`ActionFailed` when no pane has exited."""
        name = self._checked(session_id)
        dead = [r for r in self._rows(name) if r.pane_dead]
        if not dead:
            raise ActionFailed(
                f"tmux session {name!r} is running on server {self.socket}; nothing to start "
                f"(stop it first: sesstui stop {self.name}:{name})",
                title="Already running",
            )
        for row in dead:
            try:
                self.libtmux_server.pane(row.pane_id).respawn()
            except LibTmuxError as e:
                if outcome_of(e) not in GONE:
                    raise ActionFailed(
                        f"tmux could not restart pane {row.pane_id} of session {name!r}: "
                        f"{error_text(e)}",
                        title="Start failed",
                    ) from e
        return self.get(name)

    def describe_stop(self, session_id: str, *, timeout: float) -> StopDescription:
        """What :meth:`stop` does."""
        return tmux_stop_description(timeout)

    def stop(self, session_id: str, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """End a session.  Graceful: leave any copy mode and press C-c in each
        pane (the program sees SIGINT, as from a person at the keyboard), wait
        up to ``timeout`` s for the session to end or all its panes to exit,
        then kill the session.  ``graceful=False`` kills it at once."""
        name = self._checked(session_id)
        rows = self._rows(name)
        if graceful:
            for row in (r for r in rows if not r.pane_dead):
                pane = self.libtmux_server.pane(row.pane_id)
                try:
                    pane.copy_mode(cancel=True)  # C-c must reach the program, not copy mode
                except LibTmuxError as e:
                    if outcome_of(e) in GONE:
                        continue  # the pane ended meanwhile: nothing to interrupt
                    # else a tmux without copy-mode -q: press C-c all the same
                pane.send_keys("C-c", enter=False)  # tmux's error here is not raised: best effort
            deadline = time.monotonic() + max(0.0, timeout)
            while time.monotonic() < deadline:
                poll = self.runner.run(
                    "list-panes", "-s", "-t", window_target(name), "-F", "#{pane_dead}"
                )
                if poll.outcome in GONE:
                    return
                if poll.ok and all(v == "1" for v in poll.text.split()):
                    break  # all exited, kept by remain-on-exit
                time.sleep(0.1)
        try:
            # the exact name (=NAME), not the id of the lookup: after a wait of
            # up to `timeout` s a restarted server may give that id to another
            self.libtmux_server.kill_session(session_target(name))
        except LibTmuxError as e:
            if outcome_of(e) not in GONE:
                raise ActionFailed(f"could not kill tmux session {name!r}: {error_text(e)}") from e

    def attach_argv(self, session_id: str, *, env: Mapping[str, str] | None = None) -> list[str]:
        """The argv that attaches the terminal to the session (see
        :func:`attach_command`); ``env`` defaults to this process's."""
        name = self._checked(session_id)
        self._rows(name)  # a clear SessionNotFound now, not after the UI suspends
        environ = os.environ if env is None else env
        return attach_command(
            self.runner.binary(),
            self.runner.server_args,
            self.runner.socket_file(environ),
            name,
            environ,
        )
