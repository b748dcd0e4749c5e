#!/usr/bin/env bash
# The README's test command.  On a fresh machine it installs what the tests
# need, then runs ruff, mypy (strict) and pytest.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# -- system packages ---------------------------------------------------------
# tmux drives the end-to-end test of the dashboard in a real terminal.
# (redis-server, docker.io and busybox-static join this list with their backends.)
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing: ${need[*]} (install them, or run as root on Debian to have this script do it)" >&2
  fi
fi

# -- python dependencies -------------------------------------------------------
say "installing the project and its test dependencies"
python3 -m pip install -q --disable-pip-version-check -e ".[test]"

say "ruff"
ruff check .
ruff format --check .

say "mypy --strict (core, tui, tests)"
mypy

say "pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
