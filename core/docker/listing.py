"""The listing: :class:`ListingMixin` (``list_sessions`` and ``get`` of
:class:`core.docker.backend.DockerBackend`, one request each) and
:func:`session_of`, one row of ``GET /containers/json`` as a
:class:`core.model.Session`.

The list response is all a refresh reads (one request for every container),
so a few things come from what it carries rather than from an inspect:

* state: ``running`` and ``restarting`` are RUNNING, ``paused`` is IDLE (the
  container exists, its processes are frozen), ``created`` / ``exited`` /
  ``dead`` / ``removing`` are STOPPED;
* when it started or exited is not in the list response; the engine's status
  text ("Up 3 minutes", "Exited (0) 2 hours ago") is shown as the info and
  kept in the metadata, and ``created`` is the container's creation time;
* mounts come from the row's ``Mounts``, as :attr:`core.model.Facts.mounts`
  (typed, for the relations: a container that mounts a session directory is
  found without an inspect) and as ``metadata["mounts"]``, one mount per line
  (see :func:`mounts_text`), for people only;
* the typed facts (:class:`core.model.Facts`): the full container id, the
  mounts, the spec (label ``sesstui.session``) and whether sesstui manages it
  (label ``sesstui.managed`` present).  ``metadata`` repeats them as text for
  the details panel and ``ls --json``; nothing reads them back from there.

A refresh converts only what changed: :meth:`ListingMixin.list_sessions`
keeps each container's row with its session, and a row equal to the one the
last listing read (same id, every field the same, e.g. the status text) keeps
its session without a conversion.  :func:`session_of` reads nothing but the
row, the backend's name, the endpoint (a changed endpoint drops what was
kept) and the local time zone (for ``created``), so the kept session is the
one it would build again.  What is kept is the last listing's rows: about
2.6 KB per container as docker-py decodes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any

from core.docker.base import DockerBase, Seen, as_dict
from core.docker.specs import MANAGED_LABEL, SESSION_LABEL
from core.errors import BackendUnavailable, SesstuiError
from core.model import Facts, HealthStatus, Mount, Session, SessionRef, State

_STATES = {
    "running": State.RUNNING,
    "restarting": State.RUNNING,
    "paused": State.IDLE,
    "created": State.STOPPED,
    "exited": State.STOPPED,
    "dead": State.STOPPED,
    "removing": State.STOPPED,
}

LAST_STAMP = 253_402_300_800  # 10000-01-01 UTC: the first instant datetime cannot hold


def state_of(engine_state: str) -> State:
    return _STATES.get(engine_state, State.UNKNOWN)


def container_name(row: Mapping[str, Any]) -> str:
    """The container's name without the leading '/' (its id when it has none)."""
    names = row.get("Names") or []
    for name in names:
        # links add names like /other/alias; the container's own has one slash
        if isinstance(name, str) and name.count("/") == 1:
            return name[1:]
    return str(row.get("Id", ""))[:12]


def ports_summary(ports: object) -> str:
    """``0.0.0.0:8080->80/tcp, 9000/udp``, as ``docker ps`` shows them."""
    if not isinstance(ports, list):
        return ""
    out: list[str] = []
    for p in ports:
        if not isinstance(p, dict):
            continue
        private = f"{p.get('PrivatePort', '?')}/{p.get('Type', 'tcp')}"
        public = p.get("PublicPort")
        text = f"{p.get('IP', '')}:{public}->{private}" if public else private
        if text not in out:
            out.append(text)
    return ", ".join(out)


_ARROW = " -> "


def _escape(path: str) -> str:
    # one mount per line: a newline inside a path must not start another
    return path.replace("\\", "\\\\").replace("\n", "\\n")


def mounts_text(mounts: object) -> str:
    """The list response's ``Mounts`` as ``source -> destination`` lines.

    Commas, colons and spaces in paths stay as they are; a backslash or a
    newline inside a path is written ``\\\\`` / ``\\n`` so each line stays one
    mount.  For people (the details panel, ``ls --json``); code reads
    :func:`mounts_of` (``Session.facts.mounts``).  Mounts without a source
    (e.g. tmpfs) are left out.
    """
    return _lines_of(mounts_of(mounts))


def _lines_of(mounts: tuple[Mount, ...]) -> str:
    return "\n".join(f"{_escape(m.source)}{_ARROW}{_escape(m.destination)}" for m in mounts)


def mounts_of(mounts: object) -> tuple[Mount, ...]:
    """The list response's ``Mounts`` as typed mounts, in the engine's order.

    Mounts without a source (e.g. tmpfs) are left out, and a repeated
    (source, destination) pair counts once, as in :func:`mounts_text`.
    """
    if not isinstance(mounts, list):
        return ()
    out: dict[tuple[str, str], Mount] = {}
    for m in mounts:
        if not isinstance(m, dict):
            continue
        source, dest = m.get("Source"), m.get("Destination")
        if not isinstance(source, str) or not source:
            continue
        dest = dest if isinstance(dest, str) else ""
        out.setdefault((source, dest), Mount(source, dest, read_only=m.get("RW") is False))
    return tuple(out.values())


