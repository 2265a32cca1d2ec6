"""Helpers for the communication-plugin tests: build SQLite fixtures, run a
plugin on a host file while proving the evidence was not changed, and
convert epochs independently of traffick_triage.timeutil."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
from pathlib import Path

from traffick_triage.plugin_host import PluginRun, file_view_for_path, run_plugin

UTC = dt.timezone.utc


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def unix_ms(value: int) -> str:
    return iso(dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=value))


def unix_s(value: int) -> str:
    return iso(dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=value))


def cocoa_s(value: float) -> str:
    return iso(dt.datetime(2001, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=value))


def cocoa_ns(value: int) -> str:
    return iso(dt.datetime(2001, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=value // 1000))


def digests(path: Path) -> dict[str, str]:
    """SHA-256 of a file and of its SQLite companions (absent ones too)."""
    result = {}
    for candidate in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm"), Path(str(path) + "-journal")):
        result[candidate.name] = (hashlib.sha256(candidate.read_bytes()).hexdigest()
                                  if candidate.exists() else "absent")
    return result


def run_untouched(plugin, path: Path) -> PluginRun:
    """Run ``plugin`` on ``path``; assert the file and companions are unchanged."""
    before = digests(path)
    run = run_plugin(plugin, file_view_for_path(path), timeout=None)
    assert digests(path) == before, "the plugin changed its evidence"
    return run


def build_db(path: Path, script: str, rows: dict[str, list[tuple]] | None = None) -> Path:
    """A rollback-journal database from a schema script and rows per table."""
    connection = sqlite3.connect(path)
    connection.executescript(script)
    for table, values in (rows or {}).items():
        for value in values:
            marks = ", ".join("?" * len(value))
            connection.execute(f"INSERT INTO {table} VALUES ({marks})", value)
    connection.commit()
    connection.close()
    return path


def copy_with_companions(source: Path, target_dir: Path) -> Path:
    target = target_dir / source.name
    for suffix in ("", "-wal", "-shm"):
        companion = Path(str(source) + suffix)
        if companion.exists():
            shutil.copyfile(companion, Path(str(target) + suffix))
    return target


def query(path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """Reference query on a (test-owned) copy."""
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()
