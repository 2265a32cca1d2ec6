"""Members of TAR archives (plain, gzip, bzip2, xz, zstd), 7z and RAR archives,
and the content of a single compressed file (a ``.gz``, ``.bz2``, ``.xz``,
``.zst`` holding no TAR), read with libarchive (Debian's libarchive13 through
libarchive-c).

One library for every streaming format: it reads 7z (solid blocks included)
and RAR 4/5 in one forward pass, from the container's bytes alone, with no
helper process and no temporary copy (rarfile would run ``unar`` on a copy of
the archive; py7zr decodes in Python, slower on solid blocks). Every member is
read while the walk passes it (its bytes kept by the walk, a TAR.GZ is not
decompressed again for each member); reaching a member later means reading
the archive again from its start, which only ``triage cat`` does.

Every member passed over is charged to the budget at its declared size (a
stream cannot skip without decompressing); encrypted members are listed and
never read."""

from __future__ import annotations

import ctypes
import io
from typing import IO, Any, Iterator

from ...timeutil import from_unix_seconds, iso_or_none
from ..api import Expander, ExpansionError, Member, MemberProblem, Probe

_BLOCK = 1 << 16
_GZIP, _BZIP2, _XZ, _ZSTD = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"
_MAX_GZIP_NAME = 1024
SINGLE_MEMBER_NAME = "decompressed"     # a compressed file's content, when its header names no file


def _libarchive():
    import libarchive
    import libarchive.ffi

    return libarchive


def _is_encrypted(entry: Any) -> bool:
    function = getattr(_libarchive().ffi.libarchive, "archive_entry_is_encrypted", None)
    if function is None:
        return False
    function.argtypes, function.restype = [ctypes.c_void_p], ctypes.c_int
    return bool(function(entry._entry_p))


class _Blocks(io.RawIOBase):
    """The current member's data, block by block, as a stream."""

    def __init__(self, entry: Any) -> None:
        self._blocks = entry.get_blocks(_BLOCK)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            while not self._pending:
                self._pending = next(self._blocks)
        except StopIteration:
            return b""
        except Exception as error:   # libarchive.ArchiveError: damaged data
            raise OSError(f"member data corrupt: {error}") from error
        if size is None or size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _StreamingArchive(Expander):
    """What the libarchive readers share; a subclass names its formats."""

    FORMAT = "all"
    RAW_FALLBACK = False       # a compressed stream holding no archive: one member, its content
    DESCRIPTION = ""

    @classmethod
    def library(cls) -> str:
        try:
            version = _libarchive().ffi.version_number()
        except (ImportError, OSError, AttributeError):
            return "libarchive (not available)"
        return f"libarchive {version // 1000000}.{version // 1000 % 1000}.{version % 1000} (libarchive-c)"

    def members(self, container: IO[bytes], budget) -> Iterator[Member | MemberProblem]:
        try:
            libarchive = _libarchive()
        except (ImportError, OSError) as error:
            raise ExpansionError(f"libarchive is not available: {error}") from error
        listed = 0
        try:
            with libarchive.stream_reader(container, format_name=self.FORMAT, block_size=_BLOCK) as archive:
                for index, entry in enumerate(archive):
                    listed += 1
                    member = self._member(index, entry, budget)
                    yield member
                    if member.opener is None and (member.refused or member.encrypted):
                        # Passed over, but decompressed all the same to reach the next
                        # member (the walk charges the members it reads).
                        budget.charge_bytes(member.size or 0)
            return
        except libarchive.ArchiveError as error:
            if listed or not self.RAW_FALLBACK:
                raise ExpansionError(f"archive ends early or is corrupt after {listed} member(s): "
                                     f"{_message(error)}") from error
        container.seek(0)
        name = _gzip_name(container) or SINGLE_MEMBER_NAME
        container.seek(0)
        try:
            with libarchive.stream_reader(container, format_name="raw", block_size=_BLOCK) as archive:
                for entry in archive:
                    yield Member(name=name, key={"index": 0, "raw": True}, size=None,
                                 opener=lambda entry=entry: _Blocks(entry),
                                 notes=["the decompressed content of a compressed file"])
                    break
        except libarchive.ArchiveError as error:
            raise ExpansionError(f"compressed data not readable: {_message(error)}") from error

    def _member(self, index: int, entry: Any, budget) -> Member:
        raw_name = entry.pathname
        if isinstance(raw_name, bytes):
            raw_name = raw_name.decode("utf-8", "surrogateescape")
        name = raw_name or f"member {index}"
        times = {}
        for field, value in (("modified", entry.mtime), ("created", entry.birthtime), ("accessed", entry.atime)):
            if value:
                times[field] = iso_or_none(from_unix_seconds(int(value)))
        member = Member(name=name, key={"index": index}, size=entry.size, times=times,
                        is_directory=bool(entry.isdir))
        if entry.isdir:
            return member
        if entry.issym or entry.islnk:
            member.size, member.link_target = 0, entry.linkpath or ""
            if entry.islnk:
                member.notes.append("hard link: content inventoried at its target")
            return member
        if not entry.isreg:
            member.size, member.refused = 0, "device, FIFO or other special member: not read"
            return member
        if _is_encrypted(entry):
            member.encrypted = True
            return member
        reason = budget.member_limit(member.size, None)
        if reason:
            member.refused = reason
            return member
        member.opener = lambda entry=entry: _Blocks(entry)
        return member

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget) -> IO[bytes]:
        libarchive = _libarchive()
        wanted = int(key["index"])
        data = io.BytesIO()
        try:
            with libarchive.stream_reader(container, format_name="raw" if key.get("raw") else self.FORMAT,
                                          block_size=_BLOCK) as archive:
                for index, entry in enumerate(archive):
                    if index == wanted:
                        reader = budget.bounded(_Blocks(entry), entry.size)
                        while True:
                            chunk = reader.read(_BLOCK)
                            if not chunk:
                                break
                            data.write(chunk)
                        data.seek(0)
                        return data
        except libarchive.ArchiveError as error:
            raise OSError(f"archive not readable: {_message(error)}") from error
        raise OSError(f"no member {wanted} in this archive")


