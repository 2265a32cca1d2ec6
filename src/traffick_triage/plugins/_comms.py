"""Typed findings shared by the phone and communication plugins, plus the
value helpers they all use (SQLite access is ``traffick_triage.sqlite_access``).

Addresses (phone numbers, e-mail addresses, JIDs, handles) are kept exactly as
the source stores them, only stripped of surrounding whitespace: normalising
numbers is the identifier module's job, and an investigator must be able to
find the value as found in the source record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Iterator, Sequence

from ..plugin_api import Finding, TimelineEvent
from ..sqlite_access import Database
from ..timeutil import from_cocoa, from_unix_ms, from_unix_seconds, iso_or_none

# Message directions. "draft" and "unknown" exist because some stores hold
# unsent drafts or rows whose direction is not recorded.
INCOMING = "incoming"
OUTGOING = "outgoing"
DRAFT = "draft"
UNKNOWN = "unknown"

# Call directions beyond incoming/outgoing.
MISSED = "missed"
VOICEMAIL = "voicemail"
REJECTED = "rejected"
BLOCKED = "blocked"
ANSWERED_EXTERNALLY = "answered_externally"


@dataclass(frozen=True)
class Contact(Finding):
    """One address-book entry of one app (one row of its contact table)."""

    KIND: ClassVar[str] = "comms.contact"

    name: str | None
    phone_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    organisation: str | None = None
    identifiers: tuple[str, ...] = ()      # app account ids, e.g. WhatsApp JIDs
    source_app: str = ""
    source_record_id: str | None = None
    created: str | None = None             # UTC ISO 8601
    modified: str | None = None            # UTC ISO 8601
    deleted: bool | None = None            # the store's own "deleted" flag
    account: str | None = None             # owner account the entry syncs with, as found
    recovered: bool = False                # a deleted record found in free space, not a live row
    recovered_from: str | None = None      # where: "freelist page 12, offset 45100", "WAL frame 3 ..."

    def timeline_events(self) -> Sequence[TimelineEvent]:
        label = self.name or ", ".join(self.phone_numbers + self.emails + self.identifiers) or "?"
        extra = {"source_app": self.source_app, "source_record_id": self.source_record_id}
        events = []
        if self.created:
            events.append(TimelineEvent(self.created, "Contact Created",
                                        f"{self.source_app} contact created: {label}", extra=extra))
        if self.modified:
            events.append(TimelineEvent(self.modified, "Contact Modified",
                                        f"{self.source_app} contact modified: {label}", extra=extra))
        return recovered_events(self, events)


@dataclass(frozen=True)
class Call(Finding):
    """One call-log entry."""

    KIND: ClassVar[str] = "comms.call"

    number: str | None
    direction: str                         # incoming/outgoing/missed/voicemail/rejected/...
    start_time: str | None                 # UTC ISO 8601
    duration_s: float | None
    contact_name: str | None = None
    call_type: str | None = None           # e.g. "phone", "facetime_video", provider id
    source_app: str = ""
    source_record_id: str | None = None
    party_ref: str | None = None           # unresolved reference to the other party (recovered records)
    recovered: bool = False
    recovered_from: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        if not self.start_time:
            return ()
        who = self.number or "unknown number"
        if self.contact_name:
            who += f" ({self.contact_name})"
        return recovered_events(self, [TimelineEvent(
            self.start_time, "Call Started",
            f"{self.direction} call {who}, {self.duration_s if self.duration_s is not None else '?'} s",
            extra={"source_app": self.source_app, "source_record_id": self.source_record_id})])


@dataclass(frozen=True)
class Message(Finding):
    """One message of a messaging app (SMS, MMS, iMessage, WhatsApp...)."""

    KIND: ClassVar[str] = "comms.message"

    app: str
    thread_id: str | None
    sender: str | None                     # None: the device owner / not recorded
    recipients: tuple[str, ...]            # empty: the device owner / not recorded
    direction: str                         # incoming/outgoing/draft/unknown
    body: str | None
    time: str | None                       # UTC ISO 8601 (sent or received, per direction)
    read: bool | None = None               # the store's read flag; None: not stored
    attachments: int = 0
    subject: str | None = None
    status: str | None = None              # store-specific status, e.g. "failed", "outbox"
    sent_time: str | None = None           # sender-side time when stored separately
    read_time: str | None = None
    account: str | None = None             # owner account the message went through, as found
    service: str | None = None             # e.g. "iMessage", "SMS"
    source_record_id: str | None = None
    # A recovered record has no joins: the store's own reference to the other
    # party or chat, as found ("handle_id 3", "chat_row_id 12"), for lookup by hand.
    party_ref: str | None = None
    recovered: bool = False
    recovered_from: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        extra = {"app": self.app, "thread_id": self.thread_id,
                 "source_record_id": self.source_record_id}
        events = []
        if self.time:
            if self.direction == OUTGOING:
                desc, line = "Message Sent", f"to {', '.join(self.recipients) or '?'}"
            elif self.direction == INCOMING:
                desc, line = "Message Received", f"from {self.sender or '?'}"
            else:
                desc, line = "Message Recorded", f"({self.direction})"
            preview = (self.body or "")[:80]
            events.append(TimelineEvent(self.time, desc, f"{self.app} message {line}: {preview}",
                                        extra=extra))
        if self.read_time:
            events.append(TimelineEvent(self.read_time, "Message Read",
                                        f"{self.app} message read", extra=extra))
        return recovered_events(self, events)


@dataclass(frozen=True)
class ChatEvent(Finding):
    """A system row of a chat store that is not a message someone wrote:
    group created/renamed, member added/left, "messages are end-to-end
    encrypted" notices, security-code changes. Kept apart from messages so
    message counts are what people wrote; ``event_type`` is the store's own
    code, as found, so it can be looked up."""

    KIND: ClassVar[str] = "comms.chat_event"

    app: str
    thread_id: str | None
    actor: str | None                      # who the store names for the event, as found
    event_type: str                        # store-specific code, e.g. "status 6, action 19"
    time: str | None                       # UTC ISO 8601
    source_record_id: str | None = None
    recovered: bool = False
    recovered_from: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        if not self.time:
            return ()
        return recovered_events(self, [TimelineEvent(
            self.time, "Chat Event", f"{self.app} chat event ({self.event_type}) in {self.thread_id or '?'}",
            extra={"app": self.app, "thread_id": self.thread_id,
                   "source_record_id": self.source_record_id})])


# --- value helpers ---------------------------------------------------------------------

def clean(value: Any) -> str | None:
    """A stored text value stripped of surrounding whitespace; None when empty.
    BLOB values (some Apple tables store addresses as BLOB) are decoded as UTF-8."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def as_text(value: Any) -> str | None:
    """A message body as stored (whitespace kept); a BLOB (real WhatsApp iOS
    stores write some ZTEXT values as BLOB) is decoded as UTF-8."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return None if value is None else str(value)


def unique(values: Iterable[Any]) -> tuple[str, ...]:
    """Cleaned, non-empty values in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text is not None:
            seen.setdefault(text, None)
    return tuple(seen)


