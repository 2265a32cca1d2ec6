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


def normalise(text: str) -> str:
    """Fold ``text`` for matching (see the module docstring). Idempotent."""
    return text.translate(_table()).casefold()


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
