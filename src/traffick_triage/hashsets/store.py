"""The compiled store: many hash sets in one indexed SQLite file, with provenance.

Each source file is imported once, keyed by its SHA-256; importing the same
bytes again is a no-op whatever the file is called. NSRL databases are not
copied in (they are looked up in place with NsrlLookup).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .entry import HashEntry
from .fileutil import file_sha256
from .readers import open_reader
from .declared import DeclaredTypeError, HashSetSpec, format_for
from .sniff import STORE_MARKER

SCHEMA_VERSION = 1
BATCH = 10_000

_COLUMNS = ("set_name", "md5", "sha1", "sha256", "pdq", "phash", "category",
            "category_code", "scheme", "series", "label", "victim_identified",
            "is_distributed", "known_good", "pdq_quality")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    id INTEGER PRIMARY KEY,
    set_name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    format TEXT NOT NULL,
    scheme TEXT,
    entry_count INTEGER NOT NULL,
    counts_json TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    problem_count INTEGER NOT NULL,
    problems_json TEXT NOT NULL,
    imported_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries(
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    set_name TEXT NOT NULL, md5 TEXT, sha1 TEXT, sha256 TEXT, pdq TEXT, phash TEXT,
    category TEXT, category_code INTEGER, scheme TEXT NOT NULL, series TEXT, label TEXT,
    victim_identified INTEGER, is_distributed INTEGER, known_good INTEGER NOT NULL,
    pdq_quality INTEGER
);
CREATE INDEX IF NOT EXISTS entries_md5 ON entries(md5) WHERE md5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_sha1 ON entries(sha1) WHERE sha1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_sha256 ON entries(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_pdq ON entries(pdq) WHERE pdq IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_phash ON entries(phash) WHERE phash IS NOT NULL;
"""


@dataclass
class ImportResult:
    path: str
    sha256: str | None
    format: str
    status: str  # "imported" | "unchanged" | "skipped"
    entry_count: int = 0
    problem_count: int = 0
    reason: str | None = None
    problems: list[str] = field(default_factory=list)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def open_store(store_path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) a store for writing."""
    con = sqlite3.connect(store_path)
    con.executescript(_SCHEMA)
    con.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (STORE_MARKER,))
    con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    con.execute("INSERT OR IGNORE INTO meta VALUES ('created_utc', ?)", (utc_now(),))
    con.commit()
    return con


def count_entry(counts: dict, entry: HashEntry) -> None:
    for kind in ("md5", "sha1", "sha256", "pdq", "phash"):
        if getattr(entry, kind):
            counts["hashes"][kind] = counts["hashes"].get(kind, 0) + 1
    name = entry.category if entry.category is not None else "(none)"
    counts["categories"][name] = counts["categories"].get(name, 0) + 1


def empty_counts() -> dict:
    return {"hashes": {}, "categories": {}}


def import_hashsets(paths: Iterable[str | Path], store_path: str | Path, *,
                    scheme: str | None = None,
                    category_names: dict[int, str] | None = None,
                    set_names: dict[str, str] | None = None,
                    declared: dict[str, str] | None = None) -> list[ImportResult]:
    """Import each file into the store at `store_path`; one result per path.
    `declared` maps a path to the type the examiner declared for it (see
    declared.py); a declared set with no entry of its type raises
    DeclaredTypeError, and nothing of it is imported."""
    results = []
    con = open_store(store_path)
    try:
        for path in paths:
            results.append(_import_one(con, Path(path), scheme, category_names,
                                       (set_names or {}).get(str(path)),
                                       (declared or {}).get(str(path))))
    finally:
        con.close()
    return results


def _import_one(con, path: Path, scheme, category_names, set_name,
                declared: str | None = None) -> ImportResult:
    fmt = format_for(HashSetSpec(str(path), declared))
    if fmt in ("nsrl-rds3", "triage-store", "unknown"):
        reason = {"nsrl-rds3": "NSRL RDS is looked up in place (NsrlLookup), not imported",
                  "triage-store": "already a compiled store: load it with HashSetIndex",
                  "unknown": "format not recognised"}[fmt]
        return ImportResult(str(path), None, fmt, "skipped", reason=reason)
    digest = file_sha256(path)
    row = con.execute("SELECT entry_count, problem_count FROM sources WHERE sha256 = ?",
                      (digest,)).fetchone()
    if row is not None:
        return ImportResult(str(path), digest, fmt, "unchanged", row[0], row[1],
                            reason="same SHA-256 already imported")
    reader = open_reader(path, fmt, set_name=set_name, scheme=scheme,
                         category_names=category_names,
                         hash_type=declared if declared in ("md5", "sha1", "sha256") else None)
    counts = empty_counts()
    try:
        with con:  # one transaction per source: all of it or none of it
            cursor = con.execute(
                "INSERT INTO sources(set_name, file_name, sha256, size, format, scheme, "
                "entry_count, counts_json, metadata_json, problem_count, problems_json, "
                "imported_utc) VALUES (?,?,?,?,?,?,0,'{}','{}',0,'[]',?)",
                (reader.set_name, path.name, digest, path.stat().st_size, fmt,
                 getattr(reader, "scheme", None), utc_now()))
            source_id = cursor.lastrowid
            total = 0
            for batch in _batches(reader):
                con.executemany(
                    f"INSERT INTO entries(source_id, {', '.join(_COLUMNS)}) "
                    f"VALUES (?{', ?' * len(_COLUMNS)})",
                    [(source_id, *_row(e)) for e in batch])
                for entry in batch:
                    count_entry(counts, entry)
                total += len(batch)
            if declared and (total == 0 or reader.problem_count > total):
                # Raised inside the transaction: nothing of this set stays in the store.
                raise DeclaredTypeError(f"{path} is declared {declared} but {total} entries were read "
                                        f"and {reader.problem_count} lines refused")
            metadata = dict(reader.metadata)
            if declared:
                metadata["declared_type"] = declared
            con.execute(
                "UPDATE sources SET entry_count=?, counts_json=?, metadata_json=?, "
                "problem_count=?, problems_json=? WHERE id=?",
                (total, json.dumps(counts, sort_keys=True),
                 json.dumps(metadata, sort_keys=True, default=str),
                 reader.problem_count, json.dumps(reader.problems[:100]), source_id))
    except sqlite3.IntegrityError:
        # Another process imported the same bytes between our check and insert.
        return ImportResult(str(path), digest, fmt, "unchanged",
                            reason="same SHA-256 already imported")
    return ImportResult(str(path), digest, fmt, "imported", total, reader.problem_count,
                        problems=list(reader.problems[:100]))


def _batches(entries: Iterable[HashEntry]) -> Iterator[list[HashEntry]]:
    batch: list[HashEntry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _row(entry: HashEntry) -> tuple:
    def b(v):
        return None if v is None else int(v)
    return (entry.set_name, entry.md5, entry.sha1, entry.sha256, entry.pdq, entry.phash,
            entry.category, entry.category_code, entry.scheme, entry.series, entry.label,
            b(entry.victim_identified), b(entry.is_distributed), int(entry.known_good),
            entry.pdq_quality)


def entry_from_row(row: tuple) -> HashEntry:
    """Inverse of `_row` for rows selected as `SELECT <_COLUMNS> FROM entries`."""
    values = dict(zip(_COLUMNS, row))
    for flag in ("victim_identified", "is_distributed"):
        if values[flag] is not None:
            values[flag] = bool(values[flag])
    values["known_good"] = bool(values["known_good"])
    return HashEntry(**values)


ENTRY_COLUMNS = _COLUMNS
