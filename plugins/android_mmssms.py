"""Android SMS and MMS: ``mmssms.db`` of com.android.providers.telephony.

Schemas understood (TelephonyProvider, database versions ~40-70, Android
4 to 14):

* SMS: ``sms(_id, thread_id, address, date, read, type, body)``; ``date`` is
  Unix ms when the phone stored the message, ``date_sent`` (Unix ms, the
  sender-side time, Android 4+) and ``subject`` are read when present.
  ``type``: 1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued.
* MMS (read when ``pdu`` exists): ``pdu(_id, thread_id, date, msg_box, read)``
  with ``date`` in Unix *seconds*; ``addr(msg_id, address, type)`` with type
  137 = from, 151 = to, 130 = cc, 129 = bcc; ``part(mid, ct, text)`` where
  text/plain parts make the body and every part other than text/plain and
  application/smil counts as an attachment. ``msg_box`` uses the SMS values.

Deleted SMS rows still in the file (free-list pages, freeblocks, old WAL
frames) are reported too, as messages marked ``recovered`` with where they
were found (``sqlite_access.Database.recovered_rows``); a recovered row needs
a date in a plausible range and an address or a body. Deleted MMS are not
searched: an MMS is spread over three tables and cannot be put together from
loose cells.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, open_database
from . import _comms
from ._comms import as_text, Message, clean, unix_ms_iso, unix_s_iso

SMS_EXPECTED = {"sms": ("_id", "thread_id", "address", "date", "read", "type", "body")}
MMS_EXPECTED = {
    "pdu": ("_id", "thread_id", "date", "msg_box", "read"),
    "addr": ("msg_id", "address", "type"),
    "part": ("mid", "ct", "text"),
}

# Telephony.BaseMmsColumns / TextBasedSmsColumns box and type values.
BOXES = {
    1: (_comms.INCOMING, "inbox"), 2: (_comms.OUTGOING, "sent"), 3: (_comms.DRAFT, "draft"),
    4: (_comms.OUTGOING, "outbox"), 5: (_comms.OUTGOING, "failed"), 6: (_comms.OUTGOING, "queued"),
}
ADDR_FROM, ADDR_TO, ADDR_CC, ADDR_BCC = 137, 151, 130, 129
NOT_ATTACHMENTS = {"text/plain", "application/smil"}


def _box(value: int | None) -> tuple[str, str | None]:
    return BOXES.get(value, (_comms.UNKNOWN, None if value is None else f"type {value}"))


SMS_COLUMNS = ("_id", "thread_id", "address", "date", "read", "type", "body", "date_sent", "subject")


def sms_message(row) -> Message:
    """One row of ``sms`` (live, or recovered: then ``_id`` may be None)."""
    direction, status = _box(row["type"])
    address = clean(row["address"])
    incoming = direction == _comms.INCOMING
    return Message(
        app="Android SMS",
        thread_id=None if row["thread_id"] is None else str(row["thread_id"]),
        sender=address if incoming else None,
        recipients=() if incoming or address is None else (address,),
        direction=direction,
        body=as_text(row["body"]),
        time=unix_ms_iso(row["date"]),
        read=None if row["read"] is None else bool(row["read"]),
        subject=clean(row["subject"]),
        status=status,
        sent_time=unix_ms_iso(row["date_sent"]),
        service="SMS",
        source_record_id=None if row["_id"] is None else f"sms:{row['_id']}",
    )


class AndroidMmsSmsPlugin(Plugin):
    """SMS and MMS from mmssms.db."""

    NAME = "android_mmssms"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "Android SMS/MMS (mmssms.db: sms, pdu, addr, part)"
    SELECTOR = Selector(globs=(
        "**/com.android.providers.telephony/databases/mmssms.db", "mmssms.db"))
    SCHEMAS = {
        "sms": "TelephonyProvider sms table, Android 4-14",
        "pdu+addr+part": "TelephonyProvider MMS tables, Android 4-14",
    }

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            if db.require(SMS_EXPECTED, "SMS"):
                yield from self._sms(db)
            if db.exists("pdu") and db.require(MMS_EXPECTED, "MMS"):
                yield from self._mms(db)

    def _sms(self, db: Database) -> Iterator[Message]:
        query = ("SELECT sms._id, sms.thread_id, sms.address, sms.date, sms.read, sms.type, "
                 f"sms.body, {db.column('sms', 'date_sent')}, {db.column('sms', 'subject')} "
                 "FROM sms ORDER BY sms._id")
        for row in db.rows(query, table="sms"):
            yield sms_message(row)
        # Deleted SMS still in free pages, freeblocks or old WAL frames.
        yield from _comms.recovered(db, "sms", SMS_COLUMNS, sms_message, _comms.message_accept)

    def _mms(self, db: Database) -> Iterator[Message]:
        senders: dict[int, list[str]] = defaultdict(list)
        recipients: dict[int, list[str]] = defaultdict(list)
        for row in db.rows("SELECT msg_id, address, type FROM addr ORDER BY rowid", table="addr"):
            if row["type"] == ADDR_FROM:
                senders[row["msg_id"]].append(row["address"])
            elif row["type"] in (ADDR_TO, ADDR_CC, ADDR_BCC):
                recipients[row["msg_id"]].append(row["address"])
        texts: dict[int, list[str]] = defaultdict(list)
        attachments: dict[int, int] = defaultdict(int)
        for row in db.rows("SELECT mid, ct, text FROM part ORDER BY mid, rowid", table="part"):
            content_type = (clean(row["ct"]) or "").lower()
            if content_type == "text/plain":
                if row["text"] is not None:
                    texts[row["mid"]].append(as_text(row["text"]))
            elif content_type not in NOT_ATTACHMENTS:
                attachments[row["mid"]] += 1
        for row in db.rows(
                "SELECT pdu._id, pdu.thread_id, pdu.date, pdu.msg_box, pdu.read, "
                f"{db.column('pdu', 'sub', 'subject')} FROM pdu ORDER BY pdu._id", table="pdu"):
            direction, status = _box(row["msg_box"])
            key = row["_id"]
            yield Message(
                app="Android MMS",
                thread_id=None if row["thread_id"] is None else str(row["thread_id"]),
                # As found: on sent MMS the "from" is often "insert-address-token".
                sender=next(iter(_comms.unique(senders.get(key, ()))), None),
                recipients=_comms.unique(recipients.get(key, ())),
                direction=direction,
                body="\n".join(texts[key]) if key in texts else None,
                time=unix_s_iso(row["date"]),
                read=None if row["read"] is None else bool(row["read"]),
                attachments=attachments.get(key, 0),
                subject=clean(row["subject"]),
                status=status,
                service="MMS",
                source_record_id=f"pdu:{key}",
            )

