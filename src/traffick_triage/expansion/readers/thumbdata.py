"""Android mini-thumbnail files (``DCIM/.thumbnails/.thumbdata3--1967290299``,
``.thumbdata4--…``), written by AOSP's MiniThumbFile (Android 2.0 up
to 9; Android 10 keeps one JPEG file per thumbnail instead).

The file is an array of 10,000-byte slots indexed by the MediaStore id of
the image (slot N starts at N * 10000): a status byte (1 = holds a
thumbnail), an 8-byte "magic" (big-endian; the images table's
``mini_thumb_magic`` holds the same value), a 4-byte big-endian length and
that many bytes of JPEG. A slot keeps its thumbnail after the image is
deleted, which is why this cache matters. The format has no signature: the
file's name is the tie-breaker, and the content must agree."""

from __future__ import annotations

import re
import struct
from typing import IO, Any, Iterator

from .. import api
from ._cache_common import admitted, container_size, limited_problems, open_slice, read_at, slice_key

SLOT_BYTES = 10000                       # MiniThumbFile.BYTES_PER_MINTHUMB
SLOT_HEADER = 13                         # status (1) + magic (8) + length (4)
JPEG_START = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
NAME_PATTERN = re.compile(r"^\.thumbdata\d*-", re.IGNORECASE)


class ThumbdataExpander(api.Expander):
    NAME = "android-thumbdata"
    VERSION = "1"
    ROUTE = api.ROUTE_CACHE
    DESCRIPTION = "Android DCIM/.thumbnails/.thumbdata* slots: every mini thumbnail, with its MediaStore id"

    @classmethod
    def library(cls) -> str:
        return "built-in parser (AOSP MiniThumbFile layout)"

    def claims(self, probe: api.Probe) -> bool:
        if not NAME_PATTERN.match(probe.name) or probe.size < SLOT_HEADER + len(JPEG_START):
            return False
        # Every slot the head shows starts with a status byte of 0 or 1, and
        # a slot holding a thumbnail holds a JPEG right after its header.
        for start in range(0, min(len(probe.head), probe.size), SLOT_BYTES):
            status = probe.head[start]
            if status not in (0, 1):
                return False
            data = probe.head[start + SLOT_HEADER:start + SLOT_HEADER + len(JPEG_START)]
            if status == 1 and len(data) == len(JPEG_START) and data != JPEG_START:
                return False
        return True

    def members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        return limited_problems(self._members(container, budget), "slots")

    def _members(self, container: IO[bytes], budget: api.ExpansionBudget) -> Iterator[api.Member | api.MemberProblem]:
        size = container_size(container)
        slots = (size + SLOT_BYTES - 1) // SLOT_BYTES     # the last slot may be cut at the JPEG's end
        for slot in range(slots):
            start = slot * SLOT_BYTES
            header = read_at(container, start, SLOT_HEADER + len(JPEG_START))
            if len(header) < SLOT_HEADER + len(JPEG_START) or header[SLOT_HEADER:] != JPEG_START:
                continue                                  # an empty slot, or a slot never written
            found = self._slot(container, slot, start, header, min(start + SLOT_BYTES, size))
            yield admitted(found, budget) if isinstance(found, api.Member) else found

    def _slot(self, container: IO[bytes], slot: int, start: int, header: bytes,
              slot_end: int) -> api.Member | api.MemberProblem:
        status = header[0]
        magic, declared = struct.unpack_from(">qi", header, 1)
        data_start = start + SLOT_HEADER
        room = slot_end - data_start
        notes: list[str] = []
        length = declared
        if not (len(JPEG_START) + len(JPEG_END) <= declared <= room
                and read_at(container, data_start + declared - len(JPEG_END), len(JPEG_END)) == JPEG_END):
            # The length field is damaged or the slot was partly overwritten:
            # the JPEG ends at its first end marker inside the slot.
            body = read_at(container, data_start, room)
            end = body.find(JPEG_END, len(JPEG_START))
            if end < 0:
                return api.MemberProblem(f"slot {slot}", f"JPEG start without an end inside the slot "
                                                         f"(length field says {declared} bytes)")
            length = end + len(JPEG_END)
            notes.append(f"length field ({declared}) does not match; the JPEG ends at its first end marker")
        if status != 1:
            notes.append(f"slot status {status} (marked empty): a thumbnail left from an earlier write")
        details: dict[str, Any] = {"mediastore_id": slot, "mini_thumb_magic": magic, "slot_status": status}
        return api.Member(name=f"slot {slot}.jpg", key=slice_key(data_start, length), size=length,
                          details=details, notes=notes)

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: api.ExpansionBudget) -> IO[bytes]:
        return open_slice(container, key, budget)
