"""A tolerant listing of a ZIP archive's members.

``zipfile`` refuses a whole archive for one bad central-directory entry (a
corrupt extra field, a name flagged UTF-8 that is not) and a member whose local
header is damaged or names another file. Evidence needs the opposite: every
member the central directory reaches is listed, each problem is attached to
its member, and when the central directory is damaged or missing the local
headers are scanned instead. Only the directory structures are parsed here;
member data is still decoded, and its CRC checked, by ``zipfile.ZipExtFile``.

Every length and offset read here comes from evidence: reads are bounded by
the file's size and records that run past their buffer end the parse."""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import BinaryIO

LOCAL_SIGNATURE = b"PK\x03\x04"
CENTRAL_SIGNATURE = b"PK\x01\x02"
END_SIGNATURE = b"PK\x05\x06"
END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
END64_SIGNATURE = b"PK\x06\x06"
DESCRIPTOR_SIGNATURE = b"PK\x07\x08"

_END = struct.Struct("<4s4H2LH")                 # 22 bytes
_END64_LOCATOR = struct.Struct("<4sLQL")          # 20 bytes
_END64 = struct.Struct("<4sQ2H2L4Q")              # 56 bytes
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")        # 46 bytes
_LOCAL = struct.Struct("<4s2B4HL2L2H")            # 30 bytes
_MAX_COMMENT = 0xFFFF
_SCAN_CHUNK = 1 << 20
FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800


@dataclass(frozen=True)
class ZipMember:
    """One member as the archive describes it; ``problems`` are what was
    wrong with its records (one warning each, on the member)."""

    name: str
    flag_bits: int
    compress_type: int
    crc: int
    compress_size: int
    file_size: int
    date_time: tuple[int, int, int, int, int, int]
    external_attr: int
    extra: bytes
    header_offset: int          # absolute offset of the local header
    data_offset: int | None     # absolute offset of the data; None: not located
    problems: tuple[str, ...] = ()

    def is_dir(self) -> bool:
        return self.name.endswith("/")

    @property
    def data_end(self) -> int:
        return (self.data_offset or self.header_offset) + self.compress_size


@dataclass(frozen=True)
class ZipListing:
    members: tuple[ZipMember, ...]
    problems: tuple[str, ...]       # about the archive as a whole
    scanned: bool                   # some members were found by the local-header scan


def has_end_record(tail: bytes) -> bool:
    """Whether ``tail`` (the file's last bytes, up to 64 KiB + 22) ends with an end-of-central-
    directory record whose comment reaches exactly the end of the file."""
    position = tail.rfind(END_SIGNATURE)
    while position >= 0:
        if position + _END.size <= len(tail):
            comment = _END.unpack_from(tail, position)[7]
            if position + _END.size + comment == len(tail):
                return True
        position = tail.rfind(END_SIGNATURE, 0, position)
    return False


def read_listing(stream: BinaryIO, size: int) -> ZipListing:
    """Members from the central directory, then any the local-header scan finds
    where the directory is damaged or missing. Raises ValueError when neither
    finds a member and there is no (empty) directory."""
    problems: list[str] = []
    members: list[ZipMember] = []
    directory_ok = False
    end = _find_end(stream, size)
    if end is None:
        problems.append("no end-of-central-directory record (archive cut short?): members found by a local-header scan")
    else:
        members, directory_ok = _read_central(stream, size, end, problems)
    scanned = False
    if not directory_ok:
        known = {m.header_offset for m in members}
        found = _scan_local_headers(stream, size, members)
        found = [m for m in found if m.header_offset not in known]
        if end is not None and found:
            problems.append(f"central directory damaged: {len(found)} more member(s) found by a local-header scan")
        members.extend(found)
        scanned = bool(found)
        if not members and end is None:
            raise ValueError("no ZIP central directory and no local file header found")
    return ZipListing(tuple(members), tuple(problems), scanned)


# -- the central directory ---------------------------------------------------------------------


def _read_at(stream: BinaryIO, offset: int, length: int) -> bytes:
    stream.seek(offset)
    return stream.read(length)


def _find_end(stream: BinaryIO, size: int) -> tuple[int, int, int, int] | None:
    """(position of the end record, entries, directory size, directory offset), with
    zip64 values where a zip64 end record is present; None when there is none."""
    window = min(size, _END.size + _MAX_COMMENT)
    tail = _read_at(stream, size - window, window)
    # Only a record whose comment ends the file exactly: the last "PK\x05\x06"
    # may be a stored ZIP's inside this one (zipfile takes it, and lists the
    # inner archive's members as this one's).
    position = tail.rfind(END_SIGNATURE)
    while position >= 0:
        if position + _END.size <= len(tail):
            record = _END.unpack_from(tail, position)
            if position + _END.size + record[7] == len(tail):
                break
        position = tail.rfind(END_SIGNATURE, 0, position)
    if position < 0:
        return None
    absolute = size - window + position
    entries, directory_size, directory_offset = record[4], record[5], record[6]
    if absolute >= _END64_LOCATOR.size:
        locator = _read_at(stream, absolute - _END64_LOCATOR.size, _END64_LOCATOR.size)
        if locator[:4] == END64_LOCATOR_SIGNATURE:
            # The zip64 record sits just before its locator; its stated offset may
            # be shifted by data prepended to the archive, as the plain one's is.
            end64_at = absolute - _END64_LOCATOR.size - _END64.size
            record64 = _read_at(stream, end64_at, _END64.size) if end64_at >= 0 else b""
            if len(record64) == _END64.size and record64[:4] == END64_SIGNATURE:
                fields = _END64.unpack(record64)
                entries, directory_size, directory_offset = fields[7], fields[8], fields[9]
                return end64_at, entries, directory_size, directory_offset
    return absolute, entries, directory_size, directory_offset


