"""Guards for anything that deletes inside a base directory (docs/architecture.md: safety)."""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from collections.abc import Mapping
from pathlib import Path

from core.errors import ActionFailed, BackendUnavailable, UnsafeOperation


def _norm(path: str) -> str:
    # POSIX lets "//" be a root of its own, and realpath keeps it: fold it
    return "/" + path.lstrip("/") if path.startswith("/") else path


def _homes(env: Mapping[str, str] | None) -> set[str]:
    """The home directory, both as written and as its real path, from $HOME
    (``env`` or the process environment) and from the account database."""
    found: set[str] = set()
    environ = os.environ if env is None else env
    spelled = [environ.get("HOME", "")]
    with contextlib.suppress(KeyError, OSError):
        spelled.append(pwd.getpwuid(os.getuid()).pw_dir)
    for home in spelled:
        if home and Path(home).is_absolute():
            found.add(_norm(os.path.abspath(home)))  # noqa: PTH100 - the spelling itself
            found.add(_norm(os.path.realpath(home)))
    return found


def unsafe_base(base: Path | str, env: Mapping[str, str] | None = None) -> str:
    """Why ``base`` must never be a base directory, or '' when it may be.

    Refused: an empty path, the filesystem root, the home directory, and any
    ancestor of the home directory, however they are reached (``..``, ``//``,
    a symlinked parent, ``$HOME`` itself a symlink): real paths are compared,
    not text.  ``base`` should already have ``~`` expanded.
    """
    text = os.fspath(base)
    if not text or text == ".":
        return "the base directory is empty; set `base` to a runs folder, e.g. ~/runs"
    real = _norm(os.path.realpath(text))
    shown = text if _norm(text) == real else f"{text} (really {real})"
    if real == "/" or _same_file(real, "/"):
        return f"{shown} is the filesystem root; point `base` at a runs folder, e.g. ~/runs"
    for home in _homes(env):
        if real == home or _same_file(real, home):
            return f"{shown} is the home directory; point `base` at a folder in it, e.g. ~/runs"
        # an ancestor by name, or the same directory reached another way (a
        # bind mount of /home elsewhere): compare files, not only text
        if home.startswith(real + "/") or any(_same_file(real, str(p)) for p in Path(home).parents):
            return (
                f"{shown} contains the home directory ({home}); "
                "point `base` at a folder of its own, e.g. ~/runs"
            )
    return ""


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).samefile(b)
    except OSError:
        return False  # one of them does not exist: not the same directory


def refuse_unsafe_base(base: Path | str, env: Mapping[str, str] | None = None) -> None:
    """Raise UnsafeOperation when :func:`unsafe_base` refuses ``base``."""
    why = unsafe_base(base, env)
    if why:
        raise UnsafeOperation(f"refusing base directory: {why}")


