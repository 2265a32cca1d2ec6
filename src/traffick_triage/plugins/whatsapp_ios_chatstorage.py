"""WhatsApp for iOS messages: ``ChatStorage.sqlite`` (Core Data).

Schema understood (WhatsApp iOS 2.12 to 2.24): ``ZWAMESSAGE(Z_PK,
ZISFROMME, ZCHATSESSION, ZMESSAGEDATE, ZFROMJID, ZTOJID, ZTEXT)`` with
``ZMEDIAITEM`` and ``ZGROUPMEMBER`` read when present; ``ZWACHATSESSION(Z_PK,
ZCONTACTJID)``; ``ZWAGROUPMEMBER(Z_PK, ZMEMBERJID)`` when present (sender of
group messages). ZMESSAGEDATE is Cocoa seconds. A non-NULL ZMEDIAITEM counts
as one attachment. WhatsApp stores no read flag per incoming message: ``read``
is None.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from . import _comms
from ._comms import Message, clean, cocoa_iso, column

EXPECTED = {
    "ZWAMESSAGE": ("Z_PK", "ZISFROMME", "ZCHATSESSION", "ZMESSAGEDATE", "ZFROMJID", "ZTOJID", "ZTEXT"),
    "ZWACHATSESSION": ("Z_PK", "ZCONTACTJID"),
}
APP = "WhatsApp"


class WhatsAppIosChatStoragePlugin(Plugin):
    """Messages from WhatsApp for iOS's ChatStorage.sqlite."""

    NAME = "whatsapp_ios_chatstorage"
    VERSION = "1.0"
    DESCRIPTION = "WhatsApp iOS messages (ChatStorage.sqlite: ZWAMESSAGE, ZWACHATSESSION)"
    SELECTOR = Selector(globs=("**/ChatStorage.sqlite", "ChatStorage.sqlite"))
    SCHEMAS = {"ZWAMESSAGE+ZWACHATSESSION": "WhatsApp iOS 2.12-2.24"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with _comms.artifact_database(file, ctx, self.NAME, EXPECTED, "messages") as opened:
            if opened is None:
                return
            connection, schema = opened
            if _comms.has_table(schema, "ZWAMESSAGE", "ZGROUPMEMBER") and _comms.has_table(
                    schema, "ZWAGROUPMEMBER", "Z_PK", "ZMEMBERJID"):
                member = "ZWAGROUPMEMBER.ZMEMBERJID AS member_jid"
                member_join = "LEFT JOIN ZWAGROUPMEMBER ON ZWAGROUPMEMBER.Z_PK = ZWAMESSAGE.ZGROUPMEMBER"
            else:
                member, member_join = "NULL AS member_jid", ""
            query = (
                "SELECT ZWAMESSAGE.Z_PK, ZWAMESSAGE.ZISFROMME, ZWAMESSAGE.ZMESSAGEDATE, "
                "ZWAMESSAGE.ZFROMJID, ZWAMESSAGE.ZTOJID, ZWAMESSAGE.ZTEXT, "
                f"{column(schema, 'ZWAMESSAGE', 'ZMEDIAITEM')}, "
                f"ZWACHATSESSION.ZCONTACTJID AS chat_jid, {member} FROM ZWAMESSAGE "
                "LEFT JOIN ZWACHATSESSION ON ZWACHATSESSION.Z_PK = ZWAMESSAGE.ZCHATSESSION "
                f"{member_join} ORDER BY ZWAMESSAGE.Z_PK")
            for row in connection.execute(query):
                chat_jid = clean(row["chat_jid"])
                from_me = bool(row["ZISFROMME"])
                if from_me:
                    sender = None
                    recipients = _comms.unique([row["ZTOJID"]]) or _comms.unique([chat_jid])
                else:
                    # In a group ZFROMJID is the group; the member row names the person.
                    sender = clean(row["member_jid"]) or clean(row["ZFROMJID"]) or chat_jid
                    recipients = ()
                yield Message(
                    app=APP,
                    thread_id=chat_jid,
                    sender=sender,
                    recipients=recipients,
                    direction=_comms.OUTGOING if from_me else _comms.INCOMING,
                    body=row["ZTEXT"],
                    time=cocoa_iso(row["ZMESSAGEDATE"]),
                    attachments=0 if row["ZMEDIAITEM"] is None else 1,
                    source_record_id=str(row["Z_PK"]),
                )
