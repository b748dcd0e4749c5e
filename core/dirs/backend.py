"""The ``dirs`` backend: a folder of session directories as dashboard rows.

Listing reads only the base directory (one ``scandir`` plus one ``stat`` per
session); sizes and last activity inside each session come from
:meth:`DirsBackend.measure`, which the UI runs separately and streams.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from core.backend import BaseBackend, LineStream
from core.config.records import BackendConfig
from core.dirs import engine
from core.dirs.engine import BaseView
from core.dirs.naming import PRUNE_LOCK_NAME, ParsedName, created_time, parse_name, pid_alive
from core.dirs.safety import open_base
from core.dirs.schema import DirsBackendConfig
from core.errors import ActionFailed, BackendUnavailable, SessionNotFound, UnsafeOperation
from core.model import (
    BackendHealth,
    Capability,
    EntryResult,
    HealthStatus,
    LogSource,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PrunePolicy,
    PruneReason,
    PruneResult,
    Session,
    SessionRef,
    SizeInfo,
    State,
)

if TYPE_CHECKING:
    from core.dirs.scan import DirScanner
    from core.inspection import Section
    from core.stats import SessionStats

LOCK_NAME = PRUNE_LOCK_NAME


def _local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts).astimezone()


class DirsBackend(BaseBackend):
    """Session directories under one base, named ``{prefix}{timestamp}_{pid}_{uuid}``."""

    kind = "dirs"
    capabilities = (
        Capability.LIST | Capability.SIZES | Capability.LOGS | Capability.PRUNE | Capability.DELETE
    )

    def __init__(self, config: BackendConfig) -> None:
        if not isinstance(config, DirsBackendConfig):
            raise TypeError("DirsBackend needs a DirsBackendConfig")
        super().__init__(config.name)
        self.config = config
        self.base = Path(os.path.expanduser(config.base))  # noqa: PTH111
        self.prefix = config.prefix
        self.timestamp_format = config.timestamp_format
        self.policy = config.retention
        self._sizes: dict[str, SizeInfo] = {}
        # The last listing's rows, kept to hand out again: name -> (what the row was made
        # from, the row, whether its pid is dead for good at that mtime: then it is not
        # checked again).  A refresh with no change lists the very same Session objects, so
        # nothing above compares their fields: a refresh of 2,000 dirs cost the app 0.15-0.24 s
        # of CPU (and was paced to one every 30 s), now 45-50 ms.
        self._rows: dict[str, tuple[tuple[float, bool, SizeInfo | None], Session, bool]] = {}
        # Parsed names (a name never changes; strptime was a third of a listing).
        self._parsed: dict[str, ParsedName | None] = {}
        self._paths: dict[str, Path] = {}  # the Path of each session measured (hash cached)
        self._scanner_lock = threading.Lock()
        self._scanner: DirScanner | None = None
        self._ignored = 0
        self._health = BackendHealth(self.name, self.kind, HealthStatus.OK, endpoint=str(self.base))

    # -- listing --------------------------------------------------------------

    def health(self) -> BackendHealth:
        return self._health

    def _set_health(self, status: HealthStatus, reason: str = "") -> None:
        self._health = BackendHealth(self.name, self.kind, status, reason, endpoint=str(self.base))

    def _open_base(self) -> None:
        open_base(self.base, create=self.config.create_base, backend=self.name)

    def list_sessions(self) -> list[Session]:
        """One row per session directory, newest first.  A directory whose mtime, live
        pid and measured size are as at the last listing gets the same row object."""
        self._open_base()
        sessions: list[Session] = []
        ignored = 0
        last_rows, rows = self._rows, {}
        started = time.time()  # a pid found dead from now on was dead at this time
        last_parsed, parsed_now = self._parsed, {}
        try:
            with os.scandir(self.base) as it:
                for entry in it:
                    name = entry.name
                    if name in last_parsed:
                        parsed = last_parsed[name]
                    else:
                        parsed = parse_name(name, self.prefix, self.timestamp_format)
                    parsed_now[name] = parsed
                    if parsed is None or not entry.is_dir(follow_symlinks=False):
                        if not name.startswith("."):
                            ignored += 1
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue  # removed between readdir and stat
                    mtime, size = st.st_mtime, self._sizes.get(name)
                    last = last_rows.get(name)
                    if last is not None and last[2] and last[0][0] == mtime:
                        # found dead once engine.live_bound was past: no process can revive it
                        live, dead = False, True
                    else:
                        bound = engine.live_bound(parsed, mtime)
                        live = self._live(parsed, bound)
                        dead = not live and bound < started
                    made = (mtime, live, size)
                    if last is not None and last[0] == made:
                        session = last[1]
                    else:
                        path = Path(entry.path)
                        session = self._session(name, path, parsed, mtime, live=live, size=size)
                    rows[name] = (made, session, dead)
                    sessions.append(session)
        except PermissionError as e:
            raise BackendUnavailable(
                f"cannot read base directory {self.base}: permission denied; "
                "check its mode or run as its owner"
            ) from e
        except OSError as e:
            raise BackendUnavailable(f"cannot read base directory {self.base}: {e.strerror}") from e
        self._rows, self._parsed = rows, parsed_now  # (names gone are forgotten)
        if len(self._paths) > len(rows):
            self._paths = {n: p for n, p in self._paths.items() if n in rows}
        if len(self._sizes) > len(rows):  # sessions gone (measure adds only what it measured)
            self._sizes = {n: v for n, v in self._sizes.items() if n in rows}
        self._ignored = ignored
        reason = f"{ignored} other entries ignored" if ignored else ""
        self._set_health(HealthStatus.OK, reason)
        sessions.sort(key=lambda s: s.created or _local(0), reverse=True)
        return sessions

    def _session(
        self,
        name: str,
        path: Path,
        parsed: ParsedName,
        mtime: float,
        *,
        live: bool,
        size: SizeInfo | None,
    ) -> Session:
        created_ts = created_time(parsed, mtime)
        last = mtime
        if size is not None and size.newest_mtime is not None:
            last = max(last, size.newest_mtime)
        info = f"pid {parsed.pid}" + (" (running)" if live else "")
        return Session(
            ref=SessionRef(self.name, name),
            # the id minus prefix and pid, uuid shortened: readable in 80 columns
            name=f"{parsed.timestamp}_{parsed.uuid[:6]}",
            kind=self.kind,
            state=State.ACTIVE if live else State.IDLE,
            created=_local(created_ts),
            last_active=_local(last),
            size=size,
            path=str(path),
            attachable=False,
            info=info,
            pid=parsed.pid,
            metadata={"pid": str(parsed.pid), "uuid": parsed.uuid, "base": str(self.base)},
        )

    def _path_of(self, session_id: str) -> tuple[Path, ParsedName]:
        parsed = parse_name(session_id, self.prefix, self.timestamp_format)
        if parsed is None or "/" in session_id or session_id in (".", ".."):
            raise SessionNotFound(
                f"'{session_id}' is not a session directory name in backend '{self.name}' "
                f"(expected {self.prefix}<timestamp>_<pid>_<uuid>)"
            )
        path = self.base / session_id
        if not path.is_dir() or path.is_symlink():
            raise SessionNotFound(
                f"no session directory {path}; see `sesstui ls --backend {self.name}`"
            )
        return path, parsed

    def get(self, session_id: str) -> Session:
        path, parsed = self._path_of(session_id)
        mtime = path.lstat().st_mtime
        live = engine.is_live(parsed, mtime)
        size = self._sizes.get(session_id)
        return self._session(session_id, path, parsed, mtime, live=live, size=size)

    # -- inspect --------------------------------------------------------------

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The directory (its creating pid and whether it runs), its tree with
        sizes, largest first, and its logs."""
        from core.dirs.tree import scan_tree, tree_lines
        from core.inspection import Section, size_text

        path, parsed = self._path_of(session_id)
        root = scan_tree(str(path))
        mtime = path.lstat().st_mtime
        info = Section.make(
            "session directory",
            {
                "path": path,
                "base": self.base,
                "pid": parsed.pid,
                "pid running": engine.is_live(parsed, mtime),
                "uuid": parsed.uuid,
                "size": f"{size_text(root.bytes)} ({root.bytes} bytes)",
                "files": root.files,
            },
        )
        logs = [f"{src.name}  {size_text(src.size or 0)}" for src in self.logs(session_id)]
        return [
            info,
            Section.make("tree (largest first)", lines=tree_lines(root) or ["(empty)"]),
            Section.make(f"logs ({len(logs)})", lines=logs),
        ]

    # -- stats ----------------------------------------------------------------

    two_readings = True

    def stats_reading(self, sessions: Sequence[Session]) -> object:
        """Each session's apparent size now (the scanner: a file that grew
        is read again)."""
        return {sid: size.apparent for sid, size in self.measure([s.id for s in sessions])}

    def stats_of(
        self,
        sessions: Sequence[Session],
        before: object | None,
        after: object,
        elapsed: float,
        now: datetime,
    ) -> dict[str, SessionStats]:
        """Per session: its size and how fast it grew between the readings."""
        from core.stats import SessionStats, growth_rate

        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        out: dict[str, SessionStats] = {}
        for s in sessions:
            size, was = new.get(s.id), old.get(s.id)
            if size is None:
                out[s.id] = SessionStats(s.ref, self.kind, note="could not be measured")
                continue
            rate = growth_rate(was, size, elapsed) if was is not None else None
            out[s.id] = SessionStats(s.ref, self.kind, size_bytes=size, growth_bytes_per_s=rate)
        return out

    # -- sizes ----------------------------------------------------------------

    def _get_scanner(self) -> DirScanner:
        from core.dirs.scan import DirScanner  # lazy: only when sizes are asked for

        with self._scanner_lock:
            if self._scanner is None:
                self._scanner = DirScanner()
            return self._scanner

    def measure(self, session_ids: Iterable[str]) -> Iterator[tuple[str, SizeInfo]]:
        scanner = self._get_scanner()
        known = self._paths
        paths: dict[Path, str] = {}
        for sid in session_ids:
            path = known.get(sid)
            if path is None:
                path = known[sid] = self.base / sid
            paths[path] = sid
        for path, size in scanner.measure_many(list(paths)):
            sid = paths[path]
            self._sizes[sid] = size  # (unchanged: the scanner's cached object, the row kept)
            yield sid, size

    # -- logs -----------------------------------------------------------------

    def logs(self, session_id: str) -> list[LogSource]:
        """Every file matching ``log_glob`` below the session, newest first."""
        path, _ = self._path_of(session_id)
        found: list[LogSource] = []
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs.sort()
            for fname in files:
                if not fnmatch(fname, self.config.log_glob):
                    continue
                full = Path(root) / fname
                try:
                    st = full.lstat()
                except OSError:
                    continue
                if not full.is_file() or full.is_symlink():
                    continue  # never read through a link that may point outside
                found.append(LogSource(str(full.relative_to(path)), full, st.st_size, st.st_mtime))
        found.sort(key=lambda s: (-(s.mtime or 0.0), s.name))
        return found

    def tail(
        self,
        session_id: str,
        *,
        lines: int = 100,
        follow: bool = False,
        source: str | None = None,
    ) -> LineStream:
        from core.logtail import FileTail

        sources = self.logs(session_id)
        if not sources:
            raise ActionFailed(
                f"session {session_id} has no log files matching {self.config.log_glob}",
                title="No logs",
            )
        chosen = sources[0]
        if source is not None:
            match = [s for s in sources if s.name == source]
            if not match:
                names = ", ".join(s.name for s in sources)
                raise SessionNotFound(f"no log '{source}' in {session_id}; it has: {names}")
            chosen = match[0]
        assert chosen.path is not None  # noqa: S101 - file sources always carry a path
        return FileTail(chosen.path, lines=lines, follow=follow)

    # -- prune / delete -------------------------------------------------------

    def _measure_entries(self, entries: list[PlanEntry]) -> list[PlanEntry]:
        sizes = dict(self.measure([e.id for e in entries])) if entries else {}
        return [
            PlanEntry(
                e.backend,
                e.id,
                e.path,
                e.reason,
                sizes[e.id].disk if e.id in sizes else None,
                e.detail,
                e.mtime,
            )
            for e in entries
        ]

    @staticmethod
    def _live(parsed: ParsedName, bound: float) -> bool:
        """:func:`engine.is_live` with its bound (:func:`engine.live_bound`) worked out."""
        return pid_alive(parsed.pid, not_after=bound)

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        """Apply the retention policy: count rule first, then age; oldest first.

        Same selection as the vcti-session library over directories whose names
        follow the full session pattern.  Active sessions (live creating pid) and
        directories holding a mount point are kept unless ``force``.
        """
        from core.dirs.retention import list_candidates, select_for_prune

        view = BaseView.take(self.base)
        policy = policy or self.policy
        skipped: list[PlanSkip] = []
        candidates = []
        for c in list_candidates(self.base, self.prefix):
            if parse_name(c.name, self.prefix, self.timestamp_format) is None:
                skipped.append(
                    PlanSkip(
                        self.name, c.name, str(c.path), "name does not follow the session pattern"
                    )
                )
            else:
                candidates.append(c)
        max_age_days = policy.max_age.total_seconds() / 86400 if policy.max_age is not None else -1
        selected = select_for_prune(candidates, policy.max_sessions, max_age_days, time.time())
        entries: list[PlanEntry] = []
        for cand, reason in selected:
            parsed = parse_name(cand.name, self.prefix, self.timestamp_format)
            assert parsed is not None  # noqa: S101 - filtered above
            why = engine.refusal(view, cand.path, parsed, force=force)
            if why:
                skipped.append(PlanSkip(self.name, cand.name, str(cand.path), why))
                continue
            detail = (
                f"beyond the newest {policy.max_sessions}"
                if reason is PruneReason.COUNT
                else f"older than {max_age_days:g} days"
            )
            entries.append(
                PlanEntry(self.name, cand.name, str(cand.path), reason, None, detail, cand.mtime)
            )
        return PrunePlan(
            self.name,
            tuple(self._measure_entries(entries)),
            tuple(skipped),
            policy,
            str(self.base),
            base_identity=view.identity,
        )

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        view = BaseView.take(self.base)
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            path, parsed = self._path_of(sid)
            mtime = path.lstat().st_mtime
            why = engine.refusal(view, path, parsed, force=force)
            if why:
                skipped.append(PlanSkip(self.name, sid, str(path), why))
            else:
                entries.append(
                    PlanEntry(self.name, sid, str(path), PruneReason.REQUESTED, None, "", mtime)
                )
        return PrunePlan(
            self.name,
            tuple(self._measure_entries(entries)),
            tuple(skipped),
            None,
            str(self.base),
            base_identity=view.identity,
        )

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Remove exactly the plan's entries, re-checking each one first.

        The same engine as the producer API's prune (:mod:`core.dirs.engine`):
        one pruner per base at a time, the base and each entry checked again
        right before removal.  Errors are per entry; the rest proceeds.
        """
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        identity = plan.base_identity
        if identity is not None and not isinstance(identity, engine.BaseIdentity):
            raise UnsafeOperation(f"plan for '{plan.backend}' carries a foreign base identity")
        results: dict[int, EntryResult] = {}
        targets: list[engine.Target] = []
        planned: list[int] = []
        for i, entry in enumerate(plan.entries):
            parsed = parse_name(entry.id, self.prefix, self.timestamp_format)
            path = self.base / entry.id
            if parsed is None or "/" in entry.id or entry.path not in (None, str(path)):
                results[i] = EntryResult(
                    entry, False, "not a session directory of this base; left alone"
                )
                continue
            targets.append(engine.Target(path, parsed))
            planned.append(i)
        for i, outcome in zip(
            planned,
            engine.remove(
                self.base,
                targets,
                force=force,
                planned=identity,
            ),
            strict=True,
        ):
            results[i] = EntryResult(plan.entries[i], outcome.ok, outcome.message)
        ordered = tuple(results[i] for i in range(len(plan.entries)))
        for r in ordered:
            if r.ok:
                self._sizes.pop(r.entry.id, None)
        return PruneResult(self.name, ordered)

    def close(self) -> None:
        scanner = self._scanner
        if scanner is not None:
            scanner.close()
