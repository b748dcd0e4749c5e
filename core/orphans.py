"""Orphans: what is left behind once nothing uses it.

:func:`find_orphans` reads one :class:`core.inventory.Snapshot` and the
configuration and reports, per category:

``dir``
    a session directory whose creating process is gone (not ACTIVE) and that
    no tmux session or container uses (a pane's cwd or log inside it, or a
    mount of it; see :mod:`core.relations`);
``workspace``
    a JSON backend's workspace folder (a direct subfolder of its base, named
    like a workspace id) that holds no ``*.json`` record;
``json-temp``
    a temporary file of a JSON store's atomic write (``.<id>.json.<pid>.<hex>.tmp``)
    in its base or a workspace, with its size and age; one older than an hour
    was left by a crash, and the backend's prune removes it (through the plan);
``kv-no-ttl``
    a KV key without a TTL: it never expires;
``container``
    a container labelled by sesstui whose spec (``sessions:`` entry with
    ``backend`` = that engine) is no longer in the configuration.

A backend that did not answer is skipped and said so in
:attr:`OrphanReport.skipped`; when a tmux or docker backend is down, or
DEGRADED (a partial listing, e.g. tmux's "N panes could not be read"), a
directory may be used by one of its sessions that was not listed, so directory
orphans are then reported but not :attr:`Orphan.actionable` (the reason says
which backend could not be checked).  Only workspace folders are read
from disk here (one ``scandir`` per folder, an ``lstat`` per file of an
orphaned one); everything else comes from the snapshot.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.config.records import AppConfig
from core.errors import SesstuiError, UsageError
from core.jsonstore.schema import JsonBackendConfig
from core.model import HealthStatus, Session, SessionRef, State
from core.relations import related_with_reasons

if TYPE_CHECKING:
    from core.inventory import Inventory, Snapshot

CATEGORIES = ("dir", "workspace", "json-temp", "kv-no-ttl", "container")
"""Every category, in the order reports list them."""

_USER_KINDS = ("tmux", "docker")  # the kinds whose sessions "use" a directory
_LOCK_DIR = ".locks"


@dataclass(frozen=True, slots=True)
class Orphan:
    """One thing left behind.

    ``ref`` is the session to delete (None for a workspace folder, which is
    not a session); ``actionable`` says whether deleting it through the plan
    → confirm flow makes sense now; ``bytes`` is disk usage when known.
    """

    category: str
    ref: SessionRef | None
    path: str | None
    reason: str
    bytes: int | None
    actionable: bool
    backend: str = ""
    name: str = ""  # the short name the table shows (a session's name)

    @property
    def label(self) -> str:
        """``backend:name`` for a session, ``backend:workspace/`` for a folder."""
        if self.ref is not None:
            return f"{self.ref.backend}:{self.name or self.ref.id}"
        if self.category == "json-temp":
            return f"{self.backend}:{self.name}"  # [workspace/]file
        folder = Path(self.path).name if self.path else "?"
        return f"{self.backend}:{folder}/"


@dataclass(frozen=True, slots=True)
class OrphanReport:
    """The orphans found, and the backends that could not be (fully) checked (why)."""

    orphans: tuple[Orphan, ...]
    skipped: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Orphan]:
        return iter(self.orphans)

    def __len__(self) -> int:
        return len(self.orphans)

    def counts(self) -> dict[str, int]:
        """Orphans per category, every category present, in report order."""
        out = dict.fromkeys(CATEGORIES, 0)
        for o in self.orphans:
            out[o.category] = out.get(o.category, 0) + 1
        return out

    @property
    def total_bytes(self) -> int:
        return sum(o.bytes or 0 for o in self.orphans)


def _down(snapshot: Snapshot) -> dict[str, str]:
    """Backend name -> why it could not be listed, for those that were not."""
    return {
        h.backend: h.reason or "unavailable"
        for h in snapshot.health
        if h.status is HealthStatus.UNAVAILABLE
    }


def _partial(snapshot: Snapshot) -> dict[str, str]:
    """Backend name -> why its listing is incomplete, for DEGRADED ones."""
    return {
        h.backend: h.reason or "partial listing"
        for h in snapshot.health
        if h.status is HealthStatus.DEGRADED
    }


def find_orphans(
    snapshot: Snapshot,
    config: AppConfig,
    *,
    backends: Iterable[str] | None = None,
    clock: Callable[[], float] = time.time,
) -> OrphanReport:
    """Orphans of every configured backend (or only of ``backends``).

    Usage is judged against *every* session of the snapshot, whatever
    ``backends`` says: a directory of one backend is used by a pane of
    another.  An unknown backend name raises :class:`UsageError`.
    """
    configured = [b.name for b in config.backends]
    if backends is None:
        chosen = set(configured)
    else:
        chosen = set(backends)
        unknown = sorted(chosen - set(configured))
        if unknown:
            known = ", ".join(configured) or "none configured"
            raise UsageError(f"no backend named '{unknown[0]}'; configured: {known}")
    listed = {h.backend for h in snapshot.health}
    down = _down(snapshot)
    for name in configured:
        if name not in listed:
            down.setdefault(name, "not listed")
    kinds = {b.name: b.kind for b in config.backends}
    users_down = sorted(n for n in down if kinds.get(n) in _USER_KINDS)
    # a degraded tmux/docker backend listed only some of its sessions: one it
    # could not read may use a directory, so it counts as down for that judgement
    partial = _partial(snapshot)
    users_partial = sorted(n for n in partial if kinds.get(n) in _USER_KINDS)
    skipped = [
        f"{name}: {down[name]}; not checked"
        for name in configured
        if name in down and (name in chosen or name in users_down)
    ]
    dirs_chosen = any(kinds.get(n) == "dirs" for n in chosen if n not in down)
    if dirs_chosen:
        skipped += [
            f"{name}: {partial[name]}; directories not fully checked against it"
            for name in users_partial
        ]
    ours = [s for s in snapshot.sessions if s.backend in chosen and s.backend not in down]
    orphans: list[Orphan] = []
    orphans += _dir_orphans(ours, snapshot, users_down, users_partial)
    for b in config.backends:
        if isinstance(b, JsonBackendConfig) and b.name in chosen and b.name not in down:
            found, problem = _workspace_orphans(b)
            orphans += found
            if problem:
                skipped.append(problem)
            orphans += _temp_orphans(b, clock())
    orphans += _kv_orphans(ours)
    orphans += _container_orphans(ours, config)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    orphans.sort(key=lambda o: (order.get(o.category, len(order)), o.backend, o.label))
    return OrphanReport(tuple(orphans), tuple(skipped))


def _dir_orphans(
    ours: list[Session], snapshot: Snapshot, users_down: list[str], users_partial: list[str]
) -> list[Orphan]:
    dirs = [s for s in ours if s.kind == "dirs" and s.state is not State.ACTIVE]
    if not dirs:
        return []
    relations = related_with_reasons(snapshot.sessions)
    kinds = {s.ref: s.kind for s in snapshot.sessions}
    out: list[Orphan] = []
    for s in dirs:
        rels = relations.get(s.ref, [])
        if any(kinds.get(r.ref) in _USER_KINDS for r in rels):
            continue
        pid = f"pid {s.pid}" if s.pid is not None else "its process"
        reason = f"{pid} gone; no tmux session or container uses it"
        named = [str(r.ref) for r in rels]
        if named:
            reason += f"; named by {', '.join(named)}"
        if users_down:
            reason += f"; not checked against {', '.join(users_down)} (down)"
        if users_partial:
            reason += f"; not fully checked against {', '.join(users_partial)} (partial listing)"
        out.append(
            Orphan(
                "dir",
                s.ref,
                s.path,
                reason,
                s.size.disk if s.size is not None else None,
                actionable=not users_down and not users_partial,
                backend=s.backend,
                name=s.name,
            )
        )
    return out


def _workspace_orphans(b: JsonBackendConfig) -> tuple[list[Orphan], str]:
    """Workspace folders of one JSON base with no record, and a problem (or "")."""
    from core.jsonstore.store import InvalidSessionId, is_record_name, validate_id

    base = Path(os.path.expanduser(b.base))  # noqa: PTH111 - as the backend expands it
    out: list[Orphan] = []
    try:
        with os.scandir(base) as it:
            folders = [e for e in it if e.name != _LOCK_DIR and e.is_dir(follow_symlinks=False)]
    except OSError as e:
        return [], f"{b.name}: cannot read {base}: {e.strerror or e}; workspaces not checked"
    for entry in sorted(folders, key=lambda e: e.name):
        try:
            validate_id(entry.name, "workspace id")
        except InvalidSessionId:
            continue  # not a workspace (hidden, odd name): never listed, never ours
        try:
            with os.scandir(entry.path) as inner:
                names = [(sub.name, sub.is_file(follow_symlinks=False)) for sub in inner]
        except OSError:
            continue  # vanished or unreadable: not judged
        if any(is_file and is_record_name(name) for name, is_file in names):
            continue
        used, files = _disk_usage(Path(entry.path))
        what = "empty" if not names else f"{files} other file{'s' if files != 1 else ''}"
        out.append(
            Orphan(
                "workspace",
                None,
                entry.path,
                f"no session records ({what})",
                used,
                actionable=False,
                backend=b.name,
                name=entry.name,
            )
        )
    return out, ""


def _temp_orphans(b: JsonBackendConfig, now: float) -> list[Orphan]:
    """Temporary files of atomic writes in one JSON base (and its workspaces)."""
    from core.durations import duration_text
    from core.jsonstore.store import STALE_TEMP_SECONDS, temp_files

    base = Path(os.path.expanduser(b.base))  # noqa: PTH111 - as the backend expands it
    out: list[Orphan] = []
    for temp in temp_files(base):
        age = temp.age(now)
        if age > STALE_TEMP_SECONDS:
            why = "left by an interrupted write; prune removes it"
        else:
            why = "a write may be in flight; prune removes it once older than 1 hour"
        out.append(
            Orphan(
                "json-temp",
                None,
                str(temp.path),
                f"temporary file, {duration_text(timedelta(seconds=age))} old: {why}",
                temp.size,
                actionable=False,
                backend=b.name,
                name=temp.ident,
            )
        )
    return out


def _disk_usage(path: Path) -> tuple[int, int]:
    """(disk bytes, files) below ``path``, never through a symlink."""
    used, files = 0, 0
    try:
        used = path.lstat().st_blocks * 512  # the folder itself, as du counts it
    except OSError:
        return 0, 0
    for root, dirs, fnames in os.walk(path, followlinks=False):
        for name in [*dirs, *fnames]:
            try:
                st = os.lstat(os.path.join(root, name))  # noqa: PTH118 - hot loop
            except OSError:
                continue
            used += st.st_blocks * 512
        files += len(fnames)
    return used, files


def _kv_orphans(ours: list[Session]) -> list[Orphan]:
    out: list[Orphan] = []
    for s in ours:
        if not s.facts.never_expires:
            continue
        reason = "key has no TTL; it never expires"
        if s.state is State.CORRUPT:
            reason += "; not a session record"
        out.append(
            Orphan(
                "kv-no-ttl",
                s.ref,
                s.facts.key,
                reason,
                None,
                actionable=True,
                backend=s.backend,
                name=s.name,
            )
        )
    return out


def _container_orphans(ours: list[Session], config: AppConfig) -> list[Orphan]:
    out: list[Orphan] = []
    for s in ours:
        spec_name = s.facts.spec
        if spec_name is None and not s.facts.managed:
            continue  # not a container sesstui started
        spec = config.sessions.get(spec_name) if spec_name else None
        if not spec_name:
            why = "labelled managed but names no spec"
        elif spec is None:
            why = f"spec '{spec_name}' is not in the config"
        elif spec.backend != s.backend:
            why = f"spec '{spec_name}' now starts on '{spec.backend}'"
        else:
            continue
        out.append(
            Orphan(
                "container",
                s.ref,
                None,
                f"{why} ({s.state.value})",
                None,
                actionable=True,
                backend=s.backend,
                name=s.name,
            )
        )
    return out


def with_sizes(report: OrphanReport, snapshot: Snapshot, inventory: Inventory) -> OrphanReport:
    """The report with the disk usage of its directory orphans measured."""
    by_ref = snapshot.by_ref()
    wanted = [
        by_ref[o.ref]
        for o in report
        if o.category == "dir" and o.bytes is None and o.ref is not None and o.ref in by_ref
    ]
    if not wanted:
        return report
    sizes: dict[SessionRef, int] = {}
    try:
        for ref, size in inventory.measure(wanted):
            sizes[ref] = size.disk
    except (SesstuiError, OSError):
        pass  # sizes are extras: what was measured is kept, the rest shows "?"
    return replace(
        report,
        orphans=tuple(
            replace(o, bytes=sizes[o.ref]) if o.ref in sizes else o for o in report.orphans
        ),
    )


def load_orphans(
    inventory: Inventory, config: AppConfig, *, backends: Iterable[str] | None = None
) -> OrphanReport:
    """List every backend, find the orphans (of ``backends``), measure the
    directories among them: what ``sesstui orphans`` and the orphans screen show."""
    snapshot = inventory.refresh()
    report = find_orphans(snapshot, config, backends=backends)
    return with_sizes(report, snapshot, inventory)
