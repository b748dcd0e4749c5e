"""Byte sizes as people write and read them: ``parse_size`` and ``format_size``.

One rule set for every place a size is written (``size>1.5G`` in a query,
``ui.grow_notice`` in the configuration):

* a number of bytes, or a number with a unit: ``2048``, ``500K``, ``1.5G``,
  ``.5k``, ``2 GiB`` (spaces between number and unit are fine);
* the number is digits with an optional fraction (``1.5``, ``.5``); no sign,
  no exponent, no thousands separators;
* units K, M, G, T, P, case-insensitive, are powers of **1024** (as ``du -h``
  shows them), with an optional ``i``, ``iB`` or ``B`` after them: ``K``,
  ``Ki``, ``KiB`` and ``KB`` all mean 1024 bytes; a lone ``B`` means bytes;
* a fraction of a byte is dropped (``1.5`` is 1 byte, ``0.1K`` is 102).

Anything else raises :class:`core.errors.UsageError` naming the text and an
example.  Headless: the standard library only.
"""

from __future__ import annotations

import re
from decimal import Decimal

from core.errors import UsageError

__all__ = ["UNITS", "format_size", "parse_size"]

UNITS: dict[str, int] = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
"""Unit letter (lower case) -> bytes."""

_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtp])(?:i|ib|b)?|b)?", re.IGNORECASE)
EXAMPLES = "500K, 100M, 1.5G or 2048"


def parse_size(text: str) -> int:
    """``"100M"`` -> 104857600, ``"1.5G"`` -> 1610612736, ``".5k"`` -> 512.

    See the module docstring for the rules.  Raises ``UsageError`` with the
    text and an example for anything else.
    """
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        what = repr(text) if text.strip() else "an empty text"
        raise UsageError(
            f"{what} is not a size; write e.g. {EXAMPLES} "
            f"(bytes, or K, M, G, T: powers of 1024 like du -h)"
        )
    return int(Decimal(m.group(1)) * UNITS[(m.group(2) or "").lower()])


def format_size(n: int) -> str:
    """``104857600`` -> ``100 MiB``; ``1288490188`` -> ``1.2 GiB`` (no ``.0``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    text = f"{value:.1f}".removesuffix(".0") if unit != "B" else str(int(value))
    return f"{text} {unit}"
