"""Sorting more rows than should sit in memory, for writers whose output order
is not the case store's (the timeline by time, case.jsonld by node ID, host
files by path): the rows go to a private temporary SQLite database and come
back in order. SQLite keeps a few MiB of it in memory and the rest on disk,
so a writer's memory stays flat whatever the number of files.

Where SQLite puts such scratch files (these databases, and the sorts of big
queries and index builds on the case store) is set for the whole process by
``keep_sqlite_scratch_in``: a scan puts them beside its case store, not in
$TMPDIR, which is often a small root partition or RAM (tmpfs), while the case
folder is where the examiner made room for this case.

The order is exactly Python's ``sorted(rows, key=...)``: text is compared as
UTF-8 bytes (surrogates included), which is code-point order; numbers as
numbers; rows with equal keys keep the order they were added in (stable)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any, Iterator

_BATCH = 500


def keep_sqlite_scratch_in(directory: Path | str | None) -> None:
    """SQLite's temporary files, for every connection of this process (and of
    processes it forks later), go to ``directory``; SQLite unlinks each as soon
    as it is open, so nothing is left there, even after a kill. The pragma is
    deprecated but the only way besides the environment, which SQLite reads
    once, when it first starts. None: back to SQLite's own choice."""
    quoted = "" if directory is None else str(directory).replace("'", "''")
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute(f"PRAGMA temp_store_directory = '{quoted}'")


def _sortable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if value is None or isinstance(value, (int, float)):
        return value
    raise TypeError(f"cannot sort on {type(value).__name__}")


class ExternalSort:
    """Add (key, payload) pairs of tuples; iterate to get the payloads in key
    order. Payload values are what SQLite stores as given: str, bytes, int,
    float, None (pickle anything else)."""

    def __init__(self, key_width: int, payload_width: int) -> None:
        # "": a temporary database of this connection alone; SQLite unlinks its
        # file as soon as it is opened, so nothing is left behind, even after a kill.
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode=OFF")
        keys = ", ".join(f"k{i}" for i in range(key_width))
        payload = ", ".join(f"p{i}" for i in range(payload_width))
        self._db.execute(f"CREATE TABLE rows ({keys}, {payload})")
        self._insert = f"INSERT INTO rows VALUES ({', '.join('?' * (key_width + payload_width))})"
        self._select = f"SELECT {payload} FROM rows ORDER BY {keys}, rowid"
        self._widths = (key_width, payload_width)
        self._pending: list[tuple[Any, ...]] = []

    def add(self, key: tuple[Any, ...], payload: tuple[Any, ...]) -> None:
        if (len(key), len(payload)) != self._widths:
            raise ValueError(f"{len(key)} key and {len(payload)} payload values, expected {self._widths}")
        self._pending.append((*map(_sortable, key), *payload))
        if len(self._pending) >= _BATCH:
            self._flush()

    def add_text_key(self, key: str, payload: tuple[Any, ...]) -> None:
        """add((key,), payload) for a one-value key that is text without lone
        surrogates, with no checks: for a writer adding a hundred thousand rows.
        SQLite orders such text (BINARY collation: memcmp of its UTF-8) exactly
        as add() orders the same key as UTF-8 bytes. Do not mix with add()."""
        self._pending.append((key, *payload))
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany(self._insert, self._pending)
        self._pending.clear()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        self._flush()
        return iter(self._db.execute(self._select))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ExternalSort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
