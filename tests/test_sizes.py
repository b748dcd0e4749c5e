"""core.sizes: the one size parser behind ``size>…`` queries and ``ui.grow_notice``."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.history
import core.query
from core.config import load_config
from core.errors import ConfigError, UsageError
from core.query import QueryError, parse_query
from core.sizes import format_size, parse_size

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("0", 0),
        ("2048", 2048),
        ("10b", 10),
        ("10 B", 10),
        ("1.5", 1),  # a fraction of a byte is dropped
        ("10k", 10 * KiB),
        ("10K", 10 * KiB),
        ("10Ki", 10 * KiB),
        ("10KiB", 10 * KiB),
        ("10kib", 10 * KiB),
        ("10KB", 10 * KiB),  # KB is 1024 too: one rule, like du -h
        ("100M", 100 * MiB),
        ("100 MiB", 100 * MiB),
        ("  100M  ", 100 * MiB),
        ("1.5G", 1536 * MiB),
        (".5k", 512),
        ("0.5G", 512 * MiB),
        ("0.1K", 102),
        ("1T", TiB),
        ("1TB", TiB),
        ("2P", 2 * 1024 * TiB),
        ("1.1G", 1181116006),  # 1181116006.4 bytes: the fraction is dropped
    ],
)
def test_parse_size(text: str, n: int) -> None:
    assert parse_size(text) == n


@pytest.mark.parametrize(
    "text",
    ["", "   ", "lots", "-5M", "+5M", "10X", "1.2.3M", "1e3", "5.", ".", "M", "1 000", "5MM"],
)
def test_bad_sizes_say_what_to_write(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_size(text)
    message = info.value.message
    assert "is not a size; write e.g. 500K, 100M, 1.5G or 2048" in message
    assert "powers of 1024" in message
    if text.strip():
        assert message.startswith(repr(text))
    else:
        assert message.startswith("an empty text")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (100 * MiB, "100 MiB"),
        (1288490188, "1.2 GiB"),
        (5 * 1024 * TiB, "5120 TiB"),
    ],
)
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


def test_format_then_parse_round_trips_whole_units() -> None:
    for n in (0, 7, KiB, 3 * MiB, 1536 * MiB, 2 * TiB):
        assert parse_size(format_size(n).replace(" ", "")) == n


def test_every_user_of_a_size_reads_it_the_same_way(tmp_path: Path) -> None:
    # the old names still work and are the same function
    assert core.query.parse_size is parse_size
    assert core.history.parse_size is parse_size
    assert core.history.format_size is format_size
    # a query term
    query = parse_query("size>.5k")
    assert query.text == "size>.5k"
    with pytest.raises(QueryError, match=r"'1Q' is not a size; write e\.g\. 500K"):
        parse_query("size>1Q")
    # the configuration
    cfg = tmp_path / "sesstui.yml"
    cfg.write_text("ui:\n  grow_notice: .5G\n")
    assert load_config(cfg, env={}).ui.grow_notice == 512 * MiB
    cfg.write_text("ui:\n  grow_notice: 10KB\n")
    assert load_config(cfg, env={}).ui.grow_notice == 10 * KiB
    cfg.write_text("ui:\n  grow_notice: 5.\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env={})
    assert info.value.key == "ui.grow_notice"
    assert "'5.' is not a size; write e.g. 500K" in info.value.message


@pytest.mark.parametrize(
    ("n", "short", "tenths"),
    [
        (0, "0 B", "0 B"),
        (1023, "1023 B", "1023 B"),
        (-1023, "-1023 B", "-1023 B"),
        (1024, "1 KiB", "1.0 KiB"),
        (4096, "4 KiB", "4.0 KiB"),
        (1536, "1.5 KiB", "1.5 KiB"),
        (-2048, "-2 KiB", "-2.0 KiB"),
        (6_400_000, "6.1 MiB", "6.1 MiB"),
        # rounds up to 1024 KiB: said in the next unit, as humanize does
        (MiB - 1, "1 MiB", "1.0 MiB"),
        (1288490188, "1.2 GiB", "1.2 GiB"),
        (1024 * TiB - 1, "1024 TiB", "1024.0 TiB"),  # TiB is the largest unit
    ],
)
def test_one_size_formatter_two_styles(n: int, short: str, tenths: str) -> None:
    """Prose drops a ``.0``; columns (tenths) keep one decimal so they line up."""
    assert format_size(n) == short
    assert format_size(n, tenths=True) == tenths


def test_every_byte_display_is_the_one_formatter() -> None:
    from core.inspection import size_text
    from core.model import SizeInfo
    from tui.formatting import bytes_text
    from tui.formatting import size_text as cell_text

    for n in (0, 512, 4096, 1536, 6_400_000, MiB - 1, 3 * GiB, 7 * TiB):
        assert size_text(n) == bytes_text(n) == format_size(n, tenths=True)
        assert cell_text(SizeInfo(n + 1, n)) == format_size(n, tenths=True)
    assert bytes_text(None) == "?" and cell_text(None, pending="-") == "-"
