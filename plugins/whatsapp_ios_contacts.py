"""WhatsApp for iOS contacts: ``ContactsV2.sqlite`` (Core Data).

Schema understood (WhatsApp iOS 2.17 to 2.24): ``ZWAADDRESSBOOKCONTACT(Z_PK,
ZFULLNAME, ZPHONENUMBER, ZWHATSAPPID)`` with ``ZGIVENNAME, ZLASTNAME,
ZBUSINESSNAME, ZLID, ZLASTUPDATED`` read when present. ZWHATSAPPID is a JID
or bare number as found; ZLID the newer "linked identity". ZLASTUPDATED is
Cocoa seconds.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from ._comms import Contact, clean, cocoa_iso, unique

EXPECTED = {"ZWAADDRESSBOOKCONTACT": ("Z_PK", "ZFULLNAME", "ZPHONENUMBER", "ZWHATSAPPID")}
OPTIONAL = ("ZGIVENNAME", "ZLASTNAME", "ZBUSINESSNAME", "ZLID", "ZLASTUPDATED")


class WhatsAppIosContactsPlugin(Plugin):
    """Contacts from WhatsApp for iOS's ContactsV2.sqlite."""

    NAME = "whatsapp_ios_contacts"
    VERSION = "1.0"
    DESCRIPTION = "WhatsApp iOS contacts (ContactsV2.sqlite, ZWAADDRESSBOOKCONTACT)"
    SELECTOR = Selector(globs=("**/ContactsV2.sqlite", "ContactsV2.sqlite"))
    SCHEMAS = {"ZWAADDRESSBOOKCONTACT": "WhatsApp iOS 2.17-2.24"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "contacts"):
                return
            optional = ", ".join(db.column("ZWAADDRESSBOOKCONTACT", name) for name in OPTIONAL)
            query = ("SELECT ZWAADDRESSBOOKCONTACT.Z_PK, ZWAADDRESSBOOKCONTACT.ZFULLNAME, "
                     "ZWAADDRESSBOOKCONTACT.ZPHONENUMBER, ZWAADDRESSBOOKCONTACT.ZWHATSAPPID, "
                     f"{optional} FROM ZWAADDRESSBOOKCONTACT ORDER BY ZWAADDRESSBOOKCONTACT.Z_PK")
            for row in db.rows(query, table="ZWAADDRESSBOOKCONTACT"):
                given_last = " ".join(filter(None, (clean(row["ZGIVENNAME"]), clean(row["ZLASTNAME"]))))
                yield Contact(
                    name=clean(row["ZFULLNAME"]) or given_last or None,
                    phone_numbers=unique([row["ZPHONENUMBER"]]),
                    organisation=clean(row["ZBUSINESSNAME"]),
                    identifiers=unique([row["ZWHATSAPPID"], row["ZLID"]]),
                    source_app="WhatsApp",
                    source_record_id=str(row["Z_PK"]),
                    modified=cocoa_iso(row["ZLASTUPDATED"]),
                )
