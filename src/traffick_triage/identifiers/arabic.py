"""Text normalisation for keyword matching (Arabic and Latin).

Arabic is written with optional diacritics, decorative stretching and
several interchangeable spellings of the same letter; a keyword must match
all of them. The folding here:

* alef with hamza/madda/wasla (أ إ آ ٱ) -> ا ; hamza on waw ؤ -> و and on
  yeh ئ -> ي (people drop the hamza seat when typing fast)
* ta marbuta ة -> ه ; alef maqsura ى -> ي ; Persian yeh ی -> ي and
  Persian keheh ک -> ك (Persian keyboards are common in the Gulf)
* diacritics U+064B-U+0652, superscript alef U+0670 and tatweel U+0640 removed
* zero-width and bidi control characters removed
* Arabic presentation forms (U+FB50-U+FDFF, U+FE70-U+FEFF) and full-width
  Latin folded through NFKC, then through the rules above
* Latin (and everything else) case-folded

Every rule maps one input character to zero or more output characters
independently of its neighbours. That is what lets ``normalise_with_map``
point each output character back at its source character, so a match found
in normalised text is reported with the text as it was written.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_LETTER_FOLDS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ؤ": "و", "ئ": "ي",
    "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك",
}
_REMOVED = (
    [chr(c) for c in range(0x064B, 0x0653)]      # harakat, tanwin, shadda, sukun
    + ["\u0670", "\u0640"]                        # superscript alef, tatweel
    + ["\u200B", "\u200C", "\u200D", "\u200E", "\u200F", "\u061C", "\uFEFF"]
    + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
_NFKC_RANGES = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFE), (0xFF01, 0xFF5E))


def _fold_simple(text: str) -> str:
    """Letter folds and removals only (no NFKC, no case folding)."""
    out = []
    for char in text:
        if char in _REMOVED_SET:
            continue
        out.append(_LETTER_FOLDS.get(char, char))
    return "".join(out)


_REMOVED_SET = frozenset(_REMOVED)


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(c): None for c in _REMOVED}
    table.update({ord(k): v for k, v in _LETTER_FOLDS.items()})
    for low, high in _NFKC_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            composed = unicodedata.normalize("NFKC", char)
            if composed != char:
                table[code] = _fold_simple(composed) or None
    return table


_NFKC_RE = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _NFKC_RANGES) + "]")
_NFKC_LEAD = b"\xef"           # every character of _NFKC_RANGES starts with this byte in UTF-8
_SURROGATE_RE = re.compile(rb"\xed[\xa0-\xbf]")


def _nfkc_fold(match: re.Match[str]) -> str:
    return _table().get(ord(match.group()), match.group()) or ""


@functools.lru_cache(maxsize=1)
def _caseless_bytes() -> bytes:
    """Bytes that cannot begin a character that ``casefold`` changes other
    than an ASCII capital: ASCII, UTF-8 continuation bytes, and each lead
    byte of two or three bytes all of whose characters casefold to
    themselves (Arabic's D8-DB, general punctuation's E2 is not: the Kelvin
    sign folds to k)."""
    safe = bytearray(range(0xC0))
    for lead in range(0xC2, 0xF0):
        first, count = ((lead & 0x1F) << 6, 64) if lead < 0xE0 else ((lead & 0x0F) << 12, 4096)
        if all(chr(code).casefold() == chr(code) for code in range(first, first + count)
               if not 0xD800 <= code <= 0xDFFF):
            safe.append(lead)
    return bytes(safe)


# Removed characters by the lead byte of their UTF-8: those of general
# punctuation and the BOM (lead byte E2 or EF) are only looked for in text
# whose UTF-8 has such a byte at all (one memchr); the Arabic ones always.
_REMOVED_OUTSIDE_ARABIC = tuple(c for c in _REMOVED if c.encode("utf-8")[0] in (0xE2, 0xEF))
_REMOVED_ARABIC = tuple(c for c in _REMOVED if c not in _REMOVED_OUTSIDE_ARABIC)


def normalise_parts(text: str) -> tuple[str | None, bytes]:
    """``normalise(text)`` as UTF-8 (lone surrogates kept, "surrogatepass"),
    and as a string when that came at no extra cost, else None: the caller
    decodes the bytes only if it needs them (the keyword matcher does only
    where Hyperscan found that a term may begin, rarely).

    The same as ``text.translate(_table()).casefold()``, which looks every
    character up in a dict (about 10 MB/s); here each rule is one pass in C,
    skipped when its characters are absent. Passes in sequence give the
    single pass's result because no rule's output is another rule's input
    (folds give plain letters, which nothing removes or folds; NFKC results
    are folded by the table already). ``casefold`` itself costs more than
    all the rest on non-ASCII text, so text whose only cased letters are
    ASCII (Arabic and Latin, most of it) is lower-cased as UTF-8 bytes."""
    if text.isascii():                      # no rule but case folding applies
        text = text.lower()
        return text, text.encode("ascii")
    for char in _REMOVED_ARABIC:
        if char in text:
            text = text.replace(char, "")
    for variant, letter in _LETTER_FOLDS.items():
        if variant in text:
            text = text.replace(variant, letter)
    data = text.encode("utf-8", "surrogatepass")
    if b"\xe2" in data or b"\xef" in data:
        removed = [char for char in _REMOVED_OUTSIDE_ARABIC if char in text]
        for char in removed:
            text = text.replace(char, "")
        if removed:
            data = text.encode("utf-8", "surrogatepass")
    if _NFKC_LEAD in data and _NFKC_RE.search(text):
        text = _NFKC_RE.sub(_nfkc_fold, text)
        data = text.encode("utf-8", "surrogatepass")
    if data.translate(None, _caseless_bytes()):
        text = text.casefold()              # a cased letter beyond ASCII, or a character that may be one
        return text, text.encode("utf-8", "surrogatepass")
    lowered = data.lower()
    if lowered == data:                     # no capital: the text is its own normal form
        return text, data
    return None, lowered


def has_lone_surrogate(data: bytes) -> bool:
    """Whether UTF-8 written with "surrogatepass" holds a lone surrogate."""
    return b"\xed" in data and _SURROGATE_RE.search(data) is not None


def normalise_utf8(text: str) -> tuple[str, bytes | None]:
    """``normalise(text)`` and its UTF-8 (None when it holds lone
    surrogates, which UTF-8 cannot carry); see ``normalise_parts``."""
    normalised, data = normalise_parts(text)
    if normalised is None:
        normalised = data.decode("utf-8", "surrogatepass")
    return normalised, (None if has_lone_surrogate(data) else data)


def normalise(text: str) -> str:
    """Fold ``text`` for matching (see the module docstring). Idempotent."""
    return normalise_utf8(text)[0]


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """``normalise(text)`` and, for each output character, the index of the
    input character it came from (plus one final entry ``len(text)``)."""
    table = _table()
    out: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        mapped = table.get(ord(char), char)
        if mapped is None:
            continue
        folded = mapped.casefold()
        out.append(folded)
        positions.extend([index] * len(folded))
    positions.append(len(text))
    return "".join(out), positions
