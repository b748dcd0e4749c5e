"""The reference of every configuration key, generated from the schemas.

``python -m core.config`` prints it: one block per section (``backends`` by
kind, ``sessions``, ``ui``), one line per key with its type, default and
documentation.  Nothing here is written by hand, so it cannot drift from what
the reader accepts.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from core.config.kinds import KNOWN_KINDS, kind
from core.config.records import SessionSpec, UIConfig
from core.config.schema import key_docs


def _section(title: str, schema: type[msgspec.Struct]) -> Iterator[str]:
    yield title
    for doc in key_docs(schema):
        value = doc.default
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        default = "" if value in (None, "", (), [], {}) else f" = {shown}"
        yield f"  {doc.key}: {doc.type}{default}  -- {doc.doc}"


def key_reference() -> str:
    """Every key a configuration file may write, section by section."""
    lines: list[str] = []
    for name in KNOWN_KINDS:
        lines += _section(f"backends (kind: {name})", kind(name).schema)
    lines += _section("sessions.<name>", SessionSpec)
    for extra, kinds in SessionSpec.file_only.items():
        lines.append(f"  {extra}: text  -- kstlib.ops spelling ({', '.join(kinds)})")
    lines += _section("ui", UIConfig)
    lines.append("views.<name>: text  -- a saved filter query (README: saved views)")
    return "\n".join(lines)
