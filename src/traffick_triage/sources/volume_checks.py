"""What a disk's partition table and file systems say that an examiner must
know and the readers accept silently: partitions that run past the end of the
media (a truncated image), partitions that overlap (hidden or tampered data,
or a damaged table), a GPT whose checksums are wrong, a disk with two
partition tables (a hybrid MBR, or a GPT behind an MBR that is not the
protective one), a file system that declares more bytes than the media holds.

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
    for volume in volumes:
        end = volume["offset"] + volume["length"]
        if end > media_size:
            problems.append((f"partition {volume['label']} ends at byte {end} but the image holds only "
                             f"{media_size} bytes (truncated image?)", _segments(volume["label"])))
    problems.extend(overlap_problems(volumes))
    if scheme == "GPT":
        problems.extend((problem, ()) for problem in gpt_crc_problems(read, block_size))
    if scheme == "MBR":
        problem = extended_chain_loop(read, block_size)
        if problem:
            problems.append((problem, ()))
    problem = two_partition_tables(volumes, scheme, read, block_size)
    if problem:
        problems.append((problem, ()))
    return problems


OVERLAP_NAMED = 20       # partitions a grouped overlap warning names; the rest are counted
OVERLAP_PAIRS_UP_TO = 4  # a range of this many partitions or fewer: one warning per overlapping pair


def overlap_problems(volumes: list[dict[str, Any]]) -> list[Problem]:
    """One warning per range of the disk that partitions overlap in, in
    O(n log n): sorted by start, a partition that starts before the range so
    far ends joins it. A range of up to OVERLAP_PAIRS_UP_TO partitions gets
    a warning per overlapping pair (at most 6); a range of more (a GPT of
    1,000 entries over one extent: 499,500 pairs) is one warning naming the
    first OVERLAP_NAMED partitions and counting the rest."""
    position = {id(volume): index for index, volume in enumerate(volumes)}     # table order
    ordered = sorted(volumes, key=lambda v: (v["offset"], v["offset"] + v["length"], position[id(v)]))
    groups: list[list[dict[str, Any]]] = []
    group_end = -1
    for volume in ordered:
        if volume["length"] <= 0:
            continue
        if groups and volume["offset"] < group_end:
            groups[-1].append(volume)
            group_end = max(group_end, volume["offset"] + volume["length"])
        else:
            groups.append([volume])
            group_end = volume["offset"] + volume["length"]
    problems: list[Problem] = []
    for group in groups:
        if len(group) < 2:
            continue
        if len(group) <= OVERLAP_PAIRS_UP_TO:
            # A few partitions: each overlapping pair in its own words, in table order.
            members = sorted(group, key=lambda v: position[id(v)])
            for index, first in enumerate(members):
                first_end = first["offset"] + first["length"]
                for second in members[index + 1:]:
                    second_end = second["offset"] + second["length"]
                    if first["offset"] < second_end and second["offset"] < first_end:
                        problems.append((f"partitions {first['label']} and {second['label']} overlap "
                                         f"(bytes {max(first['offset'], second['offset'])}-"
                                         f"{min(first_end, second_end)}): "
                                         "a damaged or tampered partition table; both are read", ()))
            continue
        start = group[0]["offset"]
        end = max(v["offset"] + v["length"] for v in group)
        labels = [v["label"] for v in group]
        named = ", ".join(labels[:OVERLAP_NAMED])
        more = f" and {len(labels) - OVERLAP_NAMED} more" if len(labels) > OVERLAP_NAMED else ""
        problems.append((f"{len(group)} partitions overlap within bytes {start}-{end} ({named}{more}): "
                         "a damaged or tampered partition table; each is read", ()))
    return problems


PROTECTIVE = 0xEE        # the MBR entry type of a GPT disk's protective MBR


def mbr_entries(read: Read) -> list[tuple[int, int, int, int]]:
    """The MBR's used primary entries: (entry number 1-4, type, start sector,
    sector count); none without the 0x55AA signature."""
    sector = read(0, 512)
    if len(sector) < 512 or sector[510:512] != b"\x55\xaa":
        return []
    entries = []
    for index in range(4):
        kind, start, count = struct.unpack_from("<4xB3xII", sector, 446 + 16 * index)
        if kind and count:
            entries.append((index + 1, kind, start, count))
    return entries


EXTENDED = (0x05, 0x0F, 0x85)      # MBR entry types of an extended partition
MAX_EXTENDED_TABLES = 4096         # logical partitions a chain may hold before it is taken as endless


def extended_chain_loop(read: Read, block_size: int) -> str | None:
    """An MBR extended partition whose chain of extended boot records comes
    back to a table already read: an entry pointing at the MBR itself, or an
    EBR's next-table link pointing at itself or an earlier EBR. The Sleuth
    Kit stops there without a word (mmls lists the tables it read, and a
    table read twice lists its partitions twice); the chain is followed here
    with every sector it visits remembered, and bounded."""
    mbr = mbr_entries(read)
    for number, kind, start, _ in mbr:
        if kind not in EXTENDED:
            continue
        if start == 0:
            return (f"MBR entry {number} is an extended partition (type 0x{kind:02x}) that points at the MBR "
                    "itself (start sector 0): a damaged or tampered partition table; the partitions read "
                    "through it are the MBR's own again")
        seen = {0}
        sector = start
        for _ in range(MAX_EXTENDED_TABLES):
            seen.add(sector)
            table = read(sector * block_size, 512)
            if len(table) < 512 or table[510:512] != b"\x55\xaa":
                break
            link = next(((kind_byte, relative) for kind_byte, relative in
                         (struct.unpack_from("<4xB3xI", table, 446 + 16 * slot) for slot in range(4))
                         if kind_byte in EXTENDED), None)
            if link is None:
                break
            following = start + link[1]
            if following in seen:
                target = ("the MBR" if following == 0 else "itself" if following == sector
                          else f"the earlier extended table at sector {following}")
                return (f"MBR extended partition (entry {number}) loops: the extended table at sector {sector} "
                        f"links to {target}: a damaged or tampered partition table; logical partitions "
                        "after the loop are not listed")
            sector = following
        else:
            return (f"MBR extended partition (entry {number}) chains more than {MAX_EXTENDED_TABLES} extended "
                    "tables: taken as endless, a damaged or tampered partition table")
    return None


def gpt_entries(read: Read, block_size: int) -> list[tuple[int, int, int]] | None:
    """The primary GPT's entries that describe a range, as The Sleuth Kit
    lists them (a zero type GUID included): (table entry number from 1, first
    sector, sector count); None without a GPT header at LBA 1 whose CRC32
    matches."""
    header = read(block_size, block_size)
    if len(header) < 92 or header[:8] != b"EFI PART":
        return None
    size = struct.unpack_from("<I", header, 12)[0]
    if not 92 <= size <= len(header):
        return None
    if zlib.crc32(header[:16] + b"\0\0\0\0" + header[20:size]) != struct.unpack_from("<I", header, 16)[0]:
        return None
    entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
    if not 0 < count * entry_size <= 1 << 20 or entry_size < 128:
        return None
    table = read(entries_lba * block_size, count * entry_size)
    entries = []
    for index in range(len(table) // entry_size):
        first, last = struct.unpack_from("<QQ", table, index * entry_size + 32)
        if (first or last) and last >= first:
            entries.append((index + 1, first, last - first + 1))
    return entries


def two_partition_tables(volumes: list[dict[str, Any]], scheme: str | None, read: Read,
                         block_size: int) -> str | None:
    """A disk whose MBR is not (only) the protective MBR of its GPT: a hybrid
    MBR (the 0xEE entry and real partitions beside it, which duplicate or
    contradict the GPT's) or a GPT behind an MBR without the 0xEE entry. The
    Sleuth Kit and dfVFS read one table of the two; what only the other
    describes is not read. ``volumes`` are the partitions listed from
    ``scheme``, the table the route followed ("GPT" or "MBR"); the message
    names the other table's entries and how each compares with them."""
    if scheme not in ("GPT", "MBR"):
        return None
    mbr = mbr_entries(read)
    if not any(kind != PROTECTIVE for _, kind, _, _ in mbr):
        return None                     # no MBR, or a protective one
    gpt = gpt_entries(read, block_size)
    if not gpt:
        return None                     # no valid GPT, or one with no partition
    what = ("a hybrid MBR beside the GPT" if any(kind == PROTECTIVE for _, kind, _, _ in mbr)
            else "a GPT behind a non-protective MBR")
    other = "MBR" if scheme == "GPT" else "GPT"
    if other == "MBR":
        entries = [(number, f"type 0x{kind_byte:02x}, ", start, count)
                   for number, kind_byte, start, count in mbr if kind_byte != PROTECTIVE]
    else:
        entries = [(number, "", start, count) for number, start, count in gpt]
    details, unread = [], []
    for number, prefix, start, count in entries:
        offset, length = start * block_size, count * block_size
        same = next((v for v in volumes if (v["offset"], v["length"]) == (offset, length)), None)
        overlapping = [v["label"] for v in volumes
                       if v["offset"] < offset + length and offset < v["offset"] + v["length"]]
        if same is not None:
            relation = f"the same as {scheme} partition {same['label']}"
        else:
            unread.append(str(number))
            if overlapping:
                relation = (f"overlapping {scheme} partition{'s' if len(overlapping) > 1 else ''} "
                            f"{', '.join(overlapping)} with another extent")
            else:
                relation = f"in no {scheme} partition"
        details.append(f"{other} entry {number}: {prefix}start sector {start}, {count} sectors, {relation}")
    message = f"two partition tables: {what} ({'; '.join(details)}); partitions were listed from the {scheme}"
    if unread:
        message += (f", not from the {other}'s entr{'y' if len(unread) == 1 else 'ies'} {', '.join(unread)}: "
                    f"files only {'it describes' if len(unread) == 1 else 'they describe'} may be missing")
    return message


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
