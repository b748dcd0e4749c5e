"""Themes: the bundled ones, user themes from the config folder (and their
errors), and the command palette's theme picker."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from textual.app import App
from textual.color import Color
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from core.config.records import AppConfig, UIConfig
from core.errors import ConfigError
from core.paths import config_dir
from tests.helpers import dirs_config, run_cli
from tests.pilot_helpers import wait_until
from tui.app import SesstuiApp
from tui.themes import (
    BUNDLED,
    VARIABLE_DEFAULTS,
    ThemePicker,
    bundled_themes,
    load_themes,
    theme_from_yaml,
    user_theme_dir,
)

BUNDLED_NAMES = ["sesstui-16", "sesstui-dark", "sesstui-dusk", "sesstui-light"]
MINE = 'name: mine\nprimary: "#3366CC"\nvariables:\n  state-running: "#00AA00"\n'


def luminance(c: Color) -> float:
    def channel(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# -- bundled themes -------------------------------------------------------------


def test_bundled_themes_define_every_state_colour() -> None:
    themes = bundled_themes()
    assert [t.name for t in themes] == BUNDLED_NAMES
    states = {k for k in VARIABLE_DEFAULTS if k.startswith(("state-", "chip-"))}
    for t in themes:
        missing = states - set(t.variables)
        assert not missing, f"{t.name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_state_colours_tell_states_apart(name: str) -> None:
    (theme,) = [t for t in bundled_themes() if t.name == name]
    colour = {
        k: Color.parse(v) for k, v in theme.variables.items() if k.startswith(("state-", "chip-"))
    }
    # the states an operator must never confuse: each pair differs
    apart = ("state-running", "state-idle", "state-expired", "state-corrupt")
    for a, b in itertools.combinations(apart, 2):
        assert colour[a] != colour[b], f"{name}: {a} and {b} look the same"
    assert len({colour["chip-ok"], colour["chip-degraded"], colour["chip-down"]}) == 3
    if theme.ansi:
        return  # the terminal's own palette: contrast is the terminal's to set
    for ground in ("background", "surface"):
        bg = Color.parse(getattr(theme, ground))
        for key, c in colour.items():
            ratio = contrast(c, bg)
            assert ratio >= 4.5, f"{name}: {key} on {ground} has contrast {ratio:.1f} < 4.5"


def test_dusk_gives_idle_and_stopped_colours_of_their_own() -> None:
    (dusk,) = [t for t in bundled_themes() if t.name == "sesstui-dusk"]
    states = [dusk.variables[f"state-{s}"] for s in ("running", "idle", "stopped", "expired")]
    assert len(set(states)) == 4


# -- user themes ------------------------------------------------------------------


def write_theme(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_user_themes_come_from_the_config_folder(isolated_home: Path) -> None:
    assert user_theme_dir() == config_dir() / "themes"
    assert user_theme_dir().is_relative_to(isolated_home)
    path = write_theme(user_theme_dir(), "mine.yml", MINE)
    write_theme(user_theme_dir(), "notes.txt", "not a theme")
    themes = load_themes()
    assert themes.names == [*BUNDLED_NAMES, "mine"]
    assert themes.sources["mine"] == str(path)
    assert themes.sources["sesstui-dark"] == BUNDLED


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        ("name: x\nprimary: blurple\n", 2, "primary", "'blurple' is not a colour"),
        ("name: x\nprimary: #fff\n", 2, "primary", "quote hex colours"),
        ('name: x\nprimary: "#fff"\ndark: maybe\n', 3, "dark", "true or false"),
        ('name: x\nprimary: "#fff"\ntext_alpha: lots\n', 3, "text_alpha", "a number"),
        ('name: x\nprimary: "#fff"\ncolour: red\n', 3, "colour", "unknown theme key"),
        ('name: x\nprimary: "#fff"\nname: y\n', 3, "name", "duplicate key (first on line 1)"),
        ('name: x\nprimary: "#fff"\nvariables:\n  state-idle: nope\n', 4,
         "variables.state-idle", "'nope' is not a colour"),
        ('name: x\nprimary: "#fff"\nvariables: [a]\n', 3, "variables", "must map"),
        ('name: x\nprimary: "#fff"\nvariables:\n  a: 1\n  a: 2\n', 5, "variables.a",
         "duplicate"),
        ('primary: "#fff"\n', 1, None, "`name` is missing"),
        ("name: x\nprimary: [1, 2\n", 3, None, "not valid YAML"),
        ("- name: x\n", 1, None, "must be a mapping"),
    ],
)  # fmt: skip
def test_theme_file_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, says: str
) -> None:
    path = write_theme(tmp_path / "themes", "bad.yml", text)
    with pytest.raises(ConfigError) as info:
        load_themes(path.parent)
    err = info.value
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert says in err.message and err.message.startswith(f"{path}:{line}: ")


def test_a_user_theme_may_not_take_a_bundled_name(tmp_path: Path) -> None:
    path = write_theme(tmp_path, "dark.yml", "# my dark\nname: sesstui-dark\nprimary: red\n")
    with pytest.raises(ConfigError) as info:
        load_themes(tmp_path)
    err = info.value
    assert (err.file, err.line, err.key) == (str(path), 2, "name")
    assert "already a bundled theme" in err.message and "my-dark" in err.message


def test_two_user_themes_may_not_share_a_name(tmp_path: Path) -> None:
    first = write_theme(tmp_path, "a.yml", MINE)
    second = write_theme(tmp_path, "b.yaml", MINE)
    with pytest.raises(ConfigError) as info:
        load_themes(tmp_path)
    assert info.value.file == str(second) and str(first) in info.value.message


def test_an_undecodable_theme_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.yml"
    path.write_bytes(b"name: \xff\xfe\nprimary: red\n")
    with pytest.raises(ConfigError) as info:
        load_themes(tmp_path)
    assert info.value.file == str(path) and "UTF-8" in info.value.message


def test_theme_from_yaml_returns_the_name_line() -> None:
    theme, line = theme_from_yaml("# c\n\nprimary: red\nname: t\nsecondary:\n", "t.yml")
    assert (theme.name, theme.primary, theme.secondary, line) == ("t", "red", None, 4)


def test_the_cli_reports_a_broken_user_theme_and_exits_2(tmp_path: Path) -> None:
    config_home = tmp_path / "config"
    bad = write_theme(config_home / "sesstui" / "themes", "x.yml", "name: x\nprimary: blurple\n")
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text(f"backends:\n  - {{name: runs, kind: dirs, base: {tmp_path / 'runs'}}}\n")
    env = {"XDG_CONFIG_HOME": str(config_home), "HOME": str(tmp_path)}
    out = run_cli("--config", str(cfg), env=env)
    assert out.returncode == 2, out.stderr
    assert f"{bad}:2: primary:" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.tmux
def test_the_demo_with_a_broken_user_theme_exits_2_and_leaves_nothing(tmp_path: Path) -> None:
    config_home = tmp_path / "config"
    write_theme(config_home / "sesstui" / "themes", "x.yml", "name: sesstui-light\nprimary: red\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        "XDG_CONFIG_HOME": str(config_home),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmpdir),
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
    }
    out = run_cli("demo", env=env)
    assert out.returncode == 2, out.stderr
    assert "already a bundled theme" in out.stderr
    assert list(tmpdir.iterdir()) == []


# -- the theme picker -----------------------------------------------------------------


def palette_open(app: SesstuiApp | App[int]) -> bool:
    return isinstance(app.screen, CommandPalette)


def make_app(tmp_path: Path, user_dir: Path | None = None) -> SesstuiApp:
    config = AppConfig(backends=(dirs_config(tmp_path / "runs", create_base=True),), ui=UIConfig())
    return SesstuiApp(config, user_theme_dir=user_dir or tmp_path / "no-themes")


def picker_names(pilot: Pilot[int]) -> list[str]:
    commands = pilot.app.screen.query_one(CommandList)
    options = [commands.get_option_at_index(i) for i in range(commands.option_count)]
    return [str(o.hit.text) for o in options]  # type: ignore[attr-defined]


async def open_picker(pilot: Pilot[int]) -> ThemePicker:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: palette_open(pilot.app), "the palette")
    await pilot.press(*"theme")
    await wait_until(
        pilot, lambda: picker_names(pilot)[:1] == ["Theme"], "the Theme command on top"
    )
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ThemePicker), "the picker")
    picker = pilot.app.screen
    assert isinstance(picker, ThemePicker)
    return picker


async def test_the_palette_theme_command_lists_only_sesstui_and_user_themes(
    tmp_path: Path,
) -> None:
    write_theme(tmp_path / "mine", "mine.yml", MINE)
    app = make_app(tmp_path, tmp_path / "mine")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot)
        expected = [*BUNDLED_NAMES, "mine"]
        await wait_until(pilot, lambda: len(picker_names(pilot)) == 5, "every theme listed")
        assert sorted(picker_names(pilot)) == sorted(expected)
        assert "textual-dark" in app.available_themes  # Textual's exist, but are not offered
        await pilot.press(*"mine")
        await wait_until(pilot, lambda: picker_names(pilot) == ["mine"], "the one match")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not palette_open(app), "the picker closed")
        assert app.theme == "mine"
        assert app.theme_variables["state-running"].lower() == "#00aa00"


async def test_picking_a_bundled_theme_applies_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "sesstui-dark"
        await open_picker(pilot)
        await pilot.press(*"dusk")
        await wait_until(pilot, lambda: picker_names(pilot) == ["sesstui-dusk"], "dusk alone")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not palette_open(app), "the picker closed")
        assert app.theme == "sesstui-dusk"
        assert app.theme_variables["state-idle"].upper() == "#B3A8E6"


async def test_the_picker_previews_and_escape_puts_the_theme_back(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot)
        await wait_until(pilot, lambda: len(picker_names(pilot)) == 4, "every theme listed")
        # the theme in force comes first, so opening the picker changes nothing
        assert picker_names(pilot)[0] == "sesstui-dark"
        await pilot.pause(0.2)
        assert app.theme == "sesstui-dark"
        await pilot.press("down")
        await wait_until(pilot, lambda: app.theme == "sesstui-16", "the preview of the next")
        await pilot.press(*"light")
        # the highlighted match is applied while the picker is open
        await wait_until(pilot, lambda: app.theme == "sesstui-light", "the preview")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not palette_open(app), "the picker closed")
        await wait_until(pilot, lambda: app.theme == "sesstui-dark", "the theme put back")
