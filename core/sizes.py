"""Byte sizes as people write and read them: ``parse_size`` and ``format_size``.

:func:`format_size` is the one byte formatter of sesstui (core, CLI and
dashboard); it is built on ``humanize.naturalsize`` (binary units), imported
when first used so that ``import core`` stays cheap.

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
example.  Headless: the standard library, and humanize when formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


_TIB = 1024**4
_naturalsize: Callable[..., str] | None = None


def format_size(n: int, *, tenths: bool = False) -> str:
    """Bytes for people, in powers of 1024 as ``du -h`` counts them (and
    :func:`parse_size` reads them back):

    * ``512`` -> ``512 B``; ``104857600`` -> ``100 MiB``; ``1288490188`` ->
      ``1.2 GiB``: one decimal, a ``.0`` dropped (prose, notices);
    * with ``tenths``, always one decimal: ``4.0 KiB``, ``1.2 GiB``, so sizes
      in a column line up (tables, inspection, plans);
    * a size that rounds up to 1024 of a unit shows in the next one
      (``1048575`` -> ``1 MiB``, not ``1024 KiB``); TiB is the largest unit
      (``5120 TiB``).
    """
    global _naturalsize  # noqa: PLW0603 - humanize is imported on first use only
    if -1024 < n < 1024:
        return f"{n} B"  # humanize writes "Bytes"
    if abs(n) >= 1023.95 * _TIB:  # what humanize would round up to PiB
        text = f"{n / _TIB:.1f} TiB"
    else:
        if _naturalsize is None:
            from humanize import naturalsize

            _naturalsize = naturalsize
        text = _naturalsize(n, binary=True, format="%.1f")
    return text if tenths else text.replace(".0 ", " ")
