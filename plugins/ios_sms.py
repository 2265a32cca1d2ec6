"""iMessage/SMS on iOS (``sms.db``) and macOS (``chat.db``).

Schema understood (iOS 6 to 17, OS X 10.8 to macOS 14; the same layout on
both): ``message(ROWID, text, handle_id, date, is_from_me)``, ``handle(ROWID,
id)``, ``chat(ROWID, guid)``, ``chat_message_join(chat_id, message_id)``;
read when present: ``message.date_read, is_read, service, account, subject,
attributedBody``, ``chat_handle_join(chat_id, handle_id)`` (recipients of
sent messages), ``message_attachment_join(message_id, attachment_id)``.

Times are Cocoa (2001-01-01 UTC): seconds up to iOS 10 / macOS 10.12,
nanoseconds since; timeutil.from_cocoa tells them apart by size. A 0 date
means "not set". Since macOS 13/iOS 16 many bodies are only in
``attributedBody`` (an NSArchiver "typedstream"); the plain string is taken
from it when ``text`` is NULL.

Deleted messages still in the file (free-list pages, freeblocks, old WAL
frames) are reported as messages marked ``recovered``: a loose cell cannot be
joined, so they carry no thread, sender or recipients but the store's
``handle_id`` as ``party_ref`` ("handle_id 3"; look it up in ``handle``);
one needs a plausible date and a body or handle.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, open_database
from . import _comms
from ._comms import as_text, Message, clean, cocoa_iso

EXPECTED = {
    "message": ("ROWID", "text", "handle_id", "date", "is_from_me"),
    "handle": ("ROWID", "id"),
}
THREADS = {"chat": ("ROWID", "guid"), "chat_message_join": ("chat_id", "message_id")}
OPTIONAL = ("date_read", "is_read", "service", "account", "subject", "attributedBody")


def text_from_attributed_body(blob: bytes | None) -> str | None:
    """The NSString inside an NSAttributedString typedstream.

    Layout after the class name: ``NSString`` + 5 bytes of class/version
    information, then ``+`` (0x2B), a length (one byte, or 0x81 + uint16 LE,
    or 0x82 + uint32 LE), and UTF-8 text of that length.
    """
    if not blob or not isinstance(blob, (bytes, bytearray, memoryview)):
        return None   # a damaged store can hold text or a number here
    blob = bytes(blob)
    start = blob.find(b"NSString")
    if start < 0:
        return None
    plus = blob.find(b"+", start + len(b"NSString"))
    if plus < 0 or plus + 2 > len(blob):
        return None
    position = plus + 1
    marker = blob[position]
    if marker == 0x81:
        length, position = int.from_bytes(blob[position + 1:position + 3], "little"), position + 3
    elif marker == 0x82:
        length, position = int.from_bytes(blob[position + 1:position + 5], "little"), position + 5
    else:
        length, position = marker, position + 1
    raw = blob[position:position + length]
    return raw.decode("utf-8", "replace") if len(raw) == length else None


class IosSmsPlugin(Plugin):
    """iMessage, SMS and MMS from sms.db (iOS) / chat.db (macOS Messages)."""

    NAME = "ios_sms"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "iOS sms.db / macOS chat.db messages (message, handle, chat, chat_message_join)"
    SELECTOR = Selector(globs=(
        "**/Library/SMS/sms.db", "sms.db", "**/Library/Messages/chat.db", "chat.db"))
    SCHEMAS = {"message+handle+chat+chat_message_join": "iOS 6-17, OS X 10.8-macOS 14"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is not None and db.require(EXPECTED, "messages"):
                yield from self._messages(db)

    def _messages(self, db: Database) -> Iterator[Message]:
        chats: dict[int, str] = {}
        first_chat: dict[int, int] = {}
        if not db.missing(THREADS):
            chats = db.scalar_map("SELECT ROWID, guid FROM chat", table="chat")
            # A message belongs to one chat; MIN keeps the result deterministic
            # should a damaged join table list it twice.
            first_chat = db.scalar_map(
                "SELECT message_id, MIN(chat_id) FROM chat_message_join GROUP BY message_id",
                table="chat_message_join")
        participants: dict[int, list[str]] = defaultdict(list)
        if db.has("chat_handle_join", "chat_id", "handle_id"):
            for row in db.rows(
                    "SELECT chat_handle_join.chat_id, handle.id FROM chat_handle_join "
                    "JOIN handle ON handle.ROWID = chat_handle_join.handle_id "
                    "ORDER BY chat_handle_join.chat_id, handle.ROWID", table="chat_handle_join"):
                participants[row[0]].append(row[1])
        attachments: dict[int, int] = {}
        if db.has("message_attachment_join", "message_id"):
            attachments = db.scalar_map(
                "SELECT message_id, COUNT(*) FROM message_attachment_join GROUP BY message_id",
                table="message_attachment_join")

        optional = ", ".join(db.column("message", name) for name in OPTIONAL)
        query = (f"SELECT message.ROWID AS rowid, message.text, message.date, message.is_from_me, "
                 f"handle.id AS handle, {optional} FROM message "
                 "LEFT JOIN handle ON handle.ROWID = message.handle_id ORDER BY message.ROWID")
        for row in db.rows(query, table="message"):
            chat_rowid = first_chat.get(row["rowid"])
            handle = clean(row["handle"])
            if row["is_from_me"]:
                sender = None
                recipients = _comms.unique(participants.get(chat_rowid, ())) or _comms.unique([handle])
            else:
                sender, recipients = handle, ()
            yield message_from_row(row, thread_id=chats.get(chat_rowid), sender=sender, recipients=recipients,
                                   attachments=attachments.get(row["rowid"], 0))
        # Deleted messages: no joins (handle, chat, attachments) for loose
        # cells; the handle is kept as the store's reference (party_ref).
        yield from _comms.recovered(db, "message", RECOVERED_COLUMNS, _recovered_message,
                                    _comms.message_accept)


RECOVERED_COLUMNS = ("ROWID", "text", "handle_id", "date", "is_from_me") + OPTIONAL


def message_from_row(row, *, thread_id: str | None, sender: str | None, recipients: tuple[str, ...],
                     attachments: int, party_ref: str | None = None) -> Message:
    body = as_text(row["text"])
    if body is None:
        body = text_from_attributed_body(row["attributedBody"])
    return Message(
        app="iOS Messages",
        thread_id=thread_id,
        sender=sender,
        recipients=recipients,
        direction=_comms.OUTGOING if row["is_from_me"] else _comms.INCOMING,
        body=body,
        time=cocoa_iso(row["date"]),
        read=None if row["is_read"] is None else bool(row["is_read"]),
        attachments=attachments,
        subject=clean(row["subject"]),
        read_time=cocoa_iso(row["date_read"]),
        account=clean(row["account"]),
        service=clean(row["service"]),
        source_record_id=None if row["rowid"] is None else str(row["rowid"]),
        party_ref=party_ref,
    )


def _recovered_message(row) -> Message:
    handle_id = row["handle_id"]
    return message_from_row(row, thread_id=None, sender=None, recipients=(), attachments=0,
                            party_ref=None if handle_id is None else f"handle_id {handle_id}")
