"""WhatsApp for Android messages: ``msgstore.db`` (decrypted; the .crypt12/14/15
backups are out of scope).

Schemas understood:

* current (WhatsApp 2.21+; "message" schema): ``message(_id, chat_row_id,
  from_me, timestamp, text_data)`` with ``sender_jid_row_id`` and
  ``message_type`` when present, ``chat(_id, jid_row_id)``, ``jid(_id,
  raw_string)`` (or ``user``+``server`` in older jid tables), and
  ``message_media(message_row_id, media_caption)`` when present.
* legacy (up to 2.21): ``messages(_id, key_remote_jid, key_from_me, data,
  timestamp)`` with ``remote_resource`` (group sender), ``media_wa_type`` and
  ``media_caption`` when present.

When both exist (databases migrated mid-2021/2022 keep a stale ``messages``
table), the current schema is read. Timestamps are Unix ms. WhatsApp keeps
no per-message read flag for incoming messages, so ``read`` is None.
Telegram (cache4.db) is not covered: its messages are TL-serialised blobs
whose layout changes with every API layer, so no stable schema can be stated.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from . import _comms
from ._comms import Message, clean, column, unix_ms_iso

CURRENT_EXPECTED = {
    "message": ("_id", "chat_row_id", "from_me", "timestamp", "text_data"),
    "chat": ("_id", "jid_row_id"),
    "jid": ("_id",),
}
LEGACY_EXPECTED = {"messages": ("_id", "key_remote_jid", "key_from_me", "data", "timestamp")}

# media_wa_type values that carry a file (image, audio, video, contact card,
# document, GIF, sticker, view-once image/video); text, location and system rows do not.
MEDIA_TYPES = {1, 2, 3, 4, 9, 13, 20, 42, 43}

APP = "WhatsApp"


def _as_int(value: object) -> int | None:
    # Old msgstore.db declare media_wa_type TEXT, so the value arrives as "1".
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _is_group(jid: str | None) -> bool:
    return bool(jid) and jid.endswith("@g.us")


def whatsapp_message(*, record_id: str, chat_jid: str | None, from_me: bool,
                     member_jid: str | None, body: str | None, time: str | None,
                     attachments: int) -> Message:
    """Direction and parties as WhatsApp implies them: the chat JID is the
    other party of a 1:1 chat; in a group the member JID is the sender."""
    if from_me:
        return Message(app=APP, thread_id=chat_jid, sender=None,
                       recipients=(chat_jid,) if chat_jid else (), direction=_comms.OUTGOING,
                       body=body, time=time, attachments=attachments,
                       source_record_id=record_id)
    sender = member_jid if (member_jid and _is_group(chat_jid)) else (chat_jid or member_jid)
    return Message(app=APP, thread_id=chat_jid, sender=sender, recipients=(),
                   direction=_comms.INCOMING, body=body, time=time,
                   attachments=attachments, source_record_id=record_id)


class WhatsAppAndroidMsgstorePlugin(Plugin):
    """Messages from WhatsApp for Android's msgstore.db."""

    NAME = "whatsapp_android_msgstore"
    VERSION = "1.0"
    DESCRIPTION = "WhatsApp Android messages (msgstore.db, message/jid/chat and legacy messages)"
    SELECTOR = Selector(globs=(
        "**/com.whatsapp/databases/msgstore.db", "**/com.whatsapp.w4b/databases/msgstore.db",
        "msgstore.db"))
    SCHEMAS = {
        "message+chat+jid": "WhatsApp Android 2.21 and later",
        "messages": "WhatsApp Android up to 2.21 (legacy)",
    }

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        if not _comms.is_sqlite(file, ctx, self.NAME):
            return
        with _comms.open_sqlite(file, ctx) as connection:
            schema = _comms.read_schema(connection)
            if not _comms.missing_parts(schema, CURRENT_EXPECTED) and (
                    _comms.has_table(schema, "jid", "raw_string")
                    or _comms.has_table(schema, "jid", "user", "server")):
                yield from self._current(connection, schema)
            elif not _comms.missing_parts(schema, LEGACY_EXPECTED):
                yield from self._legacy(connection, schema)
            else:
                ctx.warn(f"{self.NAME}: {file.locator}: no messages read: expected either tables "
                         f"{_comms.describe_expected(CURRENT_EXPECTED)} with jid.raw_string, or "
                         f"{_comms.describe_expected(LEGACY_EXPECTED)}; missing: "
                         f"{', '.join(_comms.missing_parts(schema, CURRENT_EXPECTED) + _comms.missing_parts(schema, LEGACY_EXPECTED))}")

    def _current(self, connection, schema) -> Iterator[Message]:
        if _comms.has_table(schema, "jid", "raw_string"):
            chat_jid, member_jid = "chat_jid.raw_string", "member_jid.raw_string"
        else:
            chat_jid = "chat_jid.user || '@' || chat_jid.server"
            member_jid = "member_jid.user || '@' || member_jid.server"
        if _comms.has_table(schema, "message", "sender_jid_row_id"):
            member_join = "LEFT JOIN jid AS member_jid ON member_jid._id = message.sender_jid_row_id"
        else:
            member_jid, member_join = "NULL", ""
        if _comms.has_table(schema, "message_media", "message_row_id"):
            media_join = "LEFT JOIN message_media ON message_media.message_row_id = message._id"
            has_media = "message_media.message_row_id IS NOT NULL"
            caption = column(schema, "message_media", "media_caption", "caption")
        else:
            media_join, has_media, caption = "", "0", "NULL AS caption"
        query = (
            f"SELECT message._id, message.from_me, message.timestamp, message.text_data, "
            f"{chat_jid} AS chat_jid, {member_jid} AS member_jid, {has_media} AS has_media, {caption} "
            "FROM message LEFT JOIN chat ON chat._id = message.chat_row_id "
            "LEFT JOIN jid AS chat_jid ON chat_jid._id = chat.jid_row_id "
            f"{member_join} {media_join} ORDER BY message._id")
        for row in connection.execute(query):
            yield whatsapp_message(
                record_id=str(row["_id"]), chat_jid=clean(row["chat_jid"]),
                from_me=bool(row["from_me"]), member_jid=clean(row["member_jid"]),
                body=row["text_data"] if row["text_data"] is not None else row["caption"],
                time=unix_ms_iso(row["timestamp"]), attachments=1 if row["has_media"] else 0)

    def _legacy(self, connection, schema) -> Iterator[Message]:
        query = (
            "SELECT messages._id, messages.key_remote_jid, messages.key_from_me, messages.data, "
            f"messages.timestamp, {column(schema, 'messages', 'remote_resource')}, "
            f"{column(schema, 'messages', 'media_wa_type')}, "
            f"{column(schema, 'messages', 'media_caption')} FROM messages ORDER BY messages._id")
        for row in connection.execute(query):
            yield whatsapp_message(
                record_id=str(row["_id"]), chat_jid=clean(row["key_remote_jid"]),
                from_me=bool(row["key_from_me"]), member_jid=clean(row["remote_resource"]),
                body=row["data"] if row["data"] is not None else row["media_caption"],
                time=unix_ms_iso(row["timestamp"]),
                attachments=1 if _as_int(row["media_wa_type"]) in MEDIA_TYPES else 0)
