"""Windows of text around cheap anchors ("@", a dot between letters), so an
expensive regex only runs where it can match. Python's regex engine cannot
skip ahead for patterns that start with a lookbehind or a character class,
so on large texts the anchor search is what keeps the scan linear and fast.

Searching a window with ``pattern.search(text, start, end)`` (not on a
slice) keeps lookbehind assertions honest: they still see the characters
before the window.
"""

from __future__ import annotations

import re
from typing import Iterator


def anchor_windows(text: str, anchor: re.Pattern[str], before: int, after: int) -> Iterator[tuple[int, int]]:
    """Merged ``(start, end)`` windows reaching ``before`` characters before
    and ``after`` characters after each anchor match."""
    current: list[int] | None = None
    for match in anchor.finditer(text):
        start = max(0, match.start() - before)
        end = min(len(text), match.end() + after)
        if current is not None and start <= current[1]:
            current[1] = end
            continue
        if current is not None:
            yield current[0], current[1]
        current = [start, end]
    if current is not None:
        yield current[0], current[1]


def finditer_near(pattern: re.Pattern[str], text: str, anchor: re.Pattern[str],
                  before: int, after: int) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, restricted to windows around anchors.
    Matches must be shorter than ``before + after`` to be found whole."""
    for start, end in anchor_windows(text, anchor, before, after):
        yield from pattern.finditer(text, start, end)


def text_blocks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """``(offset, block)`` slices of about ``size`` characters, cut after a
    newline (else a space) in the second half of the block, so identifiers
    and phrases on one line are not split. Only a line longer than half a
    block can be cut mid-word."""
    start = 0
    length = len(text)
    while start < length:
        end = min(length, start + size)
        if end < length:
            cut = text.rfind("\n", start + size // 2, end)
            if cut < 0:
                cut = text.rfind(" ", start + size // 2, end)
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end
