"""The whole record of one session, in sections, for ``inspect``.

An :class:`Inspection` is what :meth:`core.inventory.Inventory.inspect`
returns: the session's row, then what its backend knows (a container's
inspect, a tmux session's windows and panes with their process trees, a
session directory's tree, a KV value with its TTL, a JSON record's turns).
Each :class:`Section` has key/value ``fields``, free ``lines`` (a prompt, a
tree) and nested ``children`` (a window's panes, a turn's tool calls).
Every text is redacted when the section is built (a key naming a secret shows
``***``), so no front end can show a secret.  :meth:`Inspection.lines`
renders it as indented text; :meth:`Inspection.to_json` as plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.model import Session, SessionRef
from core.redaction import MASK, is_secret_key, redact


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a rendered inspection: ``kind`` is title, field (the key
    spans ``key_start:key_end``), value (a field's further line), line or
    blank; ``depth`` is how far in its section is nested."""

    text: str
    kind: str
    depth: int = 0
    key_start: int = 0
    key_end: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of an inspection; built with :meth:`make`."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    children: tuple[Section, ...] = ()

    @classmethod
    def make(
        cls,
        title: str,
        fields: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        lines: Iterable[str] = (),
        children: Iterable[Section] = (),
    ) -> Section:
        """A section with every value as redacted text; the value of a key
        that names a secret (``API_TOKEN``, ``password``) is ``***``."""
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        return cls(
            redact(title),
            tuple((str(k), MASK if is_secret_key(str(k)) else redact(_text(v))) for k, v in pairs),
            tuple(redact(line) for line in lines),
            tuple(children),
        )

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"title": self.title, "fields": dict(self.fields)}
        if self.lines:
            doc["lines"] = list(self.lines)
        if self.children:
            doc["children"] = [c.to_json() for c in self.children]
        return doc

    def rows(self, depth: int = 0) -> list[Row]:
        """The section as text rows: its title, each field (key aligned; a
        value's further lines indented under it), its lines, its children
        one level in."""
        pad = "  " * depth
        out = [Row(f"{pad}{self.title}", "title", depth)]
        width = max((len(k) for k, _v in self.fields), default=0)
        for key, value in self.fields:
            first, *rest = value.split("\n")
            start = len(pad) + 2
            out.append(
                Row(f"{pad}  {key.ljust(width)}  {first}", "field", depth, start, start + len(key))
            )
            out.extend(Row(f"{pad}  {' ' * width}  {more}", "value", depth) for more in rest)
        out.extend(Row(f"{pad}  {line}", "line", depth) for line in self.lines)
        for child in self.children:
            out.extend(child.rows(depth + 1))
        return out

    def render(self, depth: int = 0) -> list[str]:
        return [r.text for r in self.rows(depth)]


@dataclass(frozen=True, slots=True)
class Inspection:
    """A session's whole record: its row, then its backend's sections."""

    ref: SessionRef
    kind: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def rows(self) -> list[Row]:
        """Every row of :meth:`lines`, with what it is (for highlighting)."""
        out: list[Row] = []
        for n, section in enumerate(self.sections):
            if n:
                out.append(Row("", "blank"))
            out.extend(section.rows())
        return out

    def lines(self) -> list[str]:
        """Indented text: each section's title, its fields aligned, its lines,
        its children one level in; a blank line between sections."""
        return [r.text for r in self.rows()]

    def to_json(self) -> dict[str, object]:
        return {
            "ref": str(self.ref),
            "backend": self.ref.backend,
            "id": self.ref.id,
            "kind": self.kind,
            "sections": [s.to_json() for s in self.sections],
        }

    def section(self, title: str) -> Section:
        """The first top-level section whose title starts with ``title``."""
        for s in self.sections:
            if s.title.startswith(title):
                return s
        raise KeyError(title)


def session_section(session: Session) -> Section:
    """The row every kind has, as the first section."""
    fields: list[tuple[str, object]] = [
        ("ref", str(session.ref)),
        ("name", session.name),
        ("kind", session.kind),
        ("state", session.state.value),
        ("created", session.created),
        ("last active", session.last_active),
    ]
    if session.expires is not None:
        fields.append(("expires", session.expires))
    if session.path:
        fields.append(("path", session.path))
    if session.pid:
        fields.append(("pid", session.pid))
    if session.info:
        fields.append(("info", session.info))
    return Section.make("session", fields)


def size_text(n: int) -> str:
    """Bytes for people: ``512 B``, ``4.0 KiB``, ``1.2 GiB``
    (:func:`core.sizes.format_size` with tenths)."""
    from core.sizes import format_size

    return format_size(n, tenths=True)
