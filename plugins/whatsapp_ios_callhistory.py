"""WhatsApp for iOS calls: ``CallHistory.sqlite`` (Core Data) in WhatsApp's
shared app group (not iOS's own CallHistory.storedata).

Schema understood (WhatsApp iOS 2.21 to 2.24, seen on a real iOS 15 device):
``ZWAAGGREGATECALLEVENT(Z_PK, ZINCOMING, ZMISSED, ZVIDEO, ZFIRSTDATE)``, one
row per call as the call list shows it; ``ZWACDCALLEVENT(Z_PK, Z1CALLEVENTS,
ZDATE, ZDURATION)`` the call legs (Z1CALLEVENTS is the aggregate's Z_PK),
with ``ZGROUPJIDSTRING`` read when present; ``ZWACDCALLEVENTPARTICIPANT(
Z1PARTICIPANTS, ZJIDSTRING)`` the other parties of a leg, when present.
Dates are Cocoa seconds, durations seconds.

One ``comms.call`` per leg (per aggregate when it has no leg): direction
missed when ZMISSED, else incoming/outgoing by ZINCOMING; ``number`` is the
group JID of a group call, else the first participant JID, as found;
``call_type`` "whatsapp_video" or "whatsapp_audio".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from . import _comms
from ._comms import Call, clean, cocoa_iso

EXPECTED = {"ZWAAGGREGATECALLEVENT": ("Z_PK", "ZINCOMING", "ZMISSED", "ZVIDEO", "ZFIRSTDATE")}
LEGS = {"ZWACDCALLEVENT": ("Z_PK", "Z1CALLEVENTS", "ZDATE", "ZDURATION")}
PARTICIPANTS = {"ZWACDCALLEVENTPARTICIPANT": ("Z1PARTICIPANTS", "ZJIDSTRING")}
APP = "WhatsApp"


class WhatsAppIosCallHistoryPlugin(Plugin):
    """Calls from WhatsApp for iOS's CallHistory.sqlite."""

    NAME = "whatsapp_ios_callhistory"
    VERSION = "1.0"
    DESCRIPTION = "WhatsApp iOS calls (CallHistory.sqlite: ZWAAGGREGATECALLEVENT, ZWACDCALLEVENT)"
    SELECTOR = Selector(globs=(
        "**/Shared/AppGroup/*/CallHistory.sqlite",
        "**/group.net.whatsapp.WhatsApp.shared/CallHistory.sqlite",
        "**/AppDomainGroup-group.net.whatsapp.WhatsApp.shared/CallHistory.sqlite"))
    SCHEMAS = {"ZWAAGGREGATECALLEVENT+ZWACDCALLEVENT": "WhatsApp iOS 2.21-2.24"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or not db.require(EXPECTED, "calls"):
                return
            parties: dict[int, list[str]] = defaultdict(list)
            if not db.missing(PARTICIPANTS):
                for row in db.rows("SELECT Z1PARTICIPANTS, ZJIDSTRING FROM ZWACDCALLEVENTPARTICIPANT "
                                   "ORDER BY Z1PARTICIPANTS, Z_PK", table="ZWACDCALLEVENTPARTICIPANT"):
                    parties[row[0]].append(row[1])
            if not db.missing(LEGS):
                legs = ("LEFT JOIN ZWACDCALLEVENT AS leg ON leg.Z1CALLEVENTS = agg.Z_PK",
                        "leg.Z_PK AS leg_pk, leg.ZDATE AS leg_date, leg.ZDURATION AS duration, "
                        f"{db.column('ZWACDCALLEVENT', 'ZGROUPJIDSTRING', 'group_jid', 'leg')}")
            else:
                legs = ("", "NULL AS leg_pk, NULL AS leg_date, NULL AS duration, NULL AS group_jid")
            query = (f"SELECT agg.Z_PK, agg.ZINCOMING, agg.ZMISSED, agg.ZVIDEO, agg.ZFIRSTDATE, {legs[1]} "
                     f"FROM ZWAAGGREGATECALLEVENT AS agg {legs[0]} ORDER BY agg.Z_PK, leg_pk")
            for row in db.rows(query, table="ZWAAGGREGATECALLEVENT"):
                if row["ZMISSED"]:
                    direction = _comms.MISSED
                else:
                    direction = _comms.INCOMING if row["ZINCOMING"] else _comms.OUTGOING
                others = _comms.unique(parties.get(row["leg_pk"], ()))
                yield Call(
                    number=clean(row["group_jid"]) or next(iter(others), None),
                    direction=direction,
                    start_time=cocoa_iso(row["leg_date"] if row["leg_date"] is not None else row["ZFIRSTDATE"]),
                    duration_s=_comms.number(row["duration"]),
                    call_type="whatsapp_video" if row["ZVIDEO"] else "whatsapp_audio",
                    source_app=APP,
                    source_record_id=f"{row['Z_PK']}:{row['leg_pk'] if row['leg_pk'] is not None else '-'}",
                )
