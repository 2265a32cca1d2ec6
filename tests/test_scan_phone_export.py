"""A synthetic phone export (ZIP) with databases at their real Android paths,
a WAL-mode call log with un-checkpointed rows and a multi-card vCard, scanned
end to end: exactly the planted contacts, calls and messages (WAL rows
included), the export unchanged; and one subscriber written five ways on two
devices is one row of the identifier index."""

from __future__ import annotations

import hashlib
import sqlite3
import zipfile
from pathlib import Path

from evidence_builders import load_report, scan
from test_plugin_android import CALL_COLUMNS, CALLLOG_SCHEMA

CALLS_DIR = "data/data/com.android.providers.contacts/databases/"
SMS_PATH = "data/data/com.android.providers.telephony/databases/mmssms.db"

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D8=B3=D8=A7=D8=B1=D8=A9;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D8=B3=D8=A7=D8=B1=D8=A9\r\nTEL;CELL:00965 5123 4567\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Recruiter Sam\r\nTEL;TYPE=CELL:+20 100 123 4567\r\n"
    "EMAIL:sam@example.org\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:محمد العلي\r\nTEL;VALUE=uri:tel:+965-5123-4567\r\nEND:VCARD\r\n"
)


def _wal_calllog(workdir: Path) -> dict[str, bytes]:
    """calllog.db + -wal + -shm seized while the writer still had them open."""
    live = workdir / "live"
    live.mkdir()
    writer = sqlite3.connect(live / "calllog.db")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executescript(CALLLOG_SCHEMA)
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('+96551234567', 1714550000000, 5, 1, 'Checkpointed', NULL)")
    writer.commit()
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('51234567', 1714550060000, 6, 2, 'Only In WAL', NULL)")
    writer.commit()
    files = {name: (live / name).read_bytes() for name in ("calllog.db", "calllog.db-wal", "calllog.db-shm")}
    writer.close()
    return files


def _sms_db(path: Path) -> bytes:
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, "
                     "date_sent INTEGER, read INTEGER, type INTEGER, body TEXT, seen INTEGER);")
    db.execute("INSERT INTO sms VALUES (1, 1, '(+965) 5123-4567', 1714560000000, 1714560000000, 1, 1, "
               "'Your passport stays with me', 1)")
    db.execute("INSERT INTO sms VALUES (2, 1, '+965 5123 4567', 1714563600000, 1714563600000, 1, 2, 'Ok', 1)")
    db.commit()
    db.close()
    return path.read_bytes()


def test_phone_export_and_one_subscriber_across_devices(tmp_path):
    members = {CALLS_DIR + name: data for name, data in _wal_calllog(tmp_path).items()}
    members[SMS_PATH] = _sms_db(tmp_path / "mmssms.db")
    members["sdcard/Download/contacts.vcf"] = VCARDS.encode("utf-8")
    phone = tmp_path / "phone.zip"
    with zipfile.ZipFile(phone, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    # Arabic-Indic digits, the way a ledger typed on an Arabic keyboard holds them.
    (laptop / "ledger.txt").write_text("دفعة ٣٠٠ دينار - هاتف ٥١٢٣٤٥٦٧\n", encoding="utf-8")
    before = hashlib.sha256(phone.read_bytes()).hexdigest()

    scan([phone, laptop], tmp_path / "case", "--region", "KW", expect_exit=0)
    assert hashlib.sha256(phone.read_bytes()).hexdigest() == before
    report = load_report(tmp_path / "case")

    calls = [f["data"] for f in report["findings"] if f["kind"] == "comms.call"]
    assert sorted(c["contact_name"] for c in calls) == ["Checkpointed", "Only In WAL"]
    messages = [f["data"] for f in report["findings"] if f["kind"] == "comms.message"]
    assert sorted((m["direction"], m["body"]) for m in messages) == [
        ("incoming", "Your passport stays with me"), ("outgoing", "Ok")]
    contacts = [f["data"] for f in report["findings"] if f["kind"] == "comms.contact"]
    assert sorted(c["name"] for c in contacts) == sorted(["سارة", "Recruiter Sam", "محمد العلي"])
    assert all(f["locator"].startswith("phone.zip > ") for f in report["findings"]
               if f["kind"].startswith("comms."))

    rows = [r for r in report["identifier_index"] if r["kind"] == "phone" and r["value"] == "+96551234567"]
    assert len(rows) == 1, report["identifier_index"]
    [row] = rows
    assert {s["evidence_id"] for s in row["sources"]} == {"E1", "E2"}
    located = {s["locator"] for s in row["sources"]}
    assert "laptop > /ledger.txt" in located
    assert {"phone.zip > " + CALLS_DIR + "calllog.db", "phone.zip > " + SMS_PATH,
            "phone.zip > sdcard/Download/contacts.vcf"} <= located
