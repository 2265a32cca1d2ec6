"""report.json: the findings of a case, made from the case store alone.

Reproducible: the same evidence, options and hash sets give byte-identical
JSON. Wall-clock times, the case folder and the command line live in the run
record (manifest.json), not here."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore
from .identifier_index import identifier_index
from .match_counts import hashset_match_counts, hashsets_with_match_counts
from .providers import provider_rows

REPORT_SCHEMA_VERSION = "1.3.0"   # 1.3.0: every file's route, files per route; recovered, recovered_from, party_ref on comms findings; providers
FILES_INLINE_LIMIT = 100_000     # larger inventories go to files.jsonl beside the report

_FILE_FIELDS = ("evidence_id", "locator", "path", "name", "kind", "size", "allocated", "inode",
                "md5", "sha1", "sha256", "mime", "extension_mismatch", "suspicious_name", "times",
                "link_target", "notes", "route")


def file_record(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in _FILE_FIELDS}


def finding_record(row: dict[str, Any]) -> dict[str, Any]:
    return {"evidence_id": row["evidence_id"], "locator": row["locator"], "plugin": row["plugin"],
            "plugin_version": row["plugin_version"], "kind": row["kind"], "data": row["data"]}


def evidence_record(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "path": row["path"], "kind": row["kind"],
            "description": row["description"], "hashes": row["hashes"],
            "stored_hashes": row["stored_hashes"], "verification": row["verification"],
            "complete": row["complete"]}


def route_counts(store: CaseStore, evidence_id: str | None = None) -> dict[str, int]:
    """Items per route, every route named (0 where none), in ROUTES order:
    how each was found (live, deleted entry, carved, inside a file, cache,
    recovered record, shadow copy). Files (kind file) for every route but
    "recovered record", which counts the deleted database records recovered."""
    from ..expansion.api import ROUTE_RECOVERED, ROUTES

    where, arguments = ("kind = 'file'", ()) if evidence_id is None else \
        ("kind = 'file' AND evidence_id = ?", (evidence_id,))
    found = dict(store.db.execute(f"SELECT route, COUNT(*) FROM files WHERE {where} GROUP BY route",
                                  arguments).fetchall())
    counts = {route: int(found.pop(route, 0)) for route in ROUTES}
    counts.update({route: int(found[route]) for route in sorted(found)})     # a route this version does not know
    # A recovered deleted record is a finding of a database file, not a file of
    # its own: the route's count is of those records (recovered: true).
    finding_where = "json_extract(data, '$.recovered') = 1" + ("" if evidence_id is None else " AND evidence_id = ?")
    counts[ROUTE_RECOVERED] += int(store.db.execute(f"SELECT COUNT(*) FROM findings WHERE {finding_where}",
                                                    arguments).fetchone()[0])
    return counts


def summarise(store: CaseStore) -> dict[str, Any]:
    """Counts only, each made by SQLite (the matches too: match_counts)."""
    db = store.db
    kinds = Counter(dict(db.execute("SELECT kind, COUNT(*) FROM files GROUP BY kind").fetchall()))
    findings = dict(db.execute("SELECT kind, COUNT(*) FROM findings GROUP BY kind ORDER BY kind").fetchall())
    return {
        **hashset_match_counts(store),
        "evidence_items": store.count("evidence"),
        "entries": sum(kinds.values()),
        "files": kinds.get("file", 0),
        "directories": kinds.get("dir", 0),
        "symlinks": kinds.get("symlink", 0),
        "deleted_files": store.count("files", "kind = 'file' AND allocated = 0"),
        "files_by_route": route_counts(store),
        "files_hashed": store.count("files", "kind = 'file' AND sha256 IS NOT NULL"),
        "bytes_hashed": int(db.execute("SELECT COALESCE(SUM(size), 0) FROM files WHERE sha256 IS NOT NULL")
                            .fetchone()[0]),
        "extension_mismatches": store.count("files", "extension_mismatch = 1"),
        "suspicious_names": store.count("files", "suspicious_name = 1"),
        "findings": store.count("findings"),
        "findings_by_kind": findings,
        "warnings": store.count("warnings"),
        "verification_mismatches": store.count("evidence", "verification = 'MISMATCH'"),
    }


def report_parts(store: CaseStore, case_dir: Path, inline_limit: int = FILES_INLINE_LIMIT) -> dict[str, Any]:
    """The top-level values of report.json; the inventory, the findings, the
    identifier index, the identifiers per provider and the warnings are iterators over the store, so they
    are written without ever being held."""
    identity = store.get_meta("identity", {})
    report: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": identity.get("tool", {}),
        "environment": identity.get("environment", {}),
        "case": store.get_meta("case", {}),
        "options": store.get_meta("options", {}),
        "plugins": store.get_meta("plugins", []),
        "expanders": store.get_meta("expanders", []),
        "hashsets": hashsets_with_match_counts(store),
        "evidence": [{**evidence_record(row), "routes": route_counts(store, row["id"])}
                     for row in store.evidence_items()],
        "summary": summarise(store),
    }
    if report["summary"]["entries"] <= inline_limit:
        report["files"] = (file_record(row) for row in store.file_rows(_FILE_FIELDS))
    else:
        report["files_jsonl"] = _write_files_jsonl(store, case_dir / "files.jsonl")
    report["findings"] = (finding_record(row) for row in store.findings())
    report["identifier_index"] = identifier_index(store)
    report["providers"] = provider_rows(store)
    report["warnings"] = store.warnings()
    return report


def _write_files_jsonl(store: CaseStore, path: Path) -> dict[str, Any]:
    digest, count = hashlib.sha256(), 0
    with atomic_writer(path) as stream:
        for row in store.file_rows(_FILE_FIELDS):
            line = canonical_json(file_record(row), indent=None) + "\n"
            digest.update(line.encode("utf-8"))
            stream.write(line)
            count += 1
    return {"path": path.name, "records": count, "sha256": digest.hexdigest()}


# The C encoder, for scalars only: their text is the same at any indent.
_scalar_json = json.JSONEncoder(ensure_ascii=False).encode


def canonical_json(value: Any, indent: int | None = 1) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent, separators=separators)


def _indented(value: Any, level: int) -> str:
    """canonical_json(value) as it reads nested ``level`` deep in a canonical_json
    document, made with the C encoder for every scalar: json.dumps with an indent
    runs the pure-Python encoder, several times slower on the inventory."""
    if isinstance(value, (str, int, float)) or value is None:
        return _scalar_json(value)
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        if not value:
            return "{}"
        inner = "\n" + " " * (level + 1)
        return ("{" + ",".join(inner + _scalar_json(key) + ": " + _indented(value[key], level + 1)
                               for key in sorted(value)) + "\n" + " " * level + "}")
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = "\n" + " " * (level + 1)
        return "[" + ",".join(inner + _indented(item, level + 1) for item in value) + "\n" + " " * level + "]"
    # Anything else (tuples, keys that are not text): the reference encoder, re-indented.
    return canonical_json(value).replace("\n", "\n" + " " * level)


def write_report(store: CaseStore, case_dir: Path) -> Path:
    """report.json: canonical_json of the report_parts dict plus a newline, written
    a part, and in the long lists an item, at a time."""
    path = case_dir / "report.json"
    parts = report_parts(store, case_dir)
    with atomic_writer(path) as stream:
        for index, key in enumerate(sorted(parts)):
            stream.write(("," if index else "{") + "\n " + _scalar_json(key) + ": ")
            value = parts[key]
            if isinstance(value, Iterator):
                _write_list(stream, value)
            else:
                stream.write(_indented(value, 1))
        stream.write("\n}\n")
    return path


def _write_list(stream: IO[str], items: Iterator[Any]) -> None:
    """A list one level deep, as canonical_json writes it."""
    empty = True
    for item in items:
        stream.write(("[" if empty else ",") + "\n  " + _indented(item, 2))
        empty = False
    stream.write("[]" if empty else "\n ]")
