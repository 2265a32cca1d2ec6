"""ZIP and TAR phone / full-file-system exports, read in place: nothing is
ever extracted to disk. Member names are evidence too: traversal (``../``),
absolute names and symlinks are recorded and flagged, never followed.
Decompression is bounded so an archive bomb costs a warning, not the scan."""

from __future__ import annotations

import bisect
import io
import lzma
import stat
import struct
import tarfile
import zipfile
import zlib
from typing import IO, Any, Iterator

from ..timeutil import from_unix_seconds, iso_or_none
from .base import DIRECTORY, FILE, OTHER, SYMLINK, Entry, EvidenceError, EvidenceSource
from .directory import open_readonly

# A TAR's small SQLite companions are read together, once (TarSource._companion_bytes).
_COMPANION_CACHE_BYTES = 16 << 20
_COMPANION_GROUP = 8           # names after the database's own, in sorted order, that may be its companions

# Limits against archive bombs (configurable through scan options).
DEFAULT_MAX_MEMBER_BYTES = 64 << 30        # one member may expand to 64 GiB
DEFAULT_MAX_RATIO = 1000                   # ...but not more than 1000x its compressed size
RATIO_FLOOR_BYTES = 100 << 20              # small members may compress as well as they like


def unsafe_member_name(name: str) -> str | None:
    """Why a member name would escape an extraction folder, or None."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute member name"
    if ".." in normalised.split("/"):
        return "path traversal (../) in member name"
    return None


class _BoundedReader(io.RawIOBase):
    """Stops a decompressing stream at ``limit`` bytes with an error, so a
    member that lies about its size cannot expand without bound."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        try:
            data = self._stream.read(wanted)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError) as error:
            # Damaged member data (bad CRC, broken deflate stream, cut short):
            # one unreadable member, reported as such, never the end of the scan.
            raise OSError(f"member data corrupt: {error}") from error
        self._left -= len(data)
        if self._left < 0:
            raise OSError("decompression limit exceeded (archive bomb?)")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


class _ArchiveSource(EvidenceSource):
    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name)
        options = options or {}
        self.max_member_bytes = int(options.get("max_member_bytes", DEFAULT_MAX_MEMBER_BYTES))
        self.max_ratio = float(options.get("max_ratio", DEFAULT_MAX_RATIO))

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

    # The opener below opens a handle of its own: the archive's hashes can be
    # taken in a thread while the walk reads its members.
    hash_beside_walk = True

    def evidence_streams(self):
        return [("archive", lambda: open_readonly(self.path))]

    def media_host_files(self) -> list[str]:
        """The archive's bytes are its file's: one read hashes both."""
        return [self.path]


