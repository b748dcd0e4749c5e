#!/usr/bin/env bash
# A side venv with the peer libraries the interop tests drive for real:
# vcti-session (session directories; needs Python >= 3.12) and kstlib
# (config-driven tmux / container sessions).  The tests run the peers in this
# venv through subprocesses (tests/peers.py finds it), so the project's own
# Python (>= 3.11) stays as it is.
#
#   bash scripts/peers.sh        # make or refresh .peers-venv/ in the repo root
#
# The interpreter: $SESSTUI_PEERS_BASE_PYTHON if set, else pyenv's 3.12 / 3.13,
# else python3.12 / python3.13 on PATH, else (as root on Debian/Ubuntu) the
# distribution's python3.13 package.  When none can be had, this prints why
# and exits 0: the interop tests then skip with that reason, or fail under
# CI=true, so a missing peer never passes unnoticed in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.peers-venv  # tests/peers.py looks here (or at $SESSTUI_PEERS_PYTHON)
# The versions the interop tests and docs/interop.md were written against.
# vcti-config is held below 4: vcti-session 1.0.1 asks for >=3.1.2, and 4.0
# made None a value in resolve_value, so every SessionDir / LogConfig built
# without all its arguments fails validation (prefix=None, level=None...).
peers=("vcti-session==1.0.*" "vcti-config>=3.1.2,<4" "kstlib==3.8.*")

say() { printf '\n== %s\n' "$*"; }
warn() { printf 'peers.sh: %s\n' "$*" >&2; }

is_312() { # is "$1" a Python >= 3.12 with a working venv module?
  "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
  local c
  if [ -n "${SESSTUI_PEERS_BASE_PYTHON:-}" ]; then
    is_312 "$SESSTUI_PEERS_BASE_PYTHON" && { echo "$SESSTUI_PEERS_BASE_PYTHON"; return; }
    warn "SESSTUI_PEERS_BASE_PYTHON=$SESSTUI_PEERS_BASE_PYTHON is not a Python >= 3.12 with venv"
    return 1
  fi
  for c in "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3; do
    [ -x "$c" ] && is_312 "$c" && { echo "$c"; return; }
  done
  for c in python3.13 python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do
    command -v "$c" >/dev/null 2>&1 && is_312 "$(command -v "$c")" && { command -v "$c"; return; }
  done
  return 1
}

ready() { # the venv exists and imports both peers at the wanted versions
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - <<'EOF' >/dev/null 2>&1
import importlib.metadata as md
import vcti.session, kstlib.ops  # noqa: F401
assert md.version("vcti-session").startswith("1.0.")
assert md.version("kstlib").startswith("3.8.")
assert md.version("vcti-config").startswith("3.")
EOF
}

if ready; then
  say "peer libraries ready in $venv"
  exit 0
fi

py="$(find_python || true)"
if [ -z "$py" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  if apt-cache show python3.13 >/dev/null 2>&1 || { apt-get update -qq && apt-cache show python3.13 >/dev/null 2>&1; }; then
    say "installing python3.13 for the peer libraries"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3.13 python3.13-venv >/dev/null || warn "apt-get install python3.13 failed"
    py="$(find_python || true)"
  fi
fi
if [ -z "$py" ]; then
  warn "no Python >= 3.12 found (pyenv 3.12/3.13, python3.12/3.13 on PATH, or apt's python3.13):"
  warn "the vcti-session and kstlib interop tests will skip (and fail under CI=true)"
  exit 0
fi

say "peer libraries (${peers[*]}) into $venv with $("$py" -c 'import sys; print(sys.version.split()[0])')"
if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
  warn "$venv exists and is not a venv; left alone (remove it and run again)"
  exit 0
fi
rm -rf "$venv"
if ! "$py" -m venv "$venv" \
  || ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "${peers[@]}"; then
  warn "could not install ${peers[*]} into $venv: the interop tests will say so"
  exit 0
fi
ready || warn "$venv was made but does not import the peers"
