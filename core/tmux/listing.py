"""The one ``list-panes -a -F`` format the inventory uses, its parser, and
:func:`session_of`, the panes of one session as a :class:`core.model.Session`.

Why the format frames text by length: tmux prints format values raw.  A
window name, a pane's working directory or its command (argv[0]) may hold a
tab, a newline or any separator byte at all, so no separator is safe on its
own.  Each record is therefore

    RS id \\x1f created \\x1f ... \\x1f len(name) \\x1f len(cmd) \\x1f len(cwd) \\x1f len(log) \\x1f
       name \\x1f cmd \\x1f cwd \\x1f log \\n

where the fixed fields are numbers and ids tmux generates (they never hold a
separator), and the lengths come from tmux itself (``#{n:...}``, in bytes).
The parser cuts the four texts by those lengths and checks that each is
followed by the expected byte; a record that does not check out is skipped
and counted, and parsing resumes at the next record mark.  A tmux without the
``n:`` modifier prints empty lengths: then the texts are split at ``\\x1f``
(right for any ordinary path).

The client must run with ``-u`` (see :mod:`core.tmux.command`): in a
non-UTF-8 locale tmux otherwise replaces bytes in its output, which breaks the
lengths.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import NamedTuple

from core.model import Facts, Session, SessionRef, State

RS = b"\x1e"  # starts each record
US = b"\x1f"  # ends each field

# name -> tmux format; order matters (it is the record's field order)
_FIXED = (
    "session_id",
    "session_created",
    "session_activity",
    "session_attached",
    "window_id",
    "window_active",
    "window_activity",
    "pane_id",
    "pane_active",
    "pane_pid",
    "pane_dead",
    "pane_pipe",
)
LOG_OPTION = "@sesstui_log"
_TEXTS = ("session_name", "pane_current_command", "pane_current_path", LOG_OPTION)
_COMMAND = _TEXTS.index("pane_current_command")

FORMAT = (
    "\x1e"
    + "".join(f"#{{{f}}}\x1f" for f in _FIXED)
    + "".join(f"#{{n:{f}}}\x1f" for f in _TEXTS)
    + "\x1f".join(f"#{{{f}}}" for f in _TEXTS)
)
"""The ``-F`` argument of the listing (a record ends with tmux's newline)."""


class PaneRow(NamedTuple):
    """One pane of one session, as the listing printed it.

    A named tuple rather than a frozen dataclass: a refresh builds one per
    pane, and the tuple is built several times faster.
    """

    session_id: str
    session_name: str
    session_created: int
    session_activity: int
    session_attached: int
    window_id: str
    window_active: bool
    window_activity: int
    pane_id: str
    pane_active: bool
    pane_pid: int
    pane_dead: bool
    pane_pipe: bool
    command: str
    cwd: str
    log: str


def _int(raw: bytes) -> int:
    return int(raw) if raw else 0


def _row(fixed: list[bytes], texts: list[bytes]) -> PaneRow:
    name, command, cwd, log = texts
    return PaneRow(
        session_id=fixed[0].decode("ascii"),
        session_name=name.decode("utf-8", errors="replace"),
        session_created=_int(fixed[1]),
        session_activity=_int(fixed[2]),
        session_attached=_int(fixed[3]),
        window_id=fixed[4].decode("ascii"),
        window_active=fixed[5] == b"1",
        window_activity=_int(fixed[6]),
        pane_id=fixed[7].decode("ascii"),
        pane_active=fixed[8] == b"1",
        pane_pid=_int(fixed[9]),
        pane_dead=fixed[10] == b"1",
        pane_pipe=fixed[11] == b"1",
        command=command.decode("utf-8", errors="replace"),
        # paths keep undecodable bytes (surrogateescape) so they still open
        cwd=os.fsdecode(cwd),
        log=os.fsdecode(log),
    )


class _Garbled(Exception):
    """A record that does not check out."""


# the record mark, then the fixed fields and the lengths: none may hold a
# separator or a newline
_HEAD = re.compile(RS + rb"([^\x1f\n]*)\x1f" * (len(_FIXED) + len(_TEXTS)))


def _parse_one(out: bytes, pos: int) -> tuple[PaneRow, int]:
    """The record starting at ``pos`` (its RS) and where the next one begins."""
    head = _HEAD.match(out, pos)
    if head is None:
        raise _Garbled
    fields = head.groups()
    pos = head.end()
    fixed, lengths = list(fields[: len(_FIXED)]), fields[len(_FIXED) :]
    texts: list[bytes] = []
    if all(n.isdigit() for n in lengths):
        last = len(lengths) - 1
        for i, raw_len in enumerate(lengths):
            end = pos + int(raw_len)
            if out[end : end + 1] != (b"\n" if i == last else US):
                if i != _COMMAND:
                    raise _Garbled
                # tmux reads a pane's command from /proc once for its length
                # and once for its text: a pane that execs in between (`sh -c
                # 'sleep 600'` becoming `sleep` just after a start) has a stale
                # length.  The command then ends at the next separator.
                line_end = out.find(b"\n", pos)
                end = out.find(US, pos, len(out) if line_end < 0 else line_end)
                if end < 0:
                    raise _Garbled
            texts.append(out[pos:end])
            pos = end + 1
    elif not any(lengths):  # a tmux without #{n:}: split, best effort
        end = out.find(b"\n", pos)
        if end < 0:
            end = len(out)
        texts = out[pos:end].split(US)
        if len(texts) != len(_TEXTS):
            raise _Garbled
        pos = end + 1
    else:
        raise _Garbled
    try:
        return _row(fixed, texts), pos
    except (ValueError, UnicodeDecodeError) as e:
        raise _Garbled from e


def parse_panes(out: bytes) -> tuple[list[PaneRow], int]:
    """Rows in listing order, and how many records could not be parsed."""
    rows: list[PaneRow] = []
    garbled = 0
    pos = 0
    size = len(out)
    while pos < size:
        if out.startswith(RS, pos):
            try:
                row, pos = _parse_one(out, pos)
                rows.append(row)
                continue
            except _Garbled:
                garbled += 1
        elif out.startswith(b"\n", pos):  # a stray blank line
            pos += 1
            continue
        else:
            garbled += 1
        # resume at the next record mark that starts a line
        nxt = out.find(b"\n" + RS, pos)
        pos = size if nxt < 0 else nxt + 1
    return rows, garbled


def local_time(ts: int) -> datetime | None:
    return datetime.fromtimestamp(ts).astimezone() if ts > 0 else None


def active_pane(rows: list[PaneRow]) -> PaneRow:
    """The pane a person sees: the active pane of the session's current window."""
    return next((r for r in rows if r.window_active and r.pane_active), rows[0])


def session_of(rows: list[PaneRow], backend: str, socket: str) -> Session:
    """The table row for one session, from its panes (listing order); the
    server ``socket`` as :attr:`TmuxBackend.socket` names it.

    ``metadata`` is for people (the details panel, ``ls --json``); the
    facts other modules read are typed in ``facts``: the panes' working
    directories (the active pane's first), the ``pipe-pane`` log, the pane
    pids and the attached clients."""
    first = rows[0]
    active = active_pane(rows)
    windows = len({r.window_id for r in rows})
    clients = first.session_attached
    dead = all(r.pane_dead for r in rows)
    info = f"{windows} win"
    if clients == 1:
        info += " · attached"
    elif clients > 1:
        info += f" · {clients} attached"
    if dead:
        info += " · exited"
    metadata = {
        "windows": str(windows),
        "panes": str(len(rows)),
        "clients": str(clients),
        "command": active.command,
        "cwd": active.cwd,
        "pids": " ".join(str(r.pane_pid) for r in rows),
        "socket": socket,
    }
    if first.log:
        metadata["log"] = first.log
    # the active pane's directory first (it is the session's path)
    cwds = dict.fromkeys(c for c in (active.cwd, *(r.cwd for r in rows)) if c)
    facts = Facts(
        cwds=tuple(cwds),
        logs=(first.log,) if first.log else (),
        pids=tuple(r.pane_pid for r in rows if r.pane_pid > 0),
        clients=clients,
    )
    last = max([first.session_activity, *(r.window_activity for r in rows)])
    return Session(
        ref=SessionRef(backend, first.session_name),
        name=first.session_name,
        kind="tmux",
        state=State.STOPPED if dead else State.RUNNING,
        created=local_time(first.session_created),
        last_active=local_time(last),
        path=active.cwd or None,
        attachable=True,
        info=info,
        pid=active.pane_pid or None,
        metadata=metadata,
        facts=facts,
    )
