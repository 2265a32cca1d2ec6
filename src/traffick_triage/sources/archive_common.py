"""What the ZIP and TAR sources share: member-name checks, the bomb limits
(member size, compression ratio, one expansion budget per archive) and the
stream that enforces them while a member is read."""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from typing import IO, Any, Callable

from .base import SYMLINK, Entry, EvidenceSource
from .directory import open_readonly

# Limits against archive bombs (configurable through scan options).
DEFAULT_MAX_MEMBER_BYTES = 64 << 30        # one member may expand to 64 GiB
DEFAULT_MAX_RATIO = 1000                   # ...but not more than 1000x its compressed size
RATIO_FLOOR_BYTES = 100 << 20              # small members may compress as well as they like
EXPANSION_FLOOR_BYTES = 1 << 30            # every archive may expand to 1 GiB in all, and beyond
                                           # that to max_ratio times its own size
MAX_NAME_BYTES = 64 << 10                  # a member name or link target kept from evidence

_DATA_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError, NotImplementedError)
try:
    import bz2

    _DATA_ERRORS = _DATA_ERRORS + (getattr(bz2, "BZ2Error", OSError),)
except ImportError:      # pragma: no cover - bz2 is in every CPython build we support
    pass


def unsafe_member_name(name: str) -> str | None:
    """Why a member name would escape an extraction folder, or None."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute member name"
    if ".." in normalised.split("/"):
        return "path traversal (../) in member name"
    return None


def size_text(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} bytes"


class ExpansionLimits:
    """The per-archive limits: a member size cap, a ratio cap for members
    over RATIO_FLOOR_BYTES, and one budget for everything the archive expands
    to (members read, and compressed data passed over to reach later ones)."""

    def __init__(self, archive_size: int, options: dict[str, Any]) -> None:
        self.max_member_bytes = int(options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES))
        self.max_ratio = float(options.get("max_ratio", DEFAULT_MAX_RATIO))
        fixed = options.get("max_expansion_bytes")
        self.budget = int(fixed) if fixed is not None else max(EXPANSION_FLOOR_BYTES,
                                                               int(self.max_ratio * archive_size))

    def ratio_reason(self, size: int, compressed: int, exact: bool = True) -> str | None:
        ratio = size / max(1, compressed)
        if size > RATIO_FLOOR_BYTES and ratio > self.max_ratio:
            how = "" if exact else "at least "
            return (f"compression ratio {how}{ratio:.0f}:1 is over the limit ({self.max_ratio:g}:1); "
                    "not read (archive bomb?)")
        return None

    def member_reason(self, size: int) -> str | None:
        if size > self.max_member_bytes:
            return (f"declared size {size} bytes is over the member limit "
                    f"({self.max_member_bytes}); not read (archive bomb?)")
        return None

    def budget_reason(self, spent: int, size: int) -> str | None:
        if spent + size > self.budget:
            return (f"size {size} bytes would take the archive's expansion past its budget of "
                    f"{self.budget} bytes ({size_text(self.budget)}: max of 1 GiB and {self.max_ratio:g}x "
                    f"the archive's size; {size_text(spent)} already used); not read (archive bomb?)")
        return None


class BoundedReader(io.RawIOBase):
    """Stops a decompressing stream at ``limit`` bytes with an error, so a
    member that lies about its size cannot expand without bound; with
    ``compressed_position`` it also stops a member whose measured compression
    ratio goes over ``limits``' cap."""

    def __init__(self, stream: IO[bytes], limit: int, limits: ExpansionLimits | None = None,
                 compressed_position: Callable[[], int] | None = None) -> None:
        self._stream = stream
        self._left = limit
        self._limits = limits
        self._position = compressed_position
        self._start = compressed_position() if compressed_position else 0
        self._produced = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        try:
            data = self._stream.read(wanted)
        except _DATA_ERRORS as error:
            # Damaged member data (bad CRC, broken deflate stream, cut short):
            # one unreadable member, reported as such, never the end of the scan.
            raise OSError(f"member data corrupt: {error}") from error
        self._left -= len(data)
        if self._left < 0:
            raise OSError("decompression limit exceeded (archive bomb?)")
        self._produced += len(data)
        if self._limits is not None and self._position is not None and self._produced > RATIO_FLOOR_BYTES:
            # The decompressor reads ahead up to 64 KiB: counted in the member's favour.
            reason = self._limits.ratio_reason(self._produced, self._position() - self._start + (64 << 10))
            if reason:
                raise OSError(reason.replace("not read", f"reading stopped after {self._produced} bytes"))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class ArchiveSource(EvidenceSource):
    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name)
        self.options = options or {}
        with open_readonly(path) as stream:
            self.archive_size = stream.seek(0, io.SEEK_END)
        self.limits = ExpansionLimits(self.archive_size, self.options)
        self.max_member_bytes = self.limits.max_member_bytes

    def _flag_name(self, entry: Entry) -> None:
        problem = unsafe_member_name(entry.path)
        if problem:
            entry.notes.append(problem + ": recorded, not followed")
            self.warn(problem + "; recorded, not followed", *entry.segments)
        # A link whose target leaves the archive would write outside an
        # extraction folder (or read the examiner's own files) if followed.
        target_problem = unsafe_member_name(entry.link_target) if entry.link_target else None
        if target_problem:
            kind = "symlink" if entry.kind == SYMLINK else "hard link"
            message = f"{kind} target leaves the archive ({target_problem.replace('member name', 'target')})"
            entry.notes.append(message + ": recorded, not followed")
            self.warn(message + "; recorded, not followed", *entry.segments)

    def _refuse(self, entry: Entry, reason: str) -> None:
        entry.notes.append(reason)
        self.warn(reason, *entry.segments)

    # The opener below opens a handle of its own: the archive's hashes can be
    # taken in a thread while the walk reads its members.
    hash_beside_walk = True

    def evidence_streams(self):
        return [("archive", lambda: open_readonly(self.path))]

    def media_host_files(self) -> list[str]:
        """The archive's bytes are its file's: one read hashes both."""
        return [self.path]
