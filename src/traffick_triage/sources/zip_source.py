"""ZIP phone / full-file-system exports, read in place. The listing is
zip_directory's tolerant one; member data is decoded by zipfile.ZipExtFile
(deflate, bzip2, lzma, stored; CRC checked). One damaged member is one
warning: every other member the directory (or a local-header scan) reaches
is read. Declared sizes are capped per member, by ratio, and in sum by the
archive's expansion budget, decided at listing time so every process decides
alike; overlapping members are named."""

from __future__ import annotations

import stat
import struct
import zipfile
from typing import IO, Any, Iterator

from ..timeutil import from_unix_seconds, iso_or_none
from .archive_common import MAX_NAME_BYTES, ArchiveSource, BoundedReader
from .base import DIRECTORY, FILE, SYMLINK, Entry, EvidenceError
from .directory import open_readonly
from .zip_directory import FLAG_ENCRYPTED, ZipMember, read_listing

_SYMLINK_READ_LIMIT = 4096


class ZipSource(ArchiveSource):
    kind = "zip"

    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name, options)
        try:
            with open_readonly(path) as stream:
                listing = read_listing(stream, self.archive_size)
        except (OSError, ValueError) as error:
            raise EvidenceError(f"not a readable ZIP archive: {error}") from error
        self._members = listing.members
        self._listing_problems = listing.problems
        self._scanned = listing.scanned
        self._refusals = self._decide_reads()
        self._overlaps = _overlaps(self._members)
        self._by_name: dict[str, int] | None = None     # companions' index (find_sibling)
        for problem in self._listing_problems:
            self.warn(problem)

    def _decide_reads(self) -> dict[int, str]:
        """Why each member whose data is not read is not read; the budget is
        spent in directory order on the declared sizes (reads stop there)."""
        refusals: dict[int, str] = {}
        spent = 0
        for index, member in enumerate(self._members):
            if member.is_dir() or _is_symlink(member):
                continue
            if member.flag_bits & FLAG_ENCRYPTED:
                refusals[index] = "encrypted member: content not read"
            elif member.data_offset is None:
                refusals[index] = "member data not located: content not read"
            else:
                reason = (self.limits.member_reason(member.file_size)
                          or self.limits.ratio_reason(member.file_size, member.compress_size)
                          or self.limits.budget_reason(spent, member.file_size))
                if reason:
                    refusals[index] = reason
                else:
                    spent += member.file_size
        return refusals

    def entries(self) -> Iterator[Entry]:
        for index, member in enumerate(self._members):
            entry = self._entry(index, member)
            for problem in member.problems:
                entry.notes.append(problem)
                self.warn(problem, *entry.segments)
            overlap = self._overlaps.get(index)
            if overlap:
                entry.notes.append(overlap)
                self.warn(overlap, *entry.segments)
            self._flag_name(entry)
            yield entry

    def _entry(self, index: int, member: ZipMember) -> Entry:
        name = _bounded_name(member.name)
        entry = Entry(segments=(name,), path=name, kind=FILE, size=member.file_size,
                      address={"member_index": index}, times=_zip_times(member))
        if name != member.name:
            self._refuse(entry, f"name of {len(member.name)} characters cut to {MAX_NAME_BYTES}")
        if member.is_dir():
            entry.kind, entry.size = DIRECTORY, 0
        elif _is_symlink(member):
            entry.kind = SYMLINK
            try:     # at most 4 KiB: a "symlink" member may be a bomb or damaged too
                with self._open_member(member, _SYMLINK_READ_LIMIT) as stream:
                    target = stream.read(_SYMLINK_READ_LIMIT)
            except OSError as error:
                target = b""
                self.warn(f"symlink member not readable: {error}", name)
            entry.link_target = target.decode("utf-8", "surrogateescape")
        elif index in self._refusals:
            self._refuse(entry, self._refusals[index])
        else:
            entry.opener = (lambda i=index: self.open_address({"member_index": i}))
        return entry

    def _open_member(self, member: ZipMember, limit: int) -> IO[bytes]:
        if member.data_offset is None:
            raise OSError("member data not located")
        info = zipfile.ZipInfo(member.name, date_time=member.date_time if member.date_time[0] >= 1980
                               else (1980, 1, 1, 0, 0, 0))
        info.filename = member.name
        info.compress_type, info.CRC = member.compress_type, member.crc
        info.compress_size, info.file_size = member.compress_size, member.file_size
        info.flag_bits = member.flag_bits
        raw = open_readonly(self.path)
        try:
            raw.seek(member.data_offset)
            stream = zipfile.ZipExtFile(raw, "r", info, None, True)
        except NotImplementedError as error:
            raw.close()
            raise OSError(f"compression method {member.compress_type} not supported: {error}") from error
        except (OSError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile) as error:
            raw.close()
            raise OSError(f"member data not readable: {error}") from error
        return BoundedReader(stream, limit)

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        index = address["member_index"]
        if not 0 <= index < len(self._members):
            raise OSError(f"no member {index} in this archive")
        if index in self._refusals:
            raise OSError(self._refusals[index])
        member = self._members[index]
        return self._open_member(member, member.file_size)

    def content_bytes_estimate(self) -> int | None:
        return sum(m.file_size for i, m in enumerate(self._members)
                   if not m.is_dir() and i not in self._refusals)

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        if not name or "/" in name:
            return None
        parent = entry.path.rsplit("/", 1)[0] + "/" if "/" in entry.path else ""
        if self._by_name is None:     # one index, built at the first lookup (the first member of a name wins)
            self._by_name = {}
            for index, member in enumerate(self._members):
                self._by_name.setdefault(member.name, index)
        index = self._by_name.get(parent + name)
        if index is None:
            return None
        member = self._members[index]
        # Only what the walk would read: no directory, link, encrypted or refused member.
        if member.is_dir() or _is_symlink(member) or member.flag_bits & 0x1 or index in self._refusals:
            return None
        return Entry(segments=(member.name,), path=member.name, kind=FILE, size=member.file_size,
                     address={"member_index": index},
                     opener=lambda: self.open_address({"member_index": index}))

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"format": "zip", "members": len(self._members),
                                     "files": sum(1 for m in self._members if not m.is_dir())}
        if self._scanned:
            described["listed_by"] = "central directory and local-header scan"
        return described


