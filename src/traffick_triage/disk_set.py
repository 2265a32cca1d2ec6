"""A set of text tuples that can outgrow memory: the locators of every matched
file, every known-good file, and the like. Like ExternalSort, it lives in a
private temporary SQLite database (SQLite keeps a few MiB of it in memory and
the rest in its scratch folder, see external_sort.keep_sqlite_scratch_in), so
a writer that needs "have I seen this file?" or "how many distinct files?"
holds no Python set that grows with the case.

Text is kept as UTF-8 bytes (surrogates included), so groups come out in
Python's order for str (code-point order) and undecodable names fit."""

from __future__ import annotations

import sqlite3
from typing import Iterator


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class DiskSet:
    """Distinct tuples of ``width`` strings."""

    def __init__(self, width: int = 1) -> None:
        # "": a temporary database of this connection alone; SQLite unlinks its
        # file as soon as it is opened, so nothing is left behind, even after a kill.
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._columns = [f"k{i}" for i in range(width)]
        columns = ", ".join(self._columns)
        self._db.execute(f"CREATE TABLE members ({columns}, PRIMARY KEY ({columns})) WITHOUT ROWID")
        marks = ", ".join("?" * width)
        self._insert = f"INSERT OR IGNORE INTO members VALUES ({marks})"
        self._lookup = f"SELECT 1 FROM members WHERE ({columns}) = ({marks})"
        self._width = width
        self._size = 0
        # One cursor for every add and lookup: a connection keeps a reference to
        # each cursor made from it until it next tidies up, every 200 cursors.
        self._cursor = self._db.cursor()

    def add(self, *values: str) -> bool:
        """Add one tuple; True when it was not there yet."""
        added = self._cursor.execute(self._insert, self._row(values)).rowcount == 1
        self._size += added
        return added

    def __contains__(self, values: object) -> bool:
        row = (values,) if isinstance(values, str) else tuple(values)  # type: ignore[arg-type]
        return self._cursor.execute(self._lookup, self._row(row)).fetchone() is not None

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        """Every tuple, in order."""
        columns = ", ".join(self._columns)
        for row in self._db.execute(f"SELECT {columns} FROM members ORDER BY {columns}"):
            yield tuple(_text(value) for value in row)

    def counts_by(self, width: int) -> Iterator[tuple[tuple[str, ...], int]]:
        """For each distinct prefix of ``width`` values, in order, how many tuples have it."""
        prefix = ", ".join(self._columns[:width])
        for *key, count in self._db.execute(f"SELECT {prefix}, COUNT(*) FROM members GROUP BY {prefix} "
                                            f"ORDER BY {prefix}"):
            yield tuple(_text(value) for value in key), count

    def _row(self, values: tuple) -> tuple[bytes, ...]:
        if len(values) != self._width:
            raise ValueError(f"{len(values)} values, expected {self._width}")
        return tuple(_bytes(value) for value in values)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DiskSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
