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
from pathlib import Path

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
    page = (tmp / "case" / "report.html").read_text(encoding="utf-8")
    assert page.count('class="badge recovered"') >= min(len(recovered), 100)
    assert recovered[0]["recovered_from"] in page
    events = [json.loads(line) for line in (tmp / "case" / "timeline.jsonl").read_text().splitlines()]
    marked = [e for e in events if "recovered deleted record" in e["timestamp_desc"]]
    assert len(marked) == len(recovered)
