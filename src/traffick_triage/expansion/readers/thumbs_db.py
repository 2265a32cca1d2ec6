"""Windows ``Thumbs.db`` (the Windows XP era, and Vista+ on network folders):
an OLE2 compound file read with olefile.

The ``Catalog`` stream maps a thumbnail's index to the original file's name
and a time (a FILETIME: the original's modification time as Explorer saw it).
Each thumbnail is a stream named by its index written backwards ("21" holds
thumbnail 12), or, in the Vista+ variant without a catalog, by size and cache
key ("256_3f2a9c0e1b2c3d4e"). A stream is a small header (its first 32-bit
value is the header's size) then the image: a whole JPEG ("type 2"), or JPEG
scan data without its tables ("type 1", older files), listed as stored."""

from __future__ import annotations

import io
import struct
from functools import partial
from typing import IO, Any, Iterator

import olefile

from ...timeutil import from_filetime, iso_or_none
from .. import api
from ._cache_common import (FullReads, StopProblem, admitted, container_size, image_extension, limited_problems,
                            unique_name)

OLE_MAGIC = olefile.MAGIC                 # D0 CF 11 E0 A1 B1 1A E1
CATALOG = "Catalog"
MAX_FILE_BYTES = 64 << 20                 # olefile keeps every directory entry as an object (~1 KiB each)
MAX_STREAMS = 100_000
MAX_STREAM_BYTES = 16 << 20               # a thumbnail stream is tens of KiB; more is not a thumbnail
MAX_CATALOG_BYTES = 16 << 20
MAX_STREAM_HEADER = 64                    # the header sizes seen are 12 and 24 bytes
TYPE_1_MARKER = 1                         # the first 32-bit value after the header of a type 1 thumbnail
THUMBS_DB_NAMES = ("thumbs.db",)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


