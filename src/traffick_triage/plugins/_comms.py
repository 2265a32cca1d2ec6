"""Typed findings shared by the phone and communication plugins, plus the
small SQLite helpers they all use.

Addresses (phone numbers, e-mail addresses, JIDs, handles) are kept exactly as
the source stores them, only stripped of surrounding whitespace: normalising
numbers is the identifier module's job, and an investigator must be able to
find the value as found in the source record.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Sequence

from ..plugin_api import Context, FileView, Finding, TimelineEvent
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
        return tuple(events)


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

    def timeline_events(self) -> Sequence[TimelineEvent]:
        if not self.start_time:
            return ()
        who = self.number or "unknown number"
        if self.contact_name:
            who += f" ({self.contact_name})"
        return (TimelineEvent(
            self.start_time, "Call Started",
            f"{self.direction} call {who}, {self.duration_s if self.duration_s is not None else '?'} s",
            extra={"source_app": self.source_app, "source_record_id": self.source_record_id}),)


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
        return tuple(events)


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


def unique(values: Iterable[Any]) -> tuple[str, ...]:
    """Cleaned, non-empty values in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text is not None:
            seen.setdefault(text, None)
    return tuple(seen)


def _nonzero(value: Any) -> bool:
    # Stores write 0 for "not set"; 1970-01-01 / 2001-01-01 would be a misreading.
    return value is not None and value != "" and value != 0


def unix_ms_iso(value: Any) -> str | None:
    return iso_or_none(from_unix_ms(value)) if _nonzero(value) else None


def unix_s_iso(value: Any) -> str | None:
    return iso_or_none(from_unix_seconds(value)) if _nonzero(value) else None


def cocoa_iso(value: Any) -> str | None:
    """Cocoa seconds or (newer iOS/macOS) nanoseconds since 2001; timeutil decides."""
    return iso_or_none(from_cocoa(value)) if _nonzero(value) else None


# --- SQLite helpers --------------------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"

Schema = dict[str, set[str]]   # table name (lower case) -> column names (lower case)


def is_sqlite(file: FileView, ctx: Context, plugin_name: str) -> bool:
    """Content check: the selector matched a name, make sure it is SQLite."""
    if file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
        return True
    ctx.warn(f"{plugin_name}: {file.locator} is not an SQLite database (no SQLite header); skipped")
    return False


@contextlib.contextmanager
def open_sqlite(file: FileView, ctx: Context) -> Iterator[sqlite3.Connection]:
    """Read-only connection to a verified temporary copy of ``file``.

    The -wal/-shm companions are copied beside it so un-checkpointed
    transactions are read; ``mode=ro`` keeps SQLite from checkpointing or
    otherwise changing the copy, and evidence itself is never opened.
    """
    path = ctx.temp_copy(file, companions=("-wal", "-shm"))
    connection = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    # Damaged or odd-encoded text must not abort a whole table.
    connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


@contextlib.contextmanager
def artifact_database(file: FileView, ctx: Context, plugin_name: str,
                      expected: Mapping[str, Iterable[str]], what: str
                      ) -> Iterator[tuple[sqlite3.Connection, Schema] | None]:
    """(connection, schema) of an SQLite artifact that has the expected
    tables and columns, or None after the warning that says why not (not
    SQLite, or a schema this plugin does not know). The common opening of the
    single-schema phone plugins."""
    if not is_sqlite(file, ctx, plugin_name):
        yield None
        return
    with open_sqlite(file, ctx) as connection:
        schema = read_schema(connection)
        yield (connection, schema) if require(schema, expected, ctx, plugin_name, file, what) else None


def read_schema(connection: sqlite3.Connection) -> Schema:
    schema: Schema = {}
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    for name in names:
        quoted = name.replace('"', '""')
        schema[name.lower()] = {row[1].lower() for row in connection.execute(f'PRAGMA table_info("{quoted}")')}
    return schema


def missing_parts(schema: Schema, expected: Mapping[str, Iterable[str]]) -> list[str]:
    """Expected tables/columns absent from ``schema``, as "table" or "table.column"."""
    missing = []
    for table, columns in expected.items():
        have = schema.get(table.lower())
        if have is None:
            missing.append(table)
            continue
        missing.extend(f"{table}.{column}" for column in columns if column.lower() not in have)
    return missing


def describe_expected(expected: Mapping[str, Iterable[str]]) -> str:
    return "; ".join(f"{table}({', '.join(columns)})" for table, columns in expected.items())


def require(schema: Schema, expected: Mapping[str, Iterable[str]], ctx: Context,
            plugin_name: str, file: FileView, what: str) -> bool:
    """True when every expected table and column exists; otherwise warn naming
    what was expected and what is missing, so an empty result is never silent."""
    missing = missing_parts(schema, expected)
    if not missing:
        return True
    ctx.warn(f"{plugin_name}: {file.locator}: no {what} read: expected tables "
             f"{describe_expected(expected)}; missing: {', '.join(missing)}")
    return False


def column(schema: Schema, table: str, name: str, label: str | None = None,
           ref: str | None = None) -> str:
    """SQL for ``ref.name AS label`` when the column exists, else ``NULL AS
    label``, so optional columns that differ between app versions do not
    break the query. ``ref`` is the table's alias in the query (default: its name)."""
    label = label or name
    if name.lower() in schema.get(table.lower(), set()):
        return f'{ref or table}."{name}" AS "{label}"'
    return f'NULL AS "{label}"'


def has_table(schema: Schema, table: str, *columns: str) -> bool:
    have = schema.get(table.lower())
    return have is not None and all(c.lower() in have for c in columns)
