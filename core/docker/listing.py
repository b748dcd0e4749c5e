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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.docker.base import DockerBase, as_dict
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
    return "\n".join(
        f"{_escape(m.source)}{_ARROW}{_escape(m.destination)}" for m in mounts_of(mounts)
    )


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
    name = container_name(row)
    engine_state = str(row.get("State") or "")
    state = state_of(engine_state)
    status = str(row.get("Status") or engine_state)
    labels = row.get("Labels") or {}
    created_ts = row.get("Created")
    created = (
        datetime.fromtimestamp(created_ts).astimezone()
        if isinstance(created_ts, int | float) and created_ts > 0
        else None
    )
    ports = ports_summary(row.get("Ports"))
    metadata = {
        "container_id": str(row.get("Id", "")),
        "image": str(row.get("Image", "")),
        "state": engine_state,
        "status": status,
        "command": str(row.get("Command", "")),
        "endpoint": endpoint,
    }
    if ports:
        metadata["ports"] = ports
    if isinstance(labels, dict):
        if SESSION_LABEL in labels:
            metadata["session"] = str(labels[SESSION_LABEL])
        if MANAGED_LABEL in labels:
            metadata["managed"] = str(labels[MANAGED_LABEL])
    mounts = mounts_text(row.get("Mounts"))
    if mounts:
        metadata["mounts"] = mounts
    host_config = row.get("HostConfig")
    if isinstance(host_config, dict) and host_config.get("NetworkMode"):
        metadata["network"] = str(host_config["NetworkMode"])
    info = status if not ports else f"{status} · {ports}"
    spec = labels.get(SESSION_LABEL) if isinstance(labels, dict) else None
    facts = Facts(
        container_id=str(row.get("Id", "")) or None,
        mounts=mounts_of(row.get("Mounts")),
        spec=str(spec) if spec is not None else None,
        managed=isinstance(labels, dict) and MANAGED_LABEL in labels,
    )
    return Session(
        ref=SessionRef(backend, name),
        name=name,
        kind="docker",
        state=state,
        created=created,
        attachable=engine_state == "running",
        info=info,
        metadata=metadata,
        facts=facts,
    )


class ListingMixin(DockerBase):
    """list_sessions / get of a :class:`DockerBackend`: one request each."""

    def list_sessions(self) -> list[Session]:
        """Every container in scope, newest first, from one API request.

        Raises :class:`BackendUnavailable` with the reason when the engine
        cannot be reached or used.
        """
        try:
            api = self._api()
            with self._engine(f"cannot list containers on {self.endpoint}"):
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
        sessions = self._sessions(rows if isinstance(rows, list) else [])
        self._health = self._make_health(HealthStatus.OK, "", len(sessions))
        return sessions

    def _sessions(self, rows: list[Any]) -> list[Session]:
        endpoint = self.endpoint
        # the engine filtered on match_labels; an engine that ignored the
        # filter must still not show what is outside it
        mine = [as_dict(r) for r in rows]
        if self.config.match_labels:
            mine = [r for r in mine if self._matches(as_dict(r.get("Labels")))]
        sessions = [session_of(r, self.name, endpoint) for r in mine]
        sessions.sort(key=lambda s: s.name)
        sessions.sort(key=lambda s: s.created.timestamp() if s.created else 0.0, reverse=True)
        return sessions

    def get(self, session_id: str) -> Session:
        """One session, from one filtered list request."""
        api = self._api()
        pattern = f"^/{re.escape(session_id)}$"
        with self._engine(f"cannot look up container {session_id!r}"):
            rows = api.containers(all=True, filters=self._filters(name=pattern))
        for session in self._sessions(rows if isinstance(rows, list) else []):
            if session.id == session_id:
                return session
        raise self._not_found(session_id)
