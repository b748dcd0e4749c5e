"""The ``dirs`` kind: its configuration keys and how its backend is built.

``backends: [{kind: dirs, base: ~/runs, ...}]`` -- a folder of session
directories (vcti-session convention).  Adding a key: declare it here with
``key()``, use it in :mod:`core.dirs.backend`, document it in the README and
``config.example.yml``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from core.config.fields import key
from core.config.kinds import BuildContext, Kind
from core.config.records import KIND_KEY, BackendConfig
from core.model import PrunePolicy

if TYPE_CHECKING:
    from core.backend import Backend
    from core.config.loader import Node
    from core.config.reader import Context


def _days(age: timedelta | None) -> float:
    if age is None:
        return -1
    days = age / timedelta(days=1)
    return int(days) if days.is_integer() else days


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """``retention:`` as the file writes it; the record keeps a ``PrunePolicy``."""

    what: ClassVar[str] = "the retention rules"
    example: ClassVar[str] = "{max_sessions: 20}"

    max_sessions: Annotated[
        int, key("keep at most this many sessions; -1 = no limit", "20", ge=0, unlimited=True)
    ] = PrunePolicy().max_sessions
    max_age_days: Annotated[
        float, key("remove sessions older than this; -1 = no limit", "10", ge=0, unlimited=True)
    ] = _days(PrunePolicy().max_age)

    def record(self) -> PrunePolicy:
        age = None if self.max_age_days == -1 else timedelta(days=self.max_age_days)
        return PrunePolicy(max_sessions=self.max_sessions, max_age=age)

    @classmethod
    def from_record(cls, policy: PrunePolicy) -> Retention:
        return cls(max_sessions=policy.max_sessions, max_age_days=_days(policy.max_age))


def _prefix(node: Node, ctx: Context) -> str:
    prefix = ctx.text(node, "session_")
    if "/" in prefix or "\0" in prefix:
        raise ctx.error("a prefix cannot contain '/'; it starts a directory name", node)
    return prefix


def _timestamp_format(node: Node, ctx: Context) -> str:
    text = ctx.text(node, "'%Y-%m-%d-%H-%M-%S'", allow_empty=False)
    if "/" in datetime(2001, 2, 3, 4, 5, 6).strftime(text):
        raise ctx.error(
            "this format puts a '/' in directory names (e.g. %D); use '-' instead", node
        )
    return text


class DirsBackendConfig(BackendConfig, frozen=True, kw_only=True):
    """A folder of session directories (vcti-session convention)."""

    kind: Annotated[str, KIND_KEY] = "dirs"
    base: Annotated[
        Path,
        key("the folder that holds the session dirs", "~/runs", required=True, safe_base=True),
    ] = Path()
    prefix: Annotated[
        str, key("session directory names start with this", "session_", read=_prefix)
    ] = "session_"
    timestamp_format: Annotated[
        str,
        key("strftime format after the prefix", "'%Y-%m-%d-%H-%M-%S'", read=_timestamp_format),
    ] = "%Y-%m-%d-%H-%M-%S"
    retention: Annotated[
        PrunePolicy, key("what prune removes", "{max_sessions: 20}", shape=Retention)
    ] = msgspec.field(default_factory=PrunePolicy)
    log_glob: Annotated[str, key("which files are logs", "'*.log'", empty=False)] = "*.log"
    create_base: Annotated[bool, key("create base when it does not exist")] = False


def build(config: BackendConfig, context: BuildContext) -> Backend:
    from core.dirs.backend import DirsBackend

    return DirsBackend(config)


KIND = Kind("dirs", DirsBackendConfig, build)
