"""hashdeep audit files and md5deep/sha*deep/md5sum output.

hashdeep (`hashdeep -c md5,sha256 -r dir`):
    %%%% HASHDEEP-1.0
    %%%% size,md5,sha256,filename
    ## Invoked from: /home/x
    ## $ hashdeep -c md5,sha256 -r dir
    ##
    5,5d41402abc4b2a76b9719d911017c592,2cf24...,/home/x/dir/a.txt

md5deep (`md5deep -r dir`, also `-z` which puts the size first):
    5d41402abc4b2a76b9719d911017c592  /home/x/dir/a.txt
"""

from __future__ import annotations

import re
from typing import Iterator

from .entry import HashEntry, crypto_kind, normalize_hex
from .fileutil import iter_lines
from .reader import HashSetReader

_DEEP_LINE = re.compile(r"^\s*(?:(\d+)\s+)?([0-9A-Fa-f]{32,64})\s+\*?(.*)$")
_USED = ("md5", "sha1", "sha256")


class HashdeepReader(HashSetReader):
    format_name = "hashdeep"

    def _entries(self) -> Iterator[HashEntry]:
        columns: list[str] | None = None
        for number, line in iter_lines(self.path, self.problem):
            if not line.strip():
                continue
            if line.startswith("%%%%"):
                body = line[4:].strip()
                if body.upper().startswith("HASHDEEP"):
                    self.metadata["hashdeep_header"] = body
                else:
                    columns = [c.strip().lower() for c in body.split(",")]
                    if "filename" not in columns:
                        self.problem(f"line {number}: column list without filename")
                continue
            if line.startswith("#"):
                if line.startswith(("## $ ", "## # ")):  # "#" when run as root
                    self.metadata["invocation"] = line[5:].strip()
                continue
            entry = (self._audit_line(number, line, columns) if columns
                     else self._deep_line(number, line))
            if entry is not None:
                yield entry

    def _audit_line(self, number: int, line: str, columns: list[str]) -> HashEntry | None:
        # The file name is the last column and may itself contain commas.
        values = line.split(",", len(columns) - 1)
        if len(values) != len(columns):
            self.problem(f"line {number}: {len(values)} fields, header lists {len(columns)}")
            return None
        row = dict(zip(columns, values))
        hashes: dict[str, str] = {}
        for name in _USED:
            if name in row:
                digest = normalize_hex(row[name])
                if digest is None or crypto_kind(digest) != name:
                    self.problem(f"line {number}: bad {name} value")
                    return None
                hashes[name] = digest
        if not hashes:
            self.problem(f"line {number}: no MD5/SHA-1/SHA-256 column")
            return None
        return HashEntry(set_name=self.set_name, label=row.get("filename") or None, **hashes)

    def _deep_line(self, number: int, line: str) -> HashEntry | None:
        match = _DEEP_LINE.match(line)
        digest = normalize_hex(match.group(2)) if match else None
        kind = crypto_kind(digest) if digest else None
        if kind is None:
            self.problem(f"line {number}: not an md5deep/hashdeep record")
            return None
        return HashEntry(set_name=self.set_name, label=match.group(3).strip() or None,
                         **{kind: digest})
