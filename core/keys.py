"""The key bindings of the console by stable id, and the checks behind ``ui.keymap``.

The TUI declares each binding with an id from ``KEYS``; ``ui.keymap: {id: key}``
in the configuration rebinds it (the app passes the checked map to Textual's
``App.set_keymap``).  This table is the source of truth for ids, default keys and
*scopes*: ids in one scope are active at the same time, so two of them must never
share a key (the ``logs`` and ``merged`` scopes are active together on the merged
log screen, so they are checked as one).

Key names are Textual's: letters and digits as themselves (``P`` is shift+p),
named keys (``escape``, ``enter``, ``space``, ``tab``, ``f5``, ``pageup``...),
punctuation by name (``slash``, ``question_mark``, ``greater_than_sign``) or as the
character itself (``/``, ``?``, ``>``), modifiers joined with ``+`` (``ctrl+x``,
``shift+tab``, ``alt+up``), and alternatives separated by commas (``r,f5``).
``normalize_keys`` turns any accepted spelling into Textual's; ``shift+`` and one
letter becomes the upper-case letter (``shift+a`` -> ``A``), because that is
what a terminal sends for it (a binding on ``shift+a`` would never fire).

Some keys are not free in a scope even though no id has them: the app's
priority bindings (``ctrl+p``, ``ctrl+q``) everywhere, and the id-less bindings
of the widget that has the focus there (``RESERVED``).  A remap onto one of
them is a config error.

Headless: the standard library only (no Textual import).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

__all__ = [
    "KEYS",
    "MAY_SHARE",
    "RESERVED",
    "SCOPES",
    "SCOPE_GROUPS",
    "KeyNameError",
    "KeyProblem",
    "KeySpec",
    "check_keymap",
    "effective_keys",
    "normalize_keys",
    "validate_keymap",
]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One remappable binding: its id, default key(s), scope and what it does."""

    id: str
    default: str  # Textual key names; "a,b" = alternatives
    scope: str
    description: str

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.default.split(","))


SCOPES: dict[str, str] = {
    "dashboard": "in the dashboard",
    "logs": "on the log screen",
    "merged": "on the merged log screen",
    "plan": "on the prune/delete plan",
    "bulk": "on the bulk confirm screen",
    "confirm": "in confirm dialogs",
    "error": "in the error dialog",
    "extend": "in the extend dialog",
    "start": "in the start picker",
    "help": "on the help screen",
    "journal": "on the journal screen",
    "orphans": "on the orphans screen",
    "inspect": "on the inspect screen",
    "columns": "in the column chooser",
}
"""Scope name -> where it is active, for messages."""

SCOPE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("dashboard",),
    ("logs", "merged"),
    *((scope,) for scope in SCOPES if scope not in ("dashboard", "logs", "merged")),
)
"""Scopes that are active together; a key may appear once per group."""

