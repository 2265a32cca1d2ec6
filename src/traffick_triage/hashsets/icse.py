"""INTERPOL ICSE-style delimited exports: a header row, then one file per row.

    MD5;SHA1;Category;Series;FileName
    5d41402abc4b2a76b9719d911017c592;aaf4c61d...;1;Synthetic Series;a.jpg

Header names are matched after folding case and removing spaces, "_", "-",
"." and quotes (so "MD5 Hash", "md5_hash" and "Hash MD5" all mean MD5); the
delimiter is whichever of ";", tab or "," makes the header recognisable.
The alias table is below and in hashsets/FORMATS.md. Quoted fields spanning
lines are not supported (ICSE exports do not produce them).
"""

from __future__ import annotations

import csv
import re
from typing import Iterator

from . import categories
from .entry import HashEntry, normalize_hex
from .fileutil import iter_lines
from .reader import HashSetReader
from .vics import to_bool

ALIASES = {
    "md5": {"md5", "md5hash", "hashmd5", "md5sum", "md5value"},
    "sha1": {"sha1", "sha1hash", "hashsha1", "sha1sum", "sha1value"},
    "sha256": {"sha256", "sha256hash", "hashsha256", "sha256sum", "sha256value"},
    "pdq": {"pdq", "pdqhash", "hashpdq"},
    "phash": {"phash", "phashhash", "hashphash"},
    "category": {"category", "categorie", "categoria", "cat", "classification",
                 "grade", "categoryid"},
    "series": {"series", "seriesname", "serie", "seriename"},
    "label": {"filename", "name", "label", "comment", "comments", "description",
              "title"},
    "victim_identified": {"victimidentified", "identifiedvictim", "victimknown"},
    "is_distributed": {"isdistributed", "distributed"},
}
_HASH_FIELDS = ("md5", "sha1", "sha256", "pdq", "phash")
_HEX_LEN = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64, "phash": 16}
_FOLD = re.compile(r"[\s_\-.\"'\ufeff]+")


def fold_header(name: str) -> str:
    return _FOLD.sub("", name).lower()


def map_header(cells: list[str]) -> dict[str, int]:
    """Our field name -> column index, first matching column wins."""
    out: dict[str, int] = {}
    for index, cell in enumerate(cells):
        folded = fold_header(cell)
        for field, names in ALIASES.items():
            if folded in names and field not in out:
                out[field] = index
    return out


def choose_delimiter(header: str) -> tuple[str, dict[str, int]]:
    best = (";", {})
    for delimiter in (";", "\t", ","):
        mapping = map_header(_split(header, delimiter))
        if any(f in mapping for f in _HASH_FIELDS) and len(mapping) > len(best[1]):
            best = (delimiter, mapping)
    return best


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line.replace("\0", "")], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []


class IcseCsvReader(HashSetReader):
    format_name = "icse-csv"

    def __init__(self, path, set_name=None, scheme: str = "icse",
                 category_names: dict[int, str] | None = None) -> None:
        super().__init__(path, set_name)
        self.scheme = scheme
        # ICSE category values are kept verbatim unless a table is given.
        self.category_names = category_names if category_names is not None else {}
        self.columns: dict[str, int] = {}

    def _entries(self) -> Iterator[HashEntry]:
        delimiter = None
        for number, line in iter_lines(self.path, self.problem):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if delimiter is None:
                delimiter, self.columns = choose_delimiter(line)
                if not any(f in self.columns for f in _HASH_FIELDS):
                    self.problem(f"line {number}: no recognised hash column in header")
                    return
                continue
            entry = self._row(number, _split(line, delimiter))
            if entry is not None:
                yield entry

    def _row(self, number: int, cells: list[str]) -> HashEntry | None:
        def cell(field: str) -> str | None:
            index = self.columns.get(field)
            if index is None or index >= len(cells):
                return None
            return cells[index].strip() or None

        hashes: dict[str, str | None] = {}
        for field in _HASH_FIELDS:
            raw = cell(field)
            hashes[field] = normalize_hex(raw, _HEX_LEN[field])
            if raw is not None and hashes[field] is None:
                self.problem(f"line {number}: malformed {field} value")
        if not any(hashes.values()):
            self.problem(f"line {number}: no usable hash")
            return None
        raw_category = cell("category")
        if raw_category is not None and categories.to_code(raw_category) is not None \
                and categories.to_code(raw_category) not in self.category_names:
            category, code = raw_category, categories.to_code(raw_category)
        else:
            category, code = categories.resolve(raw_category, self.scheme,
                                                self.category_names)
        return HashEntry(set_name=self.set_name, category=category, category_code=code,
                         scheme=self.scheme, series=cell("series"), label=cell("label"),
                         victim_identified=to_bool(cell("victim_identified")),
                         is_distributed=to_bool(cell("is_distributed")), **hashes)
