"""`pip install .` (not editable) gives a working app, themes included."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def installed_copy(tmp_path: Path) -> Path:
    """A fresh venv with the project installed from its wheel, not editable.

    The wheel is built by the interpreter running the tests (its setuptools and
    wheel come with the test extra), never by the base interpreter a venv was
    made from, which may have an old setuptools and no ``wheel``. The new venv
    has no pip and no system site-packages (a Debian system pip refuses
    installs, PEP 668); the test's own pip installs into it with ``--python``,
    and a ``.pth`` line lends it this interpreter's dependencies (a line, not a
    site dir: the editable install's own ``.pth`` finder is not run there).
    """
    # built from a copy: an in-tree build/ of an earlier run could ship stale modules
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".peers-venv", "build", "*.egg-info", "__pycache__", "tests", "bench",
    ))  # fmt: skip
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(dist), str(src)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("sesstui-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--disable-pip-version-check", str(wheel)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return env_dir


def test_non_editable_install_has_cli_and_themes(tmp_path: Path) -> None:
    env_dir = installed_copy(tmp_path)
    py = env_dir / "bin" / "python"
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
        "import importlib, pathlib, sys, tui, tui.bundled_themes;"
        "from tui.themes import bundled_themes;"
        "names = sorted(t.name for t in bundled_themes());"
        f"assert tui.__file__.startswith({str(env_dir)!r}), tui.__file__;"
        "assert (pathlib.Path(tui.__file__).parent / 'app.tcss').is_file();"
        "import core; assert all((pathlib.Path(m.__file__).parent / 'py.typed').is_file()"
        " for m in (core, tui)), 'py.typed missing';"
        "[importlib.import_module(m) for m in sys.argv[1:]];"
        "print(' '.join(names))"
    )
    out = subprocess.run(
        [str(py), "-I", "-c", code, *modules],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    bundled = sorted(f.stem for f in (ROOT / "themes").glob("*.yml"))
    assert out.stdout.split() == bundled
