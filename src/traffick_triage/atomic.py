"""Outputs are written atomically: a temporary file in the same folder,
flushed to disk, then renamed over the target. An interrupted write leaves the
previous complete file, never half of a new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO]:
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        kwargs = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        with os.fdopen(descriptor, mode, **kwargs) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_writer(path) as stream:
        stream.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_writer(path, "wb") as stream:
        stream.write(data)
