"""The communication finding kinds (message, call, contact, chat event),
shared by every messaging, call-log and address-book plugin.

Addresses (phone numbers, e-mail addresses, JIDs, handles) are kept exactly as
the source stores them, only stripped of surrounding whitespace: normalising
numbers is the identifier module's job, and an investigator must be able to
find the value as found in the source record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from ..plugin_api import Finding, TimelineEvent

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


@dataclass(frozen=True)
class AppMessage(Message):
    """A :class:`Message` of a third-party app whose store names its
    attachments (file names or the URLs the app fetches them from, as
    found) or shows the sender under a name beside the account id kept in
    ``sender``. Same kind as Message, more fields; the built-in
    SMS/WhatsApp plugins keep yielding Message, so their output does not
    change."""

    attachment_names: tuple[str, ...] = ()
    sender_name: str | None = None         # the name the app shows for the sender, as found


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
