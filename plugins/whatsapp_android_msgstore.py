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

Which table holds the live rows: WhatsApp writes one placeholder row first
(legacy ``key_remote_jid = '-1'``; current ``chat_row_id = -1``). The
current schema is read when ``message`` holds a row other than the
placeholder; otherwise the legacy ``messages`` (a database caught
mid-migration keeps its real rows there while ``message`` holds only the
placeholder). Placeholder rows are never reported.

System rows are not messages: legacy ``status = 6`` rows (encryption notices,
group changes; ``media_size`` is the action code) and current
``message_type = 7`` rows become ``comms.chat_event`` findings with their
code. Calls: the current schema's ``call_log(_id, jid_row_id, from_me,
timestamp, video_call, duration)`` and legacy call rows (``status = 6``, ``media_wa_type = 8``;
``media_duration`` seconds, ``media_caption`` "audio"/"video") become
``comms.call``: from_me outgoing, else incoming, or missed when 0 s.
Timestamps are Unix ms. WhatsApp keeps no per-message read flag for
incoming messages, so ``read`` is None.
Deleted rows still in the file (free-list pages, freeblocks, old WAL frames)
are reported too, marked ``recovered``: a legacy ``messages`` row maps whole
(the chat JID is on the row); a current ``message`` or ``call_log`` row cannot
be joined to its chat or JID, whose row id is kept as ``party_ref``.
Telegram (cache4.db) is not covered: its messages are TL-serialised blobs
whose layout changes with every API layer, so no stable schema can be stated.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, SchemaVersion, open_database
from . import _comms
from ._comms import as_text, Call, ChatEvent, Message, clean, unix_ms_iso

CURRENT_EXPECTED = {
    "message": ("_id", "chat_row_id", "from_me", "timestamp", "text_data"),
    "chat": ("_id", "jid_row_id"),
    "jid": ("_id",),
}
LEGACY_EXPECTED = {"messages": ("_id", "key_remote_jid", "key_from_me", "data", "timestamp")}
# Known layouts, newest first; the first whose columns are all present is read
# (the current ones only when `message` holds more than the placeholder row).
CURRENT_RAW = SchemaVersion("current, jid.raw_string", {**CURRENT_EXPECTED, "jid": ("_id", "raw_string")})
CURRENT_SPLIT = SchemaVersion("current, jid.user+server", {**CURRENT_EXPECTED, "jid": ("_id", "user", "server")})
LEGACY = SchemaVersion("legacy messages", LEGACY_EXPECTED)
VERSIONS = (CURRENT_RAW, CURRENT_SPLIT, LEGACY)
CALL_LOG = {"call_log": ("_id", "jid_row_id", "from_me", "timestamp", "video_call", "duration")}

# media_wa_type values that carry a file (image, audio, video, contact card,
# document, GIF, sticker, view-once image/video); text, location and system rows do not.
MEDIA_TYPES = {1, 2, 3, 4, 9, 13, 20, 42, 43}
LEGACY_SYSTEM_STATUS = 6
LEGACY_CALL_TYPE = 8
CURRENT_SYSTEM_TYPE = 7

APP = "WhatsApp"


def _as_int(value: object) -> int | None:
    # Old msgstore.db declare media_wa_type TEXT, so the value arrives as "1".
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _is_group(jid: str | None) -> bool:
    return bool(jid) and jid.endswith("@g.us")


LEGACY_COLUMNS = ("_id", "key_remote_jid", "key_from_me", "data", "timestamp", "remote_resource", "status",
                  "media_size", "media_duration", "media_wa_type", "media_caption")
CURRENT_RECOVERED = ("_id", "chat_row_id", "from_me", "timestamp", "text_data", "message_type")


def _record_id(value: object) -> str | None:
    return None if value is None else str(value)


def _recovered_current(row) -> Finding | None:
    """A deleted row of the current ``message`` table: its chat is a row id
    (``chat_row_id``) that cannot be joined, kept as ``party_ref``."""
    chat = row["chat_row_id"]
    if not isinstance(chat, int) or chat < 0:
        return None                         # the placeholder row, or no chat at all
    ref, time = f"chat_row_id {chat}", unix_ms_iso(row["timestamp"])
    if _as_int(row["message_type"]) == CURRENT_SYSTEM_TYPE:
        return ChatEvent(app=APP, thread_id=None, actor=None, event_type="message_type 7", time=time,
                         source_record_id=_record_id(row["_id"]))
    message = whatsapp_message(record_id=_record_id(row["_id"]), chat_jid=None, from_me=bool(row["from_me"]),
                               member_jid=None, body=as_text(row["text_data"]), time=time, attachments=0)
    return dataclasses.replace(message, party_ref=ref)