class ZipSource(_ArchiveSource):
    kind = "zip"

    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name, options)
        try:
            self._zip = zipfile.ZipFile(open_readonly(path))
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise EvidenceError(f"not a readable ZIP archive: {error}") from error
        self._by_name: dict[str, int] | None = None

    def entries(self) -> Iterator[Entry]:
        for index, info in enumerate(self._zip.infolist()):
            name = info.filename
            entry = Entry(segments=(name,), path=name, kind=FILE, size=info.file_size,
                          address={"member_index": index}, times=_zip_times(info))
            mode = info.external_attr >> 16
            if info.is_dir():
                entry.kind, entry.size = DIRECTORY, 0
            elif stat.S_ISLNK(mode):
                entry.kind = SYMLINK
                try:     # at most 4 KiB: a "symlink" member may be a bomb or damaged too
                    with self._zip.open(info) as stream:
                        target = stream.read(4096)
                except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
                    target = b""
                    self.warn(f"symlink member not readable: {error}", name)
                entry.link_target = target.decode("utf-8", "surrogateescape")
            elif info.flag_bits & 0x1:
                entry.notes.append("encrypted member: content not read")
                self.warn("encrypted member: content not read", name)
            else:
                reason = self._bomb_reason(info)
                if reason:
                    entry.notes.append(reason)
                    self.warn(reason, name)
                else:
                    entry.opener = (lambda i=index: self.open_address({"member_index": i}))
            self._flag_name(entry)
            yield entry

    def _bomb_reason(self, info: zipfile.ZipInfo) -> str | None:
        if info.file_size > self.max_member_bytes:
            return (f"declared size {info.file_size} bytes is over the member limit "
                    f"({self.max_member_bytes}); not read (archive bomb?)")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > self.max_ratio:
            return (f"compression ratio {ratio:.0f}:1 is over the limit ({self.max_ratio:g}:1); "
                    "not read (archive bomb?)")
        return None

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        info = self._zip.infolist()[address["member_index"]]
        return _BoundedReader(self._zip.open(info), info.file_size)

    def content_bytes_estimate(self) -> int | None:
        return sum(info.file_size for info in self._zip.infolist()
                   if not info.is_dir() and not self._bomb_reason(info))

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        if not name or "/" in name:
            return None
        parent = entry.path.rsplit("/", 1)[0] + "/" if "/" in entry.path else ""
        if self._by_name is None:     # one index, built at the first lookup (the first member of a name wins)
            self._by_name = {}
            for index, info in enumerate(self._zip.infolist()):
                self._by_name.setdefault(info.filename, index)
        index = self._by_name.get(parent + name)
        if index is None:
            return None
        info = self._zip.infolist()[index]
        # Only what the walk would read: no directory, link, encrypted or over-limit member.
        if (info.is_dir() or stat.S_ISLNK(info.external_attr >> 16) or info.flag_bits & 0x1
                or self._bomb_reason(info)):
            return None
        return Entry(segments=(info.filename,), path=info.filename, kind=FILE, size=info.file_size,
                     address={"member_index": index}, opener=lambda: self.open_address({"member_index": index}))

    def describe(self) -> dict[str, Any]:
        infos = self._zip.infolist()
        return {"format": "zip", "members": len(infos),
                "files": sum(1 for i in infos if not i.is_dir())}

    def close(self) -> None:
        self._zip.close()


def _zip_times(info: zipfile.ZipInfo) -> dict[str, str | None]:
    # DOS times carry no zone; the "UT" extra field (0x5455) holds a UTC mtime.
    extra, offset = info.extra, 0
    while offset + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4: offset + 4 + length]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            moment = from_unix_seconds(struct.unpack_from("<i", body, 1)[0])
            return {"modified": iso_or_none(moment)}
        offset += 4 + length
    year, month, day, hour, minute, second = info.date_time
    return {"modified": None,
            "modified_local": f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}",
            "timezone": "unknown"}


