"""Printable, stable locators: the chain that names where a file lives.

``laptop.E01 > p2 > /Users/a/DCIM/1.jpg`` or ``phone.zip > sdcard/DCIM/1.jpg``.
Segments are joined by `` > ``. Names come from evidence and are hostile by
nature, so each segment is escaped: backslash, ``>``, control characters,
bidirectional overrides (the ``gpj.exe`` spoof) and undecodable bytes become
visible escapes. The escaping is reversible (:func:`parse`), so a locator
printed in a report can be typed back to the tool.

The locator is what reports cite; the bytes are found again through the
structured address stored beside it in the case store.
"""

from __future__ import annotations

import re
import unicodedata

SEPARATOR = " > "

# Characters that would hide or reorder text when shown: bidi controls and
# other invisible format characters (Unicode category Cf) are escaped too.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def decode_name(raw: bytes | str) -> str:
    """A name from evidence as text; undecodable bytes survive as surrogates
    so :func:`escape_segment` can print them as ``\\xNN``."""
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8", errors="surrogateescape")


def _escaped_char(ch: str) -> str | None:
    """The visible escape for a character that must not be shown raw, else None."""
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    if ch == ">":
        return "\\>"
    if 0xDC80 <= code <= 0xDCFF:                 # undecodable byte (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return None


# Printable ASCII other than the two escaped characters needs no per-character
# look-up: most names are plain, and this runs several times for every file.
_NEEDS_ESCAPE_CHECK = re.compile(r"[^\x20-\x3d\x3f-\x5b\x5d-\x7e]")


def escape_segment(text: str) -> str:
    if not _NEEDS_ESCAPE_CHECK.search(text):
        return text
    return "".join(_escaped_char(ch) or ch for ch in text)


_UNESCAPE = re.compile(r"\\(\\|>|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def unescape_segment(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token in ("\\", ">"):
            return token
        code = int(token[1:], 16)
        if token[0] == "x" and code >= 0x80:
            return chr(0xDC00 + code)     # back to the undecodable byte
        return chr(code)

    return _UNESCAPE.sub(replace, text)


def is_suspicious_name(text: str) -> bool:
    """True for names that display differently from what they are: control
    characters, newlines, bidi overrides, undecodable bytes."""
    if not _NEEDS_ESCAPE_CHECK.search(text):
        return False
    return any(ch not in "\\>" and _escaped_char(ch) for ch in text)


def join(segments: list[str] | tuple[str, ...]) -> str:
    """Printable locator from raw (unescaped) segments."""
    return SEPARATOR.join(escape_segment(segment) for segment in segments)


def parse(locator: str) -> list[str]:
    """Raw segments of a printable locator (inverse of :func:`join`)."""
    # A separator is " > " whose ">" is not escaped; escaped ones read "\>".
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(locator):
        if locator[index] == "\\" and index + 1 < len(locator):
            current.append(locator[index:index + 2])
            index += 2
            continue
        if locator.startswith(SEPARATOR, index):
            parts.append("".join(current))
            current = []
            index += len(SEPARATOR)
            continue
        current.append(locator[index])
        index += 1
    parts.append("".join(current))
    return [unescape_segment(part) for part in parts]