def check_base(base: Path) -> os.stat_result:
    """Refuse a base that is empty, ``/``, the home directory (or one of its
    ancestors), a symlink or not a directory.

    Returns the base's stat on success (its ``st_dev`` bounds every delete).
    """
    why = unsafe_base(base)
    if why:
        raise UnsafeOperation(f"refusing to prune: {why}")
    resolved = Path(os.path.abspath(base))  # noqa: PTH100 - no symlink resolution wanted
    try:
        st = os.lstat(resolved)
    except FileNotFoundError:
        raise ActionFailed(f"base directory {base} does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeOperation(
            f"refusing to prune through a symlink: {base} -> {resolved.readlink()}; "
            "set `base` to the real directory"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeOperation(f"base {base} is not a directory")
    return st


def mount_points_under(base: Path) -> list[Path]:
    """Mount points strictly inside ``base``, from /proc/self/mountinfo."""
    # mountinfo holds real paths: compare against the base's real path, so a
    # symlinked parent (e.g. /home -> /var/home) cannot hide a mount
    prefix = os.path.realpath(base).rstrip("/") + "/"
    found: list[Path] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:  # noqa: PTH123
            for line in f:
                fields = line.split()
                if len(fields) < 5:
                    continue
                point = _unescape(fields[4])
                if point.startswith(prefix):
                    found.append(Path(point))
    except OSError:
        pass  # not Linux: the per-directory st_dev check during removal still guards
    return found


def _unescape(s: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    return (
        s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
    )


class RemovalBlocked(ActionFailed):
    """A tree could only be partly removed (or not at all): names the path
    that blocked it.  ``removed`` says whether anything went before it."""

    def __init__(self, message: str, *, removed: bool) -> None:
        super().__init__(message)
        self.removed = removed


def remove_tree(path: Path, base_st: os.stat_result) -> None:
    """Delete ``path``, a direct child of the base whose stat is ``base_st``,
    without following symlinks or leaving the base's filesystem.

    The base is opened without following links and must still be the same
    directory (device and inode) that was checked, so a base swapped for a
    symlink after the check is refused.  Everything below works through
    directory file descriptors, so a symlink swapped in mid-way is unlinked,
    never followed.  A subdirectory on another filesystem is never entered.
    Anything that stops the removal raises RemovalBlocked naming the path
    (the entry is reported as failed, never as done).
    """
    try:
        parent_fd = os.open(path.parent, _DIR_FLAGS)
    except OSError as e:
        raise RemovalBlocked(
            f"{path.parent} cannot be opened as the directory that was checked "
            f"({e.strerror or e}: swapped for a symlink?); left alone",
            removed=False,
        ) from e
    try:
        st = os.fstat(parent_fd)
        if (st.st_dev, st.st_ino) != (base_st.st_dev, base_st.st_ino):
            raise RemovalBlocked(
                f"{path.parent} changed since it was checked; left alone", removed=False
            )
        progress = [0]
        try:
            _remove_entry_dir(parent_fd, path.name, base_st.st_dev, path, progress)
        except _Blocked as b:
            raise RemovalBlocked(b.message, removed=progress[0] > 0) from b.__cause__
    finally:
        os.close(parent_fd)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Blocked(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _remove_entry_dir(
    parent_fd: int, name: str, dev: int, shown: Path, progress: list[int]
) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        return  # removed by someone else meanwhile: nothing left to do here
    except OSError as e:
        raise _Blocked(f"{shown}: {e.strerror or e}") from e
    try:
        if os.fstat(fd).st_dev != dev:
            raise _Blocked(f"{shown} is on another filesystem (a mount point); left in place")
        try:
            with os.scandir(fd) as it:
                entries = list(it)
        except OSError as e:
            raise _Blocked(f"{shown}: {e.strerror or e}") from e
        # files before subdirectories: what a blocked subdirectory stops is
        # then only itself, and "partly removed" is decided consistently
        entries.sort(key=lambda e: e.is_dir(follow_symlinks=False))
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _remove_entry_dir(fd, entry.name, dev, shown / entry.name, progress)
                continue
            try:
                os.unlink(entry.name, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as e:
                raise _Blocked(f"{shown / entry.name}: {e.strerror or e}") from e
            progress[0] += 1
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return
    except OSError as e:
        raise _Blocked(f"{shown}: {e.strerror or e}") from e
    progress[0] += 1


def open_base(base: Path, *, create: bool, backend: str) -> os.stat_result:
    """Make sure a backend's base folder is there (creating it when ``create``),
    or raise BackendUnavailable saying why and what to do; returns its stat."""
    if create and not os.path.lexists(base):
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BackendUnavailable(f"cannot create base directory {base}: {e.strerror}") from e
    try:
        st = base.stat()
    except FileNotFoundError:
        raise BackendUnavailable(
            f"base directory {base} does not exist; create it, "
            f"or set create_base: true for backend '{backend}'"
        ) from None
    except PermissionError as e:
        raise BackendUnavailable(
            f"cannot reach base directory {base}: permission denied on a parent folder; "
            "check the folders' modes or run as their owner"
        ) from e
    except OSError as e:
        raise BackendUnavailable(f"cannot reach base directory {base}: {e.strerror}") from e
    if not stat.S_ISDIR(st.st_mode):
        raise BackendUnavailable(f"base {base} is not a directory; fix `base` in config")
    return st
