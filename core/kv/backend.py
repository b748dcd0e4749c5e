"""The ``kv`` backend: session records with TTLs in Redis or in this process.

Rows come from :mod:`core.kv.sources` (``SCAN`` pages, never ``KEYS``; Redis
reads the next page while this thread builds sessions of the last), and
records whose bytes and expiry instant did not change since the last refresh
keep their :class:`Session` (no JSON parse).  Values are read by
:mod:`core.kv.records` (msgspec; ``json.loads`` where msgspec refuses) and
turned into rows by :mod:`core.kv.listing`; a row is a lean
:class:`~core.kv.rows.KvSession` whose ``metadata`` (a
:class:`~core.kv.records.KvMetadata` that keeps ``custom_metadata`` as its
JSON text until someone reads it), ``facts``, ``expires`` and ``ref`` are
made when read.
Keys outside ``key_prefix``, and keys that are not strings, are never shown or
touched.  A value that is not a session JSON object lists as CORRUPT (the id
from the key); every session carries its key and whether it has no TTL as
facts (``Facts.key``, ``Facts.never_expires``); ``metadata["ttl"]`` says the
same in words for people ("none" or "set").  With ``sandbox`` set, only that
sandbox's records show and can be acted on (corrupt ones are hidden then:
their sandbox is unknown).

``extend(id, ttl)`` sets the session's *remaining lifetime* to ``ttl`` from
now: ``expires_at`` and the key TTL change together in one WATCH/MULTI/EXEC
transaction (retried on conflict), so concurrent metadata updates by the
producer API are never lost; ``ttl <= 0`` expires the session now (deletes
it).

A store that cannot be reached is :class:`BackendUnavailable` with the reason
(see :mod:`core.kv.sources`); the next call tries again.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.backend import BaseBackend
from core.config.records import BackendConfig
from core.errors import (
    ActionFailed,
    BackendUnavailable,
    SessionNotFound,
    SesstuiError,
    UnsafeOperation,
)
from core.kv.listing import Builder, newest_first
from core.kv.manager import iso
from core.kv.providers import (
    DEFAULT_REDIS_URL,
    Clock,
    MemoryStores,
    canonical_provider,
    utc_now,
)
from core.kv.records import json_record, meta_text
from core.kv.rows import KvSession, Listing
from core.kv.schema import KvBackendConfig
from core.kv.sources import MemorySource, RedisSource, Row, Source
from core.model import (
    BackendHealth,
    Capability,
    EntryResult,
    HealthStatus,
    PlanEntry,
    PlanSkip,
    PrunePlan,
    PruneReason,
    PruneResult,
    Session,
)

if TYPE_CHECKING:
    from core.inspection import Section

# a record hidden by the sandbox filter: (hash of the raw value, expiry
# instant in epoch ms or -1); a shown one is cached as its KvSession, which
# carries the hash
_Hidden = tuple[int, float]


class KvBackend(BaseBackend):
    """Session records under ``key_prefix`` in Redis or a shared memory store.

    ``environ`` replaces ``os.environ`` when the URL comes from
    ``SESSION_REDIS_URL`` / ``REDIS_URL``; ``clock`` is the "now" that remaining
    TTLs and ``expires_at`` are measured from (default the real time).  With
    ``provider: memory`` the records are ``stores``' store named after the
    backend (without ``stores``, a new, empty store of its own): pass the
    :class:`MemoryStores` the producers write into.
    """

    kind = "kv"
    capabilities = Capability.LIST | Capability.DELETE | Capability.EXTEND

    def __init__(
        self,
        config: BackendConfig,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        stores: MemoryStores | None = None,
    ) -> None:
        if not isinstance(config, KvBackendConfig):
            raise TypeError("KvBackend needs a KvBackendConfig")
        super().__init__(config.name)
        self.config = config
        self.prefix = config.key_prefix
        self.provider = canonical_provider(config.provider)
        self.clock = clock
        self._source: Source
        if self.provider == "memory":
            owner = stores if stores is not None else MemoryStores()
            self._source = MemorySource(owner.store(config.name))
        else:
            env = os.environ if environ is None else environ
            url = (
                config.url
                or env.get("SESSION_REDIS_URL")
                or env.get("REDIS_URL")
                or DEFAULT_REDIS_URL
            )
            self._source = RedisSource(url, config.connect_timeout, config.socket_timeout)
        self._health: BackendHealth | None = None
        # key -> its session (or a hidden record's hash and expiry): unchanged
        # records are not parsed again.  Kept rather than rebuilt from the
        # sorted list at each refresh: it holds the sessions in the order they
        # were made, and a full garbage collection that reaches them in that
        # order (not the table's) walks memory in order: 3x faster at 100k rows
        self._cache: dict[str, KvSession | _Hidden] = {}  # by id
        self._shown: list[KvSession] = []  # the cached sessions, in order
        # a store that says what it has been through (memory): its stamp at the
        # last listing, and until when that listing holds without a change
        self._stamp: object = None
        self._holds_until_ms = -math.inf

    @property
    def endpoint(self) -> str:
        return self._source.endpoint

    def _make_health(
        self, status: HealthStatus, reason: str = "", sessions: int = 0
    ) -> BackendHealth:
        return BackendHealth(self.name, self.kind, status, reason, sessions, endpoint=self.endpoint)

    def health(self) -> BackendHealth:
        return self._health or self._make_health(HealthStatus.OK)

    # -- listing ---------------------------------------------------------------

    def _session(self, row: Row, now: datetime) -> KvSession | None:
        key, raw, pttl = row
        builder = Builder(Listing(self.name, self.prefix, now), self.config.sandbox)
        return builder.build(key[len(self.prefix) :], raw, pttl, 0)

    def list_sessions(self) -> list[Session]:
        """Every session record under the prefix (in the sandbox, if set),
        newest first; raises :class:`BackendUnavailable` with the reason."""
        return self._list(None)

    def list_paged(self, first_page: Callable[[list[Session]], None]) -> list[Session]:
        """:meth:`list_sessions`, handing the first page's sessions (newest
        first) to ``first_page`` as soon as it is read."""
        return self._list(first_page)

    def _list(self, first_page: Callable[[list[Session]], None] | None) -> list[Session]:
        """The listing (see :meth:`list_sessions`).

        Pages stream in (never one list of every value); a record whose value
        and expiry instant did not change since the last listing keeps its
        :class:`Session` without a parse.  Values themselves are not kept:
        only their hash (a changed record whose new value collides with the
        old hash, a 2**-64 chance, shows its change at the next expiry change).
        """
        stamp_of = getattr(self._source, "stamp", None)
        stamp = None if stamp_of is None else stamp_of()
        listing = Listing(self.name, self.prefix, self.clock())
        if (
            stamp is not None
            and stamp == self._stamp
            and listing.now_ms < self._holds_until_ms
            and first_page is None
        ):
            # nothing written, nothing expired: the very same sessions (10k: 0.1 ms)
            self._health = self._make_health(HealthStatus.OK, "", len(self._shown))
            return list(self._shown)
        try:
            pages = self._source.pages(self.prefix)
        except SesstuiError as e:
            self._health = self._make_health(HealthStatus.UNAVAILABLE, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        now_ms = listing.now_ms
        cut = listing.cut
        old = self._cache
        cache: dict[str, KvSession | _Hidden] = {}  # SCAN may return a key twice
        added: list[KvSession] = []
        build = Builder(listing, self.config.sandbox).build
        misses = 0
        try:
            for page in pages:
                for row in page:
                    key, raw, pttl = row
                    sid = key[cut:]
                    if sid in cache:
                        continue  # SCAN returns a key twice while Redis resizes its table
                    deadline = now_ms + pttl if pttl >= 0 else -1.0
                    digest = hash(raw)
                    hit = old.get(sid)
                    # an unchanged record keeps its session: same bytes, the
                    # same expiry instant (to the second), not yet past expires_at
                    if hit is not None:
                        if isinstance(hit, KvSession):
                            if hit.unchanged(digest, deadline, now_ms):
                                cache[hit.name] = hit  # keyed by the id the row holds
                                continue
                        elif hit[0] == digest and abs(hit[1] - deadline) < 1000:
                            cache[sid] = hit
                            continue
                    misses += 1
                    session = build(sid, raw, pttl, digest)
                    if session is None:
                        cache[sid] = (digest, deadline)  # kept, not shown
                    else:
                        cache[sid] = session  # sid: the row's own id text
                        added.append(session)
                if first_page is not None and cache:
                    page_sessions = [v for v in cache.values() if isinstance(v, KvSession)]
                    if page_sessions:
                        first_page(list(newest_first([], page_sessions)))
                        first_page = None
        except SesstuiError as e:
            self._health = self._make_health(HealthStatus.UNAVAILABLE, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        self._cache = cache
        if misses or len(cache) != len(old):
            # newest first, then by id: the unchanged rows are in order
            # already, what changed is merged in
            kept = [s for s in self._shown if cache.get(s.name) is s]
            self._shown = newest_first(kept, added)
        if stamp is not None:
            self._stamp = stamp
            self._holds_until_ms = min((s.lasts_until_ms() for s in self._shown), default=math.inf)
        sessions: list[Session] = list(self._shown)
        self._health = self._make_health(HealthStatus.OK, "", len(sessions))
        return sessions

    def _key(self, session_id: str) -> str:
        if not session_id or any(c in session_id for c in "\r\n\x00"):
            raise SessionNotFound(f"no session {session_id!r} in backend '{self.name}'")
        return f"{self.prefix}{session_id}"

    def _not_found(self, session_id: str) -> SessionNotFound:
        return SessionNotFound(
            f"no session {session_id!r} at {self.endpoint} (backend '{self.name}'); "
            "it may have expired"
        )

    def get(self, session_id: str) -> Session:
        """One session from one GET + PTTL round trip."""
        row = self._source.row(self._key(session_id))
        session = None if row is None else self._session(row, self.clock())
        if session is None:
            raise self._not_found(session_id)
        return session

    def inspect_sections(self, session_id: str) -> list[Section]:
        """The key with its TTL as the store has it now, and the value: a
        session record's fields (``custom_metadata`` nested), or the raw
        text of a value that is not one."""
        from core.durations import duration_text
        from core.inspection import Section

        key = self._key(session_id)
        row = self._source.row(key)
        if row is None or self._session(row, self.clock()) is None:
            raise self._not_found(session_id)
        _key, raw, pttl = row
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if pttl >= 0:
            ttl = f"{duration_text(timedelta(milliseconds=pttl))} ({pttl / 1000:g} s)"
        else:
            ttl = "none (the key never expires)"
        head = Section.make(
            "kv key",
            {"key": key, "store": self.endpoint, "ttl": ttl, "bytes": len(text.encode())},
        )
        record = json_record(raw)
        if record is None:
            return [head, Section.make("value (not a session record)", lines=text.splitlines())]
        custom = record.get("custom_metadata")
        fields = {
            k: (v if isinstance(v, str) or v is None else json.dumps(v, ensure_ascii=False))
            for k, v in record.items()
            if k != "custom_metadata"
        }
        out = [head, Section.make("value", fields)]
        if isinstance(custom, dict):
            out.append(
                Section.make(
                    f"custom_metadata ({len(custom)})",
                    {k: meta_text(v) for k, v in custom.items()},
                )
            )
        return out

    # -- actions -------------------------------------------------------------

    def extend(self, session_id: str, ttl: timedelta) -> None:
        """Set the remaining lifetime to ``ttl`` from now (``expires_at`` and
        the key TTL in one transaction); ``ttl <= 0`` deletes the session."""
        key = self._key(session_id)
        seconds = ttl.total_seconds()
        if seconds <= 0:
            self.get(session_id)  # within this backend's view (prefix, sandbox)
            if not self._source.delete(key):
                raise self._not_found(session_id)
            return
        corrupt = False
        sandbox = self.config.sandbox

        def apply(value: str) -> tuple[str, float | None] | None:
            nonlocal corrupt
            record = json_record(value)
            if record is None:
                corrupt = sandbox is None
                return None
            if sandbox is not None and record.get("sandbox_id") != sandbox:
                return None  # outside this backend's view: not found
            record["expires_at"] = iso(self.clock() + ttl)
            return json.dumps(record), seconds

        if not self._source.update(key, apply):
            if corrupt:
                raise ActionFailed(
                    f"session {session_id!r} is not a valid session record; delete it instead"
                )
            raise self._not_found(session_id)

    def plan_delete(self, session_ids: Iterable[str], *, force: bool = False) -> PrunePlan:
        """One entry per named session; an unknown id raises :class:`SessionNotFound`.
        Active sessions are deleted without ``force``: a record has no process
        to cut, and the producer sees it as expired."""
        entries: list[PlanEntry] = []
        skipped: list[PlanSkip] = []
        for sid in session_ids:
            session = self.get(sid)
            detail = f"{session.state.value}; {session.info}"
            if self.config.protected and not force:
                skipped.append(PlanSkip(self.name, sid, None, "protected backend (use --force)"))
                continue
            entries.append(
                PlanEntry(self.name, sid, self._key(sid), PruneReason.REQUESTED, None, detail)
            )
        return PrunePlan(self.name, tuple(entries), tuple(skipped), base=self.endpoint)

    def prune(self, plan: PrunePlan, *, force: bool = False) -> PruneResult:
        """Delete exactly the plan's keys; per-entry results."""
        if plan.backend != self.name:
            raise UnsafeOperation(f"plan is for backend '{plan.backend}', not '{self.name}'")
        results: list[EntryResult] = []
        for entry in plan.entries:
            try:
                gone = self._source.delete(self._key(entry.id))
            except SesstuiError as e:
                results.append(EntryResult(entry, False, e.message))
                continue
            results.append(EntryResult(entry, gone, "" if gone else "no longer exists"))
        return PruneResult(self.name, tuple(results))

    def close(self) -> None:
        self._source.close()
