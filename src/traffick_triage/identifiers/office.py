"""Text of DOCX and ODT documents (ZIP containers of XML), stdlib only.

Bounded against hostile archives: at most ``max_part_bytes`` are inflated
per XML part and ``max_total_bytes`` per document (the sizes in the ZIP
directory are not trusted), and parts declaring a DTD are skipped (no entity
expansion games).
"""

from __future__ import annotations

import io
import re
import zipfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Iterator

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_DOCX_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")
_ODT_PARTS = ("content.xml", "styles.xml", "meta.xml")

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_MIME = "application/vnd.oasis.opendocument.text"


@dataclass(frozen=True)
class OfficeLimits:
    max_part_bytes: int = 32 << 20
    max_total_bytes: int = 64 << 20
    max_parts: int = 64


class OfficeError(ValueError):
    pass


def _read_bounded(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise OfficeError(f"{name}: larger than {limit} bytes inflated")
    return data


def _element_text(data: bytes, paragraph: set[str], tab: set[str], line_break: set[str],
                  text_tags: set[str] | None, space_tag: str | None) -> str:
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise OfficeError("XML part declares a DTD; skipped")
    root = ElementTree.fromstring(data)
    out: list[str] = []
    # Iterative depth-first walk: a hostile document may nest deeper than
    # Python's recursion limit. A stack entry is an element to open, or a
    # string (closing paragraph break / tail text) to emit when popped.
    stack: list[ElementTree.Element | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        tag = item.tag
        if tag in tab:
            out.append("\t")
        elif tag in line_break:
            out.append("\n")
        elif tag == space_tag:
            count = item.get(_TEXT_NS + "c") or "1"
            out.append(" " * (int(count) if count.isdigit() and int(count) < 1000 else 1))
        if item.text and (text_tags is None or tag in text_tags):
            out.append(item.text)
        closing: list[ElementTree.Element | str] = []
        for child in item:
            closing.append(child)
            # In ODT, text after a child element (its tail) is content too.
            if child.tail and text_tags is None:
                closing.append(child.tail)
        if tag in paragraph:
            closing.append("\n")
        stack.extend(reversed(closing))
    return "".join(out)


def _parts(data: bytes, wanted, limits: OfficeLimits) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise OfficeError(f"not a readable ZIP container: {error}") from error
    total = 0
    names = [name for name in archive.namelist() if wanted(name)][:limits.max_parts]
    for name in names:
        part = _read_bounded(archive, name, limits.max_part_bytes)
        total += len(part)
        if total > limits.max_total_bytes:
            raise OfficeError(f"more than {limits.max_total_bytes} bytes of XML inflated")
        yield name, part


def docx_text(data: bytes, limits: OfficeLimits = OfficeLimits()) -> Iterator[tuple[str, str]]:
    """(part name, text) for the document body, headers, footers, notes and comments."""
    for name, part in _parts(data, lambda n: bool(_DOCX_PARTS.fullmatch(n)), limits):
        yield name, _element_text(part, {_W + "p"}, {_W + "tab"}, {_W + "br", _W + "cr"},
                                  {_W + "t", _W + "delText", _W + "instrText"}, None)


def odt_text(data: bytes, limits: OfficeLimits = OfficeLimits()) -> Iterator[tuple[str, str]]:
    """(part name, text) for content, styles (headers/footers) and metadata."""
    for name, part in _parts(data, lambda n: n in _ODT_PARTS, limits):
        yield name, _element_text(part, {_TEXT_NS + "p", _TEXT_NS + "h"}, {_TEXT_NS + "tab"},
                                  {_TEXT_NS + "line-break"}, None, _TEXT_NS + "s")
