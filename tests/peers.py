"""The real peer libraries (vcti-session, kstlib), driven in their own venv.

``scripts/peers.sh`` (run by ``scripts/test.sh``) makes ``.peers-venv/`` in
the repository with a Python >= 3.12 (vcti-session needs it) and the pinned
peers.  Tests run a snippet of Python there with :func:`run_peer`; it prints
one JSON value, which comes back parsed.  ``$SESSTUI_PEERS_PYTHON`` names
another interpreter that has them.

A missing venv or peer skips the test with the reason and the command that
fixes it, except under ``CI=true``, where it fails: CI must prove interop.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from tests.helpers import unavailable

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".peers-venv" / "bin" / "python"

# what the tests need from the environment of the peer process; the rest
# (SESSION_*, TZ, HOME...) is what each test passes
_KEEP = ("PATH", "LANG", "LC_ALL", "TMUX_TMPDIR", "SYSTEMROOT")


def _missing(reason: str) -> NoReturn:
    unavailable(f"{reason}; run `bash scripts/peers.sh` (scripts/test.sh does)")


@functools.cache
def _check(python: str, module: str) -> str:
    """'' when ``python`` imports ``module``, else why not."""
    try:
        proc = subprocess.run(
            [python, "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as e:
        return f"cannot run {python}: {e}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"{python} cannot import {module}: {last}"
    return ""


def peer_python(module: str) -> str:
    """The peers' interpreter, able to import ``module`` (else skip / fail)."""
    python = os.environ.get("SESSTUI_PEERS_PYTHON") or str(VENV_PYTHON)
    if not Path(python).exists():
        _missing(f"no peer interpreter at {python}")
    why = _check(python, module)
    if why:
        _missing(why)
    return python


def run_peer(
    module: str,
    code: str,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> object:
    """Run ``code`` (dedented) with the peers' Python in ``cwd``; it must print
    one JSON value last.  ``env`` is added to a minimal environment."""
    python = peer_python(module)
    full_env = {k: v for k in _KEEP if (v := os.environ.get(k)) is not None}
    full_env["HOME"] = str(cwd)
    full_env.update(env or {})
    proc = subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the peer failed ({proc.returncode}):\n{proc.stderr}")
    lines = proc.stdout.strip().splitlines()
    assert lines, f"the peer printed nothing; stderr:\n{proc.stderr}"
    return json.loads(lines[-1])
