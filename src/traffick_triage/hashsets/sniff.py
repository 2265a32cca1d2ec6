"""Format detection by content (never by file extension)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from .entry import normalize_hex
from .fileutil import decode_head
from .icse import map_header, _split

SNIFF_BYTES = 8192
SQLITE_MAGIC = b"SQLite format 3\x00"
STORE_MARKER = "traffick-triage-hashstore"

FORMATS = ("triage-store", "nsrl-rds3", "vics-json", "hashdeep", "md5deep",
           "icse-csv", "pdq", "phash", "plain", "empty", "unknown")

_DEEP = re.compile(r"^\s*(?:\d+\s+)?[0-9A-Fa-f]{32,64}  \S")
_FIELDS = re.compile(r"\s*[,\t]\s*|\s+")


def detect_format(path: str | Path) -> str:
    """One of FORMATS. Unreadable or unrecognised input gives "unknown"."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            truncated = bool(handle.read(1))
    except OSError:
        return "unknown"
    if not head.strip():
        return "empty"
    if head.startswith(SQLITE_MAGIC):
        return _sqlite_kind(Path(path))
    text = decode_head(head)
    if truncated and "\n" in text:
        text = text[: text.rindex("\n")]  # drop the partial last line
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "vics-json" if _looks_vics(stripped) else "unknown"
    if stripped.startswith("%%%% HASHDEEP"):
        return "hashdeep"
    return _text_kind(text.splitlines())


def _looks_vics(text: str) -> bool:
    return any(key in text for key in ('"odata.metadata"', '"@odata.context"', '"Media"',
                                       '"MediaID"', '"value"'))


def _sqlite_kind(path: Path) -> str:
    from .nsrl import readonly_uri  # local: nsrl imports are heavier
    try:
        con = sqlite3.connect(readonly_uri(path), uri=True)
        try:
            names = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table','view')")}
            if {"meta", "sources", "entries"} <= names:
                row = con.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row and row[0] == STORE_MARKER:
                    return "triage-store"
            if "FILE" in names:
                columns = {r[1].lower() for r in con.execute("PRAGMA table_info('FILE')")}
                if {"sha256", "sha1", "md5"} <= columns:
                    return "nsrl-rds3"
        finally:
            con.close()
    except sqlite3.Error:
        pass
    return "unknown"


def pdq_comment(path: str | Path) -> bool:
    """True when the head of a text list says "pdq" in a comment line: the
    list's author named its type, so reading it as PDQ is no guess."""
    try:
        with open(path, "rb") as handle:
            text = decode_head(handle.read(SNIFF_BYTES))
    except OSError:
        return False
    return any(l.lstrip().startswith("#") and "pdq" in l.lower() for l in text.splitlines())


def _text_kind(lines: list[str]) -> str:
    comments = " ".join(l.lower() for l in lines if l.lstrip().startswith("#"))
    data = [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")][:50]
    if not data:
        return "empty"
    header = map_header(_best_split(data[0]))
    if header and any(k in header for k in ("md5", "sha1", "sha256", "pdq", "phash")):
        return "icse-csv"
    if all(_DEEP.match(l) for l in data):
        return "md5deep"
    firsts = [normalize_hex(_FIELDS.split(l, maxsplit=1)[0]) for l in data]
    valid = [f for f in firsts if f and len(f) in (16, 32, 40, 64)]
    # Real lists carry the odd stray line (a header word, a truncated hash):
    # the reader reports those; detection only needs most lines to be hashes.
    if 2 * len(valid) < len(data):
        return "unknown"
    data = [l for l, f in zip(data, firsts) if f and len(f) in (16, 32, 40, 64)]
    lengths = {len(f) for f in valid}
    if lengths == {16}:
        return "phash"
    if lengths == {64}:
        # 64 hex is both SHA-256 and PDQ: PDQ needs a "# pdq" comment or a
        # quality column on every line (see FORMATS.md).
        if "pdq" in comments or all(_has_quality(l) for l in data):
            return "pdq"
    if lengths <= {32, 40, 64}:
        return "plain"
    return "unknown"


def _best_split(line: str) -> list[str]:
    best: list[str] = []
    for delimiter in (";", "\t", ","):
        cells = _split(line, delimiter)
        if len(map_header(cells)) > len(map_header(best)):
            best = cells
    return best


def _has_quality(line: str) -> bool:
    fields = _FIELDS.split(line, maxsplit=2)
    return len(fields) > 1 and fields[1].isdigit() and int(fields[1]) <= 100
