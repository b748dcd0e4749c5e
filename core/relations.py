"""Which sessions belong together across kinds, and why.

A link is found when

* a session's path, one of its ``cwds`` or ``logs`` (a tmux pane's working
  directory, a pipe-pane log: :class:`core.model.Facts`) lies inside a session
  directory;
* a session mounts a session directory, or something inside one
  (``Facts.mounts``: a container's bind mounts);
* a record's user metadata (``meta.*``: KV ``custom_metadata``, JSON
  ``metadata``) holds an absolute path inside a session directory, or names a
  container (a session with ``Facts.container_id``): its name, its id or the
  12-character short id.

Kind-specific facts come typed from :attr:`Session.facts`, never parsed back
out of ``metadata``.

Every link goes both ways, with a reason phrased from each side ("cwd in" /
"cwd here", "mounts" / "mounted by", "meta.workdir names" / "named by
meta.workdir").  The cost is linear in the sessions: each path costs one dict
lookup per parent directory, each metadata value one dict lookup.  The only
file-system calls are one ``realpath`` per distinct session-directory *base*
(a handful), so a base reached through a symlink still matches the resolved
paths tmux reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.model import Session, SessionRef

# user metadata of record sessions (KV custom_metadata, JSON metadata)
_META_PREFIX = "meta."
_SHORT_ID = 12


@dataclass(frozen=True, slots=True)
class Relation:
    """Another session this one is related to, and how (from this side)."""

    ref: SessionRef
    why: str

    def __str__(self) -> str:
        return f"{self.ref} ({self.why})"


class _Links:
    """Relations per ref, in the order found; one entry per other ref, its
    reasons joined when a pair is linked more than once."""

    def __init__(self) -> None:
        self.out: dict[SessionRef, dict[SessionRef, list[str]]] = {}

    def add(self, a: SessionRef, b: SessionRef, why_a: str, why_b: str) -> None:
        if a == b:
            return
        for this, other, why in ((a, b, why_a), (b, a, why_b)):
            whys = self.out.setdefault(this, {}).setdefault(other, [])
            if why not in whys:
                whys.append(why)

    def result(self) -> dict[SessionRef, list[Relation]]:
        return {
            ref: [Relation(other, ", ".join(whys)) for other, whys in others.items()]
            for ref, others in self.out.items()
        }


class _DirIndex:
    """Session directories by path, found for any path inside one."""

    def __init__(self, sessions: list[Session]) -> None:
        self.dirs: dict[PurePosixPath, SessionRef] = {}
        bases: dict[str, str] = {}
        for s in sessions:
            if s.kind != "dirs" or not s.path:
                continue
            path = PurePosixPath(s.path)
            self.dirs[path] = s.ref
            base = str(path.parent)
            if base not in bases:
                bases[base] = os.path.realpath(base)
            real = bases[base]
            if real != base:
                self.dirs.setdefault(PurePosixPath(real) / path.name, s.ref)

    def __bool__(self) -> bool:
        return bool(self.dirs)

    def find(self, text: str | None) -> SessionRef | None:
        """The session directory holding the absolute path ``text``, if any."""
        if not text or not text.startswith("/"):
            return None
        p = PurePosixPath(os.path.normpath(text))
        # walk up: a dict lookup per parent, so this stays linear
        for candidate in (p, *p.parents):
            hit = self.dirs.get(candidate)
            if hit is not None:
                return hit
        return None


def _containers(sessions: list[Session]) -> dict[str, list[SessionRef]]:
    """Containers by every text that names one: name, id and short id."""
    out: dict[str, list[SessionRef]] = {}
    for s in sessions:
        cid = s.facts.container_id
        if cid is None:
            continue
        for key in dict.fromkeys((s.name, s.id, cid, cid[:_SHORT_ID])):
            if key:
                refs = out.setdefault(key, [])
                if s.ref not in refs:
                    refs.append(s.ref)
    return out


def related_with_reasons(sessions: Iterable[Session]) -> dict[SessionRef, list[Relation]]:
    """For each session, the sessions related to it (both directions) and why."""
    sessions = list(sessions)
    dirs = _DirIndex(sessions)
    containers = _containers(sessions)
    links = _Links()
    if not dirs and not containers:
        # nothing any session could point at: no metadata read (a KV
        # session's is decoded when read; 100k of them cost a third of a second)
        return links.result()
    for s in sessions:
        if s.kind == "dirs":
            continue
        facts = s.facts
        if dirs:
            seen: set[str] = set()
            paths = (
                *(("cwd", cwd) for cwd in facts.cwds),
                *(("log", log) for log in facts.logs),
                ("path", s.path),
            )
            for key, text in paths:
                if not text or text in seen:
                    continue  # a tmux session's path is its cwd: say it once
                seen.add(text)
                hit = dirs.find(text)
                if hit is not None:
                    links.add(s.ref, hit, f"{key} in", f"{key} here")
            for mount in facts.mounts:
                hit = dirs.find(mount.source)
                if hit is not None:
                    links.add(s.ref, hit, "mounts", "mounted by")
        for key, value in s.metadata.items():
            if not key.startswith(_META_PREFIX) or not value:
                continue
            if value.startswith("/"):
                hit = dirs.find(value) if dirs else None
                if hit is not None:
                    links.add(s.ref, hit, f"{key} names", f"named by {key}")
            for ref in containers.get(value, ()):
                links.add(s.ref, ref, f"{key} names", f"named by {key}")
    return links.result()


def related(sessions: Iterable[Session]) -> dict[SessionRef, list[SessionRef]]:
    """For each session, the sessions related to it (both directions), in order."""
    return {ref: [r.ref for r in rels] for ref, rels in related_with_reasons(sessions).items()}
