"""A session's logs: the pane's scrollback and, while followed, its output
piped into a file; or the session-dir log that ``pipe-pane`` writes from the
start (see :mod:`core.tmux.launch`).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import quote

from core.backend import LineStream
from core.errors import ActionFailed, SessionNotFound, SesstuiError
from core.logtail import FileTail
from core.model import LogLine, LogSource
from core.tmux.base import GONE, TmuxBase
from core.tmux.listing import PaneRow, active_pane
from core.tmux.objects import LibTmuxError
from core.tmux.stream import PaneStream
from core.tmux.syntax import literal, no_format

PANE_SOURCE = "pane"
PIPE_SOURCE = "pipe"

_ALREADY_PIPED = (
    "— this pane's output is already piped elsewhere (pipe-pane); "
    "showing its scrollback only, live follow is unavailable —"
)


def capture_lines(out: bytes, lines: int) -> list[LogLine]:
    # -J keeps trailing spaces and the visible screen ends in blank rows
    texts = [t.rstrip() for t in out.decode("utf-8", errors="replace").split("\n")]
    while texts and not texts[-1]:
        texts.pop()
    return [LogLine(t) for t in texts[-lines:]] if lines > 0 else []


class LogsMixin(TmuxBase):
    """logs / tail of a :class:`TmuxBackend`, and closing what they opened."""

    def logs(self, session_id: str) -> list[LogSource]:
        """``pane`` always; ``pipe`` when the session logs into a session dir."""
        rows = self._rows(self._checked(session_id))
        sources = [LogSource(PANE_SOURCE)]
        if rows[0].log:
            log = Path(rows[0].log)
            try:
                st = log.stat()
                sources.append(LogSource(PIPE_SOURCE, log, st.st_size, st.st_mtime))
            except OSError:
                sources.append(LogSource(PIPE_SOURCE, log))
        return sources

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        """The last ``lines`` lines of the pane (its scrollback), then, when
        ``follow``, what it prints from now on until the stream is closed.
        ``source="pipe"`` reads the session-dir log file instead."""
        name = self._checked(session_id)
        if source not in (None, PANE_SOURCE, PIPE_SOURCE):
            raise SessionNotFound(
                f"no log {source!r} for tmux session {name!r}; "
                f"sources are '{PANE_SOURCE}' and '{PIPE_SOURCE}' (with a session_dir)"
            )
        rows = self._rows(name)
        pane = active_pane(rows)
        log = rows[0].log
        if source == PIPE_SOURCE:
            if not log:
                raise SessionNotFound(
                    f"tmux session {name!r} has no '{PIPE_SOURCE}' log; only sessions started "
                    "with a session_dir have one"
                )
            return self._track(PaneStream([], FileTail(log, lines=lines, follow=follow)))
        if not follow:
            return PaneStream(self._capture(name, pane.pane_id, lines))
        if log:
            # the session-dir pipe copies everything already; opening the tail
            # first means nothing printed during the capture is missed
            tail = FileTail(log, lines=0, follow=True)
            try:
                initial = self._capture(name, pane.pane_id, lines)
            except BaseException:
                tail.close()
                raise
            return self._track(PaneStream(initial, tail))
        return self._follow_pane(name, pane, lines)

    def _capture(self, name: str, pane_id: str, lines: int) -> list[LogLine]:
        if lines <= 0:
            return []
        result = self.runner.run("capture-pane", "-p", "-J", "-t", pane_id, "-S", f"-{lines}")
        if result.outcome in GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise ActionFailed(f"cannot read the pane of tmux session {name!r}: {result.message}")
        return capture_lines(result.stdout, lines)

    def _follow_file(self, name: str) -> Path:
        return self.log_dir / f"{quote(name, safe='')}.log"

    def _follow_pane(self, name: str, pane: PaneRow, lines: int) -> LineStream:
        """Pipe the pane into a file while followed; the first follower starts
        the pipe and takes the scrollback in the same tmux call, so no line
        falls between them; the last one to close stops it."""
        pane_id = pane.pane_id
        with self._follow_lock:
            count = self._followers.get(pane_id, 0)
            if count == 0 and pane.pane_pipe:
                # tmux allows one pipe per pane, and this one is not ours
                initial = self._capture(name, pane_id, lines)
                return PaneStream([*initial, LogLine(_ALREADY_PIPED, notice=True)])
            path = self._follow_file(name)
            if count == 0:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(b"")  # holds only what was seen while followed
                except OSError as e:
                    raise ActionFailed(
                        f"cannot follow tmux session {name!r}: cannot write {path}: "
                        f"{e.strerror or e}; set log_dir for backend '{self.name}'",
                        title="Cannot follow",
                    ) from e
            tail = FileTail(path, lines=0, follow=True)
            try:
                if count == 0:
                    initial = self._start_pipe(name, pane_id, path, lines)
                else:
                    initial = self._capture(name, pane_id, lines)
            except BaseException:
                tail.close()
                raise
            self._followers[pane_id] = count + 1
        stream = PaneStream(initial, tail, on_close=lambda: self._unfollow(pane_id))
        return self._track(stream)

    def _start_pipe(self, name: str, pane_id: str, path: Path, lines: int) -> list[LogLine]:
        """Start piping the pane into ``path`` and capture its scrollback, in
        one tmux call (the server runs both before it reads more output)."""
        pipe = literal(no_format(f"exec cat >> {shlex.quote(str(path))}"))
        args = ["pipe-pane", "-o", "-t", pane_id, pipe]
        if lines > 0:
            args += [";", "capture-pane", "-p", "-J", "-t", pane_id, "-S", f"-{lines}"]
        result = self.runner.run(*args)
        if result.outcome in GONE:
            raise self._not_found(name, result)
        if not result.ok:
            raise ActionFailed(
                f"cannot follow tmux session {name!r}: {result.message}", title="Cannot follow"
            )
        return capture_lines(result.stdout, lines)

    def _unfollow(self, pane_id: str) -> None:
        with self._follow_lock:
            count = self._followers.get(pane_id, 0) - 1
            if count > 0:
                self._followers[pane_id] = count
                return
            self._followers.pop(pane_id, None)
            self._stop_pipe(pane_id)

    def _stop_pipe(self, pane_id: str) -> None:
        try:
            self.libtmux_server.pane(pane_id).pipe()  # no command: close the pipe
        except (SesstuiError, LibTmuxError):
            pass  # the pane, the server or the binary is gone: so is the pipe

    def _track(self, stream: PaneStream) -> PaneStream:
        self._streams.add(stream)
        return stream

    def close(self) -> None:
        """Close every stream still open (which stops their pipes)."""
        for stream in list(self._streams):
            stream.close()
        with self._follow_lock:
            panes, self._followers = list(self._followers), {}
        for pane_id in panes:
            self._stop_pipe(pane_id)
