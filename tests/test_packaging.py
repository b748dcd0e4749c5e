"""`pip install .` (not editable) gives a working app, themes included."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_non_editable_install_has_cli_and_themes(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # the dependencies come from this interpreter; only the project is installed
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    out = subprocess.run(
        [str(env_dir / "bin" / "sesstui"), "--help"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert "One console for every session" in out.stdout
    # run from a folder without the source tree: everything comes from
    # site-packages, and every module of the source tree is there
    modules = sorted(
        ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for top in ("core", "tui")
        for f in (ROOT / top).rglob("*.py")
    )
    code = (
        "import importlib, pathlib, sys, tui, sesstui_themes;"
        "from tui.themes import bundled_themes;"
        "names = sorted(t.name for t in bundled_themes());"
        "assert 'site-packages' in tui.__file__, tui.__file__;"
        "assert (pathlib.Path(tui.__file__).parent / 'app.tcss').is_file();"
        "[importlib.import_module(m) for m in sys.argv[1:]];"
        "print(' '.join(names))"
    )
    out = subprocess.run(
        [str(py), "-I", "-c", code, *modules],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    bundled = sorted(f.stem for f in (ROOT / "themes").glob("*.yml"))
    assert out.stdout.split() == bundled
