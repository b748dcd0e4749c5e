"""``ui:`` and ``views:``: display settings, key remapping and saved views.

``UIConfig`` (:mod:`core.config.records`) declares the ``ui`` keys; the hooks
here read the two values that need more than a type: the keymap (checked by
:mod:`core.keys`) and sizes written as ``100M``.
"""

from __future__ import annotations

from core.config.loader import Node
from core.config.reader import NAME_RE, Context, Section
from core.config.records import Origin, UIConfig
from core.config.schema import read_struct


def read_size(node: Node, ctx: Context) -> int:
    """A byte count written as ``100M``, ``1.5G`` or a plain number."""
    from core.errors import UsageError
    from core.sizes import parse_size

    try:
        return parse_size(ctx.scalar_text(node, "100M"))
    except UsageError as e:
        raise ctx.error(e.message, node) from None


def read_keymap(node: Node, ctx: Context) -> dict[str, str]:
    """``ui.keymap``: known ids, real key names, no two ids sharing a key in one
    scope (``core.keys``); keys come back in Textual's spelling (``/`` -> slash)."""
    from core.keys import normalize_keys, validate_keymap

    keymap = ctx.string_map(node, "action ids to keys", "{sessions.prune: P}")
    problems = validate_keymap(keymap)
    if problems:
        first = problems[0]
        assert isinstance(node.value, dict)  # noqa: S101 -- string_map checked it
        entry: Node = node.value[first.id]
        raise ctx.error(first.message, entry, at_key=first.kind == "unknown-id")
    return {ident: normalize_keys(key) for ident, key in keymap.items()}


def read_ui(node: Node, ctx: Context) -> UIConfig:
    theme = node.child("theme")
    where = ctx.origin(theme) if theme is not None and theme.value is not None else Origin(ctx.file)
    return read_struct(node, UIConfig, ctx, given={"theme_origin": where})


def read_views(node: Node, ctx: Context) -> dict[str, str]:
    """``views``: name -> filter query (``core.query``), each parsed here so a
    mistake names its line and column now rather than when the view is used."""
    from core.query import QueryError, parse_query

    example = '"backend:runs age>7d"'
    sec = Section(node, ctx, "view names to filter queries", f"{{stale: {example}}}")
    views: dict[str, str] = {}
    for name, child in sec.entries.items():
        if not NAME_RE.fullmatch(name):
            raise ctx.error(
                f"'{name}' cannot be a view name; use letters, digits, '_', '.' and '-'",
                child,
                at_key=True,
            )
        text = "" if child.value is None else ctx.scalar_text(child, example)
        try:
            parse_query(text)
        except QueryError as e:
            raise ctx.error(
                f"bad query at column {e.position + 1}: {e.message}\n"
                f"{e.caret_line(indent='    ', with_message=False)}",
                child,
            ) from None
        views[name] = text
    return views