def _is_symlink(member: ZipMember) -> bool:
    return bool(member.external_attr >> 16) and stat.S_ISLNK(member.external_attr >> 16) and not member.is_dir()


def _bounded_name(name: str) -> str:
    return name if len(name) <= MAX_NAME_BYTES else name[:MAX_NAME_BYTES]


def _overlaps(members: tuple[ZipMember, ...]) -> dict[int, str]:
    """Members whose bytes (local header to data end) overlap an earlier
    member's: one archive byte listed as two files, a way to hide or to
    multiply the expansion. Each is named with the member it overlaps."""
    spans = sorted((m.header_offset, m.data_end, i) for i, m in enumerate(members)
                   if m.data_offset is not None and not m.is_dir())
    found: dict[int, str] = {}
    reach_end, reach_index = -1, -1
    for start, end, index in spans:
        if start < reach_end:
            other = members[reach_index]
            found[index] = (f"member data overlaps member {other.name!r} (archive bytes {start}-{end} within "
                            f"{other.header_offset}-{other.data_end}): overlapping members, possible tampering; "
                            "its expansion counts against the archive's budget like any other")
        if end > reach_end:
            reach_end, reach_index = end, index
    return found


def _zip_times(member: ZipMember) -> dict[str, str | None]:
    # DOS times carry no zone; the "UT" extra field (0x5455) holds a UTC mtime.
    extra, offset = member.extra, 0
    while offset + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4: offset + 4 + length]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            moment = from_unix_seconds(struct.unpack_from("<i", body, 1)[0])
            return {"modified": iso_or_none(moment)}
        offset += 4 + length
    year, month, day, hour, minute, second = member.date_time
    return {"modified": None,
            "modified_local": f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}",
            "timezone": "unknown"}
