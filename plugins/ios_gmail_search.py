"""Gmail for iOS keeps an offline search index per signed-in account:
``Library/Application Support/data/<account address>/searchsqlitedb``, an
SQLite FTS5 table ``offline_search(score, itemServerPermId,
messageServerPermId, from, to, cc, bcc, subject, body, has)`` whose text
lives in ``offline_search_content(id, c0..c9)`` in that column order. It
holds the mail the app has synced: sender, recipients, subject and the
indexed body text, so messages are readable without the app's protobuf stores.

Read from the content table (no FTS5 module needed), after checking that
the FTS5 declaration names its columns in the order above; another order
is one warning and nothing read. ``score`` is the message's time in Unix
milliseconds (Gmail's message id, ``msg-f:<decimal>``, carries the same
milliseconds in its bits above the 20th). Direction: "outgoing" when the
sender field names the account's own address (the folder's name),
"incoming" otherwise. ``has`` (e.g. "attachment") is kept in ``status``.
The folder's address is one ``device.account``.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..plugin_api import Finding
from ..plugin_kit import (INCOMING, OUTGOING, Account, Message, QueryVersion, RowSource, SqlQuery,
                          SqliteArtifactPlugin, as_text, clean, unix_ms_iso)

APP = "Gmail"
FTS_COLUMNS = ("score", "itemServerPermId", "messageServerPermId", "from", "to", "cc", "bcc", "subject", "body", "has")
CONTENT = ("id",) + tuple(f"c{index}" for index in range(len(FTS_COLUMNS)))
_DECLARED = re.compile(r"fts5\s*\((.*)\)", re.IGNORECASE | re.DOTALL)

MESSAGES = QueryVersion(
    "offline_search FTS5 content (Gmail iOS 6.x, index version 4)",
    {"offline_search_content": CONTENT},
    f"SELECT {', '.join('offline_search_content.' + column for column in CONTENT)}, "
    "(SELECT sql FROM sqlite_master WHERE name = 'offline_search') AS declaration "
    "FROM offline_search_content ORDER BY offline_search_content.id")


MAILBOX = QueryVersion(
    "offline_search FTS5 content (Gmail iOS 6.x, index version 4)", {"offline_search_content": ("id",)},
    "SELECT (SELECT sql FROM sqlite_master WHERE name = 'offline_search') AS declaration")


def declared_columns(sql: object) -> tuple[str, ...] | None:
    """The column names of an FTS5 declaration, options (``detail=...``) left out."""
    found = _DECLARED.search(sql) if isinstance(sql, str) else None
    if found is None:
        return None
    names = []
    for part in found.group(1).split(","):
        words = part.strip().split()
        if words and "=" not in words[0]:
            names.append(words[0].strip('"`[]'))
    return tuple(names)


def _account(path: str) -> str | None:
    parts = path.replace("\\", "/").split("/")
    return clean(parts[-2]) if len(parts) >= 2 else None


class IosGmailSearchPlugin(SqliteArtifactPlugin):
    """Mail from Gmail's offline search index, and the account it belongs to."""

    NAME = "ios_gmail_search"
    VERSION = "1.0"
    DESCRIPTION = "Gmail iOS offline search index (Library/Application Support/data/<account>/searchsqlitedb)"
    PATHS = ("**/Library/Application Support/data/*/searchsqlitedb",)
    QUERIES = (SqlQuery("mailbox", "mailbox", (MAILBOX,)), SqlQuery("mail", "mail", (MESSAGES,)))

    def mailbox(self, row, source: RowSource) -> Iterator[Finding]:
        account = _account(source.file.path)
        if account and self._gmail_layout(row, source):
            yield Account(account_type="Google", username=account, identifier=None, source_app=APP,
                          provider="Google", owning_app="com.google.Gmail", source_record_id="mailbox folder")

    @staticmethod
    def _gmail_layout(row, source: RowSource) -> bool:
        columns = declared_columns(row["declaration"])
        if columns == FTS_COLUMNS:
            return True
        # warn_table says it once per file, however many rows ask.
        source.db.warn_table("offline_search", f"declares columns {list(columns or ())[:12]}, not Gmail's "
                                               f"{list(FTS_COLUMNS)}; no mail read")
        return False

    def mail(self, row, source: RowSource) -> Iterator[Finding]:
        if not self._gmail_layout(row, source):
            return
        value = dict(zip(FTS_COLUMNS, (row[column] for column in CONTENT[1:])))
        account = (_account(source.file.path) or "").lower()
        sender = clean(value["from"])
        outgoing = bool(account) and sender is not None and account in sender.lower()
        yield Message(
            app=APP, thread_id=clean(value["itemServerPermId"]), sender=sender,
            recipients=tuple(text for text in (clean(value[key]) for key in ("to", "cc", "bcc")) if text),
            direction=OUTGOING if outgoing else INCOMING, body=as_text(value["body"]),
            time=unix_ms_iso(value["score"]), subject=clean(value["subject"]), status=clean(value["has"]),
            account=account or None, service="e-mail",
            source_record_id=f"{clean(value['messageServerPermId']) or ''}#{row['id']}")