def _read_central(stream: BinaryIO, size: int, end: tuple[int, int, int, int],
                  problems: list[str]) -> tuple[list[ZipMember], bool]:
    end_at, entries, directory_size, directory_offset = end
    # Bytes prepended to the archive (a self-extractor) shift every offset.
    shift = end_at - directory_size - directory_offset
    if shift < 0:
        problems.append("central directory size/offset do not fit before its end record: offsets taken as stated")
        shift = 0
    start = directory_offset + shift
    if start >= end_at:
        if entries:
            problems.append(f"central directory of {entries} member(s) is missing")
            return [], False
        return [], True
    directory = _read_at(stream, start, end_at - start)
    members: list[ZipMember] = []
    position = 0
    while position + _CENTRAL.size <= len(directory) and directory[position:position + 4] == CENTRAL_SIGNATURE:
        fields = _CENTRAL.unpack_from(directory, position)
        name_length, extra_length, comment_length = fields[12], fields[13], fields[14]
        record_end = position + _CENTRAL.size + name_length + extra_length + comment_length
        if record_end > len(directory):
            break
        raw_name = directory[position + _CENTRAL.size: position + _CENTRAL.size + name_length]
        extra = directory[position + _CENTRAL.size + name_length: position + _CENTRAL.size + name_length + extra_length]
        member_problems: list[str] = []
        name = _decode_name(raw_name, fields[5], member_problems)
        file_size, compress_size, header_offset = _apply_zip64(fields[11], fields[10], fields[18], extra,
                                                               member_problems)
        header_offset += shift
        data_offset = _locate_data(stream, size, header_offset, raw_name, compress_size, member_problems)
        members.append(ZipMember(
            name=name, flag_bits=fields[5], compress_type=fields[6], crc=fields[9],
            compress_size=compress_size, file_size=file_size, date_time=_dos_time(fields[8], fields[7]),
            external_attr=fields[17], extra=extra, header_offset=header_offset, data_offset=data_offset,
            problems=tuple(member_problems)))
        position = record_end
    if len(members) < entries:
        problems.append(f"central directory damaged after {len(members)} of {entries} member(s)")
        return members, False
    return members, True


def _decode_name(raw: bytes, flags: int, problems: list[str]) -> str:
    if flags & FLAG_UTF8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("name is flagged UTF-8 but is not valid UTF-8 (shown escaped)")
            return raw.decode("utf-8", "surrogateescape")
    return raw.decode("cp437")


