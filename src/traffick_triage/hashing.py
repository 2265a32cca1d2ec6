"""One read pass per file: MD5, SHA-1 and SHA-256 together, the first bytes
kept for the content sniff, and (for files small enough) the whole content
kept for the plugins, so no byte of evidence is read twice on the hot path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

from .sources.base import READ_CHUNK

HEAD_BYTES = 65536


@dataclass
class HashResult:
    size: int
    md5: str
    sha1: str
    sha256: str
    head: bytes
    content: bytes | None      # whole content when it was kept, else None


def hash_stream(stream: IO[bytes], keep_limit: int = 0) -> HashResult:
    """Hash ``stream`` to its end. Content up to ``keep_limit`` bytes is kept."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    head = b""
    kept: list[bytes] | None = [] if keep_limit > 0 else None
    size = 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        size += len(chunk)
        if kept is not None:
            if size <= keep_limit:
                kept.append(chunk)
            else:
                kept = None
    content = b"".join(kept) if kept is not None else None
    return HashResult(size, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), head, content)
