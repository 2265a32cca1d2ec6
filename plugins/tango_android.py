"""Tango (video calls and chat) for Android: ``tc.db`` of
com.sgiggle.production.

Schema understood (Tango for Android, tc.db ``DB_VERSION`` 11 in
``profiles``, the layout of plaso's test file and ALEAPP's parser):
``messages(msg_id, conv_id, type, create_time, send_time, direction,
payload)``; ``del_status`` and ``media_id`` read when present.
``create_time``/``send_time`` are Unix milliseconds (UTC); ``direction`` 1
incoming, 2 outgoing. ``conv_id`` is the conversation, which in a one-to-one
chat is the other party's Tango account id.

``payload`` is base64 text of a protocol-buffers message with no public
schema. It is read with a small bounded wire-format walker (top-level
fields only; field numbers as seen on the real file): 4 the text, 5 the
URL of the media the message carries, 76 a notice text Tango writes for
likes ("X liked the video"). A payload that is not base64/protobuf gives a
message with no body, never an error.

Findings: one ``comms.message`` per row, app "Tango"; ``status`` keeps
the store's message type (0 text, 1 video, 3 picture, ...) and deletion
status as found.
"""

from __future__ import annotations

import base64
import binascii
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import SchemaVersion, open_database
from . import _comms
from ._comms import AppMessage, clean, unix_ms_iso

APP = "Tango"
MESSAGES = SchemaVersion("tango-android-tc11", {
    "messages": ("msg_id", "conv_id", "type", "create_time", "send_time", "direction", "payload")})
DIRECTIONS = {1: _comms.INCOMING, 2: _comms.OUTGOING}
FIELD_TEXT, FIELD_MEDIA_URL, FIELD_NOTICE = 4, 5, 76
MAX_PAYLOAD = 1 << 20          # bytes of decoded payload looked at
MAX_FIELDS = 512               # top-level fields walked per payload


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 70:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
    raise ValueError("truncated varint")


def top_level_strings(data: bytes) -> dict[int, list[bytes]]:
    """Length-delimited top-level fields of a protobuf message, by field
    number, in order; stops quietly at the first malformed byte."""
    fields: dict[int, list[bytes]] = {}
    at = 0
    try:
        for _ in range(MAX_FIELDS):
            if at >= len(data):
                break
            key, at = _varint(data, at)
            number, wire = key >> 3, key & 7
            if wire == 0:
                _, at = _varint(data, at)
            elif wire == 1:
                at += 8
            elif wire == 5:
                at += 4
            elif wire == 2:
                length, at = _varint(data, at)
                if at + length > len(data):
                    break
                fields.setdefault(number, []).append(data[at:at + length])
                at += length
            else:
                break              # groups (3/4) are not used here; stop rather than guess
    except ValueError:
        pass
    return fields


def _payload_fields(value: object) -> dict[int, list[bytes]]:
    if isinstance(value, str):
        value = value.encode("ascii", "replace")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        return {}
    raw = bytes(value)[: (MAX_PAYLOAD * 4) // 3 + 4]
    try:
        decoded = base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        return {}
    return top_level_strings(decoded[:MAX_PAYLOAD])


def _text(fields: dict[int, list[bytes]], number: int) -> str | None:
    for value in fields.get(number, ()):
        text = value.decode("utf-8", "replace")
        if text:
            return text
    return None


class TangoAndroidPlugin(Plugin):
    """Chat messages of Tango for Android (tc.db)."""

    NAME = "tango_android"
    VERSION = "1.0"
    DESCRIPTION = "Tango for Android: tc.db messages (base64 protobuf payloads)"
    SELECTOR = Selector(globs=("**/com.sgiggle.production/files/tc.db",))
    SCHEMAS = {"messages": "Tango for Android, tc.db DB_VERSION 11"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            if db.pick((MESSAGES,)) is None and not db.require(MESSAGES.tables, "messages"):
                return
            query = ("SELECT msg_id, conv_id, type, create_time, send_time, direction, payload, "
                     f"{db.column('messages', 'del_status')} FROM messages ORDER BY msg_id")
            for row in db.rows(query, table="messages"):
                fields = _payload_fields(row["payload"])
                direction = DIRECTIONS.get(row["direction"], _comms.UNKNOWN)
                peer = clean(row["conv_id"])
                incoming = direction == _comms.INCOMING
                media = _comms.unique(value.decode("utf-8", "replace")
                                      for value in fields.get(FIELD_MEDIA_URL, ()))
                status = f"type {row['type']}"
                if row["del_status"]:
                    status += f", del_status {row['del_status']}"
                yield AppMessage(
                    app=APP,
                    thread_id=peer,
                    sender=peer if incoming else None,
                    recipients=() if incoming or peer is None else (peer,),
                    direction=direction,
                    body=_text(fields, FIELD_TEXT) or _text(fields, FIELD_NOTICE),
                    time=unix_ms_iso(row["create_time"]),
                    attachments=len(media),
                    status=status,
                    sent_time=unix_ms_iso(row["send_time"]),
                    service="Tango",
                    source_record_id=f"messages:{row['msg_id']}",
                    attachment_names=media,
                )
