"""Deleted SQLite records (issue 17, item 4): an mmssms.db with 60 SMS, 40
deleted with secure_delete off and no VACUUM, once in rollback-journal mode
(the rows lie in free-list pages and freeblocks) and once in WAL mode with
the delete not yet checkpointed (the old frames hold them).

The oracle is DC3's sqlite_dissect command-line tool (its SQLite export:
typed values, not CSV text): every record it recovers with an address, a
plausible date and a body, other than a live row, must be a recovered
comms.message of ours with the same fields; our live messages must be what
plain sqlite3 reads; no recovered message may repeat a live one; the
evidence is unchanged (run_untouched).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jsonschema
import pytest

from comms_testlib import run_untouched, unix_ms
from evidence_builders import load_report, scan
from traffick_triage.plugins.android_mmssms import AndroidMmsSmsPlugin
from traffick_triage.sqlite_recovery import affinity, fits_affinity

SMS_SCHEMA = """
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, date INTEGER,
    date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0, status INTEGER DEFAULT -1,
    type INTEGER, reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT,
    locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1, error_code INTEGER DEFAULT 0, creator TEXT,
    seen INTEGER DEFAULT 0);
CREATE TABLE threads (_id INTEGER PRIMARY KEY, date INTEGER, recipient_ids TEXT);
"""
BASE_MS = 1714560000000


def _fill(connection: sqlite3.Connection) -> None:
    pick = random.Random(17)
    for n in range(1, 61):
        body = f"message {n}: " + " ".join(pick.choice(("meet", "harbour", "gate", "passport", "car", "tonight"))
                                           for _ in range(pick.randint(4, 40)))
        connection.execute(
            "INSERT INTO sms (_id, thread_id, address, date, date_sent, read, type, body, seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (n, n % 5 + 1, f"+9655{n:07d}", BASE_MS + n * 61_000, BASE_MS + n * 61_000 - 500, n % 2,
             1 + n % 2, body))


def _delete(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM sms WHERE _id % 3 != 0")       # 40 of 60
    connection.commit()


def build_rollback(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "mmssms.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA secure_delete = OFF")
    connection.executescript(SMS_SCHEMA)
    _fill(connection)
    connection.commit()
    _delete(connection)
    connection.close()
    return path


def build_wal(folder: Path) -> Path:
    """Rows checkpointed into the database, then deleted in WAL frames that
    are not checkpointed: the files are copied while the writer is open."""
    work = folder.parent / (folder.name + "-writer")
    work.mkdir(parents=True)
    folder.mkdir(parents=True)
    path = work / "mmssms.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA secure_delete = OFF")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.executescript(SMS_SCHEMA)
    _fill(connection)
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _delete(connection)
    for suffix in ("", "-wal"):
        shutil.copyfile(str(path) + suffix, folder / ("mmssms.db" + suffix))
    connection.close()
    assert (folder / "mmssms.db-wal").stat().st_size > 0
    return folder / "mmssms.db"


def _text(value) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _plausible_ms(value) -> bool:
    if not isinstance(value, int):
        return False
    return 1990 <= (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=value)).year <= 2100


def dissect_cli(path: Path, out: Path) -> list[dict]:
    """Records sqlite_dissect's command line recovers from ``path`` (and its
    WAL, which it finds beside it): carved ones and ones a WAL commit deleted."""
    tool = shutil.which("sqlite_dissect", path=str(Path(sys.executable).parent)) or shutil.which("sqlite_dissect")
    assert tool, "sqlite_dissect (PyPI sqlite-dissect) is not installed"
    work = out / "input"
    work.mkdir(parents=True)
    for suffix in ("", "-wal"):       # the oracle reads its own copy
        if Path(str(path) + suffix).exists():
            shutil.copyfile(str(path) + suffix, work / ("mmssms.db" + suffix))
    subprocess.run([tool, str(work / "mmssms.db"), "-c", "-f", "-b", "sms", "-d", str(out), "-e", "sqlite"],
                   check=True, capture_output=True, timeout=120)
    (export,) = out.glob("*.db3")
    connection = sqlite3.connect(export)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM sms WHERE sd_operation IN ('Carved', 'Deleted')").fetchall()
    finally:
        connection.close()
    return [dict(row) for row in rows]


def live_sms(path: Path, tmp: Path) -> set[tuple]:
    reference = tmp / "reference"
    reference.mkdir()
    for suffix in ("", "-wal"):
        if Path(str(path) + suffix).exists():
            shutil.copyfile(str(path) + suffix, reference / ("mmssms.db" + suffix))
    connection = sqlite3.connect(reference / "mmssms.db")
    try:
        return set(connection.execute("SELECT address, date, body FROM sms"))
    finally:
        connection.close()


def _address(message) -> str | None:
    return message.sender or next(iter(message.recipients), None)


def _fields(message) -> tuple:
    data = message.to_dict()
    for key in ("recovered", "recovered_from", "source_record_id"):
        data.pop(key)
    return tuple(sorted((key, json.dumps(value)) for key, value in data.items()))


@pytest.fixture(scope="module", params=["rollback", "wal"])
def case(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    path = (build_rollback if request.param == "rollback" else build_wal)(tmp / "evidence")
    run = run_untouched(AndroidMmsSmsPlugin(), path)
    return {"mode": request.param, "path": path, "run": run, "live": live_sms(path, tmp),
            "oracle": dissect_cli(path, tmp / "dissect")}


def test_live_messages_are_what_sqlite_reads(case):
    assert case["run"].warnings == []
    live = [f for f in case["run"].findings if not f.recovered]
    assert len(live) == 20
    expected = {(address, unix_ms(date), body) for address, date, body in case["live"]}
    assert {(_address(m), m.time, m.body) for m in live} == expected
    assert all(m.recovered_from is None for m in live)


def _repeats_live(address, date, body, live) -> bool:
    """Equal to a live row, or a cut-off copy of one (the documented rule)."""
    def copy(found: str, have: str) -> bool:    # cut short, or its last 4 characters overwritten
        return have.startswith(found) or have.endswith(found) or (
            len(found) >= 8 and have.startswith(found[:-4]) and len(found) <= len(have))
    return any(address == a and date == d and copy(body, b) for a, d, b in live)


def test_every_record_sqlite_dissect_recovers_is_reported(case):
    wanted = set()
    for row in case["oracle"]:
        address, date, body = _text(row["address"]), row["date"], _text(row["body"])
        if isinstance(address, str) and address and _plausible_ms(date) and isinstance(body, str) and body \
                and not _repeats_live(address, date, body, case["live"]):
            wanted.add((address, unix_ms(date), body))
    # The fixture is meaningful: most of the 40 deleted messages are findable.
    assert len({body.split(":")[0] for _a, _t, body in wanted}) >= 25, len(wanted)
    recovered = [f for f in case["run"].findings if f.recovered]
    ours = {(_address(m), m.time, m.body) for m in recovered}
    assert wanted <= ours, sorted(wanted - ours)[:3]
    assert all(m.KIND == "comms.message" and m.recovered_from for m in recovered)


def test_no_recovered_message_repeats_a_live_one(case):
    findings = case["run"].findings
    live = {_fields(f) for f in findings if not f.recovered}
    recovered = [_fields(f) for f in findings if f.recovered]
    assert not live & set(recovered)
    assert len(recovered) == len(set(recovered))
    # Every body starts with its row number: a recovered one is a deleted row.
    numbers = {int(match.group(1)) for f in findings if f.recovered
               for match in [re.match(r"message (\d+):", f.body or "")] if match}
    assert numbers and all(number % 3 for number in numbers), sorted(n for n in numbers if not n % 3)


def test_origin_names_the_place(case):
    origins = [f.recovered_from for f in case["run"].findings if f.recovered]
    if case["mode"] == "rollback":
        assert any(origin.startswith("freelist page ") for origin in origins)
        assert any(origin.startswith("freeblock of page ") for origin in origins)
    else:
        # Whole records with their rowid: the ones the WAL commit deleted.
        deleted = [f for f in case["run"].findings if f.recovered and "deleted by WAL commit 1" in f.recovered_from]
        assert len(deleted) == 40
        assert {f.source_record_id for f in deleted} == {f"sms:{n}" for n in range(1, 61) if n % 3}


def test_same_file_same_findings_in_the_same_order(case):
    again = run_untouched(AndroidMmsSmsPlugin(), case["path"])
    assert [f.to_dict() for f in again.findings] == [f.to_dict() for f in case["run"].findings]


def test_recovered_events_say_so(case):
    message = next(f for f in case["run"].findings if f.recovered)
    events = message.timeline_events()
    assert events and all("recovered deleted record" in e.timestamp_desc for e in events)
    assert all(message.recovered_from in e.message for e in events)


def test_value_types_must_fit_the_schema():
    assert affinity("INTEGER") == "INTEGER" and affinity("VARCHAR(20)") == "TEXT" and affinity("") == "BLOB"
    assert fits_affinity(1714560000000, "INTEGER") and fits_affinity(None, "INTEGER")
    assert not fits_affinity("garbage", "INTEGER") and not fits_affinity(b"\x01", "INTEGER")
    assert fits_affinity(b"text as blob", "TEXT") and not fits_affinity(3, "TEXT")


def test_garbage_dates_are_not_reported(case):
    """sqlite_dissect carves cells whose date is not a time (a freeblock
    header read as part of the record); they are not messages."""
    for message in case["run"].findings:
        assert message.time and 1990 <= int(message.time[:4]) <= 2100


def test_scan_marks_recovered_records(tmp_path_factory):
    """Through the CLI: report.json, the page and the timeline tell recovered
    records from live ones."""
    tmp = tmp_path_factory.mktemp("scan")
    path = build_rollback(tmp / "phone" / "data" / "data" / "com.android.providers.telephony" / "databases")
    assert path.exists()
    scan([tmp / "phone"], tmp / "case")
    report = load_report(tmp / "case")
    jsonschema.validate(report, json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text()))
    messages = [f["data"] for f in report["findings"] if f["kind"] == "comms.message"]
    assert sum(not m["recovered"] for m in messages) == 20
    recovered = [m for m in messages if m["recovered"]]
    assert recovered and all(m["recovered_from"] for m in recovered)
    # Counted per route beside the files (issue 17, item 6).
    every_recovered = sum(1 for f in report["findings"] if f["data"].get("recovered"))
    assert report["evidence"][0]["routes"]["recovered record"] == every_recovered >= len(recovered)
    assert report["summary"]["files_by_route"]["recovered record"] == every_recovered
    page = (tmp / "case" / "report.html").read_text(encoding="utf-8")
    assert page.count('class="badge recovered"') >= min(len(recovered), 100)
    assert recovered[0]["recovered_from"] in page
    assert f'<span class="n">{len(recovered)}</span><span class="l">Recovered deleted records</span>' in page
    events = [json.loads(line) for line in (tmp / "case" / "timeline.jsonl").read_text().splitlines()]
    marked = [e for e in events if "recovered deleted record" in e["timestamp_desc"]]
    assert len(marked) == len(recovered)


# -- every mapped table: what sqlite_dissect's CLI recovers, the plugin reports ------------------

def _words(n: int) -> str:
    pick = random.Random(n)
    return " ".join(pick.choice(("meet", "harbour", "gate", "passport", "car", "tonight")) for _ in range(pick.randint(4, 30)))


def _cocoa_ns_plausible(value) -> bool:
    return isinstance(value, int) and 1990 <= 2001 + value / 1e9 / 31_557_600 <= 2100


def _cocoa_s_plausible(value) -> bool:
    return isinstance(value, (int, float)) and 1990 <= 2001 + value / 31_557_600 <= 2100


@dataclass(frozen=True)
class TableCase:
    plugin: type
    schema: str
    table: str
    row: Callable[[int], dict]            # column -> value for row n (1..60)
    key_column: str                       # the column whose value the finding shows ...
    key_of: Callable[[object], object]    # ... as this field of the finding
    time_column: str
    plausible: Callable[[object], bool]
    party_ref: str | None = None          # the unresolved reference a recovered finding carries
    deleted: str = "% 3 != 0"             # which rows are deleted (by rowid)


def _table_cases() -> dict[str, TableCase]:
    from test_plugin_android import CALLLOG_SCHEMA
    from test_plugin_ios import CALLHISTORY_SCHEMA, SMS_SCHEMA as IOS_SMS_SCHEMA
    from test_plugin_whatsapp import CHATSTORAGE_SCHEMA, CURRENT_SCHEMA, LEGACY_SCHEMA, WA_SCHEMA
    from traffick_triage.plugins.android_calllog import AndroidCallLogPlugin
    from traffick_triage.plugins.ios_callhistory import IosCallHistoryPlugin
    from traffick_triage.plugins.ios_sms import IosSmsPlugin
    from traffick_triage.plugins.whatsapp_android_contacts import WhatsAppAndroidContactsPlugin
    from traffick_triage.plugins.whatsapp_android_msgstore import WhatsAppAndroidMsgstorePlugin
    from traffick_triage.plugins.whatsapp_ios_chatstorage import WhatsAppIosChatStoragePlugin

    def body(finding):
        return finding.body
    return {
        "ios_sms": TableCase(
            IosSmsPlugin, IOS_SMS_SCHEMA, "message",
            lambda n: {"guid": f"g{n}", "text": f"imessage {n}: {_words(n)}", "handle_id": 1,
                       "date": (700_000_000 + n * 60) * 1_000_000_000, "is_from_me": n % 2, "service": "iMessage"},
            "text", body, "date", _cocoa_ns_plausible, "handle_id 1"),
        "ios_callhistory": TableCase(
            IosCallHistoryPlugin, CALLHISTORY_SCHEMA, "ZCALLRECORD",
            lambda n: {"Z_PK": n, "ZANSWERED": 1, "ZORIGINATED": 0, "ZCALLTYPE": 1, "ZDATE": 700_000_000.5 + n * 60,
                       "ZDURATION": 10.0 + n, "ZNAME": f"caller {n} {_words(n)}", "ZADDRESS": f"+9656{n:07d}"},
            "ZADDRESS", lambda f: f.number, "ZDATE", _cocoa_s_plausible),
        "android_calllog": TableCase(
            AndroidCallLogPlugin, CALLLOG_SCHEMA, "calls",
            lambda n: {"number": f"+9657{n:07d}", "date": BASE_MS + n * 61_000, "duration": n, "type": 1 + n % 3,
                       "name": f"name {n} {_words(n)}"},
            # Every third row deleted leaves freeblocks sqlite_dissect finds few
            # of in this wide table; 40 rows in a row free whole pages.
            "number", lambda f: f.number, "date", _plausible_ms, deleted="<= 40"),
        "whatsapp_legacy": TableCase(
            WhatsAppAndroidMsgstorePlugin, LEGACY_SCHEMA, "messages",
            lambda n: {"key_remote_jid": f"9655{n:07d}@s.whatsapp.net", "key_from_me": 0, "key_id": f"k{n}",
                       "status": 0, "data": f"wa {n}: {_words(n)}", "timestamp": BASE_MS + n * 61_000},
            "data", body, "timestamp", _plausible_ms),
        "whatsapp_current": TableCase(
            WhatsAppAndroidMsgstorePlugin, CURRENT_SCHEMA, "message",
            lambda n: {"chat_row_id": 1, "from_me": 0, "key_id": f"k{n}", "timestamp": BASE_MS + n * 61_000,
                       "message_type": 0, "text_data": f"wa {n}: {_words(n)}"},
            "text_data", body, "timestamp", _plausible_ms, "chat_row_id 1"),
        "whatsapp_ios": TableCase(
            WhatsAppIosChatStoragePlugin, CHATSTORAGE_SCHEMA, "ZWAMESSAGE",
            lambda n: {"Z_PK": n, "ZISFROMME": 0, "ZMESSAGETYPE": 0, "ZCHATSESSION": 1,
                       "ZMESSAGEDATE": 700_000_000.25 + n * 60, "ZFROMJID": f"9655{n:07d}@s.whatsapp.net",
                       "ZTEXT": f"wa ios {n}: {_words(n)}"},
            "ZTEXT", body, "ZMESSAGEDATE", _cocoa_s_plausible, "ZCHATSESSION 1"),
        "wa_contacts": TableCase(
            WhatsAppAndroidContactsPlugin, WA_SCHEMA, "wa_contacts",
            lambda n: {"jid": f"9658{n:07d}@s.whatsapp.net", "is_whatsapp_user": 1, "number": f"+9658{n:07d}",
                       "display_name": f"contact {n} {_words(n)}", "status_timestamp": BASE_MS + n},
            "display_name", lambda f: f.name, "status_timestamp", _plausible_ms),
    }


def _build_table(path: Path, case: TableCase) -> Path:
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA secure_delete = OFF")
    connection.executescript(case.schema)
    if case.table == "message" and "chat_row_id" in case.schema:    # WhatsApp's own rows the live read needs
        connection.execute("INSERT INTO jid (_id, user, server, raw_string) VALUES (1, '96550000001', "
                           "'s.whatsapp.net', '96550000001@s.whatsapp.net')")
        connection.execute("INSERT INTO chat (_id, jid_row_id) VALUES (1, 1)")
    if case.table == "ZWAMESSAGE":
        connection.execute("INSERT INTO ZWACHATSESSION (Z_PK, ZCONTACTJID) VALUES (1, '96550000001@s.whatsapp.net')")
    for n in range(1, 61):
        values = case.row(n)
        connection.execute(f"INSERT INTO {case.table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                           tuple(values.values()))
    connection.commit()
    key = "Z_PK" if case.table.startswith("Z") else ("ROWID" if case.table == "message" and "guid" in case.schema
                                                       else "_id")
    connection.execute(f"DELETE FROM {case.table} WHERE {key} {case.deleted}")
    connection.commit()
    connection.close()
    return path


def _dissect_table(path: Path, table: str, out: Path) -> list[dict]:
    tool = shutil.which("sqlite_dissect", path=str(Path(sys.executable).parent)) or shutil.which("sqlite_dissect")
    work = out / "input"
    work.mkdir(parents=True)
    shutil.copyfile(path, work / path.name)
    subprocess.run([tool, str(work / path.name), "-c", "-f", "-b", table, "-d", str(out), "-e", "sqlite"],
                   check=True, capture_output=True, timeout=120)
    (export,) = out.glob("*.db3")
    connection = sqlite3.connect(export)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(
            f'SELECT * FROM "{table}" WHERE sd_operation IN (\'Carved\', \'Deleted\')')]
    finally:
        connection.close()


@pytest.mark.parametrize("name", sorted(_table_cases()))
def test_each_mapped_table_reports_what_sqlite_dissect_recovers(tmp_path, name):
    case = _table_cases()[name]
    path = _build_table(tmp_path / "evidence" / "store.db", case)
    run = run_untouched(case.plugin(), path)
    assert run.warnings == []
    connection = sqlite3.connect(path)
    try:
        live = [(_text(value), when) for value, when in connection.execute(
            f"SELECT {case.key_column}, {case.time_column} FROM {case.table}")]
    finally:
        connection.close()
    live_found = [f for f in run.findings if not f.recovered]
    assert sorted(map(str, (case.key_of(f) for f in live_found))) == sorted(str(value) for value, _ in live)

    def repeats_live(value: str, when) -> bool:
        """A copy of a live row (same time): cut short, or its last 4 characters overwritten."""
        return any(when == had and (have.startswith(value) or have.endswith(value)
                                    or (len(value) >= 8 and have.startswith(value[:-4]))) for have, had in live)
    wanted = set()
    for row in _dissect_table(path, case.table, tmp_path / "dissect"):
        value, when = _text(row[case.key_column]), row[case.time_column]
        if isinstance(value, str) and value and case.plausible(when) and not repeats_live(value, when):
            wanted.add(value)
    assert len(wanted) >= 10, wanted
    recovered = [f for f in run.findings if f.recovered]
    assert wanted <= {case.key_of(f) for f in recovered}, sorted(wanted - {case.key_of(f) for f in recovered})[:3]
    assert all(f.recovered_from for f in recovered)
    if case.party_ref:
        assert {f.party_ref for f in recovered} == {case.party_ref}


# -- bounds: over a bound, one warning; the live rows still come ----------------------------------

@pytest.fixture(scope="module")
def rollback_db(tmp_path_factory) -> Path:
    return build_rollback(tmp_path_factory.mktemp("bounds") / "evidence")


def _with_bounds(monkeypatch, **limits):
    from traffick_triage import sqlite_recovery

    real = sqlite_recovery.run_worker
    monkeypatch.setattr(sqlite_recovery, "run_worker",
                        lambda path, table, _bounds: real(path, table, sqlite_recovery.RecoveryBounds(**limits)))


@pytest.mark.parametrize("limits,said", [
    ({"max_bytes": 4096}, "over the recovery budget"),
    ({"wall_seconds": 0.001}, "stopped after"),
    ({"max_memory": 16 << 20}, "deleted records not searched"),
])
def test_a_bound_is_one_warning_and_live_rows_still_come(rollback_db, monkeypatch, limits, said):
    _with_bounds(monkeypatch, **limits)
    run = run_untouched(AndroidMmsSmsPlugin(), rollback_db)
    assert len(run.warnings) == 1 and said in run.warnings[0], run.warnings
    assert "table sms" in run.warnings[0] and not re.search(r"\w+(Error|Exception)\b|Traceback", run.warnings[0])
    assert sum(not f.recovered for f in run.findings) == 20


def test_candidate_cap_keeps_the_first(rollback_db, monkeypatch):
    _with_bounds(monkeypatch, max_records=5)
    run = run_untouched(AndroidMmsSmsPlugin(), rollback_db)
    assert len(run.warnings) == 1 and "more than 5" in run.warnings[0]
    assert sum(not f.recovered for f in run.findings) == 20
    assert sum(f.recovered for f in run.findings) <= 5


def test_without_sqlite_dissect_one_warning(rollback_db, monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlite_dissect", None)      # import fails
    run = run_untouched(AndroidMmsSmsPlugin(), rollback_db)
    assert len(run.warnings) == 1 and "sqlite-dissect is not installed" in run.warnings[0]
    assert [f.recovered for f in run.findings] == [False] * 20


@pytest.mark.parametrize("seed", [8, 17, 19, 27, 37])
def test_damaged_pages_are_at_most_one_warning(rollback_db, tmp_path, seed):
    """Bytes of the table's pages overwritten (seeds where sqlite_dissect
    itself fails or misreads): the search is one warning in words at most,
    and whatever the live read gets still comes."""
    pick = random.Random(seed)
    data = bytearray(rollback_db.read_bytes())
    for _ in range(pick.randint(1, 12)):
        at = pick.randrange(4096, len(data) - 8)
        size = pick.randint(1, 8)
        data[at:at + size] = bytes(pick.randrange(256) for _ in range(size))
    damaged = tmp_path / "mmssms.db"
    damaged.write_bytes(bytes(data))
    run = run_untouched(AndroidMmsSmsPlugin(), damaged)
    searched = [w for w in run.warnings if "deleted records" in w or "deleted-record" in w]
    assert len(searched) <= 1
    assert not any(re.search(r"\b\w+(Error|Exception)\b|Traceback", w) for w in run.warnings), run.warnings
    for finding in run.findings:
        assert finding.recovered == bool(finding.recovered_from)
