"""The key binding table (core.keys) and the ``ui.keymap`` checks, through real
configuration files: unknown ids, bad key names, conflicts with their lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.keys import (
    KEYS,
    MAY_SHARE,
    RESERVED,
    SCOPE_GROUPS,
    SCOPES,
    KeyNameError,
    check_keymap,
    effective_keys,
    normalize_keys,
    validate_keymap,
)


def write(tmp_path: Path, keymap_lines: str) -> Path:
    path = tmp_path / "sesstui.yml"
    path.write_text("ui:\n  theme: sesstui-dark\n  keymap:\n" + keymap_lines)
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value


# --- the table ---------------------------------------------------------------------


def test_table_ids_scopes_and_defaults() -> None:
    assert len(KEYS) == 80  # every binding with an id in the TUI (checked below)
    assert KEYS["sessions.prune"].default == "p" and KEYS["sessions.prune"].scope == "dashboard"
    assert KEYS["logs.filter"].default == "ampersand" and KEYS["logs.filter"].scope == "logs"
    assert KEYS["merged.mute"].keys == tuple("123456789")
    assert (KEYS["merged.back"].default, KEYS["merged.back"].scope) == ("escape,q", "merged")
    assert (KEYS["merged.help"].default, KEYS["merged.help"].description) == (
        "question_mark",
        "Help",
    )
    assert {s.scope for s in KEYS.values()} == set(SCOPES)
    assert {scope for group in SCOPE_GROUPS for scope in group} == set(SCOPES)
    for ident, spec in KEYS.items():
        assert spec.id == ident and spec.description
        # every default is already in Textual's spelling
        assert normalize_keys(spec.default) == spec.default, ident


def test_the_defaults_have_no_conflicts() -> None:
    assert validate_keymap({}) == []
    shared: set[frozenset[str]] = set()
    for group in SCOPE_GROUPS:
        holders: dict[str, list[str]] = {}
        for s in KEYS.values():
            if s.scope in group:
                for k in s.keys:
                    holders.setdefault(k, []).append(s.id)
        for key, ids in holders.items():
            if len(ids) > 1:
                assert len(ids) == 2 and frozenset(ids) in MAY_SHARE, (group, key, ids)
                shared.add(frozenset(ids))
    # the one pair that shares a key by design, and only by design
    assert shared == set(MAY_SHARE) == {frozenset({"logs.close", "merged.back"})}
    for ident, spec in KEYS.items():
        assert not set(spec.keys) & set(RESERVED[spec.scope]), ident


def test_effective_keys() -> None:
    keys = effective_keys({"sessions.prune": "P", "logs.search": "?", "nope.x": "z"})
    assert keys["sessions.prune"] == "P"
    assert keys["logs.search"] == "question_mark"
    assert keys["sessions.delete"] == "d"
    assert "nope.x" not in keys
    assert effective_keys() == {i: s.default for i, s in KEYS.items()}


# --- key names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "textual"),
    [
        ("P", "P"),
        ("7", "7"),
        ("/", "slash"),
        ("?", "question_mark"),
        (">", "greater_than_sign"),
        ("+", "plus"),
        (",", "comma"),
        ("slash", "slash"),
        ("Solidus", "slash"),
        ("F5", "f5"),
        ("ctrl+x", "ctrl+x"),
        ("Ctrl+X", "ctrl+x"),
        ("alt+ctrl+up", "ctrl+alt+up"),
        ("shift+tab", "shift+tab"),
        # a terminal sends shift+letter as the upper-case letter
        ("shift+a", "A"),
        ("Shift+P", "P"),
        ("shift+A", "A"),
        ("ctrl+shift+A", "ctrl+shift+a"),
        ("alt+A", "alt+a"),
        ("shift+1", "shift+1"),
        ("shift+p,P", "P"),
        ("ctrl++", "ctrl+plus"),
        ("ctrl+/", "ctrl+slash"),
        ("esc", "escape"),
        ("PgDn", "pagedown"),
        ("r, F5", "r,f5"),
        ("a,a", "a"),
    ],
)
def test_key_names_normalize_to_textual(written: str, textual: str) -> None:
    assert normalize_keys(written) == textual


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("", "empty key"),
        ("f25", "not a key name"),
        ("ctrl+foo", "'foo' is not a key name"),
        ("escpae", "did you mean 'escape'"),
        ("cmd+x", "'cmd' in 'cmd+x' is not a modifier"),
        ("ctrl+ctrl+x", "modifier 'ctrl' twice"),
        ("a,,b", "empty key"),
        ("\x07", "not a key a terminal can send"),
    ],
)
def test_bad_key_names(written: str, says: str) -> None:
    with pytest.raises(KeyNameError, match=re.escape(says)):
        normalize_keys(written)


# --- validate_keymap -----------------------------------------------------------------


def test_validate_reports_every_problem_in_keymap_order() -> None:
    problems = validate_keymap(
        {
            "sessions.prnue": "P",
            "sessions.stop": "ctrl+zz",
            "sessions.prune": "d",
            "merged.pause": "n",
        }
    )
    assert [(p.id, p.kind) for p in problems] == [
        ("sessions.prnue", "unknown-id"),
        ("sessions.stop", "bad-key"),
        ("sessions.prune", "conflict"),
        ("merged.pause", "conflict"),
    ]
    assert "did you mean sessions.prune" in problems[0].message
    assert problems[2].other == "sessions.delete" and problems[2].key == "d"
    assert problems[2].message == (
        "'d' is already sessions.delete's key in the dashboard; "
        "choose another key or remap sessions.delete too"
    )
    # logs and merged are active together: n is logs.next's key there
    assert problems[3].other == "logs.next" and "merged log screen" in problems[3].message


def test_same_key_in_different_scopes_is_fine() -> None:
    # escape: dashboard clear_filter and logs.close; y: sessions.copy and logs.copy
    assert validate_keymap({"sessions.copy": "c", "logs.copy": "r"}) == []
    assert validate_keymap({"logs.zoom": "n"}) == []  # n is logs.next, another scope


def test_a_swap_is_valid_and_two_remaps_to_one_key_are_not() -> None:
    assert validate_keymap({"sessions.prune": "d", "sessions.delete": "p"}) == []
    assert check_keymap({"sessions.prune": "d", "sessions.delete": "p"}) == {
        "sessions.prune": "d",
        "sessions.delete": "p",
    }
    (problem,) = validate_keymap({"sessions.prune": "P", "sessions.delete": "f4,P"})
    assert (problem.id, problem.other, problem.key) == ("sessions.delete", "sessions.prune", "P")
    assert "also given to sessions.prune (ui.keymap.sessions.prune)" in problem.message


def test_shift_and_a_letter_is_the_upper_case_letter() -> None:
    # shift+a is what a terminal sends as "A": it collides with A's binding
    (problem,) = validate_keymap({"sessions.prune": "shift+a"})
    assert (problem.kind, problem.key, problem.other) == ("conflict", "A", "sessions.select_all")
    (problem,) = validate_keymap({"sessions.prune": "P", "sessions.delete": "shift+p"})
    assert (problem.id, problem.other, problem.key) == ("sessions.delete", "sessions.prune", "P")
    assert check_keymap({"sessions.prune": "shift+p"}) == {"sessions.prune": "P"}


def test_conflicts_name_the_screen_they_happen_on() -> None:
    where = {
        "plan.no": ("escape", "plan.cancel", "on the prune/delete plan"),
        "journal.copy": ("r", "journal.reload", "on the journal screen"),
        "orphans.delete": ("q", "orphans.back", "on the orphans screen"),
        "confirm.no": ("escape", "confirm.cancel", "in confirm dialogs"),
        "logs.next": ("c", "logs.context", "on the log screen"),
        "logs.search": ("space", "merged.pause", "on the merged log screen"),
    }
    for ident, (key, other, screen) in where.items():
        (problem,) = validate_keymap({ident: key})
        assert (problem.kind, problem.other) == ("conflict", other), ident
        assert f"{other}'s key {screen};" in problem.message, problem.message


@pytest.mark.parametrize("key", ["ctrl+p", "ctrl+q", "Ctrl+P"])
@pytest.mark.parametrize(
    "ident", ["sessions.prune", "logs.search", "merged.pause", "plan.no", "help.close"]
)
def test_the_apps_priority_keys_are_reserved_everywhere(ident: str, key: str) -> None:
    (problem,) = validate_keymap({ident: key})
    assert (problem.id, problem.kind, problem.key) == (ident, "reserved", key.lower())
    assert problem.other is None
    assert "the app's" in problem.message and "priority binding" in problem.message
    assert SCOPES[KEYS[ident].scope] in problem.message
    assert problem.message.endswith("which cannot be remapped; choose another key")


@pytest.mark.parametrize(
    ("ident", "key", "what"),
    [
        ("sessions.prune", "up", "the table's cursor up"),
        ("sessions.prune", "enter", "the table's select"),
        ("sessions.refresh", "r,pagedown", "the table's page down"),
        ("sessions.group", "tab", "moving the focus to the next widget"),
        ("sessions.group", "shift+tab", "moving the focus to the previous widget"),
        ("logs.search", "home", "the log pane's first line"),
        ("logs.close", "left", "the log pane's scroll left"),
        ("merged.pause", "down", "the log pane's line down"),
        ("merged.back", "pageup", "the log pane's page up"),
    ],
)
def test_keys_of_bindings_without_ids_are_reserved(ident: str, key: str, what: str) -> None:
    (problem,) = validate_keymap({ident: key})
    assert (problem.kind, problem.key) == ("reserved", key.rsplit(",", maxsplit=1)[-1])
    assert what in problem.message and SCOPES[KEYS[ident].scope] in problem.message


def test_reserved_keys_only_count_in_their_scope() -> None:
    assert validate_keymap({"plan.no": "up", "journal.copy": "enter", "logs.copy": "tab"}) == []
    # ctrl+i is tab to a terminal: reserved in the dashboard too
    (problem,) = validate_keymap({"sessions.group": "ctrl+i"})
    assert problem.kind == "reserved" and "'ctrl+i' is tab to a terminal" in problem.message


def test_the_reserved_table_is_the_tuis_bindings_without_ids() -> None:
    from textual.app import App
    from textual.binding import Binding
    from textual.containers import VerticalScroll
    from textual.screen import Screen

    from tui.app import SesstuiApp
    from tui.widgets.line_table import LineTable
    from tui.widgets.log_pane import LogPane

    def keys(bindings: object, *, with_id: bool = False) -> set[str]:
        out: set[str] = set()
        for b in bindings:  # type: ignore[attr-defined]
            if isinstance(b, Binding) and (with_id or not b.id):
                out.update(k.strip() for k in b.key.split(","))
        return out

    app_keys = {SesstuiApp.COMMAND_PALETTE_BINDING} | {
        b.key for b in App.BINDINGS if isinstance(b, Binding) and b.priority
    }
    assert app_keys == {"ctrl+p", "ctrl+q"}
    for scope in SCOPES:
        assert app_keys <= set(RESERVED[scope]), scope
    assert set(RESERVED["logs"]) - app_keys == keys(LogPane.__dict__["BINDINGS"])
    assert set(RESERVED["merged"]) == set(RESERVED["logs"])  # the pane has the focus there
    focus = {"tab", "shift+tab"} & keys(Screen.BINDINGS)
    assert set(RESERVED["dashboard"]) - app_keys == keys(LineTable.BINDINGS) | focus
    # the inspect screen's body scrolls with its own keys
    assert set(RESERVED["inspect"]) - app_keys == keys(VerticalScroll.BINDINGS)
    for scope in set(SCOPES) - {"dashboard", "logs", "merged", "inspect"}:
        assert set(RESERVED[scope]) == app_keys, scope


def test_the_log_panes_escape_may_yield_to_the_merged_screens_back() -> None:
    # the defaults share escape on the merged log screen, on purpose
    assert "escape" in KEYS["logs.close"].keys and "escape" in KEYS["merged.back"].keys
    assert validate_keymap({"logs.close": "q"}) == []  # q is merged.back's too: allowed
    # any other id on their key is a conflict as usual
    (problem,) = validate_keymap({"merged.pause": "escape"})
    assert problem.kind == "conflict" and problem.other == "logs.close"
    (problem,) = validate_keymap({"logs.search": "q"})
    assert problem.kind == "conflict" and problem.other == "merged.back"


def test_keys_terminals_send_alike_conflict() -> None:
    (problem,) = validate_keymap({"journal.copy": "ctrl+i", "journal.reload": "tab"})
    assert problem.id == "journal.reload" and problem.other == "journal.copy"
    assert problem.kind == "conflict" and problem.key == "tab"


def test_check_keymap_raises_with_the_id() -> None:
    with pytest.raises(KeyNameError, match=r"ui\.keymap\.app\.quit: 'j' is already table\.down"):
        check_keymap({"app.quit": "j"})
    assert check_keymap({"app.help": "?"}) == {"app.help": "question_mark"}


# --- through the configuration loader ----------------------------------------------


def test_config_keymap_is_normalized(tmp_path: Path) -> None:
    path = write(tmp_path, "    sessions.filter: /\n    app.help: F1\n    sessions.prune: P\n")
    keymap = load_config(path, env={}).ui.keymap
    assert keymap == {"sessions.filter": "slash", "app.help": "f1", "sessions.prune": "P"}


def test_config_unknown_id_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "    sessions.prune: P\n    sessions.delte: D\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "ui.keymap.sessions.delte")
    assert "unknown key binding id 'sessions.delte'" in str(err)
    assert "did you mean sessions.delete" in str(err)


def test_config_bad_key_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "    app.help: F1\n    app.quit: ctrl+qq\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "ui.keymap.app.quit")
    assert "'qq' is not a key name" in str(err)


def test_config_conflict_names_the_offending_line_and_both_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "    app.help: F1\n    sessions.prune: d\n    app.quit: Q\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "ui.keymap.sessions.prune")
    assert str(err).endswith(
        "ui.keymap.sessions.prune: 'd' is already sessions.delete's key in the dashboard; "
        "choose another key or remap sessions.delete too"
    )
    # two entries on one key: the later one is blamed
    path = write(tmp_path, "    sessions.prune: P\n    app.journal: F2\n    sessions.delete: P\n")
    err = load_error(path)
    assert (err.line, err.key) == (6, "ui.keymap.sessions.delete")
    assert "also given to sessions.prune" in str(err)


def test_config_reserved_key_names_its_line_and_why(tmp_path: Path) -> None:
    path = write(tmp_path, "    app.help: F1\n    sessions.filter: ctrl+p\n")
    err = load_error(path)
    assert (err.line, err.key) == (5, "ui.keymap.sessions.filter")
    assert str(err).endswith(
        "ui.keymap.sessions.filter: 'ctrl+p' is taken in the dashboard by the command "
        "palette (the app's priority binding, in every screen), which cannot be remapped; "
        "choose another key"
    )
    path = write(tmp_path, "    logs.search: down\n")
    err = load_error(path)
    assert (err.line, err.key) == (4, "ui.keymap.logs.search")
    assert "'down' is taken on the log screen by the log pane's line down" in str(err)


def test_config_swap_is_valid(tmp_path: Path) -> None:
    path = write(tmp_path, "    sessions.prune: d\n    sessions.delete: p\n")
    keymap = load_config(path, env={}).ui.keymap
    assert keymap == {"sessions.prune": "d", "sessions.delete": "p"}


def _tui_bindings() -> dict[str, tuple[str, str]]:
    """Every binding with an id in the TUI: id -> (key, class)."""
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding

    import tui
    import tui.screens
    import tui.widgets

    found: dict[str, tuple[str, str]] = {}
    same: dict[str, Binding] = {}  # one Binding shared by two classes is one binding
    for pkg in (tui, tui.screens, tui.widgets):
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if not inspect.isclass(obj) or obj.__module__ != module.__name__:
                    continue
                for b in obj.__dict__.get("BINDINGS", []):
                    if isinstance(b, Binding) and b.id:
                        if same.get(b.id) is b:
                            continue
                        assert b.id not in found, f"{b.id} bound twice"
                        found[b.id] = (b.key, obj.__name__)
                        same[b.id] = b
    return found


def test_the_table_is_exactly_the_tuis_bindings() -> None:
    bound = _tui_bindings()
    assert set(bound) == set(KEYS), (
        f"bound but not in core.keys: {sorted(set(bound) - set(KEYS))}; "
        f"in core.keys but not bound: {sorted(set(KEYS) - set(bound))}"
    )
    wrong = {i: (k, KEYS[i].default) for i, (k, _) in bound.items() if k != KEYS[i].default}
    assert not wrong, f"default keys differ (tui, core.keys): {wrong}"
