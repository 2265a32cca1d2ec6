"""WhatsApp for Android contacts: ``wa.db``.

Schema understood: ``wa_contacts(_id, jid)`` (all WhatsApp versions since
2012) with ``number``, ``display_name``, ``wa_name``, ``given_name``,
``family_name``, ``company`` and ``is_whatsapp_user`` read when present.
The JID goes to ``identifiers`` and ``number`` (the address-book number, as
found) to ``phone_numbers``; wa.db keeps no modification time per contact.
Deleted rows still in the file (free-list pages, freeblocks, old WAL frames)
are reported as contacts marked ``recovered``.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from . import _comms
from ._comms import Contact, clean, unique

EXPECTED = {"wa_contacts": ("_id", "jid")}
OPTIONAL = ("number", "display_name", "wa_name", "given_name", "family_name", "company")


class WhatsAppAndroidContactsPlugin(Plugin):
    """Contacts from WhatsApp for Android's wa.db."""

    NAME = "whatsapp_android_contacts"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "WhatsApp Android contacts (wa.db, wa_contacts)"
    SELECTOR = Selector(globs=(
        "**/com.whatsapp/databases/wa.db", "**/com.whatsapp.w4b/databases/wa.db", "wa.db"))
    SCHEMAS = {"wa_contacts": "WhatsApp Android, all versions since 2012"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "contacts"):
                return
            optional = ", ".join(db.column("wa_contacts", name) for name in OPTIONAL)
            query = (f"SELECT wa_contacts._id, wa_contacts.jid, {optional} "
                     "FROM wa_contacts ORDER BY wa_contacts._id")
            for row in db.rows(query, table="wa_contacts"):
                yield contact_from_row(row)
            # Deleted contacts still in free pages, freeblocks or old WAL frames.
            yield from _comms.recovered(db, "wa_contacts", EXPECTED["wa_contacts"] + OPTIONAL,
                                        contact_from_row, _comms.contact_accept)


def contact_from_row(row) -> Contact:
    given_family = " ".join(filter(None, (clean(row["given_name"]), clean(row["family_name"]))))
    return Contact(
        # display_name is the phone's address-book name; wa_name the
        # name the WhatsApp user chose for themselves.
        name=clean(row["display_name"]) or given_family or clean(row["wa_name"]),
        phone_numbers=unique([row["number"]]),
        organisation=clean(row["company"]),
        identifiers=unique([row["jid"]]),
        source_app="WhatsApp",
        source_record_id=None if row["_id"] is None else str(row["_id"]),
    )
