"""Viber for Android: ``viber_data`` of com.viber.voip (calls and the
address book Viber keeps). Messages live in ``viber_messages``, a separate
database this plugin does not read.

Schema understood (Viber for Android 5 to 19, the layout plaso's test file,
ALEAPP and Autopsy read):

* ``calls(_id, number, canonized_number, date, duration, type)``: ``date``
  is Unix milliseconds (UTC), ``duration`` seconds; ``type`` 1 incoming,
  2 outgoing, 3 missed; ``viber_call_type`` (1 audio, 4 video) when present.
* ``phonebookcontact(_id, display_name)`` with ``deleted`` and ``starred``
  read when present, and ``phonebookdata(contact_id, data1, data2)``, where
  ``data2`` is the number as Viber canonised it and ``data1`` as typed; rows
  with ``mime_type`` 0 are phone numbers. A call's ``contact_name`` is the
  phonebook name of its canonised number, when the phonebook has it.

Findings: ``comms.call`` per call, ``comms.contact`` per phonebookcontact
row; the app is named "Viber".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, SchemaVersion, open_database
from . import _comms
from ._comms import Call, Contact, clean, unix_ms_iso

APP = "Viber"
CALLS = SchemaVersion("viber-android-calls", {
    "calls": ("_id", "number", "canonized_number", "date", "duration", "type")})
CONTACTS = {"phonebookcontact": ("_id", "display_name")}
NUMBERS = {"phonebookdata": ("contact_id", "data1", "data2")}
DIRECTIONS = {1: _comms.INCOMING, 2: _comms.OUTGOING, 3: _comms.MISSED}
CALL_TYPES = {1: "viber_audio", 4: "viber_video"}
MIME_PHONE = 0


class ViberAndroidPlugin(Plugin):
    """Calls and contacts of Viber for Android (viber_data)."""

    NAME = "viber_android"
    VERSION = "1.0"
    DESCRIPTION = "Viber for Android: viber_data calls and phonebook contacts"
    SELECTOR = Selector(globs=("**/com.viber.voip/databases/viber_data",))
    SCHEMAS = {"calls": "Viber for Android 5-19", "phonebookcontact+phonebookdata": "Viber for Android 5-19"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            if db.pick((CALLS,)) is not None or db.require(CALLS.tables, "calls"):
                yield from self._calls(db, self._names_by_number(db))
            if db.exists("phonebookcontact") and db.require(CONTACTS, "contacts"):
                yield from self._contacts(db)

    def _names_by_number(self, db: Database) -> dict[str, str]:
        """Canonised number -> the phonebook name Viber shows for it (the
        first contact by id when two share a number)."""
        if db.missing({**CONTACTS, **NUMBERS}):
            return {}
        names: dict[str, str] = {}
        for row in db.rows("SELECT d.data2, c.display_name FROM phonebookdata AS d JOIN phonebookcontact AS c "
                           "ON c._id = d.contact_id ORDER BY c._id, d._id", table="phonebookdata"):
            number, name = clean(row["data2"]), clean(row["display_name"])
            if number and name:
                names.setdefault(number, name)
        return names

    def _calls(self, db: Database, names: dict[str, str]) -> Iterator[Call]:
        query = ("SELECT _id, number, canonized_number, date, duration, type, "
                 f"{db.column('calls', 'viber_call_type')} FROM calls ORDER BY _id")
        for row in db.rows(query, table="calls"):
            kind = row["viber_call_type"]
            number = clean(row["canonized_number"]) or clean(row["number"])
            yield Call(
                number=number,
                contact_name=names.get(number or ""),
                direction=DIRECTIONS.get(row["type"], _comms.UNKNOWN),
                start_time=unix_ms_iso(row["date"]),
                duration_s=_comms.number(row["duration"]),
                call_type=CALL_TYPES.get(kind, None if kind is None else f"viber_call_type {kind}"),
                source_app=APP,
                source_record_id=f"calls:{row['_id']}",
            )

    def _contacts(self, db: Database) -> Iterator[Contact]:
        numbers: dict[int, list[str]] = defaultdict(list)
        if not db.missing(NUMBERS):
            where = f"WHERE mime_type = {MIME_PHONE} " if db.has("phonebookdata", "mime_type") else ""
            for row in db.rows(f"SELECT contact_id, data1, data2 FROM phonebookdata {where}ORDER BY _id",
                               table="phonebookdata"):
                numbers[row["contact_id"]].append(row["data2"] if clean(row["data2"]) else row["data1"])
        query = (f"SELECT _id, display_name, {db.column('phonebookcontact', 'deleted')} "
                 "FROM phonebookcontact ORDER BY _id")
        for row in db.rows(query, table="phonebookcontact"):
            yield Contact(
                name=clean(row["display_name"]),
                phone_numbers=_comms.unique(numbers.get(row["_id"], ())),
                source_app=APP,
                source_record_id=f"phonebookcontact:{row['_id']}",
                deleted=None if row["deleted"] is None else bool(row["deleted"]),
            )
