"""WhatsApp for iOS messages: ``ChatStorage.sqlite`` (Core Data).

Schema understood (WhatsApp iOS 2.12 to 2.24): ``ZWAMESSAGE(Z_PK,
ZISFROMME, ZCHATSESSION, ZMESSAGEDATE, ZFROMJID, ZTOJID, ZTEXT)`` with
``ZMEDIAITEM`` and ``ZGROUPMEMBER`` read when present; ``ZWACHATSESSION(Z_PK,
ZCONTACTJID)``; ``ZWAGROUPMEMBER(Z_PK, ZMEMBERJID)`` when present (sender of
group messages). ZMESSAGEDATE is Cocoa seconds. A non-NULL ZMEDIAITEM counts
as one attachment. WhatsApp stores no read flag per incoming message: ``read``
is None.

``ZMESSAGETYPE`` 6 (group event: created, renamed, member added/left;
``ZGROUPEVENTTYPE`` says which) and 10 (system notice, e.g. "messages are
end-to-end encrypted", security-code change) are not messages anyone wrote:
they become ``comms.chat_event`` findings with both codes, instead of
incoming messages from the group. Databases without ZMESSAGETYPE are read as
messages only. Deleted rows still in the file (free-list pages, freeblocks,
old WAL frames) are reported marked ``recovered``, without the chat's JID
(``ZCHATSESSION`` kept as ``party_ref``). Calls of WhatsApp iOS are in its own CallHistory.sqlite, not here.

The owner's own account: ZTOJID of a row the device received (ZISFROMME 0)
is the JID it was delivered to, the device owner's; real stores fill it on
system notices and group events. Each such user JID (not a group's) is one
``app.own_account`` finding (``owner`` true, how many rows name it), which
the report's "Identifiers per provider" marks as the owner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from . import _comms
from ._comms import as_text, ChatEvent, Message, clean, cocoa_iso

EXPECTED = {
    "ZWAMESSAGE": ("Z_PK", "ZISFROMME", "ZCHATSESSION", "ZMESSAGEDATE", "ZFROMJID", "ZTOJID", "ZTEXT"),
    "ZWACHATSESSION": ("Z_PK", "ZCONTACTJID"),
}
APP = "WhatsApp"
EVENT_TYPES = {6, 10}   # ZMESSAGETYPE of group events and system notices
OWN_JID_SQL = ("SELECT ZTOJID, COUNT(*) FROM ZWAMESSAGE WHERE ZISFROMME = 0 AND ZTOJID LIKE '%@s.whatsapp.net' "
               "GROUP BY ZTOJID ORDER BY ZTOJID")


@dataclass(frozen=True)
class OwnAccount(Finding):
    """The device owner's own account in an app, where the app's store says so."""

    KIND: ClassVar[str] = "app.own_account"

    source_app: str
    jid: str
    basis: str                             # where the store says so
    records: int                           # rows naming it
    owner: bool = True


class WhatsAppIosChatStoragePlugin(Plugin):
    """Messages from WhatsApp for iOS's ChatStorage.sqlite."""

    NAME = "whatsapp_ios_chatstorage"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "WhatsApp iOS messages (ChatStorage.sqlite: ZWAMESSAGE, ZWACHATSESSION)"
    SELECTOR = Selector(globs=("**/ChatStorage.sqlite", "ChatStorage.sqlite"))
    SCHEMAS = {"ZWAMESSAGE+ZWACHATSESSION": "WhatsApp iOS 2.12-2.24"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "messages"):
                return
            if db.has("ZWAMESSAGE", "ZGROUPMEMBER") and db.has("ZWAGROUPMEMBER", "Z_PK", "ZMEMBERJID"):
                member = "ZWAGROUPMEMBER.ZMEMBERJID AS member_jid"
                member_join = "LEFT JOIN ZWAGROUPMEMBER ON ZWAGROUPMEMBER.Z_PK = ZWAMESSAGE.ZGROUPMEMBER"
            else:
                member, member_join = "NULL AS member_jid", ""
            query = (
                "SELECT ZWAMESSAGE.Z_PK, ZWAMESSAGE.ZISFROMME, ZWAMESSAGE.ZMESSAGEDATE, "
                "ZWAMESSAGE.ZFROMJID, ZWAMESSAGE.ZTOJID, ZWAMESSAGE.ZTEXT, "
                f"{db.column('ZWAMESSAGE', 'ZMEDIAITEM')}, {db.column('ZWAMESSAGE', 'ZMESSAGETYPE')}, "
                f"{db.column('ZWAMESSAGE', 'ZGROUPEVENTTYPE')}, "
                f"ZWACHATSESSION.ZCONTACTJID AS chat_jid, {member} FROM ZWAMESSAGE "
                "LEFT JOIN ZWACHATSESSION ON ZWACHATSESSION.Z_PK = ZWAMESSAGE.ZCHATSESSION "
                f"{member_join} ORDER BY ZWAMESSAGE.Z_PK")
            for row in db.rows(query, table="ZWAMESSAGE"):
                yield message_from_row(row, clean(row["chat_jid"]), clean(row["member_jid"]))
            for row in db.rows(OWN_JID_SQL, table="ZWAMESSAGE"):
                jid = clean(row[0])
                if jid:
                    yield OwnAccount(source_app=APP, jid=jid, records=int(row[1]),
                                     basis="ZWAMESSAGE.ZTOJID of received rows (ZISFROMME 0)")
            # Deleted messages: the chat session and group member cannot be
            # joined; ZFROMJID/ZTOJID are on the row, ZCHATSESSION is kept as party_ref.
            yield from _comms.recovered(db, "ZWAMESSAGE", RECOVERED_COLUMNS, _recovered_message,
                                        _comms.record_accept)


RECOVERED_COLUMNS = EXPECTED["ZWAMESSAGE"] + ("ZMEDIAITEM", "ZMESSAGETYPE", "ZGROUPEVENTTYPE")


def message_from_row(row, chat_jid: str | None, member_jid: str | None,
                     party_ref: str | None = None) -> Finding:
    record_id = None if row["Z_PK"] is None else str(row["Z_PK"])
    if row["ZMESSAGETYPE"] in EVENT_TYPES:
        return ChatEvent(
            app=APP, thread_id=chat_jid, actor=member_jid or clean(row["ZFROMJID"]),
            event_type=f"ZMESSAGETYPE {row['ZMESSAGETYPE']}, ZGROUPEVENTTYPE {row['ZGROUPEVENTTYPE']}",
            time=cocoa_iso(row["ZMESSAGEDATE"]), source_record_id=record_id)
    from_me = bool(row["ZISFROMME"])
    if from_me:
        sender = None
        recipients = _comms.unique([row["ZTOJID"]]) or _comms.unique([chat_jid])
    else:
        # In a group ZFROMJID is the group; the member row names the person.
        sender = member_jid or clean(row["ZFROMJID"]) or chat_jid
        recipients = ()
    return Message(
        app=APP,
        thread_id=chat_jid,
        sender=sender,
        recipients=recipients,
        direction=_comms.OUTGOING if from_me else _comms.INCOMING,
        body=as_text(row["ZTEXT"]),
        time=cocoa_iso(row["ZMESSAGEDATE"]),
        attachments=0 if row["ZMEDIAITEM"] is None else 1,
        source_record_id=record_id,
        party_ref=party_ref,
    )


def _recovered_message(row) -> Finding:
    session = row["ZCHATSESSION"]
    return message_from_row(row, None, None, None if session is None else f"ZCHATSESSION {session}")
