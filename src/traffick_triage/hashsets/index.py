"""HashSetIndex: one lookup over any mix of hash-set files, stores and NSRL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from .entry import HashEntry, normalize_hex
from .fileutil import file_sha256
from .nsrl import NsrlLookup, readonly_uri
from .readers import open_reader
from .declared import GUESSABLE_FORMATS
from .sniff import detect_format, pdq_comment
from .store import ENTRY_COLUMNS, entry_from_row

_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_HASH_TYPES = ("md5", "sha1", "sha256", "pdq", "phash")


def type_was_guessed(fmt: str, hash_types: Iterable[str], declared: str | None) -> bool:
    """True when a list of 64-hex values was typed SHA-256 or PDQ by detection
    alone: the examiner did not declare it, the file's format names no type,
    and every value is 64 hex (a list that also holds MD5 or SHA-1 values of
    other lengths is a list of file hashes)."""
    return declared is None and fmt in GUESSABLE_FORMATS and set(hash_types) in ({"sha256"}, {"pdq"})


class _Backend(Protocol):
    def lookup(self, md5=None, sha1=None, sha256=None) -> list[HashEntry]: ...
    def pdq_entries(self) -> Iterator[HashEntry]: ...
    def describe(self) -> list[dict]: ...
    def close(self) -> None: ...


class MemorySet:
    """A small set read fully into dicts (plain lists, hashdeep, VICS, ICSE...)."""

    def __init__(self, path: str | Path, fmt: str | None = None, set_name=None,
                 scheme=None, category_names=None, declared: str | None = None) -> None:
        self.path = Path(path)
        self.detected_format = fmt or detect_format(self.path)
        self.declared = declared
        self.reader = open_reader(self.path, self.detected_format, set_name=set_name, scheme=scheme,
                                  category_names=category_names,
                                  hash_type=declared if declared in _LENGTHS else None)
        self.format = self.reader.format_name
        self.hash_counts: dict[str, int] = {}
        self.by: dict[str, dict[str, list[HashEntry]]] = {k: {} for k in _LENGTHS}
        self.perceptual: list[HashEntry] = []
        count = 0
        for entry in self.reader:
            count += 1
            for kind in _HASH_TYPES:
                if getattr(entry, kind):
                    self.hash_counts[kind] = self.hash_counts.get(kind, 0) + 1
            for kind in _LENGTHS:
                value = getattr(entry, kind)
                if value:
                    self.by[kind].setdefault(value, []).append(entry)
            if entry.pdq or entry.phash:
                self.perceptual.append(entry)
        self.entry_count = count
        self.problem_count = self.reader.problem_count
        self.problems = list(self.reader.problems)
        self.sha256 = file_sha256(self.path)

    def lookup(self, md5=None, sha1=None, sha256=None) -> list[HashEntry]:
        found: dict[int, HashEntry] = {}
        for kind, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
            if value is not None:
                for entry in self.by[kind].get(value, ()):
                    found[id(entry)] = entry  # identity: a file listed twice stays twice
        return sorted(found.values(), key=HashEntry.sort_key)

    def pdq_entries(self) -> Iterator[HashEntry]:
        yield from sorted((e for e in self.perceptual if e.pdq),
                          key=lambda e: (e.pdq, e.label or "", e.sort_key()))

    def phash_entries(self) -> Iterator[HashEntry]:
        yield from sorted((e for e in self.perceptual if e.phash),
                          key=lambda e: (e.phash, e.label or "", e.sort_key()))

    def describe(self) -> list[dict]:
        types = sorted(self.hash_counts)
        return [{"name": self.reader.set_name, "format": self.format, "path": str(self.path),
                 "sha256": self.sha256, "entry_count": self.entry_count,
                 "version": self.reader.metadata.get("data_model_version"),
                 "problem_count": self.reader.problem_count,
                 "declared_type": self.declared, "hash_types": types,
                 "type_guessed": (type_was_guessed(self.detected_format, types, self.declared)
                                  and not (types == ["pdq"] and pdq_comment(self.path)))}]

    def close(self) -> None:
        pass


class StoreSet:
    """A compiled store, queried through its indexes (opened read-only)."""

    def __init__(self, path: str | Path, declared: str | None = None) -> None:
        self.path = Path(path)
        self.declared = declared
        self.con = sqlite3.connect(readonly_uri(self.path).replace("&immutable=1", ""),
                                   uri=True)
        self.problems: list[str] = []

    def lookup(self, md5=None, sha1=None, sha256=None) -> list[HashEntry]:
        clauses, params = [], []
        for kind, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
            if value is not None:
                clauses.append(f"{kind} = ?")
                params.append(value)
        if not clauses:
            return []
        rows = self.con.execute(
            f"SELECT source_id, {', '.join(ENTRY_COLUMNS)} FROM entries "
            f"WHERE {' OR '.join(clauses)}", params).fetchall()
        # Sources in import order (as sets are in load order), then the
        # same total order as every other backend.
        keyed = sorted(((r[0], entry_from_row(r[1:])) for r in rows),
                       key=lambda pair: (pair[0], pair[1].sort_key()))
        return [entry for _, entry in keyed]

    def pdq_entries(self) -> Iterator[HashEntry]:
        rows = self.con.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries "
                                "WHERE pdq IS NOT NULL ORDER BY source_id, pdq, label, id")
        for row in rows:
            yield entry_from_row(row)

    def phash_entries(self) -> Iterator[HashEntry]:
        rows = self.con.execute(f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries "
                                "WHERE phash IS NOT NULL ORDER BY source_id, phash, label, id")
        for row in rows:
            yield entry_from_row(row)

    def describe(self) -> list[dict]:
        out = []
        for row in self.con.execute(
                "SELECT set_name, format, file_name, sha256, entry_count, metadata_json, "
                "problem_count, imported_utc, counts_json FROM sources ORDER BY id"):
            metadata = json.loads(row[5] or "{}")
            types = sorted(json.loads(row[8] or "{}").get("hashes", {}))
            out.append({"name": row[0], "format": row[1], "path": row[2], "sha256": row[3],
                        "entry_count": row[4], "version": metadata.get("data_model_version"),
                        "problem_count": row[6], "imported_utc": row[7],
                        "store": str(self.path), "declared_type": metadata.get("declared_type"),
                        "hash_types": types,
                        # What the import guessed, it guessed for every scan using the store.
                        "type_guessed": type_was_guessed(row[1], types, metadata.get("declared_type"))})
        return out

    def close(self) -> None:
        self.con.close()


class HashSetIndex:
    """Lookups across every loaded set, in load order, deterministically sorted.

    Small files are read into memory; compile big ones with import_hashsets()
    and load the store, which is queried through SQLite indexes instead.
    """

    def __init__(self) -> None:
        self._sets: list[_Backend] = []

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], cache_dir: str | Path | None = None,
                   **options) -> "HashSetIndex":
        index = cls()
        for path in paths:
            index.add_path(path, cache_dir=cache_dir, **options)
        return index

    def add_path(self, path: str | Path, fmt: str | None = None, *, set_name=None,
                 scheme=None, category_names=None,
                 cache_dir: str | Path | None = None, declared: str | None = None) -> _Backend:
        """Load one set; `declared` is the examiner's type for it (see declared.py),
        `fmt` the format to read it as. Returns the set's backend."""
        fmt = fmt or detect_format(path)
        backend: _Backend
        if fmt == "triage-store":
            backend = StoreSet(path, declared=declared)
        elif fmt == "nsrl-rds3":
            backend = NsrlLookup(path, cache_dir=cache_dir, set_name=set_name, declared=declared)
        else:
            backend = MemorySet(path, fmt, set_name=set_name, scheme=scheme,
                                category_names=category_names, declared=declared)
        self._sets.append(backend)
        return backend

    @property
    def problems(self) -> list[str]:
        return [p for s in self._sets for p in getattr(s, "problems", [])]

    def lookup(self, md5: str | None = None, sha1: str | None = None,
               sha256: str | None = None) -> list[HashEntry]:
        keys = {}
        for kind, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
            if value is not None:
                digest = normalize_hex(value, _LENGTHS[kind])
                if digest is None:
                    raise ValueError(f"not a {kind} hex value: {value!r}")
                keys[kind] = digest
        if not keys:
            return []
        results: list[HashEntry] = []
        for backend in self._sets:
            results.extend(backend.lookup(**keys))
        return results

    def pdq_entries(self) -> Iterator[HashEntry]:
        for backend in self._sets:
            yield from backend.pdq_entries()

    def phash_entries(self) -> Iterator[HashEntry]:
        for backend in self._sets:
            yield from getattr(backend, "phash_entries", lambda: iter(()))()

    def describe(self) -> list[dict]:
        return [row for backend in self._sets for row in backend.describe()]

    def close(self) -> None:
        for backend in self._sets:
            backend.close()

    def __enter__(self) -> "HashSetIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