def number(value: Any) -> int | float | None:
    """A stored number, or None. SQLite types each value, not each column, so
    a time or duration column can hold text or a BLOB in a damaged or hostile
    store: numeric text is read, anything else is None (not an error)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _time_value(value: Any) -> int | float | None:
    # Stores write 0 for "not set"; 1970-01-01 / 2001-01-01 would be a misreading.
    value = number(value)
    return None if value is None or value == 0 else value


def unix_ms_iso(value: Any) -> str | None:
    value = _time_value(value)
    return None if value is None else iso_or_none(from_unix_ms(value))


def unix_s_iso(value: Any) -> str | None:
    value = _time_value(value)
    return None if value is None else iso_or_none(from_unix_seconds(value))


def cocoa_iso(value: Any) -> str | None:
    """Cocoa seconds or (newer iOS/macOS) nanoseconds since 2001; timeutil decides."""
    value = _time_value(value)
    return None if value is None else iso_or_none(from_cocoa(value))


# --- recovered (deleted) records ---------------------------------------------------------

# A carved cell can decode to any number; a time outside these years is read
# as garbage, not as a deleted record (phones reset to 1970 store 0, "not set").
PLAUSIBLE_YEARS = (1990, 2100)


def recovered_events(finding: Any, events: Sequence[TimelineEvent]) -> tuple[TimelineEvent, ...]:
    """The events of a finding, each saying so when the finding is a
    recovered deleted record (description, message and a field)."""
    if not getattr(finding, "recovered", False):
        return tuple(events)
    where = finding.recovered_from or "free space"
    return tuple(dataclasses.replace(
        event, timestamp_desc=f"{event.timestamp_desc} (recovered deleted record)",
        message=f"[recovered deleted record, {where}] {event.message}",
        extra={**event.extra, "recovered": True, "recovered_from": where}) for event in events)


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
