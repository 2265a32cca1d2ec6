"""Deleted records of one SQLite table: free-list pages, freeblocks and
unallocated space of b-tree pages, and old WAL frames, read with DC3's
sqlite_dissect (PyPI ``sqlite-dissect``).

Plugins reach this through :meth:`traffick_triage.sqlite_access.Database.recovered_rows`;
this module holds what that method needs:

* **Bounded, on the scratch copy only.** sqlite_dissect runs in a child
  process (:mod:`traffick_triage.sqlite_recovery_worker`) on the copy the
  access layer already made, never on evidence, and only when database plus
  WAL are at most ``RecoveryBounds.max_bytes``; the child gets a time limit,
  an address-space limit and a record cap. Over a bound, a crash, or the
  library missing: one warning, no recovered rows, the live rows unchanged.
* **Typed candidates, not rows.** A recovered record is the bytes of a cell
  that no longer belongs to the table: values by column, no joins, maybe cut
  short. :func:`fits_affinity` accepts it only when every requested value
  has a storage class its column's declared type allows (an INTEGER or REAL
  column holds a number or NULL); carved garbage mostly fails there, and
  plugins add their own checks (a plausible time) before reporting one.
* **Never a live row twice.** A candidate whose requested values (the rowid
  alias aside) equal those of a live row, or are a cut-off copy of them
  (:class:`LiveRows`), is dropped, and so are repeats of an earlier
  candidate: the same deleted message often lies in two places.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

WORKER = "traffick_triage.sqlite_recovery_worker"


@dataclass(frozen=True)
class RecoveryBounds:
    """Limits of one recovery run (one table of one database).

    ``max_bytes`` (database plus WAL) is the deterministic bound. Work is
    bounded in CPU seconds of the child (``cpu_seconds``, RLIMIT_CPU), which
    a loaded machine does not shrink: a 250 KB phone store needs well under
    one. ``wall_seconds`` is a backstop for a child that would wait on
    something; the engine's per-plugin time-out still bounds the plugin."""

    max_bytes: int = 256 << 20
    cpu_seconds: int = 20
    wall_seconds: float = 120.0
    max_records: int = 200_000
    max_memory: int = 3 << 30


@dataclass(frozen=True)
class RecoveredRow:
    """One deleted record of a table, as found in free space.

    ``values`` are those of ``columns`` (lower-case names, as asked), None
    where the record holds NULL or does not reach that column. ``rowid`` is
    known for records a later WAL commit deleted, rarely for carved ones
    (a freeblock header overwrites the cell's first bytes)."""

    table: str
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    rowid: int | None
    origin: str                    # e.g. "freelist page 12, offset 45100"
    truncated: bool = False

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self.values[key]
        return self.values[self.columns.index(key.lower())]

    def get(self, key: str, default: Any = None) -> Any:
        key = key.lower()
        return self.values[self.columns.index(key)] if key in self.columns else default

    def keys(self) -> tuple[str, ...]:
        return self.columns


