"""Where the walk keeps the bytes of a container or member it must read again:
small ones in memory, larger ones in a private folder of the case's scratch
area (scratch.py; never the system temporary folder during a scan), removed
as soon as the walk has passed them and when the source closes."""

from __future__ import annotations

import io
import os
import shutil
from typing import IO, Any, Callable

from .. import scratch

MEMORY_SPOOL_BYTES = 4 << 20     # members up to this size stay in memory
COPY_CHUNK = 1 << 20


class Spooled:
    """Bytes kept for reading again: ``open()`` gives a fresh seekable stream."""

    def __init__(self, size: int, data: bytes | None = None, path: str | None = None) -> None:
        self.size, self._data, self.path = size, data, path

    def open(self) -> IO[bytes]:
        if self._data is not None:
            return io.BytesIO(self._data)
        return open(self.path, "rb")      # noqa: SIM115 - the caller closes it

    def discard(self) -> None:
        self._data = None
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class Spool:
    """One per opened source; its folder is made at the first large spool."""

    def __init__(self) -> None:
        self._folder: str | None = None
        self._count = 0

    def keep(self, head: bytes, stream: IO[bytes], limit: int) -> Spooled:
        """``head`` and the rest of ``stream``, at most ``limit`` bytes in all
        (OSError past it: the stream is longer than it may be)."""
        chunks, total = [head], len(head)
        if total > limit:
            raise OSError(f"longer than its limit of {limit} bytes")
        handle: IO[bytes] | None = None
        path = None
        try:
            while True:
                chunk = stream.read(COPY_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise OSError(f"longer than its limit of {limit} bytes")
                if handle is None and total > MEMORY_SPOOL_BYTES:
                    path = self._new_path()
                    handle = open(path, "wb")     # noqa: SIM115 - closed below
                    for kept in chunks:
                        handle.write(kept)
                    chunks = []
                if handle is not None:
                    handle.write(chunk)
                else:
                    chunks.append(chunk)
        except BaseException:
            if handle is not None:
                handle.close()
                os.unlink(path)
            raise
        if handle is not None:
            handle.close()
            return Spooled(total, path=path)
        return Spooled(total, data=b"".join(chunks))

    def _new_path(self) -> str:
        if self._folder is None:
            self._folder = scratch.temporary_folder("expand-")
        self._count += 1
        return os.path.join(self._folder, f"{self._count}.bin")

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def read_head(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` first bytes (a stream may return less per read)."""
    parts, total = [], 0
    while total < size:
        chunk = stream.read(size - total)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


class StreamOver(io.RawIOBase):
    """A readable stream whose ``read`` draws on ``self._stream``, which it
    closes with itself: what the walk's stream wrappers share."""

    _stream: IO[bytes]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class Replay(StreamOver):
    """The bytes already read (``head``), then the rest of the stream they came
    from: a file is read once for the probe and its hashes."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head, self._stream = memoryview(head), stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data = bytes(self._head) + self._stream.read()
                self._head = memoryview(b"")
                return data
            data, self._head = bytes(self._head[:size]), self._head[size:]
            return data
        return self._stream.read(size)



class OnceThenReopen:
    """An opener that first gives the stream already opened (with its head
    replayed), then opens the entry again through its own opener."""

    def __init__(self, head: bytes, stream: IO[bytes], reopen: Callable[[], IO[bytes]]) -> None:
        self._first: Replay | None = Replay(head, stream)
        self._reopen = reopen

    def __call__(self) -> IO[bytes]:
        first, self._first = self._first, None
        return first if first is not None else self._reopen()

    def release(self) -> None:
        """The walk moved on: the stream kept for a first read is closed."""
        if self._first is not None:
            self._first.close()
            self._first = None


class Closing(io.RawIOBase):
    """A member's stream that also closes the container handle it reads."""

    def __init__(self, stream: IO[bytes], *others: IO[bytes]) -> None:
        self._stream, self._others = stream, others

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
            for other in self._others:
                other.close()
        finally:
            super().close()
