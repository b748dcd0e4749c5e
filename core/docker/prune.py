"""Deleting containers and pruning the stopped ones sesstui started: a plan
first (what, why), then removal of exactly the plan's containers, each
re-checked (a container replaced or started since the plan is left alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from core.docker.base import LIVE, DockerBase, OutsideFilter, as_dict, parse_time
from core.docker.listing import session_of
from core.docker.specs import MANAGED_LABEL, SESSION_LABEL
from core.durations import duration_text
from core.errors import SessionNotFound, SesstuiError, UnsafeOperation
from core.model import (
    EntryResult,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PrunePolicy,
    PruneReason,
    PruneResult,
)

_PRUNABLE = ["exited", "dead", "created"]


def _ago(delta: timedelta) -> str:
    return f"{duration_text(delta, style='age')} ago"


class PruneMixin(DockerBase):
    """plan_delete / plan_prune / prune of a :class:`DockerBackend`."""

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        """Entries for the named containers; a live one is skipped unless
        ``force``.  An unknown id raises :class:`SessionNotFound`."""
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            data = self._inspect(sid)
            name = str(data.get("Name", "")).lstrip("/") or sid
            status = self._status(data)
            if status in LIVE and not force:
                skipped.append(
                    PlanSkip(self.name, name, None, f"{status} (stop it first, or --force)")
                )
                continue
            self._planned[name] = str(data.get("Id", ""))
            detail = f"{status}; removed by force" if status in LIVE else status
            entries.append(PlanEntry(self.name, name, None, PruneReason.REQUESTED, None, detail))
        return PrunePlan(self.name, tuple(entries), tuple(skipped), base=self.endpoint)

    def plan_prune(self, policy: PrunePolicy | None = None, *, force: bool = False) -> PrunePlan:
        """Stopped containers sesstui started (labelled ``sesstui.session`` or
        ``sesstui.managed``, whatever the scope) that exited longer ago than
        ``prune_after_days`` (or ``policy.max_age``; with a policy, beyond its
        ``max_sessions`` newest too).  Running containers are never candidates.
        Only containers within ``match_labels`` (a term of the same filter).
        One list request, then one inspect per candidate for its exit time."""
        api = self._api()
        filters: dict[str, object] = {"status": _PRUNABLE}
        if self.config.match_labels:
            filters["label"] = self._label_terms()
        with self._engine(f"cannot list containers on {self.endpoint}"):
            rows = api.containers(all=True, filters=filters)
        now = datetime.now(UTC)
        if policy is not None:
            max_age = policy.max_age
        elif self.config.prune_after_days >= 0:
            max_age = timedelta(days=self.config.prune_after_days)
        else:
            max_age = None
        candidates: list[tuple[datetime, str, str, str]] = []  # (ended, name, id, how)
        for row in rows if isinstance(rows, list) else []:
            r = as_dict(row)
            labels = as_dict(r.get("Labels"))
            if SESSION_LABEL not in labels and MANAGED_LABEL not in labels:
                continue
            if not self._matches(labels):
                continue  # the engine filtered already; never trust it alone
            session = session_of(r, self.name, self.endpoint)
            try:
                with self._engine("inspect"):
                    data = as_dict(api.inspect_container(str(r.get("Id", ""))))
            except SesstuiError:
                continue  # removed meanwhile
            if self._status(data) in LIVE:
                continue  # started since the list
            state = as_dict(data.get("State"))
            finished = parse_time(state.get("FinishedAt"))
            how = "exited"
            if finished is None:  # never started: its age is its creation
                finished = parse_time(data.get("Created")) or now
                how = "created"
            candidates.append((finished, session.name, str(data.get("Id", "")), how))
        candidates.sort()  # oldest first
        chosen: dict[str, PlanEntry] = {}
        keep = policy.max_sessions if policy is not None else -1
        if keep >= 0 and len(candidates) > keep:
            for ended, name, _cid, how in candidates[: len(candidates) - keep]:
                chosen[name] = PlanEntry(
                    self.name, name, None, PruneReason.COUNT, None,
                    f"{how} {_ago(now - ended)}; beyond the newest {keep}",
                    ended.timestamp(),
                )  # fmt: skip
        if max_age is not None:
            for ended, name, _cid, how in candidates:
                if name not in chosen and now - ended > max_age:
                    chosen[name] = PlanEntry(
                        self.name, name, None, PruneReason.AGE, None,
                        f"{how} {_ago(now - ended)}", ended.timestamp(),
                    )  # fmt: skip
        for _ended, name, cid, _how in candidates:
            if name in chosen:
                self._planned[name] = cid
        entries = tuple(chosen[n] for _e, n, _c, _h in candidates if n in chosen)
        return PrunePlan(self.name, entries, (), policy, base=self.endpoint)

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Remove exactly the plan's containers, re-checking each first: one
        that runs now is removed only by force (never for an age or count
        entry), one replaced since the plan is left alone.  Errors are per
        entry."""
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        try:
            self._api()
        except SesstuiError as e:
            return PruneResult(self.name, (), error=e.message)
        return PruneResult(self.name, tuple(self._remove_one(e, force) for e in plan.entries))

    def _remove_one(self, entry: PlanEntry, force: bool) -> EntryResult:
        try:
            data = self._inspect(entry.id)
        except OutsideFilter as e:
            return EntryResult(entry, False, e.message)
        except SessionNotFound:
            return EntryResult(entry, False, "no longer exists")
        except SesstuiError as e:
            return EntryResult(entry, False, e.message)
        container_id = str(data.get("Id", ""))
        planned = self._planned.get(entry.id)
        if planned and planned != container_id:
            return EntryResult(
                entry, False, "a different container has this name since the plan; left as it is"
            )
        live = self._status(data) in LIVE
        if live and (not force or entry.reason is not PruneReason.REQUESTED):
            why = (
                "started again since the plan" if entry.reason is not PruneReason.REQUESTED else ""
            )
            return EntryResult(
                entry, False, why or f"{self._status(data)} (stop it first, or --force)"
            )
        try:
            with self._engine(f"cannot remove container {entry.id!r}"):
                self._api().remove_container(container_id, force=live)
        except SesstuiError as e:
            return EntryResult(entry, False, e.message)
        self._planned.pop(entry.id, None)
        return EntryResult(entry, True)
