"""The retention rule for session directories: which ones a prune removes.

This is the single place the rule lives; the producer API (``SessionDir``) and
the dashboard's pruner both call it, so the same inputs always give the same
prune set, and the same set the vcti-session library would pick:

1. candidates are the direct children of the base directory that are real
   directories (symlinks never count) and whose name starts with the prefix;
2. they are ordered by the directory's own ``st_mtime``, oldest first (ties
   broken by name so the order is deterministic);
3. the COUNT rule applies first: with more than ``max_dirs`` candidates, the
   oldest surplus is selected;
4. the AGE rule then applies to the remaining ones: each older than
   ``max_age_days`` (strictly) is selected.

A negative limit (``-1`` by convention) disables that rule.  The functions are
pure apart from the directory scan in :func:`list_candidates`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.model import PruneReason

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A directory the retention rule may select."""

    path: Path
    name: str
    mtime: float  # the directory's own st_mtime (not its newest file)


def list_candidates(base: Path, prefix: str) -> list[Candidate]:
    """The prefixed, non-symlink child directories of ``base``, in scan order.

    A missing ``base`` gives an empty list; an entry that vanishes while being
    scanned is skipped.  Other errors opening ``base`` propagate.
    """
    found: list[Candidate] = []
    try:
        it = os.scandir(base)
    except FileNotFoundError:
        return found
    with it:
        for entry in it:
            if not entry.name.startswith(prefix):
                continue
            try:
                # follow_symlinks=False: a symlink to a directory is never a
                # candidate, so a prune can never reach outside ``base``
                if not entry.is_dir(follow_symlinks=False):
                    continue
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue  # removed (or made unreadable) while we scanned
            found.append(Candidate(Path(entry.path), entry.name, mtime))
    return found


def select_for_prune(
    candidates: Sequence[Candidate],
    max_dirs: int,
    max_age_days: float,
    now: float,
) -> list[tuple[Candidate, PruneReason]]:
    """The candidates the retention rule removes, oldest first, with the reason.

    ``max_dirs``: keep at most this many (negative: no count limit).
    ``max_age_days``: remove those older than this many days, measured from
    ``now`` (a POSIX timestamp) to the directory's mtime; exactly at the limit
    is kept (negative: no age limit).
    """
    ordered = sorted(candidates, key=lambda c: (c.mtime, c.name))
    selected: list[tuple[Candidate, PruneReason]] = []
    surplus = len(ordered) - max_dirs if max_dirs >= 0 else 0
    surplus = max(surplus, 0)
    selected.extend((c, PruneReason.COUNT) for c in ordered[:surplus])
    if max_age_days >= 0:
        limit = max_age_days * SECONDS_PER_DAY
        selected.extend((c, PruneReason.AGE) for c in ordered[surplus:] if now - c.mtime > limit)
    return selected
