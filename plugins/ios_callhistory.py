"""iOS call history: ``CallHistory.storedata`` (Core Data).

Schema understood (iOS 8 to 17): ``ZCALLRECORD(Z_PK, ZDATE, ZDURATION,
ZORIGINATED, ZANSWERED, ZADDRESS)`` with ``ZNAME, ZCALLTYPE,
ZSERVICE_PROVIDER`` read when present. ZDATE is Cocoa seconds, ZDURATION
seconds (float). ZADDRESS is TEXT or, on some versions, a UTF-8 BLOB.
Direction: ZORIGINATED=1 outgoing; otherwise ZANSWERED=1 incoming, else missed.
ZCALLTYPE: 1 phone, 8 FaceTime video, 16 FaceTime audio; third-party VoIP
apps are named by ZSERVICE_PROVIDER (e.g. net.whatsapp.WhatsApp).
iOS 7 and earlier kept calls in call_history.db; that is not covered.
Deleted calls still in the file (free-list pages, freeblocks, old WAL frames)
are reported as calls marked ``recovered`` (a plausible date and a number).
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from . import _comms
from ._comms import Call, clean, cocoa_iso

EXPECTED = {"ZCALLRECORD": ("Z_PK", "ZDATE", "ZDURATION", "ZORIGINATED", "ZANSWERED", "ZADDRESS")}
OPTIONAL = ("ZNAME", "ZCALLTYPE", "ZSERVICE_PROVIDER")
CALL_TYPES = {1: "phone", 8: "facetime_video", 16: "facetime_audio"}


class IosCallHistoryPlugin(Plugin):
    """Calls from the iOS CallHistory.storedata."""

    NAME = "ios_callhistory"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "iOS call history (CallHistory.storedata, ZCALLRECORD)"
    SELECTOR = Selector(globs=("**/CallHistoryDB/CallHistory.storedata", "CallHistory.storedata"))
    SCHEMAS = {"ZCALLRECORD": "iOS 8-17 CallHistory.storedata"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "calls"):
                return
            optional = ", ".join(db.column("ZCALLRECORD", name) for name in OPTIONAL)
            query = ("SELECT ZCALLRECORD.Z_PK, ZCALLRECORD.ZDATE, ZCALLRECORD.ZDURATION, "
                     "ZCALLRECORD.ZORIGINATED, ZCALLRECORD.ZANSWERED, ZCALLRECORD.ZADDRESS, "
                     f"{optional} FROM ZCALLRECORD ORDER BY ZCALLRECORD.Z_PK")
            for row in db.rows(query, table="ZCALLRECORD"):
                yield call_from_row(row)
            # Deleted calls still in free pages, freeblocks or old WAL frames.
            yield from _comms.recovered(db, "ZCALLRECORD", EXPECTED["ZCALLRECORD"] + OPTIONAL,
                                        call_from_row, _comms.call_accept)


def call_from_row(row) -> Call:
    if row["ZORIGINATED"]:
        direction = _comms.OUTGOING
    elif row["ZANSWERED"]:
        direction = _comms.INCOMING
    else:
        direction = _comms.MISSED
    call_type = CALL_TYPES.get(row["ZCALLTYPE"])
    provider = clean(row["ZSERVICE_PROVIDER"])
    if provider and provider not in ("com.apple.Telephony", "com.apple.FaceTime"):
        call_type = provider   # a VoIP app: its bundle id says more
    return Call(
        number=clean(row["ZADDRESS"]),
        direction=direction,
        start_time=cocoa_iso(row["ZDATE"]),
        duration_s=_comms.number(row["ZDURATION"]),
        contact_name=clean(row["ZNAME"]),
        call_type=call_type,
        source_app="iOS Call History",
        source_record_id=None if row["Z_PK"] is None else str(row["Z_PK"]),
    )
