"""Plain hash lists: one MD5, SHA-1 or SHA-256 per line, typed by length.

    # comment
    d41d8cd98f00b204e9800998ecf8427e   optional label
    DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,label
"""

from __future__ import annotations

import re
from typing import Iterator

from .entry import HashEntry, crypto_kind, normalize_hex
from .fileutil import iter_lines
from .reader import HashSetReader

_SPLIT = re.compile(r"[\s,]+")


def split_hash_line(line: str) -> tuple[str, str | None] | None:
    """(first field, rest) of a data line, or None for blank/comment lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = _SPLIT.split(text, maxsplit=1)
    rest = parts[1].strip() if len(parts) > 1 else ""
    # md5sum/sha256sum binary-mode marker "hash *file".
    if rest.startswith("*"):
        rest = rest[1:]
    return parts[0], (rest or None)


class PlainListReader(HashSetReader):
    format_name = "plain"

    def __init__(self, path, set_name=None, scheme: str = "plain",
                 category: str | None = None, known_good: bool = False,
                 hash_type: str | None = None) -> None:
        super().__init__(path, set_name)
        self.scheme = scheme
        self.category = category
        self.known_good = known_good
        # Declared by the examiner (md5/sha1/sha256): a value of another length is refused.
        self.hash_type = hash_type
        if hash_type:
            self.format_name = f"plain ({hash_type})"

    def _entries(self) -> Iterator[HashEntry]:
        for number, line in iter_lines(self.path, self.problem):
            fields = split_hash_line(line)
            if fields is None:
                continue
            value, label = fields
            digest = normalize_hex(value)
            kind = crypto_kind(digest) if digest else None
            if kind is None or (self.hash_type and kind != self.hash_type):
                expected = self.hash_type.upper() if self.hash_type else "MD5/SHA-1/SHA-256"
                self.problem(f"line {number}: not an {expected} hex value")
                continue
            yield HashEntry(set_name=self.set_name, label=label, scheme=self.scheme,
                            category=self.category, known_good=self.known_good,
                            **{kind: digest})
