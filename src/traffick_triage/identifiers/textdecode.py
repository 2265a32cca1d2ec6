"""Bytes -> text for files of unknown encoding.

Order: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); else
a NUL pattern: text in UTF-16 without BOM has a NUL in almost every other
byte (odd positions for LE, even for BE when the text is mostly ASCII or
Latin); else UTF-8 if it decodes (tolerating a few damaged bytes, as in
carved or truncated files); else latin-1, which decodes anything, so the
scan still sees the ASCII identifiers in an unknown 8-bit encoding.
"""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE = 4096
_NUL_SHARE = 0.3           # share of NULs at one parity that says UTF-16
_MAX_BAD_UTF8_SHARE = 0.01


def guess_utf16(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' from the NUL pattern of a BOM-less sample."""
    sample = data[:_SAMPLE]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0:pairs * 2:2].count(0)
    odd_nuls = sample[1:pairs * 2:2].count(0)
    if odd_nuls >= _NUL_SHARE * pairs and even_nuls < 0.1 * pairs:
        return "utf-16-le"
    if even_nuls >= _NUL_SHARE * pairs and odd_nuls < 0.1 * pairs:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding name used)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace"), encoding
    utf16 = guess_utf16(data)
    if utf16:
        return data.decode(utf16, errors="replace"), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= _MAX_BAD_UTF8_SHARE * max(1, len(text)):
        return text, "utf-8"
    return data.decode("latin-1"), "latin-1"
