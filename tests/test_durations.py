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


@pytest.mark.parametrize(
    ("seconds", "ttl", "age", "exact"),
    [
        (-5, "0s", "0s", "0s"),
        (0, "0s", "0s", "0s"),
        (45, "45s", "45s", "45s"),
        (552, "9m12s", "9m", "9m12s"),
        (3600, "1h00m", "1h", "1h"),
        (5400, "1h30m", "1h", "1h30m"),
        (11040, "3h04m", "3h", "3h4m"),
        (183600, "2d3h", "2d", "2d3h"),
        (93784, "1d2h", "1d", "1d2h3m4s"),
        (13 * 86400 + 5, "13d0h", "13d", "13d5s"),
        (14 * 86400, "14d0h", "2w", "14d"),  # weeks only in the age style
        (40 * 86400, "40d0h", "5w", "40d"),
    ],
)
def test_one_duration_formatter_three_styles(seconds: int, ttl: str, age: str, exact: str) -> None:
    delta = timedelta(seconds=seconds)
    assert duration_text(delta) == ttl
    assert duration_text(delta, style="ttl") == ttl
    assert duration_text(delta, style="age") == age
    assert duration_text(delta, style="exact") == exact
    if seconds > 0:
        assert parse_duration(exact) == delta  # the exact style reads back


def test_exact_rounds_the_others_cut() -> None:
    delta = timedelta(seconds=59.6)
    assert duration_text(delta, style="exact") == "1m"
    assert duration_text(delta) == "59s" and duration_text(delta, style="age") == "59s"


def test_ages_and_journal_ttls_are_the_one_formatter() -> None:
    from datetime import UTC, datetime

    from core.journal import ttl_text
    from tui.formatting import age_text, ago_text, minutes_ago_text

    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    for seconds in (0, 59, 61, 7300, 90000, 13 * 86400, 30 * 86400):
        delta = timedelta(seconds=seconds)
        assert age_text(now - delta, now) == duration_text(delta, style="age")
        assert ttl_text(delta) == duration_text(delta, style="exact")
    assert ago_text(now - timedelta(hours=3), now) == "3h ago"
    # the details' whole minutes: the first minute is one text
    assert [minutes_ago_text(now - timedelta(seconds=s), now) for s in (0, 59, 60, 7300)] == [
        "<1m ago",
        "<1m ago",
        "1m ago",
        "2h ago",
    ]
    assert minutes_ago_text(now + timedelta(seconds=5), now) == "future"
    assert minutes_ago_text(None, now) == "-"
    assert age_text(now + timedelta(seconds=5), now) == "future"
    assert age_text(None, now) == "-"