_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("dashboard", "sessions.filter", "slash", "Filter (query)"),
    ("dashboard", "sessions.refresh", "r", "Refresh"),
    ("dashboard", "logs.follow", "f", "Follow log on/off"),
    ("dashboard", "logs.zoom", "z", "Zoom log"),
    ("dashboard", "sessions.attach", "a", "Attach"),
    ("dashboard", "sessions.start", "s", "Start"),
    ("dashboard", "sessions.stop", "x", "Stop"),
    ("dashboard", "sessions.extend", "e", "Extend TTL"),
    ("dashboard", "sessions.prune", "p", "Prune"),
    ("dashboard", "sessions.delete", "d", "Delete"),
    ("dashboard", "sessions.clear_filter", "escape", "Clear filter/selection"),
    ("dashboard", "sessions.select", "space", "Select row"),
    ("dashboard", "sessions.select_all", "A", "Select all shown"),
    ("dashboard", "sessions.sort_next", "greater_than_sign", "Sort by next column"),
    ("dashboard", "sessions.sort_prev", "less_than_sign", "Sort by previous column"),
    ("dashboard", "sessions.sort_reverse", "I", "Invert sort"),
    ("dashboard", "sessions.group", "b", "Group by backend"),
    ("dashboard", "sessions.related", "R", "Jump to related session"),
    ("dashboard", "sessions.copy", "y", "Copy session id"),
    ("dashboard", "sessions.inspect", "i", "Inspect the whole record"),
    ("dashboard", "sessions.command", "colon", "Command line (:docker, :view)"),
    ("dashboard", "views.jump", "1,2,3,4,5,6,7,8,9", "Saved view N"),
    ("dashboard", "sessions.restart", "ctrl+r", "Restart (confirm)"),
    ("dashboard", "sessions.stats", "S", "Live stats on/off"),
    ("dashboard", "sessions.columns", "C", "Columns: show, hide, order (per view)"),
    ("dashboard", "layout.cycle", "L", "Layout: auto, side by side, stacked"),
    ("dashboard", "layout.details", "D", "Details pane on/off"),
    ("dashboard", "logs.merge", "m", "Merged log of selected"),
    ("dashboard", "logs.focus", "l", "Focus the log pane"),
    ("dashboard", "app.orphans", "O", "Orphans"),
    ("dashboard", "app.journal", "J", "Journal"),
    ("dashboard", "app.help", "question_mark", "Help"),
    ("dashboard", "app.quit", "q", "Quit"),
    ("dashboard", "table.down", "j", "Down"),
    ("dashboard", "table.up", "k", "Up"),
    ("dashboard", "table.top", "g", "Top"),
    ("dashboard", "table.bottom", "G", "Bottom"),
    ("logs", "logs.search", "slash", "Search"),
    ("logs", "logs.next", "n", "Next match"),
    ("logs", "logs.prev", "N", "Previous match"),
    ("logs", "logs.filter", "ampersand", "Only matching lines"),
    ("logs", "logs.context", "c", "Context lines"),
    ("logs", "logs.copy", "y", "Copy line"),
    ("logs", "logs.line_down", "j", "Line down"),
    ("logs", "logs.line_up", "k", "Line up"),
    ("logs", "logs.timestamps", "t", "Timestamps on/off"),
    ("logs", "logs.wrap", "w", "Wrap long lines on/off"),
    ("logs", "logs.close", "escape", "Back"),
    ("merged", "merged.pause", "space", "Pause/resume"),
    ("merged", "merged.mute", "1,2,3,4,5,6,7,8,9", "Mute source N"),
    ("merged", "merged.back", "escape,q", "Back"),
    ("merged", "merged.help", "question_mark", "Help"),
    ("plan", "plan.cancel", "escape", "Cancel"),
    ("plan", "plan.no", "n", "Cancel"),
    ("bulk", "bulk.cancel", "escape", "Cancel"),
    ("bulk", "bulk.no", "n", "Cancel"),
    ("confirm", "confirm.cancel", "escape", "Cancel"),
    ("confirm", "confirm.no", "n", "Cancel"),
    ("error", "error.close", "escape,enter", "Close"),
    ("extend", "extend.cancel", "escape", "Cancel"),
    ("start", "start.cancel", "escape", "Cancel"),
    ("help", "help.close", "escape,q,question_mark", "Close"),
    ("journal", "journal.copy", "y", "Copy the command"),
    ("journal", "journal.reload", "r", "Reload"),
    ("journal", "journal.back", "escape,q", "Back"),
    ("orphans", "orphans.delete", "d", "Delete"),
    ("orphans", "orphans.reload", "r", "Reload"),
    ("orphans", "orphans.back", "escape,q", "Back"),
    ("inspect", "inspect.search", "slash", "Search"),
    ("inspect", "inspect.next", "n", "Next match"),
    ("inspect", "inspect.prev", "N", "Previous match"),
    ("inspect", "inspect.back", "escape,q", "Back"),
    ("columns", "columns.down", "j,down", "Cursor down"),
    ("columns", "columns.up", "k,up", "Cursor up"),
    ("columns", "columns.toggle", "space", "Show/hide the column"),
    ("columns", "columns.move_down", "J,shift+down", "Move the column down"),
    ("columns", "columns.move_up", "K,shift+up", "Move the column up"),
    ("columns", "columns.reset", "r", "Reset to the default columns"),
    ("columns", "columns.apply", "enter", "Apply"),
    ("columns", "columns.cancel", "escape", "Cancel"),
)

