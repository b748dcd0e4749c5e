"""core.cmdline.split_command: a command string read without a shell, by one rule."""

from __future__ import annotations

import pytest

from core.cmdline import split_command


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("python -m bot --port 8080", ["python", "-m", "bot", "--port", "8080"]),
        ("  spaced   out  ", ["spaced", "out"]),
        ("echo 'a b' \"c d\" e\\ f", ["echo", "a b", "c d", "e f"]),
        ("sh -c 'echo $HOME; ls | wc -l'", ["sh", "-c", "echo $HOME; ls | wc -l"]),
        ('say "a \\"quoted\\" word"', ["say", 'a "quoted" word']),
        ("tag a#b", ["tag", "a#b"]),  # '#' inside a word is not a comment
        ("path a~b", ["path", "a~b"]),  # '~' inside a word is not expanded
        ("'FOO=1' bot", ["FOO=1", "bot"]),  # a quoted word is not an assignment
        ("bot --opt=1", ["bot", "--opt=1"]),
        ("glob '*.log' \\*", ["glob", "*.log", "*"]),
    ],
)
def test_words_as_a_shell_would_split_them(text: str, words: list[str]) -> None:
    assert split_command(text) == words


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a; b", "';'"),
        ("a && b", "'&'"),
        ("a | b", "'|'"),
        ("a > out", "'>'"),
        ("a < in", "'<'"),
        ("(a)", "'('"),
        ("echo $HOME", "'$' (expansion)"),
        ('echo "$HOME"', "inside double quotes"),
        ('echo "\\$HOME"', "use single quotes"),
        ("echo `id`", "'`'"),
        ("ls *.log", "file name pattern"),
        ("ls file?", "file name pattern"),
        ("ls [ab]", "file name pattern"),
        ("cd ~/x", "home directory"),
        ("run # note", "a comment"),
        ("a\nb", "a line break"),
        ("LOG=1 bot", "variable assignment"),
        ("say 'open", "cannot be split"),
        ("", "empty"),
        ("x\0y", "NUL"),
    ],
)
def test_what_a_shell_would_interpret_is_refused_with_the_fix(text: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        split_command(text)
    assert says in str(info.value)
