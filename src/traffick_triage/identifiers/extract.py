"""Which text a file holds, as segments to scan.

A segment is a piece of text plus where it came from inside the file:
"" for the whole (decoded) file, an XML part name for DOCX/ODT, or
"table.column rowid=N" for SQLite. Offsets reported for a finding are
character offsets into its segment's text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Iterator

from .markup import json_to_text, markup_to_text
from .office import DOCX_MIME, ODT_MIME, OfficeError, docx_text, odt_text
from ..sqlite_access import COMPANIONS, SQLITE_ERRORS
from .sqlite_text import SqliteLimits, sqlite_texts
from .textdecode import decode_bytes

SQLITE_MIMES = ("application/vnd.sqlite3", "application/x-sqlite3")
HTML_MIMES = ("text/html", "application/xhtml+xml")
XML_MIMES = ("text/xml", "application/xml")
JSON_MIMES = ("application/json", "text/json")


@dataclass(frozen=True)
class TextSegment:
    where: str
    text: str


def file_kind(name: str, mime: str, head: bytes = b"") -> str:
    """sqlite, docx, odt, html, xml, json or text."""
    mime = (mime or "").lower()
    lowered = name.lower()
    if mime in SQLITE_MIMES or head.startswith(b"SQLite format 3\0"):
        return "sqlite"
    if mime == DOCX_MIME or (lowered.endswith(".docx") and head.startswith(b"PK")):
        return "docx"
    if mime == ODT_MIME or (lowered.endswith(".odt") and head.startswith(b"PK")):
        return "odt"
    if mime in HTML_MIMES or lowered.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if mime in XML_MIMES or lowered.endswith((".xml", ".plist", ".svg", ".kml")):
        return "xml"
    if mime in JSON_MIMES or lowered.endswith((".json", ".jsonl")):
        return "json"
    return "text"


def extract_segments(file: Any, ctx: Any, max_bytes: int,
                     sqlite_limits: SqliteLimits = SqliteLimits()) -> Iterator[TextSegment]:
    with file.open() as stream:
        head = stream.read(16)
    kind = file_kind(file.name, file.mime, head)
    if kind == "sqlite":
        path = ctx.temp_copy(file, companions=COMPANIONS)
        try:
            for item in sqlite_texts(path, ctx.warn, sqlite_limits):
                where = f"{item.table}.{item.column}" + (f" rowid={item.rowid}" if item.rowid is not None else "")
                yield TextSegment(where, item.text)
        except SQLITE_ERRORS as error:   # not a database after all, or damaged beyond reading
            ctx.warn(f"sqlite: {error}")
        return
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        ctx.warn(f"only the first {max_bytes} bytes scanned for identifiers")
        data = data[:max_bytes]
    if kind in ("docx", "odt"):
        reader = docx_text if kind == "docx" else odt_text
        try:
            for part, text in reader(data):
                yield TextSegment(part, text)
        except (OfficeError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError,
                NotImplementedError, RuntimeError, ValueError) as error:
            # damaged, encrypted or oddly compressed containers
            ctx.warn(f"{kind}: {error}")
        return
    text, _encoding = decode_bytes(data)
    if kind in ("html", "xml") or (kind == "text" and _looks_like_markup(text)):
        yield TextSegment("", markup_to_text(text))
    elif kind == "json":
        yield TextSegment("", json_to_text(text))
    else:
        yield TextSegment("", text)


def _looks_like_markup(text: str) -> bool:
    start = text[:2048].lstrip().lower()
    return start.startswith(("<!doctype html", "<html", "<?xml"))