KEYS: dict[str, KeySpec] = {
    ident: KeySpec(ident, default, scope, description)
    for scope, ident, default, description in _TABLE
}
"""Every remappable binding by id, in the order the help screen lists them."""

MAY_SHARE: frozenset[frozenset[str]] = frozenset(
    {
        # The log pane's close (escape) only closes an open search box or
        # filter; with nothing open it lets the key through (LogPane.check_action)
        # to the merged log screen's back, so the two share escape by design.
        frozenset({"logs.close", "merged.back"}),
    }
)
"""Pairs of ids, active together, that may share a key because one of them
yields it to the other when it has nothing to do."""

# The app's priority bindings: they win over every screen and widget.
_APP_KEYS: dict[str, str] = {
    "ctrl+p": "the command palette (the app's priority binding, in every screen)",
    "ctrl+q": "the app's quit (its priority binding, in every screen)",
}
# LogPane's bindings without an id (on the log screen, and on the merged log
# screen where the pane has the focus).
_LOG_PANE_KEYS: dict[str, str] = {
    "up": "the log pane's line up",
    "down": "the log pane's line down",
    "home": "the log pane's first line",
    "end": "the log pane's last line",
    "pageup": "the log pane's page up",
    "pagedown": "the log pane's page down",
    "left": "the log pane's scroll left",
    "right": "the log pane's scroll right",
}
# The sessions table's (tui.widgets.line_table.LineTable) own bindings, and the screen's
# focus keys.
_TABLE_KEYS: dict[str, str] = {
    "up": "the table's cursor up",
    "down": "the table's cursor down",
    "home": "the table's first row",
    "end": "the table's last row",
    "pageup": "the table's page up",
    "pagedown": "the table's page down",
    "enter": "the table's select",
    "tab": "moving the focus to the next widget",
    "shift+tab": "moving the focus to the previous widget",
}

# The inspect screen's scrolling body (a Textual VerticalScroll).
_SCROLL_KEYS: dict[str, str] = {
    "up": "the record's scroll up",
    "down": "the record's scroll down",
    "left": "the record's scroll left",
    "right": "the record's scroll right",
    "home": "the record's top",
    "end": "the record's bottom",
    "pageup": "the record's page up",
    "pagedown": "the record's page down",
    "ctrl+pageup": "the record's page left",
    "ctrl+pagedown": "the record's page right",
}

_FOCUSED_KEYS: dict[str, dict[str, str]] = {
    "dashboard": _TABLE_KEYS,
    "inspect": _SCROLL_KEYS,
    "logs": _LOG_PANE_KEYS,
    "merged": _LOG_PANE_KEYS,
}

RESERVED: dict[str, dict[str, str]] = {
    scope: {**_APP_KEYS, **_FOCUSED_KEYS.get(scope, {})} for scope in SCOPES
}
"""Scope -> key -> what already has it there (a binding without an id, which
``ui.keymap`` cannot move): no id of that scope may be remapped onto it."""

# ---------------------------------------------------------------------------
# Key names
# ---------------------------------------------------------------------------

_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_NAMED = frozenset(
    {
        "escape", "enter", "tab", "backtab", "space", "backspace", "delete", "insert",
        "home", "end", "pageup", "pagedown", "up", "down", "left", "right",
    }
)  # fmt: skip
_FRIENDLY = {
    "esc": "escape",
    "return": "enter",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "del": "delete",
    "ins": "insert",
}
# Textual shortens a few Unicode names (e.g. SOLIDUS -> slash)
_SHORTER = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
# keys that terminals send identically: a conflict even when spelled differently
_SAME_KEY = {"ctrl+i": "tab", "ctrl+m": "enter", "ctrl+left_square_bracket": "escape"}
_FUNCTION_RE = re.compile(r"f([1-9]|1[0-9]|2[0-4])")


def _char_name(char: str) -> str:
    """A printable non-alphanumeric character -> its Textual key name (``/`` -> slash)."""
    name = unicodedata.name(char, "").lower().replace("-", "_").replace(" ", "_")
    return _SHORTER.get(name, name)


_PUNCTUATION = {c: _char_name(c) for c in string.punctuation}
_PUNCTUATION_NAMES = frozenset(_PUNCTUATION.values())


class KeyNameError(ValueError):
    """A key that is not a Textual key name; the message says what to write."""


