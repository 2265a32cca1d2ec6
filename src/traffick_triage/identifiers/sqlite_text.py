"""The text values of every table of an SQLite database, bounded.

SQLite typing is per value, not per column, so every column is read and the
values that are TEXT are kept (BLOBs and numbers are skipped: a contact
number stored as INTEGER is the phone plugins' business). The database is a
temporary copy (``ctx.temp_copy``) opened read-only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


@dataclass(frozen=True)
class SqliteLimits:
    max_rows_per_table: int = 200_000
    max_total_chars: int = 64 << 20
    max_tables: int = 500


@dataclass(frozen=True)
class SqliteText:
    table: str
    column: str
    rowid: int | None
    text: str


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(path: Path, warn: Callable[[str], None]) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    try:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.Error as error:
        # A WAL database whose -shm cannot be created/written: read the main
        # file alone (recent transactions in the -wal are then not seen).
        warn(f"SQLite read-only open failed ({error}); reading the main file as immutable, without its WAL")
        connection = sqlite3.connect(f"{uri}?immutable=1", uri=True)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection


def sqlite_texts(path: Path, warn: Callable[[str], None],
                 limits: SqliteLimits = SqliteLimits()) -> Iterator[SqliteText]:
    connection = _connect(path, warn)
    # Invalid UTF-8 in a TEXT value must not abort the table.
    connection.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
    total = 0
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        if len(tables) > limits.max_tables:
            warn(f"SQLite: {len(tables)} tables, only the first {limits.max_tables} scanned")
        for table in tables[:limits.max_tables]:
            try:
                columns = [row[1] for row in connection.execute(f"PRAGMA table_info({_quote(table)})")]
                if not columns:
                    continue
                selected = ", ".join(_quote(c) for c in columns)
                try:
                    cursor = connection.execute(
                        f"SELECT rowid, {selected} FROM {_quote(table)} LIMIT ?", (limits.max_rows_per_table + 1,))
                    has_rowid = True
                except sqlite3.Error:   # WITHOUT ROWID tables
                    cursor = connection.execute(
                        f"SELECT {selected} FROM {_quote(table)} LIMIT ?", (limits.max_rows_per_table + 1,))
                    has_rowid = False
                for count, row in enumerate(cursor):
                    if count == limits.max_rows_per_table:
                        warn(f"SQLite table {table}: more than {limits.max_rows_per_table} rows, rest not scanned")
                        break
                    rowid = row[0] if has_rowid else None
                    values = row[1:] if has_rowid else row
                    for column, value in zip(columns, values):
                        if isinstance(value, str) and value:
                            total += len(value)
                            if total > limits.max_total_chars:
                                warn(f"SQLite: more than {limits.max_total_chars} characters of text, rest not scanned")
                                return
                            yield SqliteText(table, column, rowid, value)
            except sqlite3.Error as error:
                # Virtual tables whose module is missing (fts5 variants), corruption.
                warn(f"SQLite table {table}: {error}")
    finally:
        connection.close()
