"""Which sessions belong together across kinds.

A tmux session (or any session with a path) whose working directory lies
inside a session directory is related to that directory, and the other way
round.  Later kinds add theirs (a container that mounts a session dir, a KV or
JSON record whose metadata names one).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from core.model import Session, SessionRef

# metadata keys that may hold a path inside a session directory
_PATH_KEYS = ("cwd", "log")


def related(sessions: Iterable[Session]) -> dict[SessionRef, list[SessionRef]]:
    """For each session, the sessions related to it (both directions), in order."""
    sessions = list(sessions)
    dirs: dict[PurePosixPath, SessionRef] = {
        PurePosixPath(s.path): s.ref for s in sessions if s.kind == "dirs" and s.path
    }
    out: dict[SessionRef, list[SessionRef]] = {}
    if not dirs:
        return out
    for s in sessions:
        if s.kind == "dirs":
            continue
        paths = [s.path, *(s.metadata.get(k) for k in _PATH_KEYS)]
        for text in paths:
            if not text:
                continue
            p = PurePosixPath(text)
            # walk up: a dict lookup per parent, so this stays linear
            for candidate in (p, *p.parents):
                hit = dirs.get(candidate)
                if hit is not None:
                    _link(out, s.ref, hit)
                    break
    return out


def _link(out: dict[SessionRef, list[SessionRef]], a: SessionRef, b: SessionRef) -> None:
    if b not in out.setdefault(a, []):
        out[a].append(b)
    if a not in out.setdefault(b, []):
        out[b].append(a)
