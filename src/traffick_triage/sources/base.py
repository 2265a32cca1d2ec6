"""What every evidence source gives the engine: a walk of entries, each with
its locator, metadata and a way to read its bytes again later."""

from __future__ import annotations

import abc
import io
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

from .. import locator as loc

READ_CHUNK = 1 << 20

FILE = "file"
DIRECTORY = "dir"
SYMLINK = "symlink"
OTHER = "other"      # devices, sockets, FIFOs, hard-link records...


class EvidenceError(Exception):
    """Evidence that cannot be opened at all (one clear line for the user)."""


@dataclass
class Entry:
    """One item found in evidence. ``segments`` are raw (unescaped) names of
    the chain below the evidence item; ``address`` is the source's private,
    JSON-serialisable way to find the bytes again."""

    segments: tuple[str, ...]
    path: str
    kind: str
    size: int
    allocated: bool = True
    inode: str | None = None
    times: dict[str, str | None] = field(default_factory=dict)
    address: dict[str, Any] = field(default_factory=dict)
    link_target: str | None = None
    notes: list[str] = field(default_factory=list)
    opener: Callable[[], IO[bytes]] | None = None
    # How the item was found (expansion.api.ROUTES); empty means "live" for an
    # allocated entry and "deleted entry" for an unallocated one.
    route: str = ""
    # Read through ``opener`` in the scanning process only: opening it again
    # from its address would decompress all that comes before it (a member of
    # a TAR.GZ or a solid 7z found inside the evidence).
    walk_only_opener: bool = False

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CarvableVolume:
    """A volume of a disk whose unallocated space a carver may search:
    ``segments`` name it below the evidence item (("p1",), or () for an
    unpartitioned image), ``offset`` and ``length`` place it in the bytes
    ``EvidenceSource.read_media`` gives, ``file_system`` is the name the
    source gives its file system ("FAT32", "NTFS", "ext4"...) or None."""

    segments: tuple[str, ...]
    offset: int
    length: int
    file_system: str | None


MIN_UNPARTITIONED_BYTES = 4096


def with_unpartitioned_space(volumes: list[CarvableVolume], media_size: int) -> list[CarvableVolume]:
    """``volumes`` (partitions) and, after them, each range of the disk that
    no partition covers (before the first, between two, after the last: a
    deleted partition, a gap left by a resize), named by its byte range, so
    that a carver searches the whole disk as PhotoRec or foremost would."""
    if not volumes or not any(v.segments for v in volumes):
        return volumes
    gaps, position = [], 0
    for volume in sorted(volumes, key=lambda v: (v.offset, v.length)):
        if volume.offset - position >= MIN_UNPARTITIONED_BYTES:
            gaps.append((position, volume.offset))
        position = max(position, volume.offset + volume.length)
    if media_size - position >= MIN_UNPARTITIONED_BYTES:
        gaps.append((position, media_size))
    return volumes + [CarvableVolume((f"unpartitioned {start}-{end}",), start, end - start, None)
                      for start, end in gaps]


@dataclass
class SourceWarning:
    locator: str
    message: str


class EvidenceSource(abc.ABC):
    """An opened evidence item. ``display_name`` is the first locator segment."""

    kind: str = "unknown"

    def __init__(self, path: str, display_name: str) -> None:
        self.path = path
        self.display_name = display_name
        self.warnings: list[SourceWarning] = []

    def locator(self, *segments: str) -> str:
        return loc.join([self.display_name, *segments])

    def warn(self, message: str, *segments: str) -> None:
        self.warnings.append(SourceWarning(self.locator(*segments), message))

    def take_warnings(self) -> list[SourceWarning]:
        taken, self.warnings = self.warnings, []
        return taken

    @abc.abstractmethod
    def entries(self) -> Iterator[Entry]:
        """Walk the evidence once, in a stable order."""

    @abc.abstractmethod
    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        """Bytes of an entry found earlier, from its stored address."""

    def content_bytes_estimate(self) -> int | None:
        """Bytes the walk will read, when cheap to know beforehand (for the
        progress bar's ETA); None when only a full walk would tell."""
        return None

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        """Another entry in the same directory as ``entry`` (SQLite -wal/-shm
        companions); None when absent or the source cannot look it up."""
        return None

    def carvable_volumes(self) -> list[CarvableVolume]:
        """The disk volumes a carver may search (sources/carving.py); empty
        for anything that is not a disk image (folders, ZIP, TAR)."""
        return []

    def read_media(self, offset: int, length: int) -> bytes:
        """The disk's bytes at ``offset`` (short at its end), for the volumes
        carvable_volumes() gives."""
        raise OSError("this evidence has no disk media")

    def describe(self) -> dict[str, Any]:
        """What `triage info` shows: format, partitions, file systems..."""
        return {"format": self.kind}

    def describe_after_walk(self) -> dict[str, Any] | None:
        """The description again once entries() has run, when the walk added
        to it (counts of shadow-copy files compared); None when it did not."""
        return None

    # Whether evidence_streams() and host_files() may be read in a thread while
    # entries() walks: true where every opener opens handles of its own.
    hash_beside_walk: bool = False

    def evidence_streams(self) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        """(label, opener) for the whole-item hashes (image bytes); empty for
        a folder, whose files are hashed one by one."""
        return []

    def media_host_files(self) -> list[str]:
        """Host files whose bytes, one after the other, are exactly the bytes
        of the single evidence stream (a raw image and its split segments):
        one read of them gives the media hashes and each file's hashes. Empty
        when the stream is decoded from its files (E01)."""
        return []

    def stored_hashes(self) -> dict[str, str]:
        """Acquisition hashes stored inside the evidence (E01), lower-case hex."""
        return {}

    def host_files(self) -> list[str]:
        """Host paths of the evidence files themselves (segments of an image,
        the archive) for the hashdeep manifest; a folder's come from its inventory."""
        return [self.path]

    def close(self) -> None:
        pass


class RandomAccessReader(io.RawIOBase):
    """A read-only stream over ``read_at(offset, size)`` (TSK files, EWF media)."""

    def __init__(self, size: int, read_at: Callable[[int, int], bytes],
                 on_close: Callable[[], None] | None = None) -> None:
        self._size = size
        self._read_at = read_at
        self._position = 0
        self._on_close = on_close      # releases a reader opened for this stream alone

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: Any) -> int:
        remaining = self._size - self._position
        if remaining <= 0:
            return 0
        wanted = min(len(buffer), remaining)
        data = self._read_at(self._position, wanted)
        if not data:
            return 0
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(0, self._size - self._position)
        # Bypass readinto's copy for large reads: TSK returns bytes already.
        remaining = self._size - self._position
        if remaining <= 0 or size == 0:
            return b""
        data = self._read_at(self._position, min(size, remaining))
        self._position += len(data)
        return data
