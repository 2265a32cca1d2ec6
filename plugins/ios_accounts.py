"""iOS and macOS accounts: ``Accounts3.sqlite`` (iOS 9 to 17; macOS keeps
the same Core Data model in ``Accounts4.sqlite``). Every account the
system and its apps hold: Apple ID, iCloud, Game Center, mail, Google,
and third-party apps that register with the Accounts framework.

Schema understood: ``ZACCOUNT(Z_PK, ZACCOUNTTYPE, ZUSERNAME, ZIDENTIFIER,
ZACCOUNTDESCRIPTION, ZDATE, ZOWNINGBUNDLEID, ZPARENTACCOUNT)`` joined to
``ZACCOUNTTYPE(Z_PK, ZACCOUNTTYPEDESCRIPTION, ZIDENTIFIER)``; ``ZACTIVE``
and ``ZAUTHENTICATED`` are read when present. ``ZDATE`` is Cocoa seconds
(when the account was added).
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_kit import Account, QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, cocoa_iso, flag

ACCOUNTS = QueryVersion(
    "ZACCOUNT+ZACCOUNTTYPE (iOS 9-17, macOS 10.12-14)",
    {"ZACCOUNT": ("Z_PK", "ZACCOUNTTYPE", "ZUSERNAME", "ZIDENTIFIER", "ZACCOUNTDESCRIPTION", "ZDATE",
                  "ZOWNINGBUNDLEID", "ZPARENTACCOUNT"),
     "ZACCOUNTTYPE": ("Z_PK", "ZACCOUNTTYPEDESCRIPTION", "ZIDENTIFIER")},
    "SELECT ZACCOUNT.Z_PK, ZACCOUNT.ZUSERNAME, ZACCOUNT.ZIDENTIFIER, ZACCOUNT.ZACCOUNTDESCRIPTION, "
    "ZACCOUNT.ZDATE, ZACCOUNT.ZOWNINGBUNDLEID, {optional}, type.ZACCOUNTTYPEDESCRIPTION AS type_description, "
    "type.ZIDENTIFIER AS type_identifier, parent.ZIDENTIFIER AS parent_identifier FROM ZACCOUNT "
    "LEFT JOIN ZACCOUNTTYPE AS type ON type.Z_PK = ZACCOUNT.ZACCOUNTTYPE "
    "LEFT JOIN ZACCOUNT AS parent ON parent.Z_PK = ZACCOUNT.ZPARENTACCOUNT ORDER BY ZACCOUNT.Z_PK",
    optional={"ZACCOUNT": ("ZACTIVE", "ZAUTHENTICATED")})


class IosAccountsPlugin(SqliteArtifactPlugin):
    """Accounts from Accounts3.sqlite / Accounts4.sqlite."""

    NAME = "ios_accounts"
    VERSION = "1.0"
    DESCRIPTION = "iOS/macOS accounts (Accounts3.sqlite / Accounts4.sqlite: ZACCOUNT, ZACCOUNTTYPE)"
    PATHS = ("**/Library/Accounts/Accounts3.sqlite", "**/Library/Accounts/Accounts4.sqlite",
             "Accounts3.sqlite", "Accounts4.sqlite")
    QUERIES = (SqlQuery("accounts", "account", (ACCOUNTS,)),)

    def account(self, row, source: RowSource) -> Iterator[Account]:
        yield Account(
            account_type=clean(row["type_description"]) or clean(row["type_identifier"]),
            username=clean(row["ZUSERNAME"]),
            identifier=clean(row["ZIDENTIFIER"]),
            source_app="iOS Accounts",
            description=clean(row["ZACCOUNTDESCRIPTION"]),
            provider=clean(row["type_identifier"]),
            owning_app=clean(row["ZOWNINGBUNDLEID"]),
            created=cocoa_iso(row["ZDATE"]),
            active=flag(row["ZACTIVE"]),
            authenticated=flag(row["ZAUTHENTICATED"]),
            parent_identifier=clean(row["parent_identifier"]),
            source_record_id=str(row["Z_PK"]))
