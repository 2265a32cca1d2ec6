"""iOS contacts: ``AddressBook.sqlitedb``.

Schema understood (iOS 4 to 17): ``ABPerson(ROWID, First, Last)`` with
``Middle, Organization, CreationDate, ModificationDate`` read when present,
and ``ABMultiValue(record_id, property, value)``, where property 3 is a
phone number and 4 an e-mail address. Creation/modification dates are Cocoa
seconds (2001-01-01 UTC). Real AddressBooks hold ``ABPersonFullTextSearch``,
an FTS4 table with Apple's ``ab_cf_tokenizer`` that no other SQLite can
open: it is never touched (only ABPerson and ABMultiValue are queried).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from ._comms import Contact, clean, cocoa_iso, unique

EXPECTED = {
    "ABPerson": ("ROWID", "First", "Last"),
    "ABMultiValue": ("record_id", "property", "value"),
}
OPTIONAL = ("Middle", "Organization", "CreationDate", "ModificationDate")
PROPERTY_PHONE, PROPERTY_EMAIL = 3, 4   # kABPersonPhoneProperty, kABPersonEmailProperty


class IosAddressBookPlugin(Plugin):
    """Contacts from the iOS AddressBook.sqlitedb."""

    NAME = "ios_addressbook"
    VERSION = "1.0"
    DESCRIPTION = "iOS contacts (AddressBook.sqlitedb: ABPerson, ABMultiValue)"
    SELECTOR = Selector(globs=(
        "**/Library/AddressBook/AddressBook.sqlitedb", "AddressBook.sqlitedb"))
    SCHEMAS = {"ABPerson+ABMultiValue": "iOS 4-17"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "contacts"):
                return
            values: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
            order = "UID" if db.has("ABMultiValue", "UID") else "rowid"
            for row in db.rows(f"SELECT record_id, property, value FROM ABMultiValue ORDER BY {order}",
                               table="ABMultiValue"):
                values[row[0]][row[1]].append(row[2])
            optional = ", ".join(db.column("ABPerson", name) for name in OPTIONAL)
            query = (f"SELECT ABPerson.ROWID AS rowid, ABPerson.First, ABPerson.Last, {optional} "
                     "FROM ABPerson ORDER BY ABPerson.ROWID")
            for row in db.rows(query, table="ABPerson"):
                parts = (clean(row["First"]), clean(row["Middle"]), clean(row["Last"]))
                person = values.get(row["rowid"], {})
                yield Contact(
                    name=" ".join(part for part in parts if part) or None,
                    phone_numbers=unique(person.get(PROPERTY_PHONE, ())),
                    emails=unique(person.get(PROPERTY_EMAIL, ())),
                    organisation=clean(row["Organization"]),
                    source_app="iOS Contacts",
                    source_record_id=str(row["rowid"]),
                    created=cocoa_iso(row["CreationDate"]),
                    modified=cocoa_iso(row["ModificationDate"]),
                )
