"""One directory walk for every source that has directories (a folder, a
file system through TSK, a file system through dfVFS): iterative, so no
depth of nesting reaches Python's recursion limit, and each directory walked
once per volume, so a directory graph cannot multiply its paths.

Evidence decides the shape of the tree, and a file system is not bound to be
a tree: a directory may be hard-linked under two names (ext allows it to
debugfs, HFS+ and crafted images have it), an index may point back to an
ancestor (a loop), and nesting may go thousands of levels deep. Walking
every name of a 24-level chain of doubly linked directories is 2^24 paths
from a few kilobytes. Here a directory is identified by what the file system
names it (inode, MFT entry; device and inode on the host) and descended the
first time only; every other name for it is listed as an entry with a note
and a warning naming the path it was walked under. Depth and path length are
bounded too, with a warning: past them a hostile tree costs memory and
report space quadratic in its depth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Iterator

from .base import Entry

MAX_DEPTH = 4096           # levels below the root a walk descends
MAX_PATH_CHARS = 32767     # Windows' own limit on a path; no real system nests beyond it


@dataclass(frozen=True)
class Subdirectory:
    """A directory the walk may descend into: ``handle`` is what the source's
    ``list_children`` opens, ``identity`` the file system's own name for it
    (None when it gives none: such a directory is never taken for another)."""

    handle: Any
    identity: Hashable | None
    path: str


@dataclass
class WalkRecord:
    """What a walk found so far that its caller may act on: directory names
    not walked because the directory was walked under another name."""

    hard_links: int = 0


ORPHAN_SEARCH_SKIPPED = (
    "orphan files not listed: this volume has hard-linked directories (a directory graph), and The "
    "Sleuth Kit's orphan search walks every path through them, which a graph makes exponential")


@dataclass(frozen=True)
class Visit:
    """What one name in a directory gives: its entries (a directory's own
    entry first) and, for a directory, where to descend."""

    entries: list[Entry]
    subdirectory: Subdirectory | None = None


def walk(root: Any, root_identity: Hashable | None,
         list_children: Callable[[Any, str], Iterable[Any] | None],
         visit: Callable[[Any, str], Visit | None],
         warn: Callable[[str, str], None], record: WalkRecord | None = None) -> Iterator[Entry]:
    """Entries in pre-order (a directory's entry, then everything under it,
    then its next sibling), as the recursive walks gave them.

    ``list_children(handle, path)`` gives a directory's children (None when
    it is not readable: the source warns itself); ``visit(child, parent)``
    makes the child's entries; ``warn(message, path)`` records a warning;
    ``record`` (when given) counts what the caller may need to know.

    (The directory each Subdirectory names is opened by list_children, so a
    name that is not walked is never opened as a directory.)"""
    record = record if record is not None else WalkRecord()
    first_path: dict[Hashable, str] = {}
    if root_identity is not None:
        first_path[root_identity] = "/"
    on_stack: set[Hashable] = {root_identity} if root_identity is not None else set()
    stack: list[tuple[Iterator[Any], str, Hashable | None]] = []
    children = list_children(root, "")
    if children is not None:
        stack.append((iter(children), "", root_identity))
    while stack:
        listing, parent, parent_identity = stack[-1]
        child = next(listing, _END)
        if child is _END:
            stack.pop()
            on_stack.discard(parent_identity)
            continue
        found = visit(child, parent)
        if found is None:
            continue
        sub = found.subdirectory
        refusal = None if sub is None else _refusal(sub, len(stack), first_path, on_stack)
        if refusal is not None and found.entries:
            found.entries[0].notes.append(refusal)
        yield from found.entries
        if sub is None:
            continue
        if refusal is not None:
            if refusal.startswith("directory hard link"):
                record.hard_links += 1
            warn(refusal, sub.path)
            continue
        if sub.identity is not None:
            first_path[sub.identity] = sub.path
            on_stack.add(sub.identity)
        grandchildren = list_children(sub.handle, sub.path)
        if grandchildren is not None:
            stack.append((iter(grandchildren), sub.path, sub.identity))
        else:
            on_stack.discard(sub.identity)


_END = object()


def _refusal(sub: Subdirectory, depth: int, first_path: dict[Hashable, str],
             on_stack: set[Hashable]) -> str | None:
    """Why the walk does not descend into ``sub`` (``depth`` levels below the root), or None."""
    if sub.identity is not None and sub.identity in first_path:
        first = first_path[sub.identity]
        if sub.identity in on_stack:
            return (f"directory loop: this is the directory {first} ({_shown(sub.identity)}) that contains it; "
                    "not descended")
        return (f"directory hard link: the same directory ({_shown(sub.identity)}) as {first}, "
                "already walked there; listed as a link, not walked again")
    if depth >= MAX_DEPTH:
        return f"directory nested deeper than {MAX_DEPTH} levels: not descended, its contents are not listed"
    if len(sub.path) > MAX_PATH_CHARS:
        return (f"directory path longer than {MAX_PATH_CHARS} characters: not descended, "
                "its contents are not listed")
    return None


def _shown(identity: Hashable) -> str:
    if isinstance(identity, tuple) and len(identity) == 2 and all(isinstance(p, int) for p in identity):
        return f"inode {identity[1]} on device {identity[0]}"     # a host folder's (st_dev, st_ino)
    if isinstance(identity, int):
        return f"inode {identity}"
    return str(identity)
