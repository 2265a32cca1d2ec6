"""The page's "Identifiers per provider" section, from report.json's
``providers`` rows (report/providers.py): one table per provider, at most
ROWS_PER_PROVIDER rows each (owner's own identifiers first, then by type and
value) and at most PROVIDER_LIMIT providers; the rest are counted, and every
row is in report.json and providers.csv.

Memory: the rows come sorted by provider, so one provider's candidate rows
are held at a time (at most twice the rows shown); the chosen ones wait on
disk until the page is written."""

from __future__ import annotations

from typing import Any, Callable

from ..store import CaseStore
from .providers import provider_rows
from .spilled_rows import SpilledRows

ROWS_PER_PROVIDER = 200
PROVIDER_LIMIT = 200
SOURCES_SHOWN = 3          # sources listed per row on the page; the rest are counted
_ROLE_ORDER = {"owner": 0, "correspondent": 1, "mentioned": 2}


def _shown(row: dict[str, Any], R: Any) -> dict[str, Any]:
    value = R.identifier(row["type"], row["value"]) if row["type"] in ("phone", "email") else R.address(row["value"])
    return {"type": row["type"], "value": value, "role": row["role"], "records": row["records"],
            "first_seen": row["first_seen"] or "", "last_seen": row["last_seen"] or "",
            "sources": [{"evidence_id": s["evidence_id"], "locator": R.text(s["locator"]), "plugin": s["plugin"],
                         "records": s["records"]} for s in row["sources"][:SOURCES_SHOWN]],
            "sources_more": row["sources_total"] - min(len(row["sources"]), SOURCES_SHOWN)}


def provider_sections(store: CaseStore, R: Any, keep: Callable[[Any], Any],
                      row_limit: int = ROWS_PER_PROVIDER) -> dict[str, Any]:
    """{"providers": [{"provider", "total", "owner", "rows", "more"}...],
    "providers_more": how many providers are not shown, "identifiers": how
    many rows in all}. The shown rows of each provider wait on disk
    (SpilledRows, registered with ``keep``); one provider's are in memory
    while they are chosen."""
    sections: list[dict[str, Any]] = []
    providers_more = identifiers = 0
    key: str | None = None
    current: dict[str, Any] = {}
    buffer: list[tuple[Any, ...]] = []
    for row in provider_rows(store):
        identifiers += 1
        if row["provider"] != key:
            _close(current, buffer, keep, row_limit)
            key, buffer = row["provider"], []
            current = {"provider": R.text(key), "total": 0, "owner": 0, "rows": None, "shown": False}
            if len(sections) < PROVIDER_LIMIT:
                current["shown"] = True
                sections.append(current)
            else:
                providers_more += 1
        current["total"] += 1
        current["owner"] += row["role"] == "owner"
        if current["shown"]:
            # The owner's rows first: the best row_limit by (role, type, value), kept as they come.
            buffer.append((_ROLE_ORDER[row["role"]], row["type"], row["value"], _shown(row, R)))
            if len(buffer) > 2 * row_limit:
                buffer = sorted(buffer, key=lambda r: r[:3])[:row_limit]
    _close(current, buffer, keep, row_limit)
    return {"providers": sections, "providers_more": providers_more, "identifiers": identifiers}


def _close(section: dict[str, Any], buffer: list[tuple[Any, ...]], keep: Callable[[Any], Any],
           row_limit: int) -> None:
    if not section.get("shown"):
        return
    rows = keep(SpilledRows(0))
    for *_order, shown in sorted(buffer, key=lambda r: r[:3])[:row_limit]:
        rows.add((), shown)
    section["rows"] = rows
    section["more"] = section["total"] - len(rows)
