"""Fixture builders for the thumbnail-cache expanders' tests: Windows
thumbcache_*.db, an OLE2 compound file (for Thumbs.db) and Android
.thumbdata files, each written from the published layout (libyal's
thumbcache documentation, [MS-CFB], AOSP's MiniThumbFile), around benign
pictures Pillow makes. The checks do not trust these builders: olefile (no one
here wrote it) reads the compound files back, and every thumbnail is checked
against the SHA-256 of the bytes planted."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image

# -- pictures ------------------------------------------------------------------


def picture(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (32, 24)) -> bytes:
    """A small benign picture (colour bands), distinct per seed."""
    image = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    for x in range(0, size[0], 4):
        for y in range(size[1]):
            image.putpixel((x, y), ((seed * 7 + x) % 256, (y * 9) % 256, (seed + x * y) % 256))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return out.getvalue()


# -- Windows thumbcache_*.db ---------------------------------------------------


@dataclass
class CacheEntry:
    entry_hash: int
    data: bytes
    identifier: str = ""
    padding: int = 0
    width: int = 0
    height: int = 0
    extension: str = "jpg"          # Vista only
    slack: int = 0                  # bytes after the data inside the entry


def cache_entry(version: int, entry: CacheEntry) -> bytes:
    identifier = entry.identifier.encode("utf-16-le")
    if version == 20:
        head = struct.pack("<4sIQ8sIIII", b"CMMM", 0, entry.entry_hash,
                           entry.extension.encode("utf-16-le")[:8].ljust(8, b"\0"),
                           len(identifier), entry.padding, len(entry.data), 0) + b"\0" * 16
    elif version == 21:
        head = struct.pack("<4sIQIIII", b"CMMM", 0, entry.entry_hash, len(identifier), entry.padding,
                           len(entry.data), 0) + b"\0" * 16
    else:
        head = struct.pack("<4sIQIIIIII", b"CMMM", 0, entry.entry_hash, len(identifier), entry.padding,
                           len(entry.data), entry.width, entry.height, 0) + b"\0" * 16
    body = identifier + b"\0" * entry.padding + entry.data + b"\0" * entry.slack
    size = len(head) + len(body)
    return head[:4] + struct.pack("<I", size) + head[8:] + body


def thumbcache(version: int, entries: list[CacheEntry], cache_type: int = 4, free_tail: int = 0,
               declared_entries: int | None = None) -> bytes:
    """A cache file; ``free_tail`` bytes of an empty "first available" entry at its end."""
    body = b"".join(cache_entry(version, e) for e in entries)
    count = len(entries) if declared_entries is None else declared_entries
    header = struct.pack("<4sIIIII", b"CMMM", version, cache_type, 0, 24 + len(body), count)
    tail = b""
    if free_tail:
        tail = cache_entry(version, CacheEntry(0, b""))
        tail = tail[:4] + struct.pack("<I", len(tail) + free_tail) + tail[8:] + b"\0" * free_tail
    return header + body + tail


# -- OLE2 compound file ([MS-CFB], version 3, 512-byte sectors) -------------------

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _chain(fat: list[int], first: int, count: int) -> None:
    for index in range(first, first + count):
        fat.append(index + 1 if index + 1 < first + count else ENDOFCHAIN)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file with the given root-level streams: small streams in the
    mini stream, others in regular sectors; FAT, MiniFAT and one directory chain."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))      # the directory's sort order
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        if not data:
            return ENDOFCHAIN
        count = (len(data) + SECTOR - 1) // SECTOR
        first = len(sectors)
        for i in range(count):
            sectors.append(data[i * SECTOR:(i + 1) * SECTOR].ljust(SECTOR, b"\0"))
        _chain(fat, first, count)
        return first

    mini = bytearray()
    minifat: list[int] = []
    starts: dict[str, int] = {}
    for name in names:
        data = streams[name]
        if len(data) < MINI_CUTOFF:
            if not data:
                starts[name] = ENDOFCHAIN
                continue
            count = (len(data) + MINI_SECTOR - 1) // MINI_SECTOR
            first = len(mini) // MINI_SECTOR
            mini += data.ljust(count * MINI_SECTOR, b"\0")
            _chain(minifat, first, count)
            starts[name] = first
        else:
            starts[name] = place(data)
    mini_start = place(bytes(mini))
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    minifat_start = place(minifat_bytes) if minifat else ENDOFCHAIN
    minifat_sectors = (len(minifat_bytes) + SECTOR - 1) // SECTOR

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", NOSTREAM, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    # A valid (all-black, right-leaning) tree: each stream's right sibling is the next.
    directory = entry("Root Entry", 5, 1 if names else NOSTREAM, NOSTREAM, mini_start, len(mini))
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else NOSTREAM
        directory += entry(name, 2, NOSTREAM, right, starts[name], len(streams[name]))
    directory = directory.ljust(((len(directory) + SECTOR - 1) // SECTOR) * SECTOR, b"\0")
    directory_start = place(directory)

    fat_sectors = 1
    while (len(fat) + fat_sectors) > fat_sectors * (SECTOR // 4):
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("fixture too large for a header-only DIFAT")
    fat_first = len(sectors)
    fat += [FATSECT] * fat_sectors
    fat += [FREESECT] * (fat_sectors * (SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    for i in range(fat_sectors):
        sectors.append(fat_bytes[i * SECTOR:(i + 1) * SECTOR])
    difat = [fat_first + i for i in range(fat_sectors)] + [FREESECT] * (109 - fat_sectors)
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, fat_sectors, directory_start, 0, MINI_CUTOFF,
                            minifat_start, minifat_sectors, ENDOFCHAIN, 0)
              + b"".join(struct.pack("<I", v) for v in difat))
    assert len(header) == SECTOR
    return header + b"".join(sectors)


# -- Thumbs.db -------------------------------------------------------------------


def catalog(entries: list[tuple[int, str, int]], width: int = 96, height: int = 96) -> bytes:
    """The Catalog stream: header, then per thumbnail (length, index, FILETIME, UTF-16 name, 4 zero bytes)."""
    body = b""
    for index, name, filetime in entries:
        encoded = name.encode("utf-16-le") + b"\0" * 4
        body += struct.pack("<IIQ", 16 + len(encoded), index, filetime) + encoded
    return struct.pack("<HHIII", 16, 7, len(entries), width, height) + body


def thumbnail_stream(data: bytes, header_size: int = 12, index: int = 1) -> bytes:
    return struct.pack("<III", header_size, index, len(data)) + b"\0" * (header_size - 12) + data


def stream_name(index: int) -> str:
    return str(index)[::-1]


# -- Android .thumbdata ------------------------------------------------------------

SLOT = 10000


def thumbdata(slots: dict[int, tuple[int, int, bytes]], length_override: dict[int, int] | None = None) -> bytes:
    """Slots id -> (status, magic, jpeg); the file ends where the last JPEG ends, as Android leaves it."""
    out = bytearray()
    for slot in sorted(slots):
        status, magic, data = slots[slot]
        declared = (length_override or {}).get(slot, len(data))
        record = struct.pack(">Bqi", status, magic, declared) + data
        if len(out) < slot * SLOT:
            out += b"\0" * (slot * SLOT - len(out))
        out[slot * SLOT:slot * SLOT + len(record)] = record
    return bytes(out)
