"""Finding kinds the report has no hand-made place for (a third-party
plugin's, a new built-in's): shown field by field on the page, and their
timestamped fields put on the timeline when the finding yields no event.

The hand-made sections and writers know the kinds in KNOWN_KINDS by name;
every other kind is "generic". report.json and the CSV tables list every
finding whatever its kind already; this module gives the page and the
timeline the same reach."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Callable, Iterator

from ..store import CaseStore
from ..timeutil import iso_utc
from .spilled_rows import SpilledRows

# Every kind a hand-made section, the map or the matcher reads by name (the
# built-in plugins' kinds and the matchers'); the page shows the others generically.
KNOWN_KINDS = frozenset({
    "comms.call", "comms.contact", "comms.message", "exif.gps", "exif.metadata", "hashset.match",
    "identifier", "keyword", "media.gps", "media.metadata", "perceptual.cluster", "perceptual.hash",
    "perceptual.match", "perceptual.video",
})
MAX_COLUMNS = 24          # fields shown per kind; the rest are in the CSV/JSON outputs
MAX_CELL = 300            # characters shown per cell
MAX_TIME_FIELDS = 8       # timeline events made per finding from its fields
_ANCHOR = re.compile(r"[^a-z0-9]+")


def generic_kinds(store: CaseStore) -> list[str]:
    """The case's finding kinds that have no hand-made section, sorted."""
    kinds = (row[0] for row in store.db.execute("SELECT DISTINCT kind FROM findings"))
    return sorted(kind for kind in kinds if isinstance(kind, str) and kind not in KNOWN_KINDS)


def anchor(kind: str) -> str:
    """A page id for a kind: letters, digits and dashes only."""
    return "kind-" + (_ANCHOR.sub("-", kind.lower()).strip("-") or "unnamed")


def cell_text(value: Any) -> str:
    """A field as one bounded line of text (the page escapes it)."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "\u2026"


def generic_sections(store: CaseStore, R: Any, keep: Callable[[Any], Any], row_limit: int) -> list[dict[str, Any]]:
    """One table per generic kind: its fields (the finding dataclass's, in the
    order first seen, at most MAX_COLUMNS), how many findings, and the first
    ``row_limit`` rows in store order, each value masked when redacting."""
    sections = []
    for kind in generic_kinds(store):
        columns: list[str] = []
        more: set[str] = set()
        total = 0
        for finding in store.findings([kind]):
            total += 1
            for key in finding["data"]:
                if key in columns or key in more:
                    continue
                if len(columns) < MAX_COLUMNS:
                    columns.append(key)
                else:
                    more.add(key)
        rows = keep(SpilledRows(0))
        for finding in store.findings([kind]):
            if len(rows) >= row_limit:
                break
            data = finding["data"]
            rows.add((), {"evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"]),
                          "plugin": finding["plugin"],
                          "cells": [R.text(cell_text(data.get(key))) for key in columns]})
        sections.append({"kind": kind, "anchor": anchor(kind), "total": total, "columns": columns,
                         "headers": [(key, "text") for key in columns],
                         "columns_cut": len(more), "rows": rows})
    return sections


def _moment(value: Any) -> dt.datetime | None:
    """A zone-aware date and time written as ISO 8601, else None."""
    if not isinstance(value, str) or not 19 <= len(value) <= 40 or value[4:5] != "-":
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def field_events(finding: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Timeline events of a generic finding that yielded none: one per field
    holding a zone-aware ISO 8601 time, in UTC, the time as found kept when
    its offset was not UTC."""
    if finding["kind"] in KNOWN_KINDS or finding["timeline"]:
        return
    made = 0
    for key, value in finding["data"].items():
        moment = _moment(value)
        if moment is None:
            continue
        try:
            when = iso_utc(moment)
        except (ValueError, OverflowError):     # year 1 at an offset east of UTC
            continue
        event = {"datetime": when, "timestamp_desc": f"{finding['kind']} {key}",
                 "message": f"{finding['kind']} {key}: {finding['locator']}",
                 "evidence_id": finding["evidence_id"], "locator": finding["locator"],
                 "source": f"{finding['plugin']}:{finding['kind']}", "timezone": "UTC"}
        if moment.utcoffset() != dt.timedelta(0):
            event["time_as_found"] = value
        yield event
        made += 1
        if made >= MAX_TIME_FIELDS:
            return
