"""Burner (Ad Hoc Labs, second phone numbers) for Android: ``burners.db``
of com.adhoclabs.burner.

Schema understood (Burner for Android 4.x/5.x, the layout plaso's test file
and ALEAPP's parser read):

* ``messages(_id, message_id, message, contact_phone_number, message_type,
  direction, date_created, read, burner_id)``: one row per text *and* per
  call. ``message_type`` 1 is a call (``duration`` in seconds), 2 a text;
  ``direction`` 1 incoming, 2 outgoing. ``state``, ``asset_url`` (the MMS
  picture the app fetches) and ``voice_url`` (voicemail) are read when
  present. ``date_created`` is Unix milliseconds (UTC).
* ``burners(burner_id, phone_number_id, name)``: the burner numbers the
  account holds; ``phone_number_id`` is the burner's own number, which is
  the device owner's side of every message on that burner.
* ``contacts(contact_id, name, phone_number, date_created,
  last_updated_date, blocked)``; times are Unix milliseconds.

Findings: ``comms.message`` for texts (sender/recipient = the contact number
and the burner number, by direction; ``sender_name`` of an incoming text
and ``contact_name`` of a call: the contact's name for that number, when
``contacts`` has it), ``comms.call`` for calls,
``comms.contact`` for contacts; the app is named "Burner".
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, SchemaVersion, open_database
from . import _comms
from ._comms import AppMessage, Call, Contact, as_text, clean, unix_ms_iso

APP = "Burner"
MESSAGES = SchemaVersion("burner-android-4", {"messages": (
    "_id", "message_id", "message", "contact_phone_number", "message_type", "direction",
    "date_created", "read", "burner_id")})
BURNERS = {"burners": ("burner_id", "phone_number_id")}
CONTACTS = {"contacts": ("contact_id", "name", "phone_number", "date_created", "last_updated_date")}

TYPE_CALL, TYPE_TEXT = 1, 2
DIRECTIONS = {1: _comms.INCOMING, 2: _comms.OUTGOING}


class BurnerAndroidPlugin(Plugin):
    """Texts, calls and contacts of Burner for Android."""

    NAME = "burner_android"
    VERSION = "1.0"
    DESCRIPTION = "Burner (second numbers) for Android: burners.db messages, calls, contacts"
    SELECTOR = Selector(globs=("**/com.adhoclabs.burner/databases/burners.db",))
    SCHEMAS = {"messages+burners+contacts": "Burner for Android 4.x-5.x"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            # One layout known so far; pick() keeps the place for the next one.
            if db.pick((MESSAGES,)) is not None or db.require(MESSAGES.tables, "messages or calls"):
                yield from self._messages(db, self._burner_numbers(db), self._contact_names(db))
            if db.exists("contacts") and db.require(CONTACTS, "contacts"):
                yield from self._contacts(db)

    def _burner_numbers(self, db: Database) -> dict[str, str]:
        if db.missing(BURNERS):
            return {}
        return {key: number for key, number in db.scalar_map(
            "SELECT burner_id, phone_number_id FROM burners ORDER BY _id", table="burners").items()
            if clean(number) is not None}

    def _contact_names(self, db: Database) -> dict[str, str]:
        """Phone number -> the contact name Burner shows (first by _id)."""
        if db.missing(CONTACTS):
            return {}
        names: dict[str, str] = {}
        for row in db.rows("SELECT phone_number, name FROM contacts ORDER BY _id", table="contacts"):
            number, name = clean(row["phone_number"]), clean(row["name"])
            if number and name:
                names.setdefault(number, name)
        return names

    def _messages(self, db: Database, burners: dict[str, str], names: dict[str, str]) -> Iterator[Finding]:
        query = ("SELECT _id, message_id, message, contact_phone_number, message_type, direction, "
                 f"date_created, read, burner_id, {db.column('messages', 'duration')}, "
                 f"{db.column('messages', 'asset_url')}, {db.column('messages', 'voice_url')}, "
                 f"{db.column('messages', 'state')} FROM messages ORDER BY _id")
        for row in db.rows(query, table="messages"):
            direction = DIRECTIONS.get(row["direction"], _comms.UNKNOWN)
            contact = clean(row["contact_phone_number"])
            own = clean(burners.get(row["burner_id"]))
            record = f"messages:{row['_id']}"
            if row["message_type"] == TYPE_CALL:
                yield Call(
                    number=contact, direction=direction, start_time=unix_ms_iso(row["date_created"]),
                    duration_s=_comms.number(row["duration"]), contact_name=names.get(contact or ""),
                    call_type="burner_voice",
                    source_app=APP, source_record_id=record)
                continue
            incoming = direction == _comms.INCOMING
            assets = _comms.unique((row["asset_url"], row["voice_url"]))
            yield AppMessage(
                app=APP,
                thread_id=contact if own is None else f"{own}/{contact}",
                sender=contact if incoming else own,
                recipients=tuple(x for x in ((own if incoming else contact),) if x is not None),
                direction=direction,
                body=as_text(row["message"]) or None,
                time=unix_ms_iso(row["date_created"]),
                read=None if row["read"] is None else bool(row["read"]),
                attachments=len(assets),
                status=None if row["state"] is None else f"state {row['state']}",
                account=own,
                service="Burner",
                source_record_id=record,
                attachment_names=assets,
                sender_name=names.get(contact or "") if incoming else None,
            )

    def _contacts(self, db: Database) -> Iterator[Contact]:
        query = ("SELECT _id, contact_id, name, phone_number, date_created, last_updated_date "
                 "FROM contacts ORDER BY _id")
        for row in db.rows(query, table="contacts"):
            yield Contact(
                name=clean(row["name"]),
                phone_numbers=_comms.unique((row["phone_number"],)),
                identifiers=_comms.unique((row["contact_id"],)),
                source_app=APP,
                source_record_id=f"contacts:{row['_id']}",
                created=unix_ms_iso(row["date_created"]),
                modified=unix_ms_iso(row["last_updated_date"]),
            )
