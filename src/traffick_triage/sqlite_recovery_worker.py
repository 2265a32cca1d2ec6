"""Child process of :mod:`traffick_triage.sqlite_recovery`: DC3's
sqlite_dissect over one scratch copy, one table; one JSON line per deleted
record on standard output.

Run as ``python -m traffick_triage.sqlite_recovery_worker PATH TABLE
MAX_RECORDS MAX_MEMORY CPU_SECONDS``. It lives in its own process so that the parent can bound its
time and memory (sqlite_dissect is pure Python and parses hostile bytes)
and so that a crash in it never takes the plugin's live records along.

What is written per record: the record's values in column order (text
decoded in the database's text encoding, a BLOB as ``{"blob": hex}``), the
rowid when known, and where the bytes lie (file, page, offset, how found).
Two kinds of cells are reported:

* ``carved``: cells sqlite_dissect's signature carver finds in freeblocks and
  unallocated space of the table's b-tree pages and in free-list pages, of
  the database and of every WAL commit;
* ``deleted``: cells present in one version (the database file or an earlier
  WAL commit) and gone in the next WAL commit: the old frames still hold
  them, whole, with their rowid.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
import warnings
from typing import Any

WAL_HEADER = 32
WAL_FRAME_HEADER = 24


def _value(column: Any, encoding: str) -> Any:
    serial_type, value = column.serial_type, column.value
    if isinstance(value, (bytes, bytearray)):
        if serial_type >= 13 and serial_type % 2 == 1:
            return bytes(value).decode(encoding, "replace")
        return {"blob": bytes(value).hex()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _where(cell: Any, page_size: int) -> dict[str, Any]:
    version = int(cell.version_number)
    offset = int(cell.file_offset)
    where: dict[str, Any] = {"page": int(cell.page_number), "offset": offset,
                             "file": "database" if version <= 0 else "wal"}
    if version > 0:
        where["frame"] = (offset - WAL_HEADER) // (WAL_FRAME_HEADER + page_size) + 1
    source, location = str(cell.source).lower(), str(cell.location).lower()
    if "freelist" in source:
        where["area"] = "freelist page"
    elif "freeblock" in location:
        where["area"] = "freeblock"
    elif "unallocated" in location:
        where["area"] = "unallocated space"
    else:
        where["area"] = "b-tree cell"
    return where


def main(argv: list[str]) -> int:
    """Exit 0 with the records; 3 with one line on standard error naming the
    problem in words (no exception class, no traceback: it becomes a warning)."""
    path, table, max_records, max_memory, cpu = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    # Set here, not by the parent (preexec_fn is unsafe in a threaded parent).
    # Past the CPU limit the kernel sends SIGXCPU, which ends the process.
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        return search(path, table, max_records)
    except MemoryError:
        sys.stderr.write(f"sqlite_dissect needed more than {max_memory} bytes of memory\n")
    except RecursionError:
        sys.stderr.write("sqlite_dissect recursed too deep (a page loop?)\n")
    except Exception as error:  # noqa: BLE001 - any failure of the library on hostile bytes
        text = " ".join(str(error).split())[:300] or "no reason given"
        sys.stderr.write(f"sqlite_dissect cannot parse the file: {text}\n")
    return 3


def search(path: str, table: str, max_records: int) -> int:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    from sqlite_dissect.file.database.database import Database
    from sqlite_dissect.file.wal.wal import WriteAheadLog
    from sqlite_dissect.interface import get_master_schema_entry
    from sqlite_dissect.version_history import VersionHistory, VersionHistoryParser
    from sqlite_dissect.carving.signature import Signature

    database = Database(path, strict_format_checking=False)
    wal_path = path + "-wal"
    wal = WriteAheadLog(wal_path, strict_format_checking=False) \
        if os.path.isfile(wal_path) and os.path.getsize(wal_path) > 0 else None
    history = VersionHistory(database, wal)
    if table not in {entry.name for entry in database.master_schema.master_schema_entries}:
        # sqlite_dissect takes the schema from the database file: a table
        # created in WAL frames not yet checkpointed cannot be searched.
        return 0
    entry = get_master_schema_entry(table, history)
    if getattr(entry, "without_row_id", False):
        return 0
    encoding = database.database_text_encoding or "utf-8"
    page_size = int(database.database_header.page_size)
    signature = Signature(history, entry)
    written = 0
    out = sys.stdout
    for commit in VersionHistoryParser(history, entry, None, None, signature, True):
        for operation, cells in (("deleted", commit.deleted_cells), ("carved", commit.carved_cells)):
            for cell in cells.values():
                row_id = cell.row_id if isinstance(cell.row_id, int) else None
                record = {"operation": operation, "commit": int(commit.version_number), "rowid": row_id,
                          "truncated": bool(getattr(cell, "truncated_beginning", False)
                                            or getattr(cell, "truncated_ending", False)),
                          "values": [_value(column, encoding) for column in cell.payload.record_columns]}
                record.update(_where(cell, page_size))
                out.write(json.dumps(record, ensure_ascii=True, sort_keys=True) + "\n")
                written += 1
                if written >= max_records:
                    out.write(json.dumps({"cut": max_records}) + "\n")
                    return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
