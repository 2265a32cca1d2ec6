"""Bytes -> text for files of unknown encoding.

Order: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
else the byte pattern of BOM-less UTF-16: a NUL in almost every other byte
(odd positions for LE, even for BE) for mostly-Latin text, or one small
"script block" byte in every other position for a non-Latin script such as
Arabic; else UTF-8 if it decodes; else UTF-8 with a few damaged bytes
(carved or truncated files); else latin-1, which decodes anything, so the
scan still sees the ASCII identifiers in an unknown 8-bit encoding (legacy
Windows-1256 Arabic is not detected: its bytes are ambiguous with latin-1).
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
_SCRIPT_SHARE = 0.9        # share of high bytes that are 0x00 or one script block


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


def guess_utf16_script(data: bytes) -> str | None:
    """BOM-less UTF-16 of a non-Latin alphabetic script (Arabic is U+06xx:
    every other byte is 0x06, or 0x00 for spaces and ASCII digits). There
    are few NULs, so ``guess_utf16`` misses it; instead one parity holds
    almost only 0x00 plus one small "script block" byte while the other
    parity varies."""
    sample = data[:_SAMPLE]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    for parity, encoding in ((1, "utf-16-le"), (0, "utf-16-be")):
        high = sample[parity:pairs * 2:2]
        low = sample[1 - parity:pairs * 2:2]
        block = max(range(1, 0x20), key=high.count)
        share = (high.count(0) + high.count(block)) / pairs
        if share >= _SCRIPT_SHARE and len(set(low)) > 8 and low.count(block) < 0.5 * pairs:
            return encoding
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding name used)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace"), encoding
    # Script-block UTF-16 is tested before UTF-8 because Arabic UTF-16
    # (bytes 0x06 and letters below 0x80) is also "valid" UTF-8/ASCII; real
    # text never has 90% control bytes at one parity, so this cannot misfire
    # on it.
    utf16 = guess_utf16(data) or guess_utf16_script(data)
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
