#!/usr/bin/env bash
# The README's test command.  On a fresh machine it installs what the tests
# need, then runs ruff, mypy (strict) and pytest.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# -- system packages ---------------------------------------------------------
# tmux: the tmux backend's tests (private sockets) and the real-terminal tests.
# docker.io + busybox-static: a private dockerd that the docker tests start
# (its own data root and socket under /tmp, no iptables, no bridge) with an
# image imported from the busybox binary; it is stopped when the tests end.
# redis-server: the KV tests start their own on a free port and stop it.
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /bin/busybox ] || need+=(busybox-static)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing: ${need[*]} (install them, or run as root on Debian to have this script do it)" >&2
  fi
fi

# -- python -------------------------------------------------------------------
# The tests run in a virtualenv: the one that is active, else .venv here (made
# on first use). Never the system interpreter: a Debian system pip refuses
# installs (PEP 668), and a base interpreter may lack setuptools/wheel.
if python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  venv_dir=$(python3 -c 'import sys; print(sys.prefix)')
else
  venv_dir=$PWD/.venv
  if [ ! -x "$venv_dir/bin/python" ]; then
    say "making a virtualenv in .venv"
    if ! python3 -m venv "$venv_dir" 2>/dev/null; then
      # Debian ships venv (ensurepip) separately
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
      fi
      rm -rf "$venv_dir"
      python3 -m venv "$venv_dir"
    fi
  fi
fi
export VIRTUAL_ENV=$venv_dir
export PATH=$venv_dir/bin:$PATH
py=$venv_dir/bin/python

say "installing the project and its test dependencies into $venv_dir"
"$py" -m pip install -q --disable-pip-version-check -e ".[test]"
bash scripts/peers.sh  # vcti-session + kstlib in .peers-venv/ (Python >= 3.12) for tests/peers.py

say "ruff"
"$py" -m ruff check .
"$py" -m ruff format --check .

say "mypy --strict (core, tui, tests)"
"$py" -m mypy

say "pytest, measuring coverage of core and tui (subprocesses included)"
cov_dir=$(mktemp -d)
export COVERAGE_FILE=$cov_dir/coverage  # absolute: subprocesses run in other folders
status=0
"$py" -m coverage run -m pytest -q -p no:cacheprovider "$@" || status=$?
# a process killed mid-test (SIGKILL) leaves a partial data file: combine warns and skips it
if "$py" -m coverage combine -q "$cov_dir" 2>"$cov_dir/combine.log" &&
  "$py" -m coverage report --sort=cover >"$cov_dir/report"; then
  cp "$cov_dir/coverage" .coverage
  say "coverage (least covered first; the whole table: python -m coverage report)"
  head -n 2 "$cov_dir/report"
  sed -n '3,$p' "$cov_dir/report" | grep -v '^TOTAL' | head -n 25
  grep '^TOTAL' "$cov_dir/report"
fi
rm -rf "$cov_dir"
exit "$status"
