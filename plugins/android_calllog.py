"""Android call log: ``calllog.db`` of com.android.providers.contacts.

Schema understood: the ``calls`` table of the CallLog provider, which lived
in contacts2.db up to Android 6 and moved to its own calllog.db in Android 7
(database versions 1 to current as of Android 14). Required columns:
``_id, number, date, duration, type``; ``name`` and ``subscription_component_name``
are read when present. ``date`` is Unix milliseconds (UTC), ``duration``
seconds. ``type``: 1 incoming, 2 outgoing, 3 missed, 4 voicemail,
5 rejected, 6 blocked, 7 answered externally.

:func:`read_calls` is shared with the contacts2.db plugin. Deleted calls still
in the file (free-list pages, freeblocks, old WAL frames) are reported as
calls marked ``recovered`` when their date is plausible and they name a number.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, open_database
from . import _comms
from ._comms import Call, clean, unix_ms_iso

CALLS_EXPECTED = {"calls": ("_id", "number", "date", "duration", "type")}

# android.provider.CallLog.Calls TYPE constants.
CALL_TYPES = {
    1: _comms.INCOMING, 2: _comms.OUTGOING, 3: _comms.MISSED, 4: _comms.VOICEMAIL,
    5: _comms.REJECTED, 6: _comms.BLOCKED, 7: _comms.ANSWERED_EXTERNALLY,
}


def read_calls(db: Database, source_app: str) -> Iterator[Call]:
    query = (
        "SELECT calls._id, calls.number, calls.date, calls.duration, calls.type, "
        f"{db.column('calls', 'name')}, "
        f"{db.column('calls', 'subscription_component_name', 'provider')} "
        "FROM calls ORDER BY calls._id")
    for row in db.rows(query, table="calls"):
        yield call_from_row(row, source_app)
    # Deleted calls still in free pages, freeblocks or old WAL frames.
    yield from _comms.recovered(
        db, "calls", ("_id", "number", "date", "duration", "type", "name", "subscription_component_name"),
        lambda row: call_from_row(row, source_app), _comms.call_accept,
        rename={"subscription_component_name": "provider"})


def call_from_row(row, source_app: str) -> Call:
    raw_type = row["type"]
    return Call(
        number=clean(row["number"]),
        direction=CALL_TYPES.get(raw_type, f"{_comms.UNKNOWN}({raw_type})"),
        start_time=unix_ms_iso(row["date"]),
        duration_s=_comms.number(row["duration"]),
        contact_name=clean(row["name"]),
        # Third-party VoIP apps (WhatsApp, Signal...) log through the
        # provider too; the component name says which one.
        call_type=clean(row["provider"]),
        source_app=source_app,
        source_record_id=None if row["_id"] is None else str(row["_id"]),
    )


class AndroidCallLogPlugin(Plugin):
    """Calls from Android's calllog.db (Android 7 and later)."""

    NAME = "android_calllog"
    VERSION = "1.1"   # 1.1: deleted records recovered from free space (recovered, recovered_from)
    DESCRIPTION = "Android call log (calllog.db, calls table)"
    SELECTOR = Selector(globs=(
        "**/com.android.providers.contacts/databases/calllog.db", "calllog.db"))
    SCHEMAS = {"calls": "CallLog provider calls table, Android 7+ calllog.db (all versions)"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is not None and db.require(CALLS_EXPECTED, "calls"):
                yield from read_calls(db, "Android Call Log")
