"""`import core` in a fresh interpreter loads no UI or backend client libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("textual", "rich", "docker", "redis", "libtmux")


@pytest.mark.parametrize(
    "module",
    [
        "core",
        "core.inventory",
        "core.config",
        "core.dirs.backend",
        "core.dirs.producer",
        "core.logtail",
        "tui.cli",
    ],
)
def test_headless_modules_load_no_ui_or_clients(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(FORBIDDEN), f"{module} pulled in {sorted(loaded & set(FORBIDDEN))}"


def test_listing_dirs_through_the_inventory_loads_no_ui(tmp_path: Path) -> None:
    code = f"""
import sys, json
from core.inventory import Inventory
from core.dirs.backend import DirsBackend
from core.dirs.schema import DirsBackendConfig
inv = Inventory([DirsBackend(DirsBackendConfig(name="r", kind="dirs", base={str(tmp_path)!r}))])
snap = inv.refresh()
assert snap.health[0].ok, snap.health
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert not set(json.loads(out.stdout)) & set(FORBIDDEN)


def _import_core_isolated() -> tuple[set[str], set[str]]:
    """The modules loaded before and by `import core` in an isolated interpreter.

    `-I -S` ignores PYTHONPATH, the user site and the `.pth` files of site-packages (an
    editable install's finder imports `typing`): only the interpreter's own startup modules,
    and `os` (which `site` imports in every normal start-up), are there before `import core`,
    so whatever it pulls in shows. The site-packages folders go on the path without their
    `.pth` hooks, so a third-party import would still be found, and counted. No `json` before
    the snapshot: it loads `re`."""
    code = (
        "import sys, site, os\n"
        "sys.path.extend(site.getsitepackages())\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "before = set(sys.modules)\n"
        "import core\n"
        "new = sorted(set(sys.modules) - before)\n"
        "import json\n"
        "print(json.dumps({'file': core.__file__, 'before': sorted(before), 'new': new}))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert Path(report["file"]).resolve() == ROOT / "core" / "__init__.py"
    return set(report["before"]), set(report["new"])


def test_import_core_in_an_isolated_interpreter_loads_no_typing() -> None:
    before, new = _import_core_isolated()
    heavy = {"typing", "yaml", *FORBIDDEN}
    assert not heavy & before, "the interpreter preloads a module under test"
    loaded = {m.split(".")[0] for m in new}
    assert not loaded & heavy, f"import core pulled in {sorted(loaded & heavy)}"


def test_import_core_loads_only_the_package_itself() -> None:
    """`import core` has a budget of 1.5x `python -c pass` (about 6 ms of headroom), so it
    loads nothing the interpreter has not loaded at start-up but ``core`` and ``__future__``:
    not `typing` (19 ms in a clean venv), nor `re`, `enum`, `dataclasses`, `collections`. A
    new module here must be measured against the budget first (`python bench/run.py --only
    import`)."""
    _, new = _import_core_isolated()
    assert new <= {"core", "__future__"}, f"import core loaded {sorted(new)}"


def test_msgspec_and_the_kind_schemas_load_only_when_a_config_is_read(tmp_path: Path) -> None:
    """`import core.config` stays cheap; reading a file loads msgspec and the schemas
    of the kinds it names, and no other kind's."""
    config = tmp_path / "c.yml"
    config.write_text(f"backends:\n  - {{name: r, kind: dirs, base: {str(tmp_path)!r}}}\n")
    code = f"""
import sys, json
import core.config
before = sorted(m for m in sys.modules if m == "msgspec" or m.endswith(".schema"))
core.config.load_config({str(config)!r}, env={{}})
after = sorted(m for m in sys.modules if m == "msgspec" or m.endswith(".schema"))
print(json.dumps({{"before": before, "after": after}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert report["before"] == [], "import core.config loaded msgspec or a schema"
    assert "msgspec" in report["after"] and "core.dirs.schema" in report["after"]
    for other in ("core.kv.schema", "core.jsonstore.schema"):
        assert other not in report["after"], f"reading a dirs-only file loaded {other}"
