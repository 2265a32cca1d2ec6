"""Windows Explorer thumbnail caches (``thumbcache_*.db``, Windows Vista to 11).

No maintained reader fits: dissect.thumbcache (Fox-IT, AGPL-3.0, a licence
this Apache-2.0 project cannot take in) reads entries into memory one after
the other, stops at the first damaged entry, refuses format versions 26, 28
and 30 (the Windows 8 caches) and gives no entry offsets to open a thumbnail
again. So this is a small parser of the documented layout (libyal's
"Windows Explorer Thumbnail Cache database format", with the Windows 8+
width and height fields as Thumbcache Viewer reads them), bounded at every
step: see docs/thumbnail-caches.md.

A cache file is a 24-byte header (``CMMM``, format version, cache type, ...)
then cache entries, each ``CMMM``, its own size, an 8-byte entry hash (the
cache key that thumbcache_idx.db and the Windows Search index map to the
original file), the sizes of an identifier string, padding and data, CRCs,
the identifier (UTF-16) and the thumbnail (JPEG, PNG or BMP)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO, Any, Iterator

from .. import api
from ._cache_common import (SignatureScanner, StopProblem, admitted, container_size, image_extension,
                            limited_problems, open_slice, read_at, slice_key, unique_name)

SIGNATURE = b"CMMM"
FILE_HEADER_SIZE = 24
MAX_IDENTIFIER_BYTES = 4096          # an identifier is a hex key or a CLSID path; longer is kept cut
MAX_DIMENSION = 1 << 16              # width/height fields above this are not believed
MAX_ENTRIES = 1_000_000              # entries looked at per cache (a large real cache holds tens of thousands)
MAX_DAMAGED_ENTRIES = 10_000         # past this many damaged entries the cache is garbage, or built to stall us


@dataclass(frozen=True)
class EntryLayout:
    """Where the fields of a cache entry header lie in one format version."""

    header_size: int
    identifier_size_at: int
    padding_size_at: int
    data_size_at: int
    extension_at: int | None = None      # Vista: the original's extension, UTF-16, 4 characters
    dimensions_at: int | None = None     # Windows 8+: width then height


VISTA = EntryLayout(56, 24, 28, 32, extension_at=16)
WINDOWS_7 = EntryLayout(48, 16, 20, 24)
WINDOWS_8_AND_LATER = EntryLayout(56, 16, 20, 24, dimensions_at=28)

# Format versions: 20 Vista, 21 Windows 7, 26/28/30 Windows 8 builds, 31 Windows 8.1, 32 Windows 10 and 11.
KNOWN_VERSIONS = {20: VISTA, 21: WINDOWS_7, 26: WINDOWS_8_AND_LATER, 28: WINDOWS_8_AND_LATER,
                  30: WINDOWS_8_AND_LATER, 31: WINDOWS_8_AND_LATER, 32: WINDOWS_8_AND_LATER}
NEWEST_VERSION = 32
MAX_GUESSED_VERSION = 64             # a later version is read as the newest known; beyond this, not a cache


def layout_for(version: int) -> tuple[EntryLayout, str | None]:
    """The entry layout of a format version and a note when it is a guess."""
    if version in KNOWN_VERSIONS:
        return KNOWN_VERSIONS[version], None
    if NEWEST_VERSION < version <= MAX_GUESSED_VERSION:
        return WINDOWS_8_AND_LATER, f"format version {version} is not documented; read as version {NEWEST_VERSION}"
    raise api.ExpansionError(f"thumbcache format version {version} is not known")


class ThumbcacheExpander(api.Expander):
    NAME = "thumbcache"
    VERSION = "1"
    ROUTE = api.ROUTE_CACHE
    DESCRIPTION = "Windows thumbcache_*.db (Vista to 11): every cached thumbnail, with its cache key"

    @classmethod
    def library(cls) -> str:
        return "built-in parser (libyal's documentation of the format)"

    def claims(self, probe: api.Probe) -> bool:
        head = probe.head
        if len(head) < FILE_HEADER_SIZE or not head.startswith(SIGNATURE):
            return False
        version = struct.unpack_from("<I", head, 4)[0]
        return version in KNOWN_VERSIONS or NEWEST_VERSION < version <= MAX_GUESSED_VERSION

    def members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        return limited_problems(self._members(container, budget), "cache entries")

    def _members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        size = container_size(container)
        header = read_at(container, 0, FILE_HEADER_SIZE)
        if len(header) < FILE_HEADER_SIZE or not header.startswith(SIGNATURE):
            raise api.ExpansionError("not a thumbcache file (no CMMM header)")
        version = struct.unpack_from("<I", header, 4)[0]
        layout, version_note = layout_for(version)
        seen: set[str] = set()
        scanner = SignatureScanner(container, SIGNATURE, size)
        walked = damaged = 0
        # The first entry follows the header (at 28 in some Windows 8 caches:
        # the resync below finds it). Every step moves forward, and the
        # entries looked at are capped: a file of nothing but signatures or
        # of empty entries ends in a fraction of a second, not in an hour.
        position: int | None = FILE_HEADER_SIZE
        while position is not None and position + layout.header_size <= size:
            if walked >= MAX_ENTRIES or damaged >= MAX_DAMAGED_ENTRIES:
                yield StopProblem(f"entry at offset {position}", (
                    f"{walked} entries looked at, {damaged} of them damaged: the rest of the cache "
                    f"({size - position} bytes) is not read"))
                return
            walked += 1
            entry = read_at(container, position, layout.header_size)
            if not entry.startswith(SIGNATURE):
                position = scanner.next_from(position + 1)
                continue
            entry_size = struct.unpack_from("<I", entry, 4)[0]
            if entry_size < layout.header_size or position + entry_size > size:
                damaged += 1
                yield api.MemberProblem(f"entry at offset {position}", (
                    f"cache entry claims {entry_size} bytes; the file has {size - position} left from there; "
                    f"looking for the next entry"))
                position = scanner.next_from(position + len(SIGNATURE))
                continue
            found = self._entry(container, position, entry, entry_size, layout, version, seen)
            if isinstance(found, api.MemberProblem):
                damaged += 1
                yield found
            elif found is not None:
                if version_note:
                    found.notes.append(version_note)
                yield admitted(found, budget)
            position += entry_size

    def _entry(self, container: IO[bytes], position: int, entry: bytes, entry_size: int, layout: EntryLayout,
               version: int, seen: set[str]) -> api.Member | api.MemberProblem | None:
        identifier_size = struct.unpack_from("<I", entry, layout.identifier_size_at)[0]
        padding_size = struct.unpack_from("<I", entry, layout.padding_size_at)[0]
        data_size = struct.unpack_from("<I", entry, layout.data_size_at)[0]
        if data_size == 0:
            return None          # an entry with no thumbnail, or the free space at the end of the cache
        # Python integers do not overflow: a sum past the entry is refused as it is.
        data_offset = position + layout.header_size + identifier_size + padding_size
        if data_offset + data_size > position + entry_size:
            return api.MemberProblem(f"entry at offset {position}",
                                     f"identifier ({identifier_size}), padding ({padding_size}) and data "
                                     f"({data_size}) sizes exceed the entry's {entry_size} bytes")
        entry_hash = struct.unpack_from("<Q", entry, 8)[0]
        identifier = read_at(container, position + layout.header_size, min(identifier_size, MAX_IDENTIFIER_BYTES))
        extension = image_extension(read_at(container, data_offset, 16))
        details: dict[str, Any] = {
            # As Windows shows it (the identifier string and thumbcache_idx.db hold the same value):
            # the little-endian 64-bit value in hex, 16 digits.
            "cache_entry_hash": f"{entry_hash:016x}",
            "identifier": identifier.decode("utf-16-le", errors="replace").rstrip("\x00"),
            "format_version": version,
            "entry_offset": position,
        }
        if layout.extension_at is not None:
            original_extension = entry[layout.extension_at:layout.extension_at + 8]
            details["original_extension"] = original_extension.decode("utf-16-le", errors="replace").split("\x00")[0]
        if layout.dimensions_at is not None:
            width, height = struct.unpack_from("<II", entry, layout.dimensions_at)
            if 0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION:
                details["width"], details["height"] = width, height
        name = unique_name(f"entry {entry_hash:016x}.{extension}", position, seen)
        return api.Member(name=name, key=slice_key(data_offset, data_size), size=data_size, details=details)

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: api.ExpansionBudget) -> IO[bytes]:
        return open_slice(container, key, budget)