def _message(error: Exception) -> str:
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def _gzip_name(stream: IO[bytes]) -> str | None:
    """The original file name a gzip header records (FNAME), bounded."""
    header = stream.read(10 + _MAX_GZIP_NAME + 2)
    if len(header) < 10 or not header.startswith(_GZIP) or not header[3] & 0x08:
        return None
    position = 10
    if header[3] & 0x04:      # FEXTRA comes first
        if len(header) < 12:
            return None
        position = 12 + int.from_bytes(header[10:12], "little")
        stream.seek(position)
        header = b"\0" * position + stream.read(_MAX_GZIP_NAME + 1)
    end = header.find(b"\0", position)
    if end < 0:
        return None
    name = header[position:end].decode("latin-1").replace("\\", "/").rsplit("/", 1)[-1]
    return name or None


class TarMembers(_StreamingArchive):
    NAME = "tar"
    VERSION = "1"
    FORMAT = "tar"
    DESCRIPTION = "members of TAR archives found inside the evidence"

    def claims(self, probe: Probe) -> bool:
        return len(probe.head) >= 262 and probe.head[257:262] == b"ustar"


class CompressedMembers(_StreamingArchive):
    NAME = "compressed"
    VERSION = "1"
    FORMAT = "tar"
    RAW_FALLBACK = True
    DESCRIPTION = "members of compressed TARs (gzip, bzip2, xz, zstd); the content of a single compressed file"

    def claims(self, probe: Probe) -> bool:
        return probe.head.startswith((_GZIP, _BZIP2, _XZ, _ZSTD))


class SevenZipMembers(_StreamingArchive):
    NAME = "7z"
    VERSION = "1"
    FORMAT = "7zip"
    DESCRIPTION = "members of 7z archives (solid blocks read once, in order)"

    def claims(self, probe: Probe) -> bool:
        return probe.head.startswith(b"7z\xbc\xaf\x27\x1c")


class RarMembers(_StreamingArchive):
    NAME = "rar"
    VERSION = "1"
    FORMAT = "all"
    DESCRIPTION = "members of RAR 4 and RAR 5 archives (read only)"

    def claims(self, probe: Probe) -> bool:
        return probe.head.startswith(b"Rar!\x1a\x07")