def session_of(row: Mapping[str, Any], backend: str, endpoint: str) -> Session:
    """The table row for one container of the list response."""
    get = row.get
    name = container_name(row)
    engine_state = str(get("State") or "")
    status = str(get("Status") or engine_state)
    labels = as_dict(get("Labels"))
    created_ts = get("Created")
    created = (
        datetime.fromtimestamp(created_ts).astimezone()
        # (an engine's bogus stamp, inf or past year 9999, would raise: no date then)
        if isinstance(created_ts, int | float) and 0 < created_ts < LAST_STAMP
        else None
    )
    container_id = str(get("Id", ""))
    ports = ports_summary(get("Ports"))
    metadata = {
        "container_id": container_id,
        "image": str(get("Image", "")),
        "state": engine_state,
        "status": status,
        "command": str(get("Command", "")),
        "endpoint": endpoint,
    }
    if ports:
        metadata["ports"] = ports
    spec = labels.get(SESSION_LABEL)
    if SESSION_LABEL in labels:
        metadata["session"] = str(spec)
    managed = MANAGED_LABEL in labels
    if managed:
        metadata["managed"] = str(labels[MANAGED_LABEL])
    mounts = mounts_of(get("Mounts"))
    if mounts:
        metadata["mounts"] = _lines_of(mounts)
    host_config = get("HostConfig")
    if isinstance(host_config, dict) and host_config.get("NetworkMode"):
        metadata["network"] = str(host_config["NetworkMode"])
    return Session(
        ref=SessionRef(backend, name),
        name=name,
        kind="docker",
        state=state_of(engine_state),
        created=created,
        attachable=engine_state == "running",
        info=status if not ports else f"{status} · {ports}",
        metadata=metadata,
        facts=Facts(
            container_id=container_id or None,
            mounts=mounts,
            spec=str(spec) if spec is not None else None,
            managed=managed,
        ),
    )


def _newest_first(session: Session) -> tuple[float, str]:
    """The listing's order: newest first, then by name."""
    created = session.created
    return (-created.timestamp() if created is not None else 0.0, session.name)


class ListingMixin(DockerBase):
    """list_sessions / get of a :class:`DockerBackend`: one request each."""

    def list_sessions(self) -> list[Session]:
        """Every container in scope, newest first, from one API request.

        Raises :class:`BackendUnavailable` with the reason when the engine
        cannot be reached or used.
        """
        try:
            api = self._api()
            # read once: it is worked out (redacted) on every read
            endpoint = self.endpoint
            with self._engine(f"cannot list containers on {endpoint}"):
                rows = api.containers(all=True, filters=self._filters())
        except SesstuiError as e:
            status = (
                HealthStatus.UNAVAILABLE
                if isinstance(e, BackendUnavailable)
                else HealthStatus.DEGRADED
            )
            self._health = self._make_health(status, e.message)
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(e.message) from e
        sessions = self._sessions(rows if isinstance(rows, list) else [], endpoint, keep=True)
        health = self._health
        # the same answer as last time keeps its health: making one redacts
        # the endpoint again, and the endpoint read now is redacted already
        if not (
            health is not None
            and health.ok
            and not health.reason
            and health.sessions == len(sessions)
            and health.endpoint == endpoint
        ):
            self._health = self._make_health(HealthStatus.OK, "", len(sessions), endpoint=endpoint)
        return sessions

    def _sessions(self, rows: list[Any], endpoint: str, *, keep: bool = False) -> list[Session]:
        """The sessions of a list response, newest first.

        A row equal to the one the last listing read for that container keeps
        its session (and its place in the order); ``keep`` makes these rows
        the ones the next call compares with (the full listing does, a lookup
        of one container does not).
        """
        seen_endpoint, seen = self._seen
        if seen_endpoint != endpoint:  # the endpoint is in every session's metadata
            seen = {}
        current: dict[str, Seen] = {}
        name = self.name
        match_labels = self.config.match_labels
        listed: list[tuple[tuple[float, str], Session]] = []
        for raw in rows:
            row = as_dict(raw)
            # the engine filtered on match_labels; an engine that ignored the
            # filter must still not show what is outside it
            if match_labels and not self._matches(as_dict(row.get("Labels"))):
                continue
            cid = str(row.get("Id", ""))
            hit = seen.get(cid)
            if hit is not None and hit[0] == row:
                _row, session, order = hit
            else:
                session = session_of(row, name, endpoint)
                order = _newest_first(session)
            current[cid] = (row, session, order)
            listed.append((order, session))
        if keep:
            self._seen = (endpoint, current)
        listed.sort(key=itemgetter(0))
        return [session for _order, session in listed]

    def get(self, session_id: str) -> Session:
        """One session, from one filtered list request."""
        api = self._api()
        pattern = f"^/{re.escape(session_id)}$"
        with self._engine(f"cannot look up container {session_id!r}"):
            rows = api.containers(all=True, filters=self._filters(name=pattern))
        for session in self._sessions(rows if isinstance(rows, list) else [], self.endpoint):
            if session.id == session_id:
                return session
        raise self._not_found(session_id)
