"""The one way plugins read SQLite databases from evidence.

Every SQLite-reading plugin (phone artifacts, the identifiers text reader)
goes through :func:`open_database` (a plugin's file) or :func:`connect`
(a host path already copied). What it guarantees:

* **Only the copy is opened**, never evidence: ``ctx.temp_copy`` copies the
  file with its ``-wal``, ``-shm`` and ``-journal`` companions, verified
  against the inventory hash.
* **Rows as the app saw them**: un-checkpointed WAL frames are read, and a
  hot rollback journal is rolled back on the copy (see :func:`connect`).
* **Only what a query needs is touched**: :meth:`Database.columns` runs
  ``PRAGMA table_xinfo`` on one table, on demand. Nothing iterates over all
  tables and views, so an FTS table with an unknown tokenizer (iOS
  ``ABPersonFullTextSearch``/``ab_cf_tokenizer``) or a view using an
  app-defined function is never compiled unless a query asks for it.
* **Custom collations and functions** named in the schema (Android's
  ``PHONEBOOK``/``LOCALIZED``, ...) get harmless fallbacks, so views and
  indexes that use them can still be read.
* **Schema versions by columns**: :meth:`Database.pick` returns the first
  known version whose tables and columns are all present.
* **One precise warning per unreadable table** (file, table, reason) and the
  rest of the database is still read: :meth:`Database.rows` stops only the
  query that failed.
* **Bounds against hostile databases**: ``SQLITE_LIMIT_LENGTH`` caps every
  value (a 4 KB view cannot produce a 300 MB string: SQLite refuses to build
  it), and a progress handler stops any one query after a fixed number of
  virtual-machine steps (an endless recursive CTE in a view stops inside
  SQLite's C code, where a signal-based time-out never lands). The step
  budget is a count, not a clock, so the outcome is reproducible.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import re
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .sqlite_recovery import RecoveredRow, RecoveryBounds, recover_table

SQLITE_MAGIC = b"SQLite format 3\x00"
COMPANIONS = ("-wal", "-shm", "-journal")
# What reading a damaged database can raise. The sqlite3 module decodes
# SQLite's error text as UTF-8, and that text can quote bytes of the damaged
# schema: then a UnicodeDecodeError comes out instead of sqlite3.Error.
SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)

# Collations Android and Apple register in their own processes. Any other
# name found after COLLATE in the schema gets the same fallback.
KNOWN_COLLATIONS = ("PHONEBOOK", "LOCALIZED", "UNICODE", "NOCASE_ASCII", "ICU",
                    "LOCALIZED_CASE_INSENSITIVE", "CONTACTS_NAME")
_BUILTIN_COLLATIONS = {"BINARY", "NOCASE", "RTRIM"}
_COLLATE = re.compile(r'\bCOLLATE\s+["\'`\[]?([A-Za-z_][\w.@-]*)', re.IGNORECASE)
_CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
# Words that can stand before "(" in SQL without being a function call.
_NOT_FUNCTIONS = {
    "AS", "IN", "EXISTS", "VALUES", "ON", "USING", "AND", "OR", "NOT", "WHERE", "FROM", "SELECT",
    "JOIN", "TABLE", "VIEW", "INDEX", "TRIGGER", "BEGIN", "WITH", "RECURSIVE", "OVER", "FILTER",
    "CHECK", "PRIMARY", "KEY", "UNIQUE", "REFERENCES", "CAST", "CASE", "WHEN", "THEN", "ELSE",
    "INTO", "SET", "UPDATE", "INSERT", "DELETE", "REPLACE", "ROW", "OF", "IS", "BY", "LIKE",
    "GLOB", "MATCH", "REGEXP", "UNION", "ALL", "EXCEPT", "INTERSECT", "DEFAULT", "GENERATED",
    "RAISE", "PARTITION", "WINDOW", "LIMIT", "OFFSET", "HAVING", "GROUP", "ORDER", "DISTINCT",
}


@dataclass(frozen=True)
class SqliteBounds:
    """Limits against hostile databases.

    Steps are SQLite virtual-machine instructions, counted by the progress
    handler: a count, not a clock, so where a query stops is reproducible.
    A query may spend ``max_steps_per_query`` steps plus
    ``step_credit_per_row`` for every row it returns, so the budget grows
    with honest work (a real 1M-row table needs a few dozen steps a row)
    while a view that loops without returning rows stops within seconds.
    ``max_rows_per_query`` bounds a view that returns rows forever.
    """

    max_value_bytes: int = 64 << 20          # SQLITE_LIMIT_LENGTH: longest string/blob
    max_steps_per_query: int = 50_000_000
    step_credit_per_row: int = 1_000
    max_rows_per_query: int = 5_000_000
    steps_per_check: int = 10_000            # progress-handler granularity


@dataclass(frozen=True)
class SchemaVersion:
    """One known layout of the tables a query needs: table -> required columns."""

    name: str
    tables: Mapping[str, Sequence[str]]


def collation_fallback(left: str, right: str) -> int:
    """Case-insensitive order, then exact order: close to PHONEBOOK/LOCALIZED
    for the Latin names that matter for sorting, and deterministic."""
    a, b = (left.casefold(), left), (right.casefold(), right)
    return (a > b) - (a < b)


def _stub_function(*_args: Any) -> None:
    # An app-defined function used in a view or trigger: we cannot know what
    # it computes, so it yields NULL rather than make the view unreadable.
    return None


class Database:
    """A read-only view of one SQLite copy, for one plugin and one file."""

    def __init__(self, connection: sqlite3.Connection, label: str,
                 warn: Callable[[str], None], bounds: SqliteBounds, path: Path | None = None) -> None:
        self.connection = connection
        self.path = path                     # the scratch copy (deleted-record recovery reads it)
        self.label = label                   # "<plugin>: <locator>" in every warning
        self._warn = warn
        self.bounds = bounds
        self._budget = StepBudget(connection, bounds)
        self._columns: dict[str, frozenset[str] | None] = {}
        self._warned: set[str] = set()
        self._master = self._read_master()

    # --- schema ----------------------------------------------------------------------

    def _read_master(self) -> dict[str, tuple[str, str, str]]:
        """lower name -> (name, type, sql). Reading sqlite_master parses the
        schema text only; no table, view or virtual-table module is touched."""
        master: dict[str, tuple[str, str, str]] = {}
        for name, kind, sql in self.connection.execute(
                "SELECT name, type, sql FROM sqlite_master ORDER BY rowid"):
            if isinstance(name, str):
                master.setdefault(name.lower(), (name, kind or "", sql or ""))
        return master

    def names(self, *kinds: str) -> list[str]:
        """Names of the schema objects of the given types ('table', 'view'...)."""
        return [name for name, kind, _sql in self._master.values() if not kinds or kind in kinds]

    def is_virtual(self, table: str) -> bool:
        entry = self._master.get(table.lower())
        return bool(entry) and entry[2].lstrip().upper().startswith("CREATE VIRTUAL")

    def sql(self, name: str) -> str:
        """The CREATE statement of a schema object, as stored ("" if none)."""
        entry = self._master.get(name.lower())
        return entry[2] if entry else ""

    def exists(self, table: str) -> bool:
        return table.lower() in self._master

    def columns(self, table: str) -> frozenset[str] | None:
        """Lower-case column names of ``table`` (or view), from ``PRAGMA
        table_xinfo`` on that table alone; None when it does not exist or
        cannot be read (then one warning names the table and the reason)."""
        key = table.lower()
        if key not in self._columns:
            self._columns[key] = self._read_columns(key)
        return self._columns[key]

    def _read_columns(self, key: str) -> frozenset[str] | None:
        entry = self._master.get(key)
        if entry is None or entry[1] not in ("table", "view"):
            return None
        quoted = quote(entry[0])
        try:
            self._budget.start()
            names = [row[1] for row in self.connection.execute(f"PRAGMA table_xinfo({quoted})")]
        except SQLITE_ERRORS as error:
            self.warn_table(entry[0], f"cannot read its columns: {error}")
            return None
        return frozenset(str(name).lower() for name in names)

    def has(self, table: str, *columns: str) -> bool:
        have = self.columns(table)
        return have is not None and all(column.lower() in have for column in columns)

    def missing(self, expected: Mapping[str, Iterable[str]]) -> list[str]:
        """Expected tables/columns that are absent, as "table" or "table.column"."""
        result = []
        for table, columns in expected.items():
            have = self.columns(table)
            if have is None:
                result.append(table)
            else:
                result.extend(f"{table}.{column}" for column in columns if column.lower() not in have)
        return result

    def require(self, expected: Mapping[str, Iterable[str]], what: str) -> bool:
        """True when every expected table and column exists; otherwise one
        warning naming what was expected and what is missing, so an empty
        result is never silent."""
        missing = self.missing(expected)
        if missing:
            wanted = "; ".join(f"{table}({', '.join(columns)})" for table, columns in expected.items())
            self.warn(f"no {what} read: expected tables {wanted}; missing: {', '.join(missing)}")
        return not missing

    def pick(self, versions: Sequence[SchemaVersion]) -> SchemaVersion | None:
        """The first version whose tables and columns are all present."""
        for version in versions:
            if not self.missing(version.tables):
                return version
        return None

    def column(self, table: str, name: str, label: str | None = None, ref: str | None = None) -> str:
        """SQL ``ref."name" AS "label"`` when the column exists, else ``NULL AS
        "label"``: optional columns that differ between versions."""
        label = label or name
        if self.has(table, name):
            return f'{ref or table}."{name}" AS "{label}"'
        return f'NULL AS "{label}"'

    # --- reading ---------------------------------------------------------------------

    def recovered_rows(self, table: str, columns: Sequence[str],
                       bounds: RecoveryBounds = RecoveryBounds()) -> Iterator[RecoveredRow]:
        """Deleted records of ``table`` still in the file (free-list pages,
        freeblocks, unallocated space, old WAL frames), as typed candidates
        with the values of ``columns`` and where they were found; never one
        equal to a live row. See :mod:`traffick_triage.sqlite_recovery`. A
        failure or a bound is one warning; the live rows are not affected."""
        return recover_table(self, table, columns, bounds)

    def rows(self, sql: str, params: Sequence[Any] = (), *, table: str) -> Iterator[sqlite3.Row]:
        """Rows of one query; an error (damage, a value over the length limit,
        the step budget) ends this query with one warning naming ``table``;
        rows already yielded stay valid."""
        self._budget.start()
        returned = 0
        try:
            cursor = self.connection.execute(sql, params)
            while True:
                row = cursor.fetchone()
                if row is None:
                    return
                returned += 1
                if returned > self.bounds.max_rows_per_query:
                    cursor.close()
                    self.warn_table(table, f"more than {self.bounds.max_rows_per_query} rows; rest not read")
                    return
                self._budget.credit_row()
                yield row
        except SQLITE_ERRORS as error:
            self.warn_table(table, self._reason(error))

    def scalar_map(self, sql: str, params: Sequence[Any] = (), *, table: str) -> dict[Any, Any]:
        return {row[0]: row[1] for row in self.rows(sql, params, table=table)}

    def _reason(self, error: Exception) -> str:
        text = str(error)
        if "interrupted" in text and self._budget.exhausted():
            return (f"query stopped: over {self.bounds.max_steps_per_query} SQLite steps without "
                    "returning rows (an endless view or recursive query?); rest not read")
        if "too big" in text:
            return (f"a value is longer than {self.bounds.max_value_bytes} bytes "
                    "(hostile or damaged database); value and rest of the table not read")
        return f"{text}; rest not read"

    def warn_table(self, table: str, reason: str) -> None:
        message = f"{self.label}: table {table}: {reason}"
        if message not in self._warned:
            self._warned.add(message)
            self._warn(message)

    def warn(self, message: str) -> None:
        self._warn(f"{self.label}: {message}")


class StepBudget:
    """The step budget of the current query, enforced by SQLite's progress
    handler. The handler is a C-level callable (``itertools.repeat(0,
    n).__next__``), not a Python function, on purpose: a Python callback is
    where a pending signal (the engine's per-plugin time-out, Ctrl-C) would
    be raised, and sqlite3 swallows exceptions raised there into a bare
    "interrupted". With no Python frame inside SQLite, a signal waits until
    SQLite returns (within the budget) and is then raised normally. When
    the repeat runs out it raises StopIteration, which stops the query."""

    def __init__(self, connection: sqlite3.Connection, bounds: SqliteBounds) -> None:
        self._connection = connection
        self._bounds = bounds
        self._credit_steps = 0
        self._checks: Iterator[int] = iter(())
        self.start()

    def start(self) -> None:
        self._credit_steps = 0
        self._install(self._bounds.max_steps_per_query // self._bounds.steps_per_check)

    def credit_row(self) -> None:
        """A returned row earns ``step_credit_per_row``; credited in batches
        so the handler is re-installed at most once per batch of rows."""
        self._credit_steps += self._bounds.step_credit_per_row
        batch = self._bounds.steps_per_check * 100
        if self._credit_steps >= batch:
            left = operator.length_hint(self._checks)
            self._install(left + self._credit_steps // self._bounds.steps_per_check)
            self._credit_steps %= self._bounds.steps_per_check

    def exhausted(self) -> bool:
        return operator.length_hint(self._checks) == 0

    def _install(self, checks: int) -> None:
        self._checks = itertools.repeat(0, max(checks, 1))
        self._connection.set_progress_handler(self._checks.__next__, self._bounds.steps_per_check)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _register_fallbacks(connection: sqlite3.Connection) -> None:
    """Collations and functions the schema names but this process lacks.
    Registering changes nothing in the file; it only lets SQLite compile
    views, indexes and triggers that mention them."""
    texts = [sql for (sql,) in connection.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL") if isinstance(sql, str)]
    collations = {name.upper() for text in texts for name in _COLLATE.findall(text)}
    # Capped: a hostile schema could name thousands; real ones name a few.
    for name in sorted((collations | set(KNOWN_COLLATIONS)) - _BUILTIN_COLLATIONS)[:200]:
        connection.create_collation(name, collation_fallback)
    try:
        known = {str(name).upper() for (name,) in connection.execute(
            "SELECT name FROM pragma_function_list")}
    except SQLITE_ERRORS:
        known = set()
    called: set[str] = set()
    for text in texts:
        head = text.lstrip()[:32].upper()
        if head.startswith(("CREATE VIEW", "CREATE TEMP VIEW", "CREATE TRIGGER", "CREATE TEMP TRIGGER")):
            called.update(name.upper() for name in _CALL.findall(text))
    if known:   # without the list of built-ins, a stub could shadow one: register none
        for name in sorted(called - known - _NOT_FUNCTIONS)[:200]:
            connection.create_function(name, -1, _stub_function)


def _make_scratch_writable(path: Path) -> None:
    # The copy is scratch, never evidence (ctx.temp_copy verified it against
    # the inventory hash). SQLite must be able to write it in two cases: to
    # roll back a hot -journal (an interrupted transaction: the app would
    # see the rows as they were before it) and to build the WAL index for
    # un-checkpointed -wal frames. Both make the copy read as the app would
    # read the evidence; "PRAGMA query_only" keeps our own statements from
    # writing anything.
    for suffix in ("",) + COMPANIONS:
        companion = Path(str(path) + suffix)
        if companion.is_file():
            os.chmod(companion, stat.S_IRUSR | stat.S_IWUSR)


@contextlib.contextmanager
def connect(path: Path, label: str, warn: Callable[[str], None],
            bounds: SqliteBounds = SqliteBounds()) -> Iterator[Database]:
    """A bounded :class:`Database` over ``path``, a scratch copy made by
    ``ctx.temp_copy`` with the companions in :data:`COMPANIONS`. Raises
    sqlite3.Error when the file is not a readable database at all."""
    _make_scratch_writable(path)
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=True)
    try:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, bounds.max_value_bytes)
        # Damaged or odd-encoded text must not abort a whole table.
        connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
        connection.row_factory = sqlite3.Row
        StepBudget(connection, bounds)     # opening bounded too (Database installs its own)
        # Reading the schema rolls back a hot journal first (the copy only).
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.execute("PRAGMA query_only = 1")
        _register_fallbacks(connection)
        database = Database(connection, label, warn, bounds, path)
        yield database
    finally:
        connection.close()


def is_sqlite(file: Any) -> bool:
    return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


@contextlib.contextmanager
def open_database(file: Any, ctx: Any, plugin_name: str,
                  bounds: SqliteBounds = SqliteBounds()) -> Iterator[Database | None]:
    """The plugin's file as a :class:`Database`, or None after one warning
    (no SQLite header, or not readable as a database at all)."""
    label = f"{plugin_name}: {file.locator}"
    if not is_sqlite(file):
        ctx.warn(f"{label} is not an SQLite database (no SQLite header); skipped")
        yield None
        return
    path = ctx.temp_copy(file, companions=COMPANIONS)
    try:
        opened = connect(path, label, ctx.warn, bounds)
        database = opened.__enter__()
    except SQLITE_ERRORS as error:
        ctx.warn(f"{label}: not readable as an SQLite database: {error}")
        yield None
        return
    try:
        yield database
    finally:
        opened.__exit__(None, None, None)