def _apply_zip64(file_size: int, compress_size: int, header_offset: int, extra: bytes,
                 problems: list[str]) -> tuple[int, int, int]:
    """Sizes and offset, with the zip64 extra field's 64-bit values where the
    32-bit ones say so. A damaged extra field is a problem, not a refusal."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        if position + 4 + length > len(extra):
            problems.append(f"corrupt extra field 0x{tag:04x} (declares {length} bytes, "
                            f"{len(extra) - position - 4} present): ignored")
            break
        if tag == 0x0001:
            body, cursor = extra[position + 4: position + 4 + length], 0
            values = [file_size, compress_size, header_offset]
            for slot in range(3):
                if values[slot] == 0xFFFFFFFF:
                    if cursor + 8 > len(body):
                        problems.append("corrupt zip64 extra field (too short for its sizes)")
                        break
                    values[slot] = struct.unpack_from("<Q", body, cursor)[0]
                    cursor += 8
            file_size, compress_size, header_offset = values
        position += 4 + length
    return file_size, compress_size, header_offset


def _dos_time(date: int, time: int) -> tuple[int, int, int, int, int, int]:
    return ((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F, time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2)


def _locate_data(stream: BinaryIO, size: int, header_offset: int, raw_name: bytes, compress_size: int,
                 problems: list[str]) -> int | None:
    """The member's data offset, through its local header, noting where the
    local header is damaged or names another file than the directory does."""
    if header_offset >= size:
        problems.append("local header lies beyond the end of the archive: content not located")
        return None
    header = _read_at(stream, header_offset, _LOCAL.size + len(raw_name))
    if len(header) < _LOCAL.size:
        problems.append("local header lies beyond the end of the archive: content not located")
        return None
    fields = _LOCAL.unpack_from(header)
    name_length, extra_length = fields[10], fields[11]
    local_name = header[_LOCAL.size:] if name_length == len(raw_name) else \
        _read_at(stream, header_offset + _LOCAL.size, name_length)
    if fields[0] != LOCAL_SIGNATURE:
        problems.append(f"local header signature damaged ({fields[0].hex()}): content read from the "
                        "directory's offsets, checked by its CRC")
    elif local_name != raw_name:
        problems.append(f"name in the local header ({_shown(local_name)}) differs from the central "
                        "directory's: possible hiding; listed under the directory's name")
    if header_offset + _LOCAL.size + name_length + extra_length + compress_size <= size:
        return header_offset + _LOCAL.size + name_length + extra_length
    # The local lengths are garbage: assume the local header repeats the directory's name.
    return header_offset + _LOCAL.size + len(raw_name)


def _shown(raw: bytes, limit: int = 200) -> str:
    text = raw[:limit].decode("utf-8", "backslashreplace")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return repr(text + ("..." if len(raw) > limit else ""))


# -- the local-header scan ---------------------------------------------------------------------


def _scan_local_headers(stream: BinaryIO, size: int, known: list[ZipMember]) -> list[ZipMember]:
    """Members found by their local headers, in file order. The data of a member
    whose size is known is skipped, so a stored ZIP inside is not mistaken for
    members of this one; the data of members already listed is skipped too."""
    skip = sorted((m.header_offset, max(m.data_end, m.header_offset + _LOCAL.size)) for m in known)
    starts = [begin for begin, _ in skip]
    found: list[ZipMember] = []
    position = 0
    while position < size:
        signature_at = _find(stream, size, LOCAL_SIGNATURE, position)
        if signature_at < 0:
            break
        # Known ranges do not nest (overlaps aside): the last one starting at or
        # before the signature is the only one that can cover it.
        candidate = bisect.bisect_right(starts, signature_at) - 1
        if candidate >= 0 and signature_at < skip[candidate][1]:
            position = skip[candidate][1]
            continue
        member = _local_member(stream, size, signature_at)
        if member is None:
            position = signature_at + 1
            continue
        found.append(member)
        position = max(signature_at + 1, member.data_end)
    return found


def _local_member(stream: BinaryIO, size: int, offset: int) -> ZipMember | None:
    header = _read_at(stream, offset, _LOCAL.size)
    if len(header) < _LOCAL.size:
        return None
    fields = _LOCAL.unpack(header)
    flags, method, time, date, crc, compress_size, file_size, name_length, extra_length = fields[3:12]
    data_offset = offset + _LOCAL.size + name_length + extra_length
    if data_offset > size:
        return None
    raw_name = _read_at(stream, offset + _LOCAL.size, name_length)
    extra = _read_at(stream, offset + _LOCAL.size + name_length, extra_length)
    problems = ["found by a local-header scan (not in the central directory)"]
    name = _decode_name(raw_name, flags, problems)
    file_size, compress_size, _ = _apply_zip64(file_size, compress_size, 0, extra, problems)
    if flags & FLAG_DESCRIPTOR and compress_size == 0:
        descriptor = _find_descriptor(stream, size, data_offset)
        if descriptor is None:
            problems.append("sizes are in a data descriptor that was not found: content not read")
            compress_size, file_size = max(0, min(size, data_offset) - data_offset), 0
            return _member(name, flags, method, crc, compress_size, file_size, date, time, extra, offset,
                           None, problems)
        crc, compress_size, file_size = descriptor
    if data_offset + compress_size > size:
        problems.append("member data runs past the end of the archive (cut short?)")
    return _member(name, flags, method, crc, compress_size, file_size, date, time, extra, offset, data_offset,
                   problems)


def _member(name, flags, method, crc, compress_size, file_size, date, time, extra, offset, data_offset,
            problems) -> ZipMember:
    return ZipMember(name=name, flag_bits=flags, compress_type=method, crc=crc, compress_size=compress_size,
                     file_size=file_size, date_time=_dos_time(date, time), external_attr=0, extra=extra,
                     header_offset=offset, data_offset=data_offset, problems=tuple(problems))


def _find_descriptor(stream: BinaryIO, size: int, data_offset: int) -> tuple[int, int, int] | None:
    """(crc, compressed size, size) from the first data descriptor after the data
    whose compressed size is the distance back to the data's start."""
    position = data_offset
    while True:
        at = _find(stream, size, DESCRIPTOR_SIGNATURE, position)
        if at < 0:
            return None
        record = _read_at(stream, at + 4, 12)
        if len(record) == 12:
            crc, compress_size, file_size = struct.unpack("<3L", record)
            if compress_size == at - data_offset:
                return crc, compress_size, file_size
        position = at + 1


def _find(stream: BinaryIO, size: int, needle: bytes, start: int) -> int:
    """Offset of ``needle`` at or after ``start``, read in bounded chunks; -1 if none."""
    position, step = start, 4096       # small reads first: members are often close together
    while position < size:
        chunk = _read_at(stream, position, step + len(needle) - 1)
        if not chunk:
            return -1
        at = chunk.find(needle)
        if at >= 0:
            return position + at
        position += step
        step = min(step * 2, _SCAN_CHUNK)
    return -1
