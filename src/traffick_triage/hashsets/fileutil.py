"""Small file helpers: streamed SHA-256, BOM-aware bounded line reading."""

from __future__ import annotations

import codecs
import hashlib
import io
from pathlib import Path
from typing import Callable, Iterator

MAX_LINE = 1 << 20  # a hash-list line longer than this is garbage, not a record


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def text_encoding(head: bytes) -> str:
    """Encoding from a BOM. Windows tools (PowerShell `Out-File`) write UTF-16."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def decode_head(head: bytes) -> str:
    return head.decode(text_encoding(head), errors="replace")


def iter_lines(path: str | Path, problem: Callable[[str], None],
               max_line: int = MAX_LINE) -> Iterator[tuple[int, str]]:
    """(line number, line without EOL) with bounded memory.

    Undecodable bytes become U+FFFD rather than aborting the file; a line over
    `max_line` characters is reported and skipped in pieces, so a file with no
    newlines cannot pull gigabytes into memory.
    """
    with open(path, "rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=text_encoding(head), errors="replace",
                                newline=None)
        number = 0
        skipping = False
        while True:
            line = text.readline(max_line)
            if not line:
                return
            complete = line.endswith("\n")
            if skipping:
                skipping = not complete
                continue
            number += 1
            if not complete and len(line) >= max_line:
                problem(f"line {number}: longer than {max_line} characters, skipped")
                skipping = True
                continue
            yield number, line.rstrip("\r\n")
