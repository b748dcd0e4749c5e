"""A session directory's tree with sizes, largest first, for ``inspect``.

Sizes are apparent bytes (``st_size``) summed over everything below, read with
``lstat``: symlinks are listed as links and never followed, and a directory on
another filesystem (a mount point) is listed but not entered.  Only the first
``max_depth`` levels are shown and ``max_entries`` children per directory; the
rest are summed into one "more" line so the totals still add up.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from core.inspection import size_text


@dataclass(slots=True)
class Node:
    name: str
    bytes: int = 0
    files: int = 0
    kind: str = "file"  # file | dir | link | mount | other | unreadable
    children: list[Node] = field(default_factory=list)


def _walk(path: str, name: str, st: os.stat_result, device: int) -> Node:
    if stat.S_ISLNK(st.st_mode):
        return Node(name, st.st_size, 1, "link")
    if not stat.S_ISDIR(st.st_mode):
        kind = "file" if stat.S_ISREG(st.st_mode) else "other"
        return Node(name, st.st_size, 1, kind)
    if st.st_dev != device:
        return Node(name, 0, 0, "mount")
    node = Node(name, 0, 0, "dir")
    try:
        entries = list(os.scandir(path))
    except OSError:
        node.kind = "unreadable"
        return node
    for entry in entries:
        try:
            child_st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # removed meanwhile
        child = _walk(entry.path, entry.name, child_st, device)
        node.bytes += child.bytes
        node.files += child.files
        node.children.append(child)
    node.children.sort(key=lambda c: (-c.bytes, c.name))
    return node


def scan_tree(path: str) -> Node:
    """The whole tree under ``path`` (a directory, not followed if a link)."""
    st = os.lstat(path)
    name = os.path.basename(path.rstrip("/"))  # noqa: PTH119 - str paths throughout
    return _walk(path, name, st, st.st_dev)


def tree_lines(root: Node, *, max_depth: int = 3, max_entries: int = 12) -> list[str]:
    """``size  name`` lines, largest first, indented per level; directories
    end in ``/`` with their file count."""
    out: list[str] = []

    def label(node: Node) -> str:
        if node.kind == "dir":
            return f"{node.name}/  ({node.files} file{'s' if node.files != 1 else ''})"
        if node.kind == "link":
            return f"{node.name} (symlink, not followed)"
        if node.kind == "mount":
            return f"{node.name}/ (another filesystem, not entered)"
        if node.kind == "unreadable":
            return f"{node.name}/ (unreadable)"
        return node.name

    def add(node: Node, depth: int) -> None:
        shown = node.children[:max_entries]
        for child in shown:
            out.append(f"{size_text(child.bytes):>10}  {'  ' * depth}{label(child)}")
            if child.kind == "dir" and depth + 1 < max_depth:
                add(child, depth + 1)
        rest = node.children[max_entries:]
        if rest:
            total = sum(c.bytes for c in rest)
            out.append(f"{size_text(total):>10}  {'  ' * depth}… {len(rest)} more")

    add(root, 0)
    return out
