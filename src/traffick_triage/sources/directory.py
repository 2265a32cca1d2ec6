"""A folder (logical copy). Symlinks are recorded with their target and never
followed; files are opened read-only and without updating access times
where the system allows it."""

from __future__ import annotations

import os
import stat
from typing import IO, Any, Iterator

from .. import locator as loc
from ..timeutil import from_unix_seconds, iso_or_none
from . import tree_walk
from .base import DIRECTORY, FILE, OTHER, SYMLINK, Entry, EvidenceSource

_NOATIME = getattr(os, "O_NOATIME", 0)


def open_readonly(path: str | bytes) -> IO[bytes]:
    """Open a host evidence file read-only; O_NOATIME keeps even the access
    time untouched where we own the file (the kernel refuses it otherwise)."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags | _NOATIME)
    except PermissionError:
        descriptor = os.open(path, flags)
    return os.fdopen(descriptor, "rb")


def _list_noatime(directory: bytes) -> list[bytes]:
    """A folder's names without updating its access time: listing a folder
    through its path sets the folder's atime (relatime), which would change
    the evidence and make the next scan of it record different times."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        descriptor = os.open(directory, flags | _NOATIME)
    except PermissionError:
        descriptor = os.open(directory, flags)
    try:
        return [os.fsencode(name) for name in os.listdir(descriptor)]
    finally:
        os.close(descriptor)


def _times(info: os.stat_result) -> dict[str, str | None]:
    times = {
        "modified": iso_or_none(from_unix_seconds(info.st_mtime_ns / 1e9)),
        "accessed": iso_or_none(from_unix_seconds(info.st_atime_ns / 1e9)),
        "changed": iso_or_none(from_unix_seconds(info.st_ctime_ns / 1e9)),
    }
    birth = getattr(info, "st_birthtime", None)
    if birth is not None:
        times["created"] = iso_or_none(from_unix_seconds(birth))
    return times


class DirectorySource(EvidenceSource):
    kind = "directory"

    def __init__(self, path: str, display_name: str) -> None:
        super().__init__(path, display_name)
        self._root = os.fsencode(os.path.abspath(path))

    def entries(self) -> Iterator[Entry]:
        # Iterative (tree_walk): a folder thousands of levels deep is walked
        # whole; a bind mount of an ancestor inside the folder is a loop (the
        # same device and inode), listed and not descended.
        try:
            root = os.stat(self._root)
            root_identity: tuple[int, int] | None = (root.st_dev, root.st_ino)
        except OSError:
            root_identity = None
        yield from tree_walk.walk(b"", root_identity, self._list, self._visit,
                                  lambda message, path: self.warn(message, path))

    def _list(self, relative: bytes, inner: str) -> list[tuple[bytes, bytes]] | None:
        directory = os.path.join(self._root, relative) if relative else self._root
        try:
            names = sorted(_list_noatime(directory))
        except OSError as error:
            self.warn(f"folder not readable: {error.strerror}", "/" + loc.decode_name(relative))
            return None
        return [(relative, name) for name in names]

    def _visit(self, child_of: tuple[bytes, bytes], parent: str) -> tree_walk.Visit | None:
        relative, raw_name = child_of
        child = os.path.join(relative, raw_name) if relative else raw_name
        host = os.path.join(self._root, child)
        inner = "/" + loc.decode_name(child)
        try:
            info = os.lstat(host)
        except OSError as error:
            self.warn(f"cannot stat: {error.strerror}", inner)
            return None
        entry = Entry(segments=(inner,), path=inner, kind=OTHER, size=0,
                      inode=str(info.st_ino), times=_times(info),
                      address={"relpath": os.fsdecode(child)})
        if stat.S_ISLNK(info.st_mode):
            entry.kind = SYMLINK
            entry.link_target = loc.decode_name(os.readlink(host))
        elif stat.S_ISDIR(info.st_mode):
            entry.kind = DIRECTORY
            return tree_walk.Visit([entry], tree_walk.Subdirectory(child, (info.st_dev, info.st_ino), inner))
        elif stat.S_ISREG(info.st_mode):
            entry.kind = FILE
            entry.size = info.st_size
            entry.opener = (lambda target=host: open_readonly(target))
        else:
            entry.notes.append("special file (device, FIFO or socket): not read")
            self.warn("special file (device, FIFO or socket): not read", inner)
        return tree_walk.Visit([entry])

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        relative = os.fsencode(address["relpath"])
        target = os.path.normpath(os.path.join(self._root, relative))
        if os.path.commonpath([target, self._root]) != self._root:
            raise ValueError("address outside the evidence folder")
        return open_readonly(target)

    def content_bytes_estimate(self) -> int | None:
        total, pending = 0, [self._root]
        while pending:
            try:
                with os.scandir(pending.pop()) as listing:
                    for item in listing:
                        if item.is_dir(follow_symlinks=False):
                            pending.append(item.path)
                        elif item.is_file(follow_symlinks=False):
                            total += item.stat(follow_symlinks=False).st_size
            except OSError:
                continue      # the walk itself reports unreadable folders
        return total

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        relative = os.path.join(os.path.dirname(entry.address["relpath"]), name)
        host = os.path.join(os.fsdecode(self._root), relative)
        if "/" in name or not os.path.isfile(host) or os.path.islink(host):
            return None
        inner = "/" + relative
        return Entry(segments=(inner,), path=inner, kind=FILE, size=os.path.getsize(host),
                     address={"relpath": relative}, opener=lambda: open_readonly(host))

    def host_files(self) -> list[str]:
        # A folder's host files are its inventory's files: the scan takes them
        # (with their hashes) from the case store rather than keeping a list here.
        return []

    def describe(self) -> dict[str, Any]:
        return {"format": self.kind}
