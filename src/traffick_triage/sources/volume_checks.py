"""What a disk's partition table and file systems say that an examiner must
know and the readers accept silently: partitions that run past the end of the
media (a truncated image), partitions that overlap (hidden or tampered data,
or a damaged table), a GPT whose checksums are wrong, a file system that
declares more bytes than the media holds.

One set of checks for every route to a disk: DiskImageSource (a raw, split or
E01 image through pytsk3) and DfvfsSource (the disk inside a VMDK, QCOW2,
VHD/VHDX or DMG, through dfVFS) call these on the same disk bytes, so a disk
gives the same warnings, word for word and at the same place below the
evidence item, whichever container holds it.

Each check returns problems as (message, segments): the locator segments
below the evidence item the warning belongs to (``("p2",)`` for a partition,
``()`` for the item itself), for the source's ``warn(message, *segments)``."""

from __future__ import annotations

import struct
import zlib
from typing import Any, Callable, Iterable

Problem = tuple[str, tuple[str, ...]]
# Random access to the media's bytes: read(offset, length) -> bytes (short at the end).
Read = Callable[[int, int], bytes]


def place(label: str, offset: int) -> str:
    """How a message names a volume: a partition by label and byte offset, or the whole image."""
    return f"partition {label} at offset {offset}" if label else "the image"


def _segments(label: str) -> tuple[str, ...]:
    return (label,) if label else ()


def no_file_system(label: str, offset: int, reason: str) -> Problem:
    """The Sleuth Kit refused the volume: ``reason`` is TSK's own words."""
    return (f"no file system The Sleuth Kit recognises in {place(label, offset)}: {reason}", _segments(label))


def file_system_size(label: str, offset: int, declared: int, media_size: int) -> Problem | None:
    """A file system of ``declared`` bytes at ``offset`` that the media ends
    inside of: its files past the end cannot be read in full."""
    if offset + declared <= media_size:
        return None
    return (f"the file system in {place(label, offset)} declares {declared} bytes but the image ends "
            f"{media_size - offset} bytes in (truncated image?): files past the end "
            "are read short or not at all", _segments(label))


def partition_table(volumes: Iterable[dict[str, Any]], media_size: int, scheme: str | None, read: Read,
                    block_size: int) -> list[Problem]:
    """Partitions (dicts with label, offset and length in bytes, in table
    order) that run past the end of the media or overlap one another, and a
    GPT whose CRC32s do not match."""
    volumes = list(volumes)
    problems: list[Problem] = []
    for index, first in enumerate(volumes):
        first_end = first["offset"] + first["length"]
        if first_end > media_size:
            problems.append((f"partition {first['label']} ends at byte {first_end} but the image holds only "
                             f"{media_size} bytes (truncated image?)", _segments(first["label"])))
        for second in volumes[index + 1:]:
            if first["offset"] < second["offset"] + second["length"] and second["offset"] < first_end:
                problems.append((f"partitions {first['label']} and {second['label']} overlap "
                                 f"(bytes {max(first['offset'], second['offset'])}-"
                                 f"{min(first_end, second['offset'] + second['length'])}): "
                                 "a damaged or tampered partition table; both are read", ()))
    if scheme == "GPT":
        problems.extend((problem, ()) for problem in gpt_crc_problems(read, block_size))
    return problems


def gpt_crc_problems(read: Read, block_size: int) -> list[str]:
    """CRC32 checks of the primary GPT header and its partition entry array
    (UEFI spec 5.3.2), which TSK does not verify."""
    header = read(block_size, block_size)
    if len(header) < 92 or header[:8] != b"EFI PART":
        return ["GPT header missing at LBA 1"]
    size = struct.unpack_from("<I", header, 12)[0]
    if not 92 <= size <= len(header):
        return [f"GPT header size {size} is invalid"]
    problems = []
    stored = struct.unpack_from("<I", header, 16)[0]
    if zlib.crc32(header[:16] + b"\0\0\0\0" + header[20:size]) != stored:
        problems.append("GPT header CRC32 does not match: the partition table is damaged or was altered")
    entries_lba, count, entry_size, entries_crc = struct.unpack_from("<QIII", header, 72)
    length = count * entry_size
    if 0 < length <= 1 << 20:
        entries = read(entries_lba * block_size, length)
        if len(entries) == length and zlib.crc32(entries) != entries_crc:
            problems.append("GPT partition entry array CRC32 does not match: "
                            "the partition table is damaged or was altered")
    return problems
