"""iOS visual voicemail: ``Library/Voicemail/voicemail.db`` (iOS 4 to 17;
the audio is in ``<ROWID>.amr`` beside it, inventoried like any file).

Schema understood: ``voicemail(ROWID, remote_uid, date, token, sender,
callback_num, duration, expiration, trashed_date, flags)``, ``receiver``
and ``label`` when present; the ``deleted`` table has the same columns and
holds messages removed from the phone (read when present). ``date`` and
``expiration`` are Unix seconds; ``trashed_date`` is Cocoa seconds (0: not
in the trash). ``flags`` is a bit field kept as found.

A voicemail is its own kind (``comms.voicemail``) rather than a call: it
carries whether it is in the trash or deleted, and when it expires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Iterator, Sequence

from ..plugin_api import Finding, TimelineEvent
from ..plugin_kit import (QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, cocoa_iso, integer, number,
                          unix_s_iso)

APP = "iOS Voicemail"
COLUMNS = ("ROWID", "remote_uid", "date", "token", "sender", "callback_num", "duration", "expiration",
           "trashed_date", "flags")


@dataclass(frozen=True)
class Voicemail(Finding):
    """One voicemail message the phone holds (or held: ``deleted``)."""

    KIND: ClassVar[str] = "comms.voicemail"

    sender: str | None                     # the caller's number, as found
    received_time: str | None
    duration_s: float | None
    source_app: str
    callback_number: str | None = None
    receiver: str | None = None            # the mailbox's own number, when stored
    expiration_time: str | None = None
    trashed_time: str | None = None        # moved to the phone's "Deleted Messages"
    in_trash: bool | None = None
    deleted: bool | None = None            # a row of the store's "deleted" table
    flags: int | None = None
    label: str | None = None
    remote_uid: int | None = None          # the carrier server's id of the message
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        extra = {"source_app": self.source_app, "source_record_id": self.source_record_id}
        who = self.sender or "unknown number"
        what = f"{self.source_app} voicemail from {who}, {self.duration_s if self.duration_s is not None else '?'} s"
        events = [(self.received_time, "Voicemail Received"), (self.trashed_time, "Voicemail Trashed")]
        return tuple(TimelineEvent(when, desc, what, extra=extra) for when, desc in events if when)


def _seconds(value: object) -> float | None:
    """A stored duration; text such as "nan" or "inf" is no duration."""
    found = number(value)
    return None if found is None or not math.isfinite(found) else found


def _version(table: str) -> QueryVersion:
    columns = ", ".join(f"{table}.{column}" for column in COLUMNS)
    return QueryVersion(f"{table} (iOS 4-17)", {table: COLUMNS},
                        f"SELECT {columns}, {{optional}} FROM {table} ORDER BY {table}.ROWID",
                        optional={table: ("receiver", "label")})


class IosVoicemailPlugin(SqliteArtifactPlugin):
    """Voicemail messages from voicemail.db (kept and deleted)."""

    NAME = "ios_voicemail"
    VERSION = "1.0"
    DESCRIPTION = "iOS visual voicemail (Library/Voicemail/voicemail.db: voicemail, deleted)"
    PATHS = ("**/Library/Voicemail/voicemail.db", "voicemail.db")
    QUERIES = (SqlQuery("voicemails", "kept", (_version("voicemail"),)),
               SqlQuery("deleted voicemails", "removed", (_version("deleted"),), required=False))

    def kept(self, row, source: RowSource) -> Iterator[Voicemail]:
        yield self._voicemail(row, "voicemail", deleted=False)

    def removed(self, row, source: RowSource) -> Iterator[Voicemail]:
        yield self._voicemail(row, "deleted", deleted=True)

    @staticmethod
    def _voicemail(row, table: str, deleted: bool) -> Voicemail:
        trashed = cocoa_iso(row["trashed_date"])
        return Voicemail(
            sender=clean(row["sender"]),
            received_time=unix_s_iso(row["date"]),
            duration_s=_seconds(row["duration"]),
            source_app=APP,
            callback_number=clean(row["callback_num"]),
            receiver=clean(row["receiver"]),
            expiration_time=unix_s_iso(row["expiration"]),
            trashed_time=trashed,
            in_trash=trashed is not None,
            deleted=deleted,
            flags=integer(row["flags"]),
            label=clean(row["label"]),
            remote_uid=integer(row["remote_uid"]),
            source_record_id=f"{table}:{row['ROWID']}")
