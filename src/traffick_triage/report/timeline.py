"""The case timeline in Timesketch's import format: ``timeline.jsonl`` (one
event per line: message, datetime, timestamp_desc, plus fields) and
``timeline.csv``. File-system times come from the inventory; every other
event from the findings that carry it.

A time whose zone the source does not record (FAT, ZIP, EXIF without an
offset) is kept as found, with ``timezone: "unknown"`` and no UTC claim."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore

_FS_DESCRIPTIONS = {"created": "File Created", "modified": "Content Modified",
                    "accessed": "Last Accessed", "changed": "Metadata Changed"}
CSV_COLUMNS = ("datetime", "timestamp_desc", "message", "timezone", "evidence_id", "locator", "source")


def timeline_events(store: CaseStore) -> list[dict[str, Any]]:
    events = list(_filesystem_events(store)) + list(_finding_events(store))
    events.sort(key=lambda e: (e["datetime"], e["locator"], e["timestamp_desc"], e["message"]))
    return events


def _filesystem_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    for row in store.files():
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
            yield event


def _finding_events(store: CaseStore) -> Iterator[dict[str, Any]]:
    for row in store.findings():
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
    events = timeline_events(store)
    jsonl, table = case_dir / "timeline.jsonl", case_dir / "timeline.csv"
    with atomic_writer(jsonl) as stream:
        for event in events:
            stream.write(json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n")
    with atomic_writer(table) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for event in events:
            writer.writerow([event.get(column, "") for column in CSV_COLUMNS])
    return [jsonl, table]