def _suggest(word: str) -> str:
    import difflib

    names = sorted(_NAMED | _PUNCTUATION_NAMES | set(_MODIFIERS))
    close = difflib.get_close_matches(word, names, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _one_key(key: str) -> str:
    if not key:
        raise KeyNameError("an empty key; write e.g. P, ctrl+x, f5 or slash")
    if len(key) == 1:
        if key.isspace():
            return "space" if key == " " else _fail_key(key)
        if key.isalnum():
            return key
        if key.isprintable():
            return _PUNCTUATION.get(key) or _char_name(key) or _fail_key(key)
        return _fail_key(key)
    *mods, base = key.split("+")
    if not base and mods:  # "ctrl++": the plus key
        mods, base = mods[:-1], "plus" if mods[-1] == "" else _fail_key(key)
    seen: list[str] = []
    for mod in mods:
        low = mod.strip().lower()
        if low not in _MODIFIERS:
            raise KeyNameError(
                f"'{mod}' in {key!r} is not a modifier; use {', '.join(_MODIFIERS)}" + _suggest(low)
            )
        if low in seen:
            raise KeyNameError(f"{key!r} names the modifier '{low}' twice")
        seen.append(low)
    base = base.strip()
    if len(base) == 1:
        name = _one_key(base)
        if seen == ["shift"] and len(name) == 1 and name.isalpha():
            return name.upper()  # terminals send shift+a as "A": the same key
        if seen and len(name) == 1 and name.isalpha():
            name = name.lower()  # Textual reports ctrl+a, alt+a in lower case
    else:
        low = base.lower()
        low = _FRIENDLY.get(low, _SHORTER.get(low, low))
        if low not in _NAMED and low not in _PUNCTUATION_NAMES and not _FUNCTION_RE.fullmatch(low):
            raise KeyNameError(
                f"{base!r} is not a key name; use a letter or digit, a named key (escape, "
                f"enter, space, tab, f1-f24, pageup...), punctuation by name (slash, "
                f"question_mark) or ctrl+/shift+/alt+ with one of these" + _suggest(low)
            )
        name = low
    return "+".join([*[m for m in _MODIFIERS if m in seen], name])


def _fail_key(key: str) -> NoReturn:
    raise KeyNameError(f"{key!r} is not a key a terminal can send; write e.g. P, ctrl+x or f5")


def normalize_keys(text: str) -> str:
    """A key spelling -> Textual's (``"?"`` -> ``question_mark``, ``"Ctrl+X"`` ->
    ``ctrl+x``, ``"r, F5"`` -> ``r,f5``).  Raises ``KeyNameError`` with a hint."""
    if not text.strip():
        raise KeyNameError("an empty key; write e.g. P, ctrl+x, f5 or slash")
    # a lone "," is the comma key, not two empty alternatives
    parts = [text] if text.strip() == "," else text.split(",")
    out: list[str] = []
    for part in parts:
        key = _one_key(part.strip())
        if key not in out:
            out.append(key)
    return ",".join(out)


# ---------------------------------------------------------------------------
# Keymap checks
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """What is wrong with the keymap entry ``id``.

    ``kind``: ``"unknown-id"``, ``"bad-key"``, ``"reserved"`` (``key`` is in
    ``RESERVED`` for the id's scope) or ``"conflict"`` (then ``other`` is the id
    that already has ``key``).  ``message`` names no file: the configuration
    loader adds file, line and ``ui.keymap.<id>``.
    """

    id: str
    kind: str
    message: str
    key: str = ""
    other: str | None = None


def _group_of(scope: str) -> tuple[str, ...]:
    return next(g for g in SCOPE_GROUPS if scope in g)


# scopes of one group -> the scope where all of them are active at once
_TOGETHER: dict[frozenset[str], str] = {frozenset({"logs", "merged"}): "merged"}


def _where(*ids: str) -> str:
    """Where the ids are active together, for messages ("in the dashboard")."""
    scopes = frozenset(KEYS[i].scope for i in ids)
    if len(scopes) == 1:
        return SCOPES[next(iter(scopes))]
    together = _TOGETHER.get(scopes)
    if together is not None:
        return SCOPES[together]
    return " and ".join(SCOPES[s] for s in SCOPES if s in scopes)


def validate_keymap(keymap: Mapping[str, str]) -> list[KeyProblem]:
    """Every problem of ``keymap`` (id -> key), in the keymap's order.

    Unknown ids (with close matches), keys that are not key names, keys
    ``RESERVED`` in the id's scope, and conflicts: after remapping, two ids
    active at the same time share a key (unless the pair is in ``MAY_SHARE``).
    A swap (``sessions.prune: d`` with ``sessions.delete: p``) is fine.
    """
    import difflib

    problems: list[KeyProblem] = []
    normal: dict[str, str] = {}
    for ident, key in keymap.items():
        if ident not in KEYS:
            close = difflib.get_close_matches(ident, list(KEYS), n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            problems.append(
                KeyProblem(
                    ident,
                    "unknown-id",
                    f"unknown key binding id '{ident}'; {hint}"
                    f"the ids are listed in the README (`?` in the app shows them too)",
                )
            )
            continue
        try:
            normal[ident] = normalize_keys(key)
        except KeyNameError as e:
            problems.append(KeyProblem(ident, "bad-key", str(e), key=key))
            continue
        taken = _reserved(ident, normal[ident])
        if taken is not None:
            problems.append(taken)
            del normal[ident]  # judged: no conflict report on top
    effective = {i: normal.get(i, spec.default) for i, spec in KEYS.items()}
    order = {ident: n for n, ident in enumerate(keymap)}
    for group in SCOPE_GROUPS:
        owner: dict[str, str] = {}  # comparable key -> first id holding it
        # defaults first, then remapped ids in file order: blame the later entry
        ids = [i for i, s in KEYS.items() if s.scope in group]
        ids.sort(key=lambda i: (i in normal, order.get(i, -1)))
        for ident in ids:
            for key in effective[ident].split(","):
                same = _SAME_KEY.get(key, key)
                other = owner.setdefault(same, ident)
                if other == ident or frozenset({ident, other}) in MAY_SHARE:
                    continue
                problems.append(_conflict(ident, other, key, other in normal))
    problems.sort(key=lambda p: order.get(p.id, len(order)))
    return problems


def _reserved(ident: str, keys: str) -> KeyProblem | None:
    """The problem when one of ``keys`` (normalized) is reserved in ``ident``'s scope."""
    scope = KEYS[ident].scope
    reserved = RESERVED[scope]
    for key in keys.split(","):
        same = _SAME_KEY.get(key, key)
        what = reserved.get(same)
        if what is not None:
            alias = f" ({key!r} is {same} to a terminal)" if same != key else ""
            return KeyProblem(
                ident,
                "reserved",
                f"{key!r} is taken {SCOPES[scope]} by {what}, which cannot be remapped"
                f"{alias}; choose another key",
                key=key,
            )
    return None


def _conflict(ident: str, other: str, key: str, other_remapped: bool) -> KeyProblem:
    where = _where(ident, other)
    if other_remapped:
        message = (
            f"{key!r} is also given to {other} (ui.keymap.{other}) {where}; "
            f"choose another key for one of them"
        )
    else:
        message = (
            f"{key!r} is already {other}'s key {where}; choose another key or remap {other} too"
        )
    return KeyProblem(ident, "conflict", message, key=key, other=other)


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """``keymap`` with every key in Textual's spelling, ready for ``App.set_keymap``.

    Raises ``KeyNameError`` with the first problem's message (prefixed with the
    id); the configuration loader uses ``validate_keymap`` instead, for lines.
    """
    problems = validate_keymap(keymap)
    if problems:
        first = problems[0]
        raise KeyNameError(f"ui.keymap.{first.id}: {first.message}")
    return {ident: normalize_keys(key) for ident, key in keymap.items()}


def effective_keys(keymap: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every id -> the key(s) in force after ``keymap`` (Textual spelling).

    Entries that are not valid are ignored here; check them with
    ``validate_keymap`` first.
    """
    out = {ident: spec.default for ident, spec in KEYS.items()}
    for ident, key in (keymap or {}).items():
        if ident in out:
            try:
                out[ident] = normalize_keys(key)
            except KeyNameError:
                pass
    return out
