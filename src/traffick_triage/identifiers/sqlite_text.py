"""The text values of every table of an SQLite database, bounded.

SQLite typing is per value, not per column, so every column is read and the
values that are TEXT are kept (BLOBs and numbers are skipped: a contact
number stored as INTEGER is the phone plugins' business). The database is a
temporary copy (``ctx.temp_copy`` with its companions) read through
:mod:`traffick_triage.sqlite_access`: columns are asked per table, virtual
tables (FTS with app tokenizers such as iOS ``ab_cf_tokenizer``) are skipped
(their text is in their ``_content`` shadow tables, which are read), and
every query is bounded in value length and steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..sqlite_access import SqliteBounds, connect, quote


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


def sqlite_texts(path: Path, warn: Callable[[str], None],
                 limits: SqliteLimits = SqliteLimits(),
                 bounds: SqliteBounds = SqliteBounds()) -> Iterator[SqliteText]:
    """Raises sqlite3.Error only when ``path`` is not readable as a database."""
    with connect(path, "sqlite", warn, bounds) as db:
        tables = sorted(name for name in db.names("table") if not db.is_virtual(name))
        if len(tables) > limits.max_tables:
            warn(f"SQLite: {len(tables)} tables, only the first {limits.max_tables} scanned")
        total = 0
        for table in tables[:limits.max_tables]:
            columns = db.columns(table)
            if not columns:
                continue
            names = [row[1] for row in db.rows(f"PRAGMA table_xinfo({quote(table)})", table=table)]
            selected = ", ".join(quote(name) for name in names)
            limit = limits.max_rows_per_table + 1
            # WITHOUT ROWID tables have no rowid: ask the schema, not an error.
            has_rowid = "WITHOUT ROWID" not in db.sql(table).upper()
            query = (f"SELECT rowid, {selected} FROM {quote(table)} LIMIT ?" if has_rowid
                     else f"SELECT {selected} FROM {quote(table)} LIMIT ?")
            for count, row in enumerate(db.rows(query, (limit,), table=table)):
                if count == limits.max_rows_per_table:
                    warn(f"SQLite table {table}: more than {limits.max_rows_per_table} rows, rest not scanned")
                    break
                rowid = row[0] if has_rowid else None
                values = tuple(row)[1:] if has_rowid else tuple(row)
                for column, value in zip(names, values):
                    if isinstance(value, str) and value:
                        total += len(value)
                        if total > limits.max_total_chars:
                            warn(f"SQLite: more than {limits.max_total_chars} characters of text, rest not scanned")
                            return
                        yield SqliteText(table, column, rowid, value)
