"""Files an evidence item refers to (a backup manifest's stored names, a VMDK
descriptor's extents, the next segment of a split image) are named by the
evidence, so they are hostile: a name may climb out with ``../``, be
absolute, or be a FIFO that blocks the first read for ever, a device that
never ends, or a symlink to the examiner's own files.

``confined_file`` is the one check every such reference passes before it is
opened: the name resolves, by real path (symlinks followed), inside the
folders the item may use, and what it resolves to is a regular file.
``open_confined`` opens with O_NONBLOCK (a FIFO swapped in after the check
cannot block the open) and checks the descriptor again with fstat."""

from __future__ import annotations

import os
import stat
from typing import IO, Iterable

_NOATIME = getattr(os, "O_NOATIME", 0)


class ConfinementError(ValueError):
    """A reference from evidence that leaves its item or is not a regular file."""


def _inside(real: str, roots: Iterable[str]) -> bool:
    for root in roots:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def confined_file(name: str, folder: str, roots: Iterable[str] | None = None) -> str:
    """The host path of ``name`` (relative to ``folder``, as the evidence gives
    it), checked: no absolute name, no ``..`` part, real path inside ``roots``
    (default: ``folder``), a regular file. Raises ConfinementError naming it."""
    roots = [folder] if roots is None else list(roots)
    shown = name if len(name) <= 200 else name[:200] + "..."
    if not name or "\x00" in name:
        raise ConfinementError(f"empty or NUL-bearing reference {shown!r}")
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ConfinementError(f"absolute reference {shown!r} leaves the evidence item: not followed")
    if ".." in parts:
        raise ConfinementError(f"reference {shown!r} climbs out with '..': not followed")
    host = os.path.join(folder, *[part for part in parts if part not in ("", ".")])
    real = os.path.realpath(host)
    if not _inside(real, roots):
        raise ConfinementError(f"reference {shown!r} resolves outside the evidence item (to a link target): "
                               "not followed")
    try:
        info = os.stat(real)
    except OSError as error:
        raise ConfinementError(f"reference {shown!r} not readable: {error.strerror}") from error
    if not stat.S_ISREG(info.st_mode):
        raise ConfinementError(f"reference {shown!r} is not a regular file ({_kind(info.st_mode)}): not opened")
    return host


def regular_file(path: str) -> bool:
    """True for a regular file (following symlinks); never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def open_confined(path: str) -> IO[bytes]:
    """Open a checked host file read-only without blocking, and refuse it if
    what was opened is not a regular file (it changed since the check)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags | _NOATIME)
    except PermissionError:
        descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ConfinementError(f"{os.path.basename(path)!r} is not a regular file ({_kind(mode)}): not read")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"