def _recovered_call(row) -> Call:
    duration = _as_int(row["duration"])
    direction = _comms.OUTGOING if row["from_me"] else (_comms.INCOMING if duration else _comms.MISSED)
    return Call(number=None, direction=direction, start_time=unix_ms_iso(row["timestamp"]), duration_s=duration,
                call_type="whatsapp_video" if row["video_call"] else "whatsapp_audio", source_app=APP,
                source_record_id=None if row["_id"] is None else f"call_log:{row['_id']}",
                party_ref=None if row["jid_row_id"] is None else f"jid_row_id {row['jid_row_id']}")


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
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "WhatsApp Android messages (msgstore.db, message/jid/chat and legacy messages)"
    SELECTOR = Selector(globs=(
        "**/com.whatsapp/databases/msgstore.db", "**/com.whatsapp.w4b/databases/msgstore.db",
        "msgstore.db"))
    SCHEMAS = {
        "message+chat+jid": "WhatsApp Android 2.21 and later",
        "messages": "WhatsApp Android up to 2.21 (legacy)",
    }

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            version = db.pick(VERSIONS)
            if version not in (None, LEGACY) and not db.missing(LEGACY.tables) \
                    and not self._current_has_rows(db):
                version = LEGACY    # mid-migration: the real rows are still in `messages`
            if version is None:
                wanted = " or ".join(
                    "; ".join(f"{t}({', '.join(c)})" for t, c in version.tables.items()) for version in VERSIONS)
                missing = db.missing(CURRENT_EXPECTED) + db.missing(LEGACY_EXPECTED)
                db.warn(f"no messages read: expected either tables {wanted}; "
                        f"missing: {', '.join(missing) or 'jid.raw_string or jid.user+server'}")
            elif version is LEGACY:
                yield from self._legacy(db)
            else:
                yield from self._current(db)
            if version not in (None, LEGACY) and not db.missing(CALL_LOG):
                yield from self._call_log(db)

    @staticmethod
    def _current_has_rows(db: Database) -> bool:
        """Whether ``message`` holds anything beside the placeholder row."""
        return any(True for _ in db.rows(
            "SELECT _id FROM message WHERE chat_row_id >= 0 LIMIT 1", table="message"))

    def _current(self, db: Database) -> Iterator[Finding]:
        if db.has("jid", "raw_string"):
            chat_jid, member_jid = "chat_jid.raw_string", "member_jid.raw_string"
        else:
            chat_jid = "chat_jid.user || '@' || chat_jid.server"
            member_jid = "member_jid.user || '@' || member_jid.server"
        if db.has("message", "sender_jid_row_id"):
            member_join = "LEFT JOIN jid AS member_jid ON member_jid._id = message.sender_jid_row_id"
        else:
            member_jid, member_join = "NULL", ""
        if db.has("message_media", "message_row_id"):
            media_join = "LEFT JOIN message_media ON message_media.message_row_id = message._id"
            has_media = "message_media.message_row_id IS NOT NULL"
            caption = db.column("message_media", "media_caption", "caption")
        else:
            media_join, has_media, caption = "", "0", "NULL AS caption"
        if db.has("message_system", "message_row_id", "action_type"):
            action = "message_system.action_type AS action"
            system_join = "LEFT JOIN message_system ON message_system.message_row_id = message._id"
        else:
            action, system_join = "NULL AS action", ""
        query = (
            f"SELECT message._id, message.from_me, message.timestamp, message.text_data, "
            f"{db.column('message', 'message_type')}, {action}, "
            f"{chat_jid} AS chat_jid, {member_jid} AS member_jid, {has_media} AS has_media, {caption} "
            "FROM message LEFT JOIN chat ON chat._id = message.chat_row_id "
            "LEFT JOIN jid AS chat_jid ON chat_jid._id = chat.jid_row_id "
            f"{member_join} {media_join} {system_join} "
            "WHERE message.chat_row_id >= 0 ORDER BY message._id")
        for row in db.rows(query, table="message"):
            if _as_int(row["message_type"]) == CURRENT_SYSTEM_TYPE:
                yield ChatEvent(
                    app=APP, thread_id=clean(row["chat_jid"]), actor=clean(row["member_jid"]),
                    event_type=f"message_type 7, action {row['action']}",
                    time=unix_ms_iso(row["timestamp"]), source_record_id=str(row["_id"]))
                continue
            yield whatsapp_message(
                record_id=str(row["_id"]), chat_jid=clean(row["chat_jid"]),
                from_me=bool(row["from_me"]), member_jid=clean(row["member_jid"]),
                body=as_text(row["text_data"] if row["text_data"] is not None else row["caption"]),
                time=unix_ms_iso(row["timestamp"]), attachments=1 if row["has_media"] else 0)
        yield from _comms.recovered(db, "message", CURRENT_RECOVERED, _recovered_current, _comms.record_accept)

    def _legacy(self, db: Database) -> Iterator[Finding]:
        query = (
            "SELECT messages._id, messages.key_remote_jid, messages.key_from_me, messages.data, "
            f"messages.timestamp, {db.column('messages', 'remote_resource')}, "
            f"{db.column('messages', 'status')}, {db.column('messages', 'media_size')}, "
            f"{db.column('messages', 'media_duration')}, "
            f"{db.column('messages', 'media_wa_type')}, "
            f"{db.column('messages', 'media_caption')} FROM messages "
            "WHERE messages.key_remote_jid != '-1' ORDER BY messages._id")
        for row in db.rows(query, table="messages"):
            finding = self._legacy_row(row)
            if finding is not None:
                yield finding
        # The legacy table keeps the chat JID on the row: a deleted row maps whole.
        yield from _comms.recovered(db, "messages", LEGACY_COLUMNS, self._legacy_row, _comms.record_accept)

    def _legacy_row(self, row) -> Finding | None:
        chat_jid, from_me = clean(row["key_remote_jid"]), bool(row["key_from_me"])
        if chat_jid == "-1":
            return None                     # WhatsApp's placeholder row
        wa_type = _as_int(row["media_wa_type"])
        if _as_int(row["status"]) == LEGACY_SYSTEM_STATUS:
            if wa_type == LEGACY_CALL_TYPE:
                return self._legacy_call(row, chat_jid, from_me)
            return ChatEvent(
                app=APP, thread_id=chat_jid, actor=clean(row["remote_resource"]),
                event_type=f"status 6, action {row['media_size']}",
                time=unix_ms_iso(row["timestamp"]), source_record_id=_record_id(row["_id"]))
        return whatsapp_message(
            record_id=_record_id(row["_id"]), chat_jid=chat_jid,
            from_me=from_me, member_jid=clean(row["remote_resource"]),
            body=as_text(row["data"] if row["data"] is not None else row["media_caption"]),
            time=unix_ms_iso(row["timestamp"]),
            attachments=1 if wa_type in MEDIA_TYPES else 0)

    def _call_log(self, db: Database) -> Iterator[Call]:
        """The current schema's call list. ``call_result`` is not decoded (its
        codes are not documented): the direction comes from ``from_me`` and
        an incoming call of 0 s is reported as missed."""
        jid = "jid.raw_string" if db.has("jid", "raw_string") else "jid.user || '@' || jid.server"
        query = (f"SELECT call_log._id, call_log.from_me, call_log.timestamp, call_log.video_call, "
                 f"call_log.duration, {jid} AS peer FROM call_log "
                 "LEFT JOIN jid ON jid._id = call_log.jid_row_id ORDER BY call_log._id")
        for row in db.rows(query, table="call_log"):
            duration = _as_int(row["duration"])
            if row["from_me"]:
                direction = _comms.OUTGOING
            else:
                direction = _comms.INCOMING if duration else _comms.MISSED
            yield Call(number=clean(row["peer"]), direction=direction, start_time=unix_ms_iso(row["timestamp"]),
                       duration_s=duration, call_type="whatsapp_video" if row["video_call"] else "whatsapp_audio",
                       source_app=APP, source_record_id=f"call_log:{row['_id']}")
        yield from _comms.recovered(db, "call_log", CALL_LOG["call_log"], _recovered_call, _comms.call_accept)

    @staticmethod
    def _legacy_call(row, chat_jid: str | None, from_me: bool) -> Call:
        duration = _as_int(row["media_duration"])
        if from_me:
            direction = _comms.OUTGOING
        else:
            direction = _comms.INCOMING if duration else _comms.MISSED
        kind = clean(row["media_caption"])    # "audio" or "video", as found
        return Call(number=chat_jid, direction=direction, start_time=unix_ms_iso(row["timestamp"]),
                    duration_s=duration, call_type=f"whatsapp_{kind}" if kind else "whatsapp",
                    source_app=APP, source_record_id=_record_id(row["_id"]))
