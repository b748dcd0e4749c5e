"""A command written as one string, read without a shell.

kstlib.ops specs write ``command: "python -m bot --port 8080"``; kstlib hands
that string to tmux, whose shell parses it.  sesstui never runs a shell
unless the spec says ``shell: true``, so the string is split into an argument
list here, by one clear rule:

* words are split as a POSIX shell splits them: at unquoted whitespace, with
  ``'single'`` and ``"double"`` quotes and backslash escapes (:mod:`shlex`);
* anything a shell would *do* rather than pass along is refused, with the
  fix: unquoted ``; & | < > ( )``, newlines, ``$`` and backquotes (also inside
  double quotes), unquoted glob characters ``* ? [``, a ``~`` starting a word,
  a comment ``#``, and a leading ``NAME=value`` (an environment assignment).
  Quote such a character to pass it literally, write ``env:`` for variables,
  or say ``shell: true`` for a real shell command line.

So a string either means exactly what a shell would run, or is refused.
"""

from __future__ import annotations

import re
import shlex

__all__ = ["split_command"]

_OPERATORS = frozenset(";&|<>()")
_GLOBS = frozenset("*?[")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_FIX = "quote it to pass it as it is, or say 'shell: true' to run the line through sh -c"


def _shell_syntax(text: str) -> str | None:
    """The first thing in ``text`` a shell would interpret, described; None if none."""
    quote = ""
    word_start = True
    i = 0
    while i < len(text):
        ch = text[i]
        if quote == "'":
            if ch == "'":
                quote = ""
        elif quote == '"':
            if ch == "\\":
                if text[i + 1 : i + 2] in ("$", "`"):
                    # sh drops this backslash, shlex keeps it: refused, not guessed
                    return f"'\\{text[i + 1]}' inside double quotes (use single quotes)"
                i += 1  # \" and \\ mean the same to sh and to shlex
            elif ch == '"':
                quote = ""
            elif ch in "$`":
                return f"{ch!r} (expansion inside double quotes)"
        elif ch == "\\":
            i += 1
            word_start = False
        elif ch in "'\"":
            quote = ch
            word_start = False
        elif ch.isspace():
            if ch in "\n\r":
                return "a line break"
            word_start = True
        else:
            if ch in _OPERATORS:
                return f"{ch!r}"
            if ch in "$`":
                return f"{ch!r} (expansion)"
            if ch in _GLOBS:
                return f"{ch!r} (a file name pattern)"
            if word_start and ch == "~":
                return "'~' (home directory expansion)"
            if word_start and ch == "#":
                return "'#' (a comment)"
            word_start = False
        i += 1
    return None


def split_command(text: str) -> list[str]:
    """``text`` as an argument list, by the rule in the module docstring.

    Raises ValueError saying what is wrong and what to write instead.
    """
    if "\0" in text:
        raise ValueError("the command contains a NUL byte")
    found = _shell_syntax(text)
    if found is not None:
        raise ValueError(
            f"the command string {text!r} has shell syntax, {found}, and no shell runs it; "
            f"{_FIX}, or write the command as a list"
        )
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError as e:  # "No closing quotation", "No escaped character"
        raise ValueError(f"the command string {text!r} cannot be split: {e}") from None
    if not words:
        raise ValueError("the command is empty; write what to run, e.g. 'python -m bot'")
    if _ASSIGNMENT.match(words[0]) and not text.lstrip().startswith(("'", '"')):
        raise ValueError(
            f"the command string {text!r} starts with a variable assignment "
            f"({words[0].split('=', 1)[0]}=...); put variables under 'env:' instead"
        )
    return words
