"""Android contacts: ``contacts2.db`` of com.android.providers.contacts.

Schemas understood (ContactsProvider2, Android 2.x to 14):

* contacts: ``raw_contacts(_id, display_name, deleted, contact_id,
  account_name | account_id)``, ``data(raw_contact_id, mimetype_id, data1)``,
  ``mimetypes(_id, mimetype)``; modification time from
  ``contacts.contact_last_updated_timestamp`` (Unix ms, Android 4.3+) when present.
  One finding per raw contact (one account's copy of a person), because
  that is the unit the store keeps and deletes.
* call log: the ``calls`` table, present in this database up to Android 6
  (later it moved to calllog.db); read with the calllog plugin's reader.

Each part is read when its tables exist; a missing part is a warning naming
the tables it needs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from . import _comms
from ._comms import Contact, clean, column, unique, unix_ms_iso
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
    VERSION = "1.0"
    DESCRIPTION = "Android contacts and legacy call log (contacts2.db)"
    SELECTOR = Selector(globs=(
        "**/com.android.providers.contacts/databases/contacts2.db", "contacts2.db"))
    SCHEMAS = {
        "raw_contacts+data+mimetypes": "ContactsProvider2 contacts, Android 2.x-14",
        "calls": "CallLog calls table kept in contacts2.db up to Android 6",
    }

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        if not _comms.is_sqlite(file, ctx, self.NAME):
            return
        with _comms.open_sqlite(file, ctx) as connection:
            schema = _comms.read_schema(connection)
            if _comms.require(schema, CONTACTS_EXPECTED, ctx, self.NAME, file, "contacts"):
                yield from self._contacts(connection, schema)
            if _comms.has_table(schema, "calls"):
                if _comms.require(schema, CALLS_EXPECTED, ctx, self.NAME, file, "calls"):
                    yield from read_calls(connection, schema, "Android Contacts (call log)")
            # No calls table is normal from Android 7 on (calllog.db): no warning.

    def _contacts(self, connection, schema) -> Iterator[Contact]:
        details: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row in connection.execute(
                "SELECT data.raw_contact_id, mimetypes.mimetype, data.data1 FROM data "
                "JOIN mimetypes ON mimetypes._id = data.mimetype_id ORDER BY data._id"):
            details[row[0]][row[1]].append(row[2])

        # Older schemas keep the account on the row, newer ones in `accounts`.
        if _comms.has_table(schema, "raw_contacts", "account_id") and _comms.has_table(
                schema, "accounts", "_id", "account_name"):
            account = "accounts.account_name AS account"
            join_accounts = "LEFT JOIN accounts ON accounts._id = raw_contacts.account_id"
        else:
            account = column(schema, "raw_contacts", "account_name", "account")
            join_accounts = ""
        if _comms.has_table(schema, "raw_contacts", "contact_id") and _comms.has_table(
                schema, "contacts", "_id", "contact_last_updated_timestamp"):
            updated = "contacts.contact_last_updated_timestamp AS updated"
            join_contacts = "LEFT JOIN contacts ON contacts._id = raw_contacts.contact_id"
        else:
            updated, join_contacts = "NULL AS updated", ""

        query = (
            f"SELECT raw_contacts._id, {column(schema, 'raw_contacts', 'display_name')}, "
            f"{column(schema, 'raw_contacts', 'deleted')}, {account}, {updated} "
            f"FROM raw_contacts {join_accounts} {join_contacts} ORDER BY raw_contacts._id")
        for row in connection.execute(query):
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