class TarSource(_ArchiveSource):
    kind = "tar"

    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name, options)
        try:
            self._tar = tarfile.open(fileobj=open_readonly(path), mode="r:*")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise EvidenceError(f"not a readable TAR archive: {error}") from error
        self._members: list[tarfile.TarInfo] = []
        self._by_name: dict[str, tarfile.TarInfo] | None = None      # companions' index (_sibling_index)
        self._sibling_tar: tarfile.TarFile | None = None
        self._sorted_names: list[str] = []
        self._cached_for: str | None = None       # the database whose companions _cache holds
        self._cache: dict[str, bytes] = {}

    def entries(self) -> Iterator[Entry]:
        self._members = []
        try:
            for member in self._tar:
                index = len(self._members)
                self._members.append(member)
                yield self._entry(member, index)
        except (tarfile.TarError, OSError, EOFError, zlib_error()) as error:
            self.warn(f"archive ends early or is corrupt after {len(self._members)} members: {error}")

    def _entry(self, member: tarfile.TarInfo, index: int) -> Entry:
        entry = Entry(segments=(member.name,), path=member.name, kind=FILE, size=member.size,
                      address={"member_index": index},
                      times={"modified": iso_or_none(from_unix_seconds(member.mtime))})
        if member.isdir():
            entry.kind, entry.size = DIRECTORY, 0
        elif member.issym():
            entry.kind, entry.size, entry.link_target = SYMLINK, 0, member.linkname
        elif member.islnk():
            entry.kind, entry.size, entry.link_target = OTHER, 0, member.linkname
            entry.notes.append(f"hard link to {member.linkname!r}: content inventoried there")
        elif not member.isfile():
            entry.kind, entry.size = OTHER, 0
            entry.notes.append("device, FIFO or other special member: not read")
            self.warn("device, FIFO or other special member: not read", member.name)
        elif member.size > self.max_member_bytes:
            reason = f"size {member.size} bytes is over the member limit; not read"
            entry.notes.append(reason)
            self.warn(reason, member.name)
        else:
            entry.opener = (lambda i=index: self.open_address({"member_index": i}))
        self._flag_name(entry)
        return entry

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        if not self._members:
            for _ in self.entries():
                pass
        member = self._members[address["member_index"]]
        stream = self._tar.extractfile(member)
        if stream is None:
            raise OSError("member has no content")
        return _BoundedReader(stream, member.size)

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        if not name or "/" in name:
            return None
        parent = entry.path.rsplit("/", 1)[0] + "/" if "/" in entry.path else ""
        member = self._sibling_index().get(parent + name)
        if member is None or not member.isfile() or member.size > self.max_member_bytes:
            return None
        data = self._companion_bytes(parent + entry.name, member)
        if data is not None:
            opener = lambda: io.BytesIO(data)  # noqa: E731
        else:
            sibling_tar = self._sibling_tar
            opener = lambda: _BoundedReader(sibling_tar.extractfile(member), member.size)  # noqa: E731
        return Entry(segments=(member.name,), path=member.name, kind=FILE, size=member.size, opener=opener)

    def _companion_bytes(self, database: str, member: tarfile.TarInfo) -> bytes | None:
        """The bytes of ``member`` when it is one of ``database``'s small
        companions (``database`` + "-wal", "-shm", "-journal"...): all of them
        are read at the first lookup, in archive order, so a plugin asking
        for -wal before the -shm stored ahead of it does not send a
        compressed archive back to its start. Only one database's are kept."""
        if self._cached_for != database:
            self._cached_for, self._cache = database, {}
            start = bisect.bisect_right(self._sorted_names, database)
            group = []
            for name in self._sorted_names[start:start + _COMPANION_GROUP]:
                if not name.startswith(database):
                    break
                candidate = self._by_name[name]
                if "/" not in name[len(database):] and candidate.isfile() and candidate.size <= _COMPANION_CACHE_BYTES:
                    group.append(candidate)
            for candidate in sorted(group, key=lambda m: m.offset_data):
                try:
                    with _BoundedReader(self._sibling_tar.extractfile(candidate), candidate.size) as stream:
                        self._cache[candidate.name] = stream.read()
                except (OSError, tarfile.TarError, AttributeError):
                    continue      # read (and reported) by the plugin's own open, if it asks
        return self._cache.get(member.name)

    def _sibling_index(self) -> dict[str, tarfile.TarInfo]:
        """Every member by name (the last of a name wins, as tar extracts),
        read once through a handle of its own. The walk's handle must not be
        moved: a compressed TAR can only seek back by decompressing again
        from its start, and a lookup ahead of the walk (an -wal after its
        database, an absent -journal) on the walk's handle cost that once per
        database (12 databases in a 126 MB tar.gz doubled the scan). Here the
        headers are read once, and companions, asked for in the walk's order,
        are read forward."""
        if self._by_name is None:
            self._by_name = {}
            try:
                self._sibling_tar = tarfile.open(fileobj=open_readonly(self.path), mode="r:*")
                for member in self._sibling_tar:
                    self._by_name[member.name] = member
            except (tarfile.TarError, OSError, EOFError, zlib_error(), lzma.LZMAError):
                pass      # the walk reports a damaged archive; companions are what could be read
            self._sorted_names = sorted(self._by_name)
        return self._by_name

    def describe(self) -> dict[str, Any]:
        count = sum(1 for _ in self.entries())
        return {"format": "tar", "members": count,
                "files": sum(1 for m in self._members if m.isfile())}

    def close(self) -> None:
        self._tar.close()
        if self._sibling_tar is not None:
            self._sibling_tar.close()


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error
