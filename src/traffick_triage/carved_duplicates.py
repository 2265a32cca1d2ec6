"""A carved file is often a copy of a file the walk already listed (a live
file, or a deleted one whose clusters PhotoRec found again): it stays in the
inventory, but marked with a note naming the first such item, and counted
apart (``carving.carved_duplicates`` in the evidence description) so that a
count of what carving found is not a count of the same pictures twice."""

from __future__ import annotations

import json
from typing import Any

from .expansion.api import ROUTE_CARVED
from .store import CaseStore, dumps

NOTE_PREFIX = "same content as "


def mark_carved_duplicates(store: CaseStore, evidence_id: str) -> int:
    """Note on each carved file of ``evidence_id`` whose SHA-256 a file of
    another route of the same item has; the number of such carved files.
    Idempotent (a resumed scan marks again without doubling notes)."""
    rows = store.db.execute(
        "SELECT carved.id, carved.notes, "
        "  (SELECT other.locator FROM files AS other WHERE other.evidence_id = carved.evidence_id "
        "   AND other.sha256 = carved.sha256 AND other.route != ? ORDER BY other.seq LIMIT 1) "
        "FROM files AS carved WHERE carved.evidence_id = ? AND carved.route = ? AND carved.sha256 IS NOT NULL "
        "ORDER BY carved.seq", (ROUTE_CARVED, evidence_id, ROUTE_CARVED)).fetchall()
    marked = 0
    for row_id, notes_text, original in rows:
        if original is None:
            continue
        marked += 1
        notes = json.loads(notes_text or "[]")
        note = NOTE_PREFIX + original
        if note not in notes:
            notes.append(note)
            store.db.execute("UPDATE files SET notes = ? WHERE id = ?", (dumps(notes), row_id))
    return marked


def record_carving(store: CaseStore, evidence_id: str, description: dict[str, Any]) -> None:
    """The evidence description once the walk is done: what carving did per
    volume (the source's describe()) and how many carved files duplicate another item."""
    carving = description.get("carving")
    if not isinstance(carving, dict) or not carving.get("enabled"):
        return
    carving["carved"] = store.count("files", "evidence_id = ? AND route = ?", (evidence_id, ROUTE_CARVED))
    carving["carved_duplicates"] = mark_carved_duplicates(store, evidence_id)
    store.update_evidence(evidence_id, description=description)
