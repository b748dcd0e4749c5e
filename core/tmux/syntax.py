"""Session name rules and the escaping tmux's argument parser needs.

Facts about tmux 3.x this module relies on (checked against tmux 3.3a):

* tmux forbids ``.`` and ``:`` in session names (they separate window and
  pane in a target) and stores control characters and backslashes
  vis-encoded, so a name with one would not match itself afterwards.
* ``-t NAME`` matches a *prefix* or pattern; ``-t =NAME`` matches exactly.
  For commands whose target is a window or pane (``list-panes``,
  ``send-keys``, ``pipe-pane``, ``set-option``...), ``=NAME`` is read as a
  window name, so those need ``=NAME:``.
* A target starting with ``$`` is a session id (``$1``), with or without the
  ``=``: a session *named* ``$1`` cannot be targeted by name at all, so such
  names are refused (an action would reach the session whose id it is).
* Every command-line argument that ends in ``;`` ends a command (tmux splits
  command sequences that way), and ``\\;`` at the end stands for a literal
  ``;``.  Any user-supplied argument must therefore be passed through
  :func:`literal`.
* ``new-session -s``, ``-n`` and ``-c`` values are format-expanded (``#S``,
  ``#{...}``, ``##``), so their ``#`` must be doubled (:func:`no_format`).
  Targets, ``-e`` values and command arguments are not expanded.
"""

from __future__ import annotations

MAX_NAME = 64


def _control(text: str) -> bool:
    return any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def lookup_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an existing session, or None when it can.

    Used before a name becomes a target: ``a:1`` must never reach tmux, where
    it would mean window 1 of session ``a``.
    """
    if not name:
        return "the name is empty"
    if "." in name or ":" in name:
        return "tmux does not allow '.' or ':' in session names"
    if _control(name):
        return "it contains a control character"
    if name.startswith("$"):
        # `-t =$1` is still the session whose *id* is $1: an action would
        # reach another session (rename it with `tmux rename-session`)
        return "tmux reads a name starting with '$' as a session id, even as an exact target"
    return None


def new_name_problem(name: str) -> str | None:
    """Why sesstui refuses to create a session named ``name``, or None.

    Stricter than tmux: no leading ``-`` (it reads as an option in shells and
    CLIs) and at most :data:`MAX_NAME` characters (it must fit a table).
    """
    problem = lookup_name_problem(name)
    if problem is not None:
        return problem
    if "\\" in name:
        return "tmux stores a backslash escaped, so the name would not match itself"
    if name.startswith("-"):
        return "a name starting with '-' would be read as an option"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    if not name.strip():
        return "the name is blank"
    return None


def literal(arg: str) -> str:
    """``arg`` as tmux's argument parser must see it to pass it on unchanged."""
    # tmux strips a final ';' (ending the command) and turns a final '\;'
    # into ';': inserting one backslash before a final ';' restores it.
    if arg.endswith(";"):
        return arg[:-1] + "\\;"
    return arg


def no_format(text: str) -> str:
    """``text`` with ``#`` doubled, for option values tmux format-expands."""
    return text.replace("#", "##")


def session_target(name: str) -> str:
    """Exact-match target for commands that take a session (``kill-session``)."""
    return literal("=" + name)


def window_target(name: str) -> str:
    """Exact-match target for commands that take a window or pane: the
    session's current window (and its active pane)."""
    return "=" + name + ":"
