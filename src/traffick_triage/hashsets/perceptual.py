"""Perceptual hash lists: PDQ (64 hex) or pHash (16 hex), one per line.

    # pdq
    f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,label
    9f172786e71f1e00  label
A PDQ line may carry the PDQ quality (0-100) as the second field; any
remaining text is the label. Fields are separated by commas, tabs or spaces.
"""

from __future__ import annotations

import re
from typing import Iterator

from .entry import PDQ_HEX_LEN, PHASH_HEX_LEN, HashEntry, normalize_hex
from .fileutil import iter_lines
from .reader import HashSetReader

_SPLIT = re.compile(r"\s*[,\t]\s*|\s+")


class PerceptualListReader(HashSetReader):
    """`kind` = "pdq", "phash" or None (decide per line by hex length)."""

    format_name = "perceptual"

    def __init__(self, path, set_name=None, kind: str | None = None) -> None:
        super().__init__(path, set_name)
        if kind not in (None, "pdq", "phash"):
            raise ValueError(f"unknown perceptual hash kind {kind!r}")
        self.kind = kind
        if kind:
            self.format_name = kind

    def _entries(self) -> Iterator[HashEntry]:
        for number, line in iter_lines(self.path, self.problem):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            fields = _SPLIT.split(text, maxsplit=2)
            value = normalize_hex(fields[0])
            kind = {PDQ_HEX_LEN: "pdq", PHASH_HEX_LEN: "phash"}.get(len(value or ""))
            if kind is None or (self.kind and kind != self.kind):
                self.problem(f"line {number}: not a {self.kind or 'PDQ/pHash'} hex value")
                continue
            rest = fields[1:]
            quality = None
            if kind == "pdq" and rest and rest[0].isdigit() and len(rest[0]) <= 3:
                quality = int(rest[0])
                if quality > 100:
                    self.problem(f"line {number}: PDQ quality {quality} out of 0..100")
                    continue
                rest = rest[1:]
            label = " ".join(rest).strip() or None
            yield HashEntry(set_name=self.set_name, label=label, pdq_quality=quality,
                            **{kind: value})