@dataclass(frozen=True)
class ColumnInfo:
    name: str            # lower case
    declared: str        # declared type, upper case
    rowid_alias: bool


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (section 3.1 of
    https://www.sqlite.org/datatype3.html)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared.strip():
        return "BLOB"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def fits_affinity(value: Any, declared: str) -> bool:
    """Whether a stored value can belong to a column of this declared type.
    INTEGER and REAL columns turn well-formed numbers into numbers, so in
    carved bytes text or a BLOB there means the cell was misread; TEXT
    columns hold text, or a BLOB (real Apple stores write text as BLOB)."""
    if value is None:
        return True
    kind = affinity(declared)
    if kind in ("INTEGER", "REAL"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "TEXT":
        return isinstance(value, (str, bytes))
    return True


def describe(record: Mapping[str, Any]) -> str:
    """Where a record's bytes lie, in words an examiner can check with a hex
    viewer: page numbers are SQLite's (1-based), offsets are in the file named."""
    page, offset = record.get("page"), record.get("offset")
    if record.get("operation") == "deleted":
        if record.get("file") == "wal":
            place = f"WAL frame {record.get('frame')} (page {page}), WAL offset {offset}"
        else:
            place = f"database page {page}, offset {offset}"
        return f"{place}; deleted by WAL commit {record.get('commit')}"
    text = f"{record.get('area', 'free space')} {page}, offset {offset}" \
        if record.get("area") == "freelist page" else \
        f"{record.get('area', 'free space')} of page {page}, offset {offset}"
    if record.get("file") == "wal":
        text += f" in WAL frame {record.get('frame')}"
    if record.get("truncated"):
        text += " (truncated)"
    return text


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "blob" in value:
        try:
            return bytes.fromhex(str(value["blob"]))
        except ValueError:
            return None
    return value


@dataclass(frozen=True)
class RecoveryRun:
    records: tuple[dict[str, Any], ...]
    problem: str | None = None     # why nothing (or not everything) was recovered


def run_worker(path: Path, table: str, bounds: RecoveryBounds) -> RecoveryRun:
    """sqlite_dissect over ``path`` (a scratch copy) for one table, bounded."""
    size = sum(os.path.getsize(candidate) for candidate in (str(path), str(path) + "-wal")
               if os.path.isfile(candidate))
    if size > bounds.max_bytes:
        return RecoveryRun((), f"database and WAL are {size} bytes, over the recovery budget of "
                               f"{bounds.max_bytes}; deleted records not searched")
    if importlib.util.find_spec("sqlite_dissect") is None:     # the child imports it, not us
        return RecoveryRun((), "sqlite-dissect is not installed; deleted records not searched")
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONHASHSEED"] = "0"

    try:
        done = subprocess.run(
            [sys.executable, "-m", WORKER, str(path), table, str(bounds.max_records), str(bounds.max_memory),
             str(max(1, int(bounds.cpu_seconds)))],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=bounds.wall_seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        return RecoveryRun((), f"deleted-record search stopped after {bounds.wall_seconds:g} s; none reported")
    except OSError as error:
        return RecoveryRun((), f"deleted-record search could not start: {error}")
    records, problem = [], None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "cut" in record:
            problem = f"more than {bounds.max_records} deleted-record candidates; rest not read"
            continue
        records.append(record)
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return RecoveryRun((), f"deleted-record search stopped after {bounds.cpu_seconds} CPU seconds; "
                               "none reported")
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        reason = lines[-1].strip()[:300] if lines else f"exit status {done.returncode}"
        problem = f"deleted records not searched: {reason}"
        if records:
            problem += f" ({len(records)} found before it stopped are kept)"
    return RecoveryRun(tuple(records), problem)


def _found_order(record: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """Stable order, whole records first: records a WAL commit deleted (whole,
    with their rowid) before carved ones, then by commit, database before WAL,
    page, offset. A carved copy of a record already seen is the one dropped."""
    def number(key: str) -> int:
        value = record.get(key)
        return value if isinstance(value, int) else 0
    return (0 if record.get("operation") == "deleted" else 1, number("commit"),
            1 if record.get("file") == "wal" else 0, number("page"), number("offset"))


class LiveRows:
    """The live rows of the compared columns, indexed by value, to tell a
    recovered candidate that only repeats a live row: equal values, or a
    cut-off copy (every value it holds equal to the live row's, a text or
    BLOB value possibly a prefix or suffix of it or differing in its last
    TAIL characters only: the carver reads a cell until its bytes end or are
    overwritten, and an UPDATE leaves the old cell in a freeblock)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.rows = list(dict.fromkeys(rows))
        self.exact = set(self.rows)
        self.index: dict[tuple[int, Any], list[int]] = {}
        for number, row in enumerate(self.rows):
            for position, value in enumerate(row):
                for key in _keys(value):
                    self.index.setdefault((position, key), []).append(number)

    def repeats(self, values: tuple[Any, ...]) -> bool:
        if values in self.exact:
            return True
        tried: set[int] = set()
        for position, value in enumerate(values):
            for number in (number for key in _keys(value) for number in self.index.get((position, key), ())):
                if number not in tried:
                    if len(tried) >= MAX_COMPARED:
                        return False
                    tried.add(number)
                    if _covers(self.rows[number], values):
                        return True
        return False


PREFIX = 8   # a text cut short keeps its start: live texts are also indexed by it
# Live rows compared with one candidate at most; past it the candidate is kept
# (reported as recovered, never hidden): a bound on a store whose thousands of
# rows share one value.
MAX_COMPARED = 10_000


def _keys(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)):
        return (value, ("prefix", value[:PREFIX])) if len(value) >= PREFIX else (value,)
    return (value,) if isinstance(value, (int, float)) else ()


def _covers(live: tuple[Any, ...], values: tuple[Any, ...]) -> bool:
    for have, found in zip(live, values):
        if found is None or found == have:
            continue
        if isinstance(found, (str, bytes)) and type(found) is type(have) and found and _cut_copy(found, have):
            continue
        return False
    return True


# A carved cell's last bytes are often overwritten (the next freeblock's
# header): a text equal to a live one but for its last TAIL characters is
# the same value, when every other value of the record is equal too.
TAIL = 4


def _cut_copy(found: Any, have: Any) -> bool:
    if have.startswith(found) or have.endswith(found):
        return True
    if len(found) < PREFIX:
        return False
    common = len(os.path.commonprefix([found, have]))
    return common >= len(found) - TAIL


def candidates(run: RecoveryRun, table: str, schema: Sequence[ColumnInfo], wanted: Sequence[str],
               live: LiveRows) -> Iterator[RecoveredRow]:
    """The recovered rows of ``wanted`` columns that fit the schema, do not
    repeat a live row (:class:`LiveRows`; compared on ``wanted`` minus the
    rowid alias) nor an earlier candidate, in :func:`_found_order`."""
    positions = {column.name: index for index, column in enumerate(schema)}
    by_name = {column.name: column for column in schema}
    compared = [i for i, name in enumerate(wanted) if not by_name[name].rowid_alias]
    seen: set[str] = set()
    for record in sorted(run.records, key=_found_order):
        raw = record.get("values")
        if not isinstance(raw, list):
            continue
        values = []
        for name in wanted:
            column = by_name[name]
            if column.rowid_alias:
                rowid = record.get("rowid")
                values.append(rowid if isinstance(rowid, int) else None)
                continue
            index = positions[name]
            values.append(_decode(raw[index]) if index < len(raw) else None)
        if not all(fits_affinity(value, by_name[name].declared) for name, value in zip(wanted, values)):
            continue
        key_values = tuple(values[i] for i in compared)
        if all(value is None for value in key_values) or live.repeats(key_values):
            continue
        key = repr(key_values)
        if key in seen:
            continue
        seen.add(key)
        rowid = record.get("rowid")
        yield RecoveredRow(table=table, columns=tuple(wanted), values=tuple(values),
                           rowid=rowid if isinstance(rowid, int) else None,
                           origin=describe(record), truncated=bool(record.get("truncated")))


def recover_table(db: Any, table: str, columns: Sequence[str], bounds: RecoveryBounds) -> Iterator[RecoveredRow]:
    """``Database.recovered_rows``: the search, the schema checks and the
    live-row comparison for one table of ``db`` (a sqlite_access.Database)."""
    wanted = [column.lower() for column in columns]
    name = next((found for found in db.names("table") if found.lower() == table.lower()), None)
    if db.path is None or name is None or db.is_virtual(name):
        return
    schema = record_columns(db, name)
    if schema is None:
        return
    missing = [column for column in wanted if column not in {info.name for info in schema}]
    if missing:
        db.warn_table(name, f"no deleted records searched: no column {', '.join(missing)}")
        return
    run = run_worker(db.path, name, bounds)
    if run.problem:
        db.warn_table(name, run.problem)
    if not run.records:
        return
    alias = {info.name for info in schema if info.rowid_alias}
    selected = ", ".join(quote_name(column) for column in wanted if column not in alias) or "NULL"
    live = LiveRows(tuple(row) for row in db.rows(f"SELECT {selected} FROM {quote_name(name)}", table=name))
    yield from candidates(run, name, schema, wanted, live)


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def record_columns(db: Any, table: str) -> list[ColumnInfo] | None:
    """Columns of a table in record order with their declared types; None
    when they cannot be read (then ``db.rows`` warned)."""
    info = [tuple(row) for row in db.rows(f"PRAGMA table_xinfo({quote_name(table)})", table=table)]
    if not info:
        return None
    # The INTEGER PRIMARY KEY column is the rowid: a record stores NULL for it.
    keys = [row for row in info if row[5]]
    without_rowid = "WITHOUT ROWID" in re.sub(r"\s+", " ", db.sql(table).upper())
    alias = keys[0][1] if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER" and not without_rowid else None
    # Hidden and virtual generated columns are not in the record (stored ones are).
    return [ColumnInfo(str(row[1]).lower(), str(row[2] or "").upper(), row[1] == alias)
            for row in info if len(row) < 7 or row[6] in (0, 3)]
