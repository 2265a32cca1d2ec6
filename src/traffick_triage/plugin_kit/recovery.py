"""Deleted records of a plugin's tables, recovered from free pages,
freeblocks and WAL frames (sqlite_access.Database.recovered_rows, through
DC3's sqlite_dissect), turned into findings of the same kinds as the live
rows and marked ``recovered`` with where they were found."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Iterator, Sequence

from ..plugin_api import Finding
from ..sqlite_access import Database
from .comms import Call, ChatEvent, Contact, Message

# A carved cell can decode to any number; a time outside these years is read
# as garbage, not as a deleted record (phones reset to 1970 store 0, "not set").
PLAUSIBLE_YEARS = (1990, 2100)


def plausible_time(iso: str | None) -> bool:
    if not iso:
        return False
    try:
        year = dt.datetime.fromisoformat(iso).year
    except ValueError:
        return False
    return PLAUSIBLE_YEARS[0] <= year <= PLAUSIBLE_YEARS[1]


class RecoveredRecord(dict):
    """A recovered row's values by lower-case column name; a column the table
    lacks (optional in some versions) reads as None, like ``db.column``'s NULL."""

    def __missing__(self, key: str) -> Any:
        lowered = key.lower()
        return dict.get(self, lowered) if lowered != key else None


def recovered(db: Database, table: str, columns: Sequence[str],
              build: Callable[[RecoveredRecord], Finding | None],
              accept: Callable[[Finding], bool], rename: dict[str, str] | None = None) -> Iterator[Finding]:
    """Findings from the deleted records of ``table``, each built by the same
    function as the plugin's live rows (``build`` gets the values by column
    name, ``rename`` mapping a column to the name ``build`` reads), kept only
    when ``accept`` holds (e.g. a plausible time), and marked ``recovered``
    with where it was found. Columns the table lacks are left out of the
    search and read as None."""
    present = db.columns(table) or frozenset()
    wanted = [column for column in columns if column.lower() in present]
    if not wanted:
        return
    for row in db.recovered_rows(table, wanted):
        record = RecoveredRecord({(rename or {}).get(name, name): value
                                  for name, value in zip(row.columns, row.values)})
        finding = build(record)
        if finding is not None and accept(finding):
            yield dataclasses.replace(finding, recovered=True, recovered_from=row.origin)


def message_accept(message: Finding) -> bool:
    """A recovered message: a plausible time and an address or a body."""
    return plausible_time(message.time) and any(  # type: ignore[attr-defined]
        (message.sender, message.recipients, message.body, message.party_ref))  # type: ignore[attr-defined]


def call_accept(call: Finding) -> bool:
    return plausible_time(call.start_time) and any((call.number, call.party_ref))  # type: ignore[attr-defined]


def contact_accept(contact: Finding) -> bool:
    return any((contact.name, contact.phone_numbers, contact.emails,  # type: ignore[attr-defined]
                contact.identifiers))  # type: ignore[attr-defined]


def record_accept(finding: Finding) -> bool:
    """The rule of the finding's own kind, for tables whose rows become
    messages, calls or chat events (a WhatsApp message table)."""
    if isinstance(finding, Message):
        return message_accept(finding)
    if isinstance(finding, Call):
        return call_accept(finding)
    if isinstance(finding, Contact):
        return contact_accept(finding)
    if isinstance(finding, ChatEvent):
        return plausible_time(finding.time)
    return False
