"""Microsoft Teams for iOS: the Core Data store
``SkypeSpacesDogfood/<account>/SkypeSpacesDogfood-<uuid>.sqlite`` in Teams'
shared app group.

Schema understood (Teams for iOS 4.x/5.x, 2021-2023, seen on a real iOS 15
device; the tables iLEAPP's Teams parser reads):

* ``ZSMESSAGE(Z_PK, ZARRIVALTIME, ZFROM, ZTHREADID, ZMESSAGETYPE,
  ZCONTENT)``: ``ZARRIVALTIME`` is Cocoa seconds (since 2001-01-01 UTC);
  ``ZFROM`` the sender's MRI ("8:live:.cid...", as found);
  ``ZMESSAGETYPE`` "Text", "RichText/Html" (``ZCONTENT`` is then HTML, kept
  as stored), or a system type "ThreadActivity/AddMember",
  "Event/LocationSharing"... Read when present: ``ZTS_ISSENTBYME`` (the
  direction), ``ZIMDISPLAYNAME``, ``ZSUBJECT``, ``ZDELETETIME`` (set when
  the message was deleted; the row stays).
* ``ZSCONTACT(Z_PK, ZDISPLAYNAME, ZEMAIL, ZPHONE, ZMRI)``: the device
  contacts Teams synced; ``ZUSER(Z_PK, ZDISPLAYNAME, ZTSID)`` the Teams
  users it knows (the account owner included), ``ZMAIL`` when present.

Findings: ``comms.message`` per ZSMESSAGE row that people wrote,
``comms.chat_event`` per ThreadActivity/Event row (kept apart so message
counts are what people wrote; together they are every ZSMESSAGE row),
``comms.contact`` per ZSCONTACT and ZUSER row; app "Microsoft Teams".
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, SchemaVersion, open_database
from . import _comms
from ._comms import AppMessage, ChatEvent, Contact, as_text, clean, cocoa_iso

APP = "Microsoft Teams"
MESSAGES = SchemaVersion("teams-ios-coredata", {
    "ZSMESSAGE": ("Z_PK", "ZARRIVALTIME", "ZFROM", "ZTHREADID", "ZMESSAGETYPE", "ZCONTENT")})
CONTACTS = {"ZSCONTACT": ("Z_PK", "ZDISPLAYNAME", "ZEMAIL", "ZPHONE", "ZMRI")}
USERS = {"ZUSER": ("Z_PK", "ZDISPLAYNAME", "ZTSID")}
EVENT_PREFIXES = ("threadactivity/", "event/")


class TeamsIosPlugin(Plugin):
    """Messages, chat events and contacts of Microsoft Teams for iOS."""

    NAME = "teams_ios"
    VERSION = "1.0"
    DESCRIPTION = "Microsoft Teams for iOS: SkypeSpacesDogfood-*.sqlite (ZSMESSAGE, ZSCONTACT, ZUSER)"
    SELECTOR = Selector(globs=("**/SkypeSpacesDogfood/*/SkypeSpacesDogfood-*.sqlite",))
    SCHEMAS = {"ZSMESSAGE+ZSCONTACT+ZUSER": "Teams for iOS 4.x-5.x (2021-2023)"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            if db.pick((MESSAGES,)) is not None or db.require(MESSAGES.tables, "messages"):
                yield from self._messages(db)
            if db.exists("ZSCONTACT") and db.require(CONTACTS, "contacts"):
                yield from self._contacts(db)
            if db.exists("ZUSER") and db.require(USERS, "users"):
                yield from self._users(db)

    def _messages(self, db: Database) -> Iterator[Finding]:
        optional = ", ".join(db.column("ZSMESSAGE", name) for name in (
            "ZTS_ISSENTBYME", "ZIMDISPLAYNAME", "ZSUBJECT", "ZDELETETIME"))
        query = ("SELECT Z_PK, ZARRIVALTIME, ZFROM, ZTHREADID, ZMESSAGETYPE, ZCONTENT, "
                 f"{optional} FROM ZSMESSAGE ORDER BY Z_PK")
        for row in db.rows(query, table="ZSMESSAGE"):
            kind = clean(row["ZMESSAGETYPE"]) or ""
            sender = clean(row["ZFROM"])
            record = str(row["Z_PK"])
            if kind.lower().startswith(EVENT_PREFIXES):
                yield ChatEvent(app=APP, thread_id=clean(row["ZTHREADID"]), actor=sender, event_type=kind,
                                time=cocoa_iso(row["ZARRIVALTIME"]), source_record_id=record)
                continue
            mine = row["ZTS_ISSENTBYME"]
            direction = (_comms.UNKNOWN if mine is None
                         else _comms.OUTGOING if mine else _comms.INCOMING)
            deleted = clean(row["ZDELETETIME"]) not in (None, "0")
            yield AppMessage(
                app=APP,
                thread_id=clean(row["ZTHREADID"]),
                sender=sender,
                recipients=(),
                direction=direction,
                body=as_text(row["ZCONTENT"]),
                time=cocoa_iso(row["ZARRIVALTIME"]),
                subject=clean(row["ZSUBJECT"]),
                status="deleted" if deleted else None,
                service=kind or None,
                source_record_id=record,
                sender_name=clean(row["ZIMDISPLAYNAME"]),
            )

    def _contacts(self, db: Database) -> Iterator[Contact]:
        for row in db.rows("SELECT Z_PK, ZDISPLAYNAME, ZEMAIL, ZPHONE, ZMRI FROM ZSCONTACT ORDER BY Z_PK",
                           table="ZSCONTACT"):
            yield Contact(name=clean(row["ZDISPLAYNAME"]), phone_numbers=_comms.unique((row["ZPHONE"],)),
                          emails=_comms.unique((row["ZEMAIL"],)), identifiers=_comms.unique((row["ZMRI"],)),
                          source_app=APP, source_record_id=f"ZSCONTACT:{row['Z_PK']}")

    def _users(self, db: Database) -> Iterator[Contact]:
        query = f"SELECT Z_PK, ZDISPLAYNAME, ZTSID, {db.column('ZUSER', 'ZMAIL')} FROM ZUSER ORDER BY Z_PK"
        for row in db.rows(query, table="ZUSER"):
            yield Contact(name=clean(row["ZDISPLAYNAME"]), emails=_comms.unique((row["ZMAIL"],)),
                          identifiers=_comms.unique((row["ZTSID"],)),
                          source_app=APP, source_record_id=f"ZUSER:{row['Z_PK']}")
