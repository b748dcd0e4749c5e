"""Guards for anything that deletes inside a base directory (design.md §5)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import ActionFailed, BackendUnavailable, UnsafeOperation


def check_base(base: Path) -> os.stat_result:
    """Refuse a base that is empty, ``/``, the home directory or a symlink.

    Returns the base's stat on success (its ``st_dev`` bounds every delete).
    """
    text = str(base)
    if not text or text == ".":
        raise UnsafeOperation(
            "refusing to prune: the base directory is empty; set `base` in config"
        )
    resolved = Path(os.path.abspath(base))  # noqa: PTH100 - no symlink resolution wanted
    if resolved == Path(resolved.anchor):
        raise UnsafeOperation(
            f"refusing to prune the filesystem root ({base}); point `base` at a runs folder"
        )
    home = Path(os.path.expanduser("~")).absolute()  # noqa: PTH111
    if resolved == home:
        raise UnsafeOperation(
            f"refusing to prune the home directory ({base}); point `base` at a runs folder"
        )
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


def remove_tree(path: Path, base_st: os.stat_result) -> None:
    """Delete ``path``, a direct child of the base whose stat is ``base_st``,
    without following symlinks or leaving the base's filesystem.

    The base is opened without following links and must still be the same
    directory (device and inode) that was checked, so a base swapped for a
    symlink after the check is refused.  Everything below works through
    directory file descriptors, so a symlink swapped in mid-way is unlinked,
    never followed.  A subdirectory on another filesystem stops the removal
    with ActionFailed (the entry is reported as failed, never as done).
    """
    parent_fd = os.open(path.parent, _DIR_FLAGS)
    try:
        st = os.fstat(parent_fd)
        if (st.st_dev, st.st_ino) != (base_st.st_dev, base_st.st_ino):
            raise ActionFailed(f"{path.parent} changed since it was checked; left alone")
        _remove_entry_dir(parent_fd, path.name, base_st.st_dev, path)
    finally:
        os.close(parent_fd)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_entry_dir(parent_fd: int, name: str, dev: int, shown: Path) -> None:
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    try:
        if os.fstat(fd).st_dev != dev:
            raise ActionFailed(f"{shown} is on another filesystem (a mount point); left in place")
        with os.scandir(fd) as it:
            entries = list(it)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _remove_entry_dir(fd, entry.name, dev, shown / entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


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
