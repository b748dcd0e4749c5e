from __future__ import annotations

from datetime import timedelta

import pytest

from core.durations import duration_text, parse_duration
from core.errors import UsageError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
     ("1w", 604800), (" 2H ", 7200), ("1.5h", 5400), ("0", 0)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "2x", "2h junk", "-1h", "two hours", "1h 2"])
def test_bad_durations_say_what_to_write(text: str) -> None:
    with pytest.raises(UsageError, match="30m"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0s"), (0, "0s"), (45, "45s"), (552, "9m12s"), (11040, "3h04m"), (183600, "2d3h")],
)
def test_duration_text(seconds: int, text: str) -> None:
    assert duration_text(timedelta(seconds=seconds)) == text
