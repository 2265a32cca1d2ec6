"""Android contacts: ``contacts2.db`` of com.android.providers.contacts.

Schemas understood (ContactsProvider2, Android 2.x to 14):

* contacts: ``raw_contacts(_id, display_name, deleted, contact_id,
  account_name | account_id)``, ``data(raw_contact_id, mimetype_id, data1)``,
  ``mimetypes(_id, mimetype)``; modification time from
  ``contacts.contact_last_updated_timestamp`` (Unix ms, Android 4.3+) when present.
  One finding per raw contact (one account's copy of a person), because
  that is the unit the store keeps and deletes.
* deleted raw contacts still in the file (free-list pages, freeblocks, old
  WAL frames): contacts marked ``recovered`` with the name on the row; their
  numbers are in ``data`` rows that a loose cell cannot be joined to.
* call log: the ``calls`` table, present in this database up to Android 6
  (later it moved to calllog.db); read with the calllog plugin's reader.

Each part is read when its tables exist; a missing part is a warning naming
the tables it needs, unless nothing is lost (a database with no
``raw_contacts`` and no ``data`` rows holds no contacts to read). Views in
Android 14's contacts2.db use the PHONEBOOK collation and app-defined
functions; only the tables above are queried, through sqlite_access, which
registers fallbacks for both.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, open_database
from . import _comms
from ._comms import Contact, clean, unique, unix_ms_iso
from .android_calllog import CALLS_EXPECTED, read_calls

CONTACTS_EXPECTED = {
    "raw_contacts": ("_id",),
    "data": ("raw_contact_id", "mimetype_id", "data1"),
    "mimetypes": ("_id", "mimetype"),
}

PHONE = "vnd.android.cursor.item/phone_v2"
EMAIL = "vnd.android.cursor.item/email_v2"
NAME = "vnd.android.cursor.item/name"
ORGANISATION = "vnd.android.cursor.item/organization"


class AndroidContacts2Plugin(Plugin):
    """Contacts (and the pre-Android-7 call log) from contacts2.db."""

    NAME = "android_contacts2"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "Android contacts and legacy call log (contacts2.db)"
    SELECTOR = Selector(globs=(
        "**/com.android.providers.contacts/databases/contacts2.db", "contacts2.db"))
    SCHEMAS = {
        "raw_contacts+data+mimetypes": "ContactsProvider2 contacts, Android 2.x-14",
        "calls": "CallLog calls table kept in contacts2.db up to Android 6",
    }

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            if db.exists("raw_contacts") or self._has_contact_data(db):
                if db.require(CONTACTS_EXPECTED, "contacts"):
                    yield from self._contacts(db)
            if db.exists("calls") and db.require(CALLS_EXPECTED, "calls"):
                yield from read_calls(db, "Android Contacts (call log)")
            # No calls table is normal from Android 7 on (calllog.db): no warning.

    @staticmethod
    def _has_contact_data(db: Database) -> bool:
        if not db.has("data", "_id"):
            return False
        return any(True for _ in db.rows("SELECT _id FROM data LIMIT 1", table="data"))

    def _contacts(self, db: Database) -> Iterator[Contact]:
        details: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row in db.rows(
                "SELECT data.raw_contact_id, mimetypes.mimetype, data.data1 FROM data "
                "JOIN mimetypes ON mimetypes._id = data.mimetype_id ORDER BY data._id", table="data"):
            details[row[0]][row[1]].append(row[2])

        # Older schemas keep the account on the row, newer ones in `accounts`.
        if db.has("raw_contacts", "account_id") and db.has("accounts", "_id", "account_name"):
            account = "accounts.account_name AS account"
            join_accounts = "LEFT JOIN accounts ON accounts._id = raw_contacts.account_id"
        else:
            account = db.column("raw_contacts", "account_name", "account")
            join_accounts = ""
        if db.has("raw_contacts", "contact_id") and db.has(
                "contacts", "_id", "contact_last_updated_timestamp"):
            updated = "contacts.contact_last_updated_timestamp AS updated"
            join_contacts = "LEFT JOIN contacts ON contacts._id = raw_contacts.contact_id"
        else:
            updated, join_contacts = "NULL AS updated", ""

        query = (
            f"SELECT raw_contacts._id, {db.column('raw_contacts', 'display_name')}, "
            f"{db.column('raw_contacts', 'deleted')}, {account}, {updated} "
            f"FROM raw_contacts {join_accounts} {join_contacts} ORDER BY raw_contacts._id")
        for row in db.rows(query, table="raw_contacts"):
            items = details.get(row["_id"], {})
            name = clean(row["display_name"]) or next(iter(unique(items.get(NAME, ()))), None)
            yield Contact(
                name=name,
                phone_numbers=unique(items.get(PHONE, ())),
                emails=unique(items.get(EMAIL, ())),
                organisation=next(iter(unique(items.get(ORGANISATION, ()))), None),
                source_app="Android Contacts",
                source_record_id=str(row["_id"]),
                modified=unix_ms_iso(row["updated"]),
                deleted=None if row["deleted"] is None else bool(row["deleted"]),
                account=clean(row["account"]),
            )
        # Deleted raw contacts still in the file: the name and flags on the row
        # (numbers and e-mails are in `data` rows, which cannot be joined).
        yield from _comms.recovered(db, "raw_contacts", ("_id", "display_name", "deleted", "account_name"),
                                    _recovered_contact, _comms.contact_accept)


def _recovered_contact(row) -> Contact:
    return Contact(name=clean(row["display_name"]), source_app="Android Contacts",
                   source_record_id=None if row["_id"] is None else str(row["_id"]),
                   deleted=None if row["deleted"] is None else bool(row["deleted"]),
                   account=clean(row["account_name"]))
