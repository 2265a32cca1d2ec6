"""What the thumbnail-cache expanders share: reading a byte range of the
container, the slice a member's key names (checked against the container,
never trusted), naming a thumbnail by its image type, and the budget checks
every member passes before it is listed. Not an expander (the registry skips
modules whose name starts with an underscore)."""

from __future__ import annotations

import io
from typing import IO, Any, Iterator

from ...sources.base import RandomAccessReader
from ..api import ExpansionBudget, ExpansionError, Member, MemberProblem

# The image types a thumbnail cache holds, by their first bytes.
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"GIF8", "gif"),
)

SCAN_CHUNK = 1 << 20     # bytes read at a time when looking for a signature


def image_extension(head: bytes) -> str:
    """The extension of the image type ``head`` starts with; ``bin`` when none."""
    for magic, extension in _IMAGE_MAGIC:
        if head.startswith(magic):
            return extension
    return "bin"


def container_size(container: IO[bytes]) -> int:
    size = container.seek(0, io.SEEK_END)
    container.seek(0)
    return size


def read_at(container: IO[bytes], offset: int, count: int) -> bytes:
    """``count`` bytes at ``offset``, fewer only at the end of the container
    (a raw stream may return short reads: they are read on)."""
    container.seek(offset)
    parts = []
    while count > 0:
        data = container.read(count)
        if not data:
            break
        parts.append(data)
        count -= len(data)
    return b"".join(parts)


class FullReads:
    """The container as olefile wants it: read(n) gives n bytes unless at the
    end (io.BufferedReader would do it, but closes the container when it is
    collected)."""

    def __init__(self, container: IO[bytes]) -> None:
        self._container = container

    def read(self, count: int = -1) -> bytes:
        if count is None or count < 0:
            return self._container.read()
        return read_at(self._container, self._container.tell(), count)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._container.seek(offset, whence)

    def tell(self) -> int:
        return self._container.tell()

    @property
    def closed(self) -> bool:
        return bool(getattr(self._container, "closed", False))

    def close(self) -> None:
        """The container is the walk's: it closes it, not olefile."""


class SignatureScanner:
    """Finds the next offset where ``signature`` begins, for a reader that
    only moves forward: the last chunk read is kept, so a cache with a
    signature at every offset still costs one linear pass, not one chunk
    read per resync."""

    def __init__(self, container: IO[bytes], signature: bytes, end: int) -> None:
        self._container = container
        self._signature = signature
        self._end = end
        self._chunk_start = 0
        self._chunk = b""

    def next_from(self, start: int) -> int | None:
        position = start
        while position < self._end:
            offset = position - self._chunk_start
            if not 0 <= offset or offset + len(self._signature) > len(self._chunk):
                self._chunk_start = position
                self._chunk = read_at(self._container, position, min(SCAN_CHUNK, self._end - position))
                offset = 0
                if len(self._chunk) < len(self._signature):
                    return None
            found = self._chunk.find(self._signature, offset)
            if found >= 0:
                return self._chunk_start + found
            # Keep the last bytes: a signature may straddle two chunks.
            position = self._chunk_start + len(self._chunk) - len(self._signature) + 1
        return None


def slice_key(offset: int, length: int) -> dict[str, int]:
    return {"offset": offset, "length": length}


def checked_slice(key: dict[str, Any], size: int) -> tuple[int, int]:
    """The (offset, length) a key names, refused unless it lies inside the container."""
    offset, length = key.get("offset"), key.get("length")
    if (not isinstance(offset, int) or not isinstance(length, int) or isinstance(offset, bool)
            or isinstance(length, bool) or offset < 0 or length < 0 or offset + length > size):
        raise ExpansionError(f"member key {key!r} does not lie inside the container ({size} bytes)")
    return offset, length


def open_slice(container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
    """A stream of the bytes a slice key names, charged to the budget."""
    offset, length = checked_slice(key, container_size(container))
    reader = RandomAccessReader(length, lambda at, count: read_at(container, offset + at, count))
    return budget.bounded(reader, length)


def admitted(member: Member, budget: ExpansionBudget) -> Member | MemberProblem:
    """The member counted against the budget, or the reason it must not be
    read. charge_member raises BudgetExceeded past the member cap: the walk
    keeps what was listed before."""
    budget.charge_member()
    reason = budget.member_limit(member.size, member.size)
    if reason:
        return MemberProblem(member.name, reason)
    return member


def unique_name(name: str, offset: int, seen: set[str]) -> str:
    """``name`` or, when the container holds two entries of that name (a
    cache key written twice, a remnant), the same name with its offset."""
    if name in seen:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem} at {offset}{dot}{extension}" if dot else f"{name} at {offset}"
    seen.add(name)
    return name


MAX_PROBLEMS = 100       # warnings named one by one per container; the rest are counted in one line


class StopProblem(MemberProblem):
    """Why the rest of a container is not read: always passed on, past the cap."""


def limited_problems(items: Iterator[Member | MemberProblem], label: str) -> Iterator[Member | MemberProblem]:
    """``items`` with at most MAX_PROBLEMS problems passed on one by one: a
    cache damaged on purpose (a signature at every offset) must not turn into
    a million warning lines. Members are all passed on."""
    dropped = 0
    shown = 0
    for item in items:
        if isinstance(item, MemberProblem) and not isinstance(item, StopProblem):
            if shown >= MAX_PROBLEMS:
                dropped += 1
                continue
            shown += 1
        yield item
    if dropped:
        yield MemberProblem(label, f"{dropped} more damaged entries, not listed one by one")