class ThumbsDbExpander(api.Expander):
    NAME = "thumbs-db"
    VERSION = "1"
    ROUTE = api.ROUTE_CACHE
    DESCRIPTION = "Windows Thumbs.db (OLE2): every thumbnail, with the original's name and time from the Catalog"

    @classmethod
    def library(cls) -> str:
        return f"olefile {olefile.__version__}"

    def claims(self, probe: api.Probe) -> bool:
        # Every OLE2 file (Word, Excel, MSI, Outlook items) starts with the same
        # magic: a Thumbs.db is told by its Catalog stream's name in the
        # directory, or by its own name when the directory lies past the head.
        if not probe.head.startswith(OLE_MAGIC):
            return False
        return _utf16(CATALOG + "\x00") in probe.head or probe.name.lower() in THUMBS_DB_NAMES

    def members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        return limited_problems(self._members(container, budget), "streams")

    def _members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        ole = self._open(container)
        try:
            streams = {entry.name: entry for entry in ole.root.kids if entry.entry_type == olefile.STGTY_STREAM}
            catalog: dict[int, tuple[str, str | None]] = {}
            if CATALOG in streams:
                catalog, problem = self._catalog(ole, streams[CATALOG])
                if problem:
                    yield api.MemberProblem(CATALOG, problem)
            seen: set[str] = set()
            thumbnails = sorted((n for n in streams if n != CATALOG), key=_stream_order)
            for name in thumbnails[:MAX_STREAMS]:
                found = self._thumbnail(ole, streams[name], catalog, seen)
                if found is not None:
                    yield admitted(found, budget) if isinstance(found, api.Member) else found
            if len(thumbnails) > MAX_STREAMS:
                yield StopProblem("streams", f"{len(thumbnails)} streams; only the first {MAX_STREAMS} are read")
        finally:
            ole.close()

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: api.ExpansionBudget) -> IO[bytes]:
        stream, offset, length = key.get("stream"), key.get("offset"), key.get("length")
        if not isinstance(stream, str) or not isinstance(offset, int) or not isinstance(length, int):
            raise api.ExpansionError(f"member key {key!r} is not a Thumbs.db key")
        ole = self._open(container)
        try:
            entry = next((e for e in ole.root.kids if e.name == stream and e.entry_type == olefile.STGTY_STREAM), None)
            if entry is None:
                raise api.ExpansionError(f"stream {stream!r} not found")
            data = self._stream_bytes(ole, entry)
        finally:
            ole.close()
        if offset < 0 or length < 0 or offset + length > len(data):
            raise api.ExpansionError(f"member key {key!r} does not lie inside stream {stream!r} ({len(data)} bytes)")
        return budget.bounded(io.BytesIO(data[offset:offset + length]), length)

    # -- reading ---------------------------------------------------------------

    def _open(self, container: IO[bytes]) -> olefile.OleFileIO:
        size = container_size(container)
        if size > MAX_FILE_BYTES:
            raise api.ExpansionError(
                f"Thumbs.db of {size} bytes is over the {MAX_FILE_BYTES >> 20} MiB limit; not read")
        try:
            return olefile.OleFileIO(FullReads(container))
        except Exception as error:   # olefile raises OSError, ValueError, struct.error... on damaged files
            raise api.ExpansionError(f"not a readable OLE2 compound file: {error}") from error

    def _stream_bytes(self, ole: olefile.OleFileIO, entry: Any, cap: int = MAX_STREAM_BYTES) -> bytes:
        """A stream's bytes, by its directory entry: olefile's openstream finds
        a name by a linear search, which over every stream of a large
        Thumbs.db would be quadratic; its _open reads the entry's chain."""
        if entry.size > cap:
            raise api.ExpansionError(
                f"stream {entry.name!r} declares {entry.size} bytes, over the {cap >> 20} MiB limit")
        try:
            with ole._open(entry.isectStart, entry.size) as handle:
                return handle.read(cap + 1)[:cap]
        except Exception as error:   # a broken sector chain, a loop olefile detected
            raise api.ExpansionError(f"stream {entry.name!r} unreadable: {error}") from error

    def _catalog(self, ole: olefile.OleFileIO, entry: Any) -> tuple[dict[int, tuple[str, str | None]], str | None]:
        """index -> (original name, time); and a problem when the catalog is damaged part-way."""
        try:
            data = self._stream_bytes(ole, entry, MAX_CATALOG_BYTES)
        except api.ExpansionError as error:
            return {}, str(error)
        if len(data) < 16:
            return {}, f"catalog of {len(data)} bytes is shorter than its 16-byte header"
        header_size = struct.unpack_from("<H", data, 0)[0]
        entries: dict[int, tuple[str, str | None]] = {}
        position = max(header_size, 16)
        # Every entry is at least 16 bytes and moves the position forward, so
        # the loop ends within len(data) / 16 steps.
        while position + 16 <= len(data):
            length, index, filetime = struct.unpack_from("<IIQ", data, position)
            if length < 16 or position + length > len(data):
                return entries, (f"catalog entry at offset {position} claims {length} bytes "
                                 f"({len(data) - position} left); the rest of the catalog is not read")
            name = data[position + 16:position + length].decode("utf-16-le", errors="replace").split("\x00")[0]
            entries.setdefault(index, (name, iso_or_none(from_filetime(filetime))))
            position += length
        return entries, None

    def _thumbnail(self, ole: olefile.OleFileIO, entry: Any, catalog: dict[int, tuple[str, str | None]],
                   seen: set[str]) -> api.Member | api.MemberProblem | None:
        stream = entry.name
        try:
            data = self._stream_bytes(ole, entry)
        except api.ExpansionError as error:
            return api.MemberProblem(stream, str(error))
        if len(data) < 4:
            return None                      # not a thumbnail stream (a property set, an empty stream)
        header_size = struct.unpack_from("<I", data, 0)[0]
        if not 8 <= header_size <= min(MAX_STREAM_HEADER, len(data)):
            return None                      # no thumbnail header: some other stream of an OLE2 file
        payload = data[header_size:]
        extension = image_extension(payload[:16])
        details: dict[str, Any] = {"stream": stream}
        notes: list[str] = []
        if extension == "bin":
            if len(payload) >= 4 and struct.unpack_from("<I", payload, 0)[0] == TYPE_1_MARKER:
                details["thumbnail_type"] = 1
                notes.append("type 1 thumbnail: JPEG scan data without its tables, listed as stored")
            else:
                return api.MemberProblem(stream, "stream holds no image after its header")
        index = _catalog_index(stream)
        if index is not None:
            details["index"] = index
            if index in catalog:
                details["original_name"], details["original_modified"] = catalog[index]
        else:
            size_part, underscore, cache_key = stream.partition("_")
            if underscore and size_part.isascii() and size_part.isdigit():
                details["cache_key"] = cache_key
        name = unique_name(f"{stream}.{extension}", len(seen), seen)
        # The bytes are at hand: the walk reads them through opener; open_member
        # (triage cat, a worker) parses the compound file again.
        return api.Member(name=name, key={"stream": stream, "offset": header_size, "length": len(payload)},
                          size=len(payload), details=details, notes=notes, opener=partial(io.BytesIO, payload))


def _catalog_index(stream: str) -> int | None:
    """The thumbnail index a stream name spells backwards ("21" -> 12)."""
    if stream.isascii() and stream.isdigit() and len(stream) <= 10:
        return int(stream[::-1])
    return None


def _stream_order(stream: str) -> tuple[int, int, str]:
    index = _catalog_index(stream)
    return (0, index, stream) if index is not None else (1, 0, stream)
