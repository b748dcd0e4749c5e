"""``key()``: how a schema declares one configuration key.

A schema is a ``msgspec.Struct``; each field a user may write carries
``Annotated[type, key(...)]``.  ``key`` is a ``msgspec.Meta``, so msgspec checks
its constraints (``gt``, ``ge``, ``min_length``) while converting, and the
reader (:mod:`core.config.schema`) takes the rest from ``extra``: the example
used in messages, whether the file must give the key, which session kinds it
applies to, and hooks for values that need the configuration's context.

Fields without ``key()`` metadata and fields named in a schema's ``derived``
class variable are not read from the file (``origin``, for example).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


def key(
    doc: str,
    example: str = "",
    *,
    required: bool | None = None,
    empty: bool = True,
    gt: float | None = None,
    ge: float | None = None,
    unlimited: bool = False,
    kinds: tuple[str, ...] = (),
    shape: type | None = None,
    read: Callable[..., object] | None = None,
    safe_base: bool = False,
    entries: str = "names to values",
) -> msgspec.Meta:
    """The metadata of one key.

    ``doc`` documents the key (``sesstui config keys``); ``example`` is what
    error messages suggest.  ``required``: the file must give it, even if the
    record has a default (None: when the record has no default; False: never,
    the caller fills it in).  ``empty=False``: text must not be empty.  ``gt`` /
    ``ge``: the lower bound of a number.  ``unlimited``: -1 is allowed too and
    means "no limit" (the reader checks the bound then, not msgspec).
    ``kinds``: the backend kinds a session key applies to.  ``shape``: a
    struct the file writes instead of the record's type (it has ``record()``
    and ``from_record()``).  ``read``: a hook ``(node, ctx) -> value`` for a
    value that needs more than its type.  ``safe_base``: a folder prune deletes
    in (``/``, the home directory and its ancestors are refused).  ``entries``:
    what a mapping maps, for messages ("labels to values").
    """
    extra: dict[str, object] = {
        "example": example,
        "required": required,
        "unlimited": unlimited,
        "kinds": kinds,
        "shape": shape,
        "read": read,
        "safe_base": safe_base,
        "entries": entries,
        "min": ge if ge is not None else gt,
        "exclusive": gt is not None,
    }
    bounds: dict[str, Any] = {}
    if not unlimited:  # with -1 allowed besides the bound, the reader checks it
        bounds = {k: v for k, v in (("gt", gt), ("ge", ge)) if v is not None}
    if not empty:
        bounds["min_length"] = 1
    meta: msgspec.Meta = msgspec.Meta(
        description=doc, examples=[example] if example else None, extra=extra, **bounds
    )
    return meta
