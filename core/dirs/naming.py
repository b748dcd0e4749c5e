"""Session directory names: ``{prefix}{timestamp}_{pid}_{uuid4hex}``.

Shared by the producer API (which makes names) and the observer (which reads
them back).  The timestamp format is configurable, so parsing works from the
right: the last two ``_`` fields are the pid and the 32-hex uuid.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

DEFAULT_PREFIX = "session_"
DEFAULT_TIMESTAMP_FORMAT = "%Y-%m-%d-%H-%M-%S"
# the lock file every pruner of a base takes (dashboard and producer alike);
# its name does not match the session pattern, so it is never a candidate
PRUNE_LOCK_NAME = ".sesstui-prune.lock"

_TAIL = re.compile(r"_(?P<pid>\d{1,10})_(?P<uuid>[0-9a-f]{32})$")


@dataclass(frozen=True, slots=True)
class ParsedName:
    """The parts of a session directory name."""

    prefix: str
    timestamp: str
    pid: int
    uuid: str
    created: datetime | None  # local time, naive; None when the stamp does not parse


def make_name(
    prefix: str = DEFAULT_PREFIX,
    timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT,
    *,
    now: datetime | None = None,
    pid: int | None = None,
) -> str:
    """A fresh, unique session directory name."""
    stamp = (now or datetime.now()).strftime(timestamp_format)
    return f"{prefix}{stamp}_{pid if pid is not None else os.getpid()}_{uuid.uuid4().hex}"


def parse_name(
    name: str,
    prefix: str = DEFAULT_PREFIX,
    timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT,
) -> ParsedName | None:
    """Split a directory name; None when it does not follow the pattern."""
    if not name.startswith(prefix):
        return None
    m = _TAIL.search(name, len(prefix))
    if m is None:
        return None
    stamp = name[len(prefix) : m.start()]
    if not stamp:
        return None
    try:
        created: datetime | None = datetime.strptime(stamp, timestamp_format)
    except ValueError:
        created = None
    return ParsedName(prefix, stamp, int(m["pid"]), m["uuid"], created)


_ZONE_STEP = 900.0  # time zones differ by whole quarter hours
_MAX_ZONE_GAP = 26 * 3600.0  # UTC-12 .. UTC+14
_SLACK = 2.0  # the stamp has whole seconds; directory times are a little later


def created_time(parsed: ParsedName, mtime: float) -> float:
    """When a session directory was made (POSIX time), from its name's stamp,
    checked against the directory's own mtime.

    The stamp is the producer's local time without an offset, and the producer
    may run in another time zone (a container in UTC, a remote host) than the
    reader.  A directory cannot be made after it was last modified, so:

    * a stamp later than the mtime is moved back by the smallest whole
      number of quarter hours (at most 26 h) that puts it at or before the
      mtime; further ahead it is not a zone, and the mtime is used;
    * a stamp earlier than the mtime by a whole number of quarter hours (to
      within 2 s, at most 26 h) is taken as that zone's stamp of a directory
      untouched since it was made, and moved forward by them.

    Any other stamp is trusted (a session made earlier and written since).
    Without a parsable stamp, the mtime.
    """
    if parsed.created is None:
        return mtime
    stamp = parsed.created.timestamp()
    ahead = stamp - mtime
    if ahead > _SLACK:
        steps = math.ceil((ahead - _SLACK) / _ZONE_STEP)
        shifted = stamp - steps * _ZONE_STEP
        return shifted if steps * _ZONE_STEP <= _MAX_ZONE_GAP else mtime
    behind = -ahead
    steps = round(behind / _ZONE_STEP)
    if 0 < steps * _ZONE_STEP <= _MAX_ZONE_GAP and abs(behind - steps * _ZONE_STEP) <= _SLACK:
        return stamp + steps * _ZONE_STEP
    return stamp


def pid_alive(pid: int, *, not_after: float | None = None) -> bool:
    """True when ``pid`` is a live process (started no later than ``not_after``,
    a POSIX timestamp, when given, so a recycled pid does not count)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    if not_after is None:
        return True
    started = process_start_time(pid)
    # a process that began after the directory was made cannot be its creator;
    # allow 2 s of slack for clock granularity
    return started is None or started <= not_after + 2.0


_boot_time: float | None = None
_clk_tck: int | None = None


def process_start_time(pid: int) -> float | None:
    """The POSIX start time of ``pid`` from /proc, or None where unknown."""
    global _boot_time, _clk_tck  # noqa: PLW0603 - cached once per process
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # noqa: PTH123 - hot path
            raw = f.read()
        if _boot_time is None:
            with open("/proc/stat", "rb") as f:  # noqa: PTH123
                for line in f:
                    if line.startswith(b"btime "):
                        _boot_time = float(line.split()[1])
                        break
            _clk_tck = os.sysconf("SC_CLK_TCK")
    except OSError:
        return None
    if _boot_time is None or not _clk_tck:
        return None
    # field 22 (starttime) counts from after the ')' closing the comm field
    fields = raw[raw.rindex(b")") + 2 :].split()
    return _boot_time + int(fields[19]) / _clk_tck
