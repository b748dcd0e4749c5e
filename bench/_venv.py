"""The clean install every bench runs against: the project as a user gets it.

``ensure()`` builds a wheel from a copy of the working tree (uncommitted changes included,
with build isolation, never an editable install), installs it with its dependencies into its
own venv (created from the base interpreter, without ``--system-site-packages``; the
dependencies come from pip's configured indexes and wheel cache, so nothing is downloaded
twice), and checks that ``core`` and ``tui`` import from that venv's site-packages and that
no ``.pth`` file there points back at the working tree.  The benches themselves (this
package, plus the test fixtures that start private redis / docker servers) are copied next to
the venv, into a folder that holds nothing of the product.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = Path("/tmp/sesstui-bench-venv")
# What a bench needs besides the product: bench_tail compares with a watchfiles watcher, and
# the redis / docker server fixtures shared with the tests import pytest.
BENCH_EXTRAS = ("watchfiles", "pytest")
# Copied beside the venv for the benches: the bench package and the server fixtures.
_FIXTURES = ("__init__.py", "helpers.py", "redis_fixtures.py", "docker_fixtures.py")
_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "__snapshots__", ".*_cache", "out"
)


class CleanVenv:
    """Paths of a built clean venv."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.sesstui = root / "bin" / "sesstui"
        self.bench_src = root / "bench-src"  # holds `bench` and `tests` only

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a bench child runs in: no PYTHONPATH, no dev venv on PATH."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.pop("VIRTUAL_ENV", None)
        path = [p for p in env.get("PATH", "").split(os.pathsep) if "devvenv" not in p]
        env["PATH"] = os.pathsep.join([str(self.root / "bin"), *path])
        env["PYTHONNOUSERSITE"] = "1"
        env.update(extra)
        return env


def _base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


def _run(argv: list[str], **kw: object) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(argv[:4])} … failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )


def ensure(root: Path = DEFAULT_VENV, *, log: bool = True) -> CleanVenv:
    venv = CleanVenv(root)

    def say(text: str) -> None:
        if log:
            print(f"bench: {text}", file=sys.stderr, flush=True)

    if not venv.python.exists():
        say(f"creating {root} from {_base_python()}")
        _run([_base_python(), "-m", "venv", str(root)])
    with tempfile.TemporaryDirectory(prefix="sesstui-bench-build-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT, src, ignore=_IGNORE)
        say("building the wheel from the working tree")
        _run([str(venv.python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp, str(src)])
        wheel = next(Path(tmp).glob("sesstui-*.whl"))
        say(f"installing {wheel.name} and its dependencies into {root}")
        _run([str(venv.python), "-m", "pip", "install", "-q", str(wheel), *BENCH_EXTRAS])
        # Same version number as last time: force the files of this build in.
        pip = [str(venv.python), "-m", "pip", "install", "-q"]
        _run([*pip, "--force-reinstall", "--no-deps", str(wheel)])
    shutil.rmtree(venv.bench_src, ignore_errors=True)
    shutil.copytree(ROOT / "bench", venv.bench_src / "bench", ignore=_IGNORE)
    (venv.bench_src / "tests").mkdir()
    for name in _FIXTURES:
        shutil.copy2(ROOT / "tests" / name, venv.bench_src / "tests" / name)
    verify(venv)
    return venv


def verify(venv: CleanVenv) -> dict[str, str]:
    """Where ``core`` and ``tui`` import from in the venv; raises unless its site-packages."""
    code = (
        "import json, sys, sysconfig, core, tui\n"
        "print(json.dumps({'core': core.__file__, 'tui': tui.__file__,"
        " 'site': sysconfig.get_paths()['purelib'], 'path': sys.path}))"
    )
    out = subprocess.run(
        [str(venv.python), "-c", code],
        cwd=venv.bench_src,
        env=venv.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    where = json.loads(out)
    site = Path(where["site"]).resolve()
    for name in ("core", "tui"):
        if site not in Path(where[name]).resolve().parents:
            raise SystemExit(f"bench: {name} imports from {where[name]}, not from {site}")
    leaks = [p for p in where["path"] if p and Path(p).resolve() == ROOT]
    for pth in site.glob("*.pth"):
        if str(ROOT) in pth.read_text(errors="replace"):
            leaks.append(str(pth))
    if leaks:
        raise SystemExit(f"bench: the working tree is visible in the clean venv: {leaks}")
    return {"core": where["core"], "tui": where["tui"]}
