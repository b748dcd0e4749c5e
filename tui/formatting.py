"""Human-readable cells shared by the CLI and the dashboard."""

from __future__ import annotations

from datetime import datetime

from core.durations import duration_text
from core.model import Session, SizeInfo
from core.redaction import redact_fields
from core.sizes import format_size


def size_text(size: SizeInfo | None, *, pending: str = "…") -> str:
    """Disk usage, e.g. ``1.2 MiB``; ``pending`` while not yet measured."""
    if size is None:
        return pending
    return bytes_text(size.disk)


def bytes_text(n: int | None) -> str:
    """``4.0 KiB`` (:func:`core.sizes.format_size` with tenths); ``?`` unknown."""
    return "?" if n is None else format_size(n, tenths=True)


def age_text(when: datetime | None, now: datetime) -> str:
    """A compact age such as ``45s``, ``12m``, ``3h``, ``2d``, ``5w``
    (:func:`core.durations.duration_text`, style ``age``)."""
    if when is None:
        return "-"
    age = now - when
    if age.total_seconds() <= -1:
        return "future"
    return duration_text(age, style="age")


def ago_text(when: datetime | None, now: datetime) -> str:
    text = age_text(when, now)
    return text if text in ("-", "future") else f"{text} ago"


def minutes_ago_text(when: datetime | None, now: datetime) -> str:
    """:func:`ago_text` in whole minutes: ``<1m ago`` for the first minute
    (beside an exact time, the seconds are there already; the text changes
    once a minute, not every second)."""
    if when is not None and -1 < (now - when).total_seconds() < 60:  # (not "future")
        return "<1m ago"
    return ago_text(when, now)


def iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None


def session_json(s: Session) -> dict[str, object]:
    """The stable machine-readable form of a session (documented in README)."""
    return {
        "backend": s.backend,
        "kind": s.kind,
        "id": s.id,
        "name": s.name,
        "state": s.state.value,
        "created": iso(s.created),
        "last_active": iso(s.last_active),
        "expires": iso(s.expires),
        "size_bytes": s.size.apparent if s.size is not None else None,
        "disk_bytes": s.size.disk if s.size is not None else None,
        "path": s.path,
        "attachable": s.attachable,
        "metadata": redact_fields(s.metadata),
    }


# a long word (a path, an id) may break after one of these
_BREAK_AFTER = frozenset("/_-.,:=@&?")


def break_long_words(text: str, width: int) -> str:
    """``text`` with every word longer than ``width`` split over lines after
    a ``/``, ``_``, ``-``, ``.`` (…) so that a path or an id is not cut in
    the middle of a name; a part with no such place is cut at ``width``.
    Lines and spaces are kept; shorter words are left to the usual wrap."""
    if width < 4:
        return text
    out_lines = []
    for line in text.split("\n"):
        words = []
        for word in line.split(" "):
            words.append(word if len(word) <= width else "\n".join(_split_word(word, width)))
        out_lines.append(" ".join(words))
    return "\n".join(out_lines)


def _split_word(word: str, width: int) -> list[str]:
    parts: list[str] = []
    rest = word
    while len(rest) > width:
        cut = max((i + 1 for i in range(width) if rest[i] in _BREAK_AFTER), default=width)
        if cut < width // 3:  # a break that early wastes the line: cut at the width
            cut = width
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts
