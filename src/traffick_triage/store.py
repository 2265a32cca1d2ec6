"""The case store: one SQLite database in CASE_DIR holding evidence items,
files, findings, warnings and runs. Every report is made from it, never from
the scan's memory, so a report can be re-rendered without rescanning and an
interrupted scan can resume where its last committed batch ended."""

from __future__ import annotations

import codecs
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

STORE_NAME = "case.sqlite"
STORE_SCHEMA_VERSION = 2     # 2: files.route (how each item was found)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evidence (
    id TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '{}',
    hashes TEXT NOT NULL DEFAULT '{}',
    stored_hashes TEXT NOT NULL DEFAULT '{}',
    verification TEXT,
    host_files TEXT NOT NULL DEFAULT '[]',
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    seq INTEGER NOT NULL,
    locator TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    allocated INTEGER NOT NULL,
    inode TEXT,
    md5 TEXT, sha1 TEXT, sha256 TEXT,
    mime TEXT,
    extension_mismatch INTEGER NOT NULL DEFAULT 0,
    suspicious_name INTEGER NOT NULL DEFAULT 0,
    times TEXT NOT NULL DEFAULT '{}',
    address TEXT NOT NULL DEFAULT '{}',
    link_target TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    route TEXT NOT NULL DEFAULT 'live'
);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    evidence_id TEXT NOT NULL,
    locator TEXT NOT NULL,
    plugin TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    timeline TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS findings_locator ON findings(locator);
CREATE TABLE IF NOT EXISTS warnings (
    id INTEGER PRIMARY KEY,
    evidence_id TEXT,
    locator TEXT,
    source TEXT NOT NULL,
    message TEXT NOT NULL,
    UNIQUE (evidence_id, locator, source, message)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    record TEXT NOT NULL DEFAULT '{}'
);
"""

# Lookup by hash is for the examiner querying case.sqlite afterwards; kept out of
# the schema above because maintaining three random-key indexes row by row costs
# half of every insert during the walk, while building them once afterwards is cheap.
_HASH_INDEXES = """
CREATE INDEX IF NOT EXISTS files_md5 ON files(md5);
CREATE INDEX IF NOT EXISTS files_sha1 ON files(sha1);
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
"""

_FILE_COLUMNS = ("evidence_id", "seq", "locator", "path", "name", "kind", "size", "allocated", "inode",
                 "md5", "sha1", "sha256", "mime", "extension_mismatch", "suspicious_name", "times",
                 "address", "link_target", "notes", "route")
_INSERT_FILE = f"INSERT INTO files ({', '.join(_FILE_COLUMNS)}) VALUES ({', '.join('?' * len(_FILE_COLUMNS))})"


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; the same value
    always gives the same bytes (reproducible reports)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if _has_surrogates(text):
        # An undecodable name from evidence (a host path, a folder-relative
        # address) cannot be stored as UTF-8: keep it as JSON \udcXX escapes,
        # which json.loads turns back into the same name.
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text


_DECODER = json.JSONDecoder()
_ITEM_END = re.compile(r"[ \t\n\r]*[,\]]")


def json_array_items(read: Callable[[int], bytes], size: int = 1 << 16) -> Iterator[Any]:
    """The items of a JSON array whose UTF-8 text comes from ``read(size)`` in
    pieces, each decoded exactly as json.loads decodes it within the whole
    array: the array is never held in memory as a whole."""
    decode = codecs.getincrementaldecoder("utf-8")().decode
    buffer, pos, ended = "", 0, False

    def fill() -> None:
        nonlocal buffer, pos, ended
        data = read(size)
        ended = not data
        buffer, pos = buffer[pos:] + decode(data, final=ended), 0

    def next_char() -> str:
        """The next non-blank character, not consumed ("" at the end)."""
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\n\r":
                pos += 1
            if pos < len(buffer) or ended:
                return buffer[pos:pos + 1]
            fill()

    if next_char() != "[":
        raise json.JSONDecodeError("Expecting '['", buffer, pos)
    pos += 1
    if next_char() == "]":
        return
    while True:
        while True:
            try:
                item, end = _DECODER.raw_decode(buffer, pos)
                # Only a separator in the buffer proves the item whole: a number
                # cut off by the end of the piece read so far would decode short.
                if ended or _ITEM_END.match(buffer, end):
                    break
            except json.JSONDecodeError:
                if ended:
                    raise
            fill()
        yield item
        pos = end
        separator = next_char()
        pos += 1
        if separator == "]":
            return
        if separator != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", buffer, pos - 1)
        next_char()


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _displayable_host_path(host: dict[str, Any]) -> None:
    """A host file name that is not valid UTF-8 (stored with surrogates) is
    shown with its bad bytes as \\xNN, like a locator; its exact bytes stay
    in ``path_bytes_hex`` for evidence.hashdeep, which must name the real file."""
    path = host.get("path")
    if isinstance(path, str) and _has_surrogates(path):
        host["path_bytes_hex"] = path.encode("utf-8", "surrogateescape").hex()
        host["path"] = "".join(f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF else ch
                               for ch in path)


def _storable(text: str | None) -> str | None:
    """Text for a TEXT column: lone surrogates (undecodable bytes) become visible \\udcXX."""
    if text is None or not _has_surrogates(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class CaseStore:
    def __init__(self, case_dir: str | Path, readonly: bool = False) -> None:
        self.path = Path(case_dir) / STORE_NAME
        self.readonly = readonly
        if readonly:
            # Reading must not change a byte of the store: the manifest covers it.
            if not self.path.is_file():
                raise FileNotFoundError(f"no case store at {self.path}")
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            return
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        # WAL + synchronous=NORMAL: a power cut loses at most the open batch,
        # never the database; the scan redoes that batch on resume.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._upgrade_schema()
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('store_schema_version', ?)",
                        (str(STORE_SCHEMA_VERSION),))

    def _upgrade_schema(self) -> None:
        """A scan resumed into a store an older version began: its files get
        the route the old version implied (live or deleted entry)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        if "route" not in columns:
            self.db.execute("ALTER TABLE files ADD COLUMN route TEXT NOT NULL DEFAULT 'live'")
            self.db.execute("UPDATE files SET route = 'deleted entry' WHERE allocated = 0")
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'store_schema_version'",
                            (str(STORE_SCHEMA_VERSION),))

    # -- meta ---------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # -- writing ------------------------------------------------------------------

    def create_hash_indexes(self) -> None:
        """Once the inventory is complete (see _HASH_INDEXES)."""
        self.db.executescript(_HASH_INDEXES)

    def begin(self) -> None:
        self.db.execute("BEGIN")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def upsert_evidence(self, record: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO evidence (id, ordinal, path, name, kind, description, host_files) "
            "VALUES (:id, :ordinal, :path, :name, :kind, :description, :host_files) "
            "ON CONFLICT(id) DO UPDATE SET ordinal=excluded.ordinal, path=excluded.path, "
            "name=excluded.name, kind=excluded.kind, description=excluded.description",
            {**record, "description": dumps(record.get("description", {})),
             "host_files": dumps(record.get("host_files", []))})

    def update_evidence(self, evidence_id: str, **fields: Any) -> None:
        for key, value in fields.items():
            if key not in {"hashes", "stored_hashes", "verification", "host_files", "complete", "description"}:
                raise KeyError(key)
            stored = dumps(value) if isinstance(value, (dict, list)) else value
            self.db.execute(f"UPDATE evidence SET {key} = ? WHERE id = ?", (stored, evidence_id))

    def evidence_complete(self, evidence_id: str) -> bool:
        row = self.db.execute("SELECT complete FROM evidence WHERE id = ?", (evidence_id,)).fetchone()
        return bool(row and row[0])

    def known_locators(self, evidence_id: str) -> set[str]:
        return {row[0] for row in self.db.execute(
            "SELECT locator FROM files WHERE evidence_id = ?", (evidence_id,))}

    def next_seq(self, evidence_id: str) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM files WHERE evidence_id = ?", (evidence_id,)).fetchone()
        return (row[0] or 0) + 1

    def add_file(self, record: dict[str, Any]) -> None:
        row = dict(record)
        for key in ("times", "address", "notes"):
            row[key] = dumps(row.get(key) or ({} if key != "notes" else []))
        row["allocated"] = int(bool(row["allocated"]))
        row["route"] = row.get("route") or ("live" if row["allocated"] else "deleted entry")
        row["extension_mismatch"] = int(bool(row.get("extension_mismatch")))
        row["suspicious_name"] = int(bool(row.get("suspicious_name")))
        self.db.execute(_INSERT_FILE, tuple(row.get(c) for c in _FILE_COLUMNS))

    def add_finding(self, evidence_id: str, locator: str, plugin: str, plugin_version: str,
                    kind: str, data: dict[str, Any], timeline: list[dict[str, Any]]) -> None:
        self.db.execute(
            "INSERT INTO findings (evidence_id, locator, plugin, plugin_version, kind, data, timeline) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (evidence_id, locator, plugin, plugin_version, kind, dumps(data), dumps(timeline)))

    def add_warning(self, evidence_id: str | None, locator: str | None, source: str, message: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO warnings (evidence_id, locator, source, message) "
                        "VALUES (?, ?, ?, ?)", (evidence_id, _storable(locator), source, _storable(message)))

    def start_run(self, command: str, started: str, record: dict[str, Any]) -> int:
        cursor = self.db.execute("INSERT INTO runs (command, started, record) VALUES (?, ?, ?)",
                                 (command, started, dumps(record)))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, finished: str, record: dict[str, Any]) -> None:
        self.db.execute("UPDATE runs SET finished = ?, record = ? WHERE id = ?",
                        (finished, dumps(record), run_id))

    # -- reading (deterministic order everywhere) ------------------------------------

    def evidence(self) -> list[dict[str, Any]]:
        return [{**item, "host_files": list(self.host_files(item["id"]))} for item in self.evidence_items()]

    def files(self) -> Iterator[dict[str, Any]]:
        query = ("SELECT f.* FROM files f JOIN evidence e ON e.id = f.evidence_id "
                 "ORDER BY e.ordinal, f.locator")
        for row in self.db.execute(query):
            item = dict(row)
            for key in ("times", "address", "notes"):
                item[key] = json.loads(item[key])
            for key in ("allocated", "extension_mismatch", "suspicious_name"):
                item[key] = bool(item[key])
            yield item

    def file_by_locator(self, locator: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM files WHERE locator = ?", (locator,)).fetchone()
        if row is None:
            return None
        item = dict(row)
        item["address"] = json.loads(item["address"])
        return item

    def findings(self, kinds: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every finding, or those of ``kinds`` (a writer that shows messages need
        not decode every other finding), in one order whatever the kinds."""
        where, params = "", ()
        if kinds is not None:
            params = tuple(sorted(set(kinds)))
            where = f"WHERE f.kind IN ({', '.join('?' * len(params))}) "
        query = (f"SELECT f.* FROM findings f JOIN evidence e ON e.id = f.evidence_id {where}"
                 "ORDER BY e.ordinal, f.locator, f.plugin, f.kind, f.data")
        for row in self.db.execute(query, params):
            item = dict(row)
            item["data"] = json.loads(item["data"])
            item["timeline"] = json.loads(item["timeline"])
            yield item

    # -- reading for the report writers: flat memory whatever the number of files ----------

    def file_rows(self, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        """files() with only ``columns``, decoded the same way: a writer that needs a
        few fields of every file does not decode the rest (three JSON documents a row)."""
        unknown = set(columns) - set(_FILE_COLUMNS)
        if unknown:
            raise ValueError(f"no file column {sorted(unknown)}")
        cursor = self.db.cursor()
        cursor.row_factory = None
        cursor.execute(f"SELECT {', '.join('f.' + c for c in columns)} FROM files f "
                       "JOIN evidence e ON e.id = f.evidence_id ORDER BY e.ordinal, f.locator")
        decoded = [c for c in columns if c in ("times", "address", "notes")]
        flags = [c for c in columns if c in ("allocated", "extension_mismatch", "suspicious_name")]
        for row in cursor:
            item = dict(zip(columns, row))
            for key in decoded:
                item[key] = json.loads(item[key])
            for key in flags:
                item[key] = bool(item[key])
            yield item

    def locators(self, evidence_id: str) -> Iterator[str]:
        """The locators of one evidence item's files, in files() order."""
        for (locator,) in self.db.execute("SELECT locator FROM files WHERE evidence_id = ? ORDER BY locator",
                                          (evidence_id,)):
            yield locator

    def file_hashes(self, locator: str) -> dict[str, Any]:
        """evidence_id, hashes and route of the regular file at ``locator`` ({} for none)."""
        row = self.db.execute("SELECT evidence_id, md5, sha1, sha256, route FROM files WHERE locator = ? "
                              "AND kind = 'file'",
                              (locator,)).fetchone()
        return dict(row) if row else {}

    def evidence_items(self) -> list[dict[str, Any]]:
        """evidence() without ``host_files``: a folder's list names every file in it,
        so a writer reads it one entry at a time with host_files()."""
        rows = self.db.execute("SELECT id, ordinal, path, name, kind, description, hashes, stored_hashes, "
                               "verification, complete FROM evidence ORDER BY ordinal, id").fetchall()
        out = []
        for row in rows:
            item = dict(row)
            for key in ("description", "hashes", "stored_hashes"):
                item[key] = json.loads(item[key])
            item["complete"] = bool(item["complete"])
            out.append(item)
        return out

    def host_files(self, evidence_id: str) -> Iterator[dict[str, Any]]:
        """The host files of one evidence item (path, size, md5, sha256), sorted
        by path, one at a time. A folder's are the files of its inventory, read
        from the files table rather than stored again as one JSON list, which
        would grow the scan's memory with every file; an image's are decoded
        from the stored JSON array in pieces."""
        row = self.db.execute("SELECT rowid, kind, path FROM evidence WHERE id = ?", (evidence_id,)).fetchone()
        if row is None:
            return
        if row["kind"] == "directory":
            yield from self._folder_host_files(evidence_id, row["path"])
            return
        with self.db.blobopen("evidence", "host_files", row["rowid"], readonly=True) as blob:
            for host in json_array_items(blob.read):
                _displayable_host_path(host)
                yield host

    def _folder_host_files(self, evidence_id: str, root: str) -> Iterator[dict[str, Any]]:
        from .external_sort import ExternalSort

        by_path = ExternalSort(key_width=1, payload_width=4)
        try:
            for address, size, md5, sha256 in self.db.execute(
                    "SELECT address, size, md5, sha256 FROM files WHERE evidence_id = ? AND kind = 'file' "
                    "AND md5 IS NOT NULL", (evidence_id,)):
                relative = json.loads(address).get("relpath")
                if relative is None:
                    continue        # an item found inside a file of the folder, not a file of the host
                path = os.path.join(root, relative)
                # The path as bytes: an undecodable name (surrogates) cannot be SQLite text.
                by_path.add((path,), (path.encode("utf-8", "surrogatepass"), size, md5, sha256))
            for path_bytes, size, md5, sha256 in by_path:
                host = {"path": path_bytes.decode("utf-8", "surrogatepass"), "size": size, "md5": md5,
                        "sha256": sha256}
                _displayable_host_path(host)
                yield host
        finally:
            by_path.close()

    def warnings(self) -> Iterator[dict[str, Any]]:
        """One at a time: an item with many unreadable files has a warning for each."""
        query = ("SELECT w.evidence_id, w.locator, w.source, w.message FROM warnings w "
                 "LEFT JOIN evidence e ON e.id = w.evidence_id "
                 "ORDER BY COALESCE(e.ordinal, -1), w.locator, w.source, w.message")
        for row in self.db.execute(query):
            yield dict(row)

    def runs(self) -> list[dict[str, Any]]:
        return [dict(row) | {"record": json.loads(row["record"])}
                for row in self.db.execute("SELECT * FROM runs ORDER BY id")]

    def count(self, table: str, where: str = "1", params: tuple = ()) -> int:
        """Rows of ``table`` matching ``where`` (a fixed SQL condition; values go in ``params``)."""
        if table not in {"files", "findings", "warnings", "evidence"}:
            raise ValueError(table)
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0])

    def close(self) -> None:
        if self.readonly:
            self.db.close()
            return
        # Fold the WAL back so the store is one stable file the manifest can hash.
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.close()
