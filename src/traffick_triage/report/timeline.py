"""The case timeline in Timesketch's import format: ``timeline.jsonl`` (one
event per line: message, datetime, timestamp_desc, plus fields) and
``timeline.csv``. File-system times come from the inventory; every other
event from the findings that carry it.

A time whose zone the source does not record (FAT, ZIP, EXIF without an
offset) is kept as found, with ``timezone: "unknown"`` and no UTC claim."""

from __future__ import annotations

import csv
import json
import pickle
from itertools import chain
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore
from ..external_sort import ExternalSort
from .finding_kinds import field_events

_FS_DESCRIPTIONS = {"created": "File Created", "modified": "Content Modified",
                    "accessed": "Last Accessed", "changed": "Metadata Changed"}
CSV_COLUMNS = ("datetime", "timestamp_desc", "message", "timezone", "evidence_id", "locator", "source")
# json.dumps(event, sort_keys=True, ensure_ascii=False) without its per-call set-up.
_line = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def event_order(event: dict[str, Any]) -> tuple[Any, ...]:
    return event["datetime"], event["locator"], event["timestamp_desc"], event["message"]


def unsorted_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    """Every event in the store's order: file-system events first."""
    return chain(_filesystem_events(store), _finding_events(store))


def timeline_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    """Every event, stably sorted by event_order; sorted on disk, as there are
    several a file."""
    with ExternalSort(4, 1) as events:
        for event in unsorted_events(store):
            events.add(event_order(event), (pickle.dumps(event, pickle.HIGHEST_PROTOCOL),))
        for (payload,) in events:
            yield pickle.loads(payload)


def _filesystem_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    for row in store.file_rows(("evidence_id", "locator", "sha256", "allocated", "times", "route")):
        times = row["times"] or {}
        for key, description in _FS_DESCRIPTIONS.items():
            value, local = times.get(key), times.get(key + "_local")
            if not value and not local:
                continue
            event = {"datetime": value or local, "timestamp_desc": description,
                     "message": f"{description}: {row['locator']}", "evidence_id": row["evidence_id"],
                     "locator": row["locator"], "source": "filesystem", "timezone": "UTC" if value else "unknown"}
            if not value:
                event["message"] = f"{description} (local time, zone unknown): {row['locator']}"
            if row.get("sha256"):
                event["sha256"] = row["sha256"]
            if not row["allocated"]:
                event["deleted"] = True
            if row["route"] not in ("live", "deleted entry"):
                event["route"] = row["route"]       # found inside a file, carved, in a cache...
            yield event


def _finding_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    for row in store.findings():
        # A kind the report knows no section for, which yields no event: its timestamped fields.
        yield from field_events(row)
        for item in row["timeline"]:
            moment = item.get("datetime") or item.get("local_time")
            if not moment:
                continue
            event = {"datetime": moment, "timestamp_desc": item["timestamp_desc"], "message": item["message"],
                     "evidence_id": row["evidence_id"], "locator": row["locator"],
                     "source": f"{row['plugin']}:{row['kind']}",
                     "timezone": "UTC" if item.get("datetime") else (item.get("timezone") or "unknown")}
            for key, value in sorted((item.get("extra") or {}).items()):
                event.setdefault(key, value)
            yield event


def write_timeline(store: CaseStore, case_dir: Path) -> list[Path]:
    jsonl, table = case_dir / "timeline.jsonl", case_dir / "timeline.csv"
    with atomic_writer(jsonl) as lines, atomic_writer(table) as rows:
        writer = csv.writer(rows, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for event in timeline_events(store):
            lines.write(_line(event) + "\n")
            writer.writerow([event.get(column, "") for column in CSV_COLUMNS])
    return [jsonl, table]
