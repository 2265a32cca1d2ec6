"""Android contacts2.db, calllog.db and mmssms.db plugins."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from comms_testlib import build_db, copy_with_companions, query, run_untouched, unix_ms, unix_s
from traffick_triage.plugin_host import bytes_file_view, run_plugin
from traffick_triage.plugins._comms import Call, Contact, Message
from traffick_triage.plugins.android_calllog import AndroidCallLogPlugin
from traffick_triage.plugins.android_contacts2 import AndroidContacts2Plugin
from traffick_triage.plugins.android_mmssms import AndroidMmsSmsPlugin

# CallLog.Calls.TYPE, written out here rather than imported from the plugin.
DIRECTIONS = {1: "incoming", 2: "outgoing", 3: "missed", 4: "voicemail", 5: "rejected",
              6: "blocked", 7: "answered_externally"}


def of(findings, kind):
    return [finding for finding in findings if isinstance(finding, kind)]


# --- corpus -----------------------------------------------------------------------------

def test_contacts2_corpus_calls_match_sqlite(corpus, tmp_path):
    evidence = corpus / "plaso" / "android" / "contacts2.db"
    reference = copy_with_companions(evidence, tmp_path)
    rows = query(reference, "SELECT _id, number, date, duration, type, name FROM calls ORDER BY _id")

    run = run_untouched(AndroidContacts2Plugin(), evidence)

    calls = of(run.findings, Call)
    assert len(calls) == len(rows) == 3
    first, row = calls[0], rows[0]
    assert first.source_record_id == str(row["_id"]) == "714"
    assert first.number == row["number"] == "5404561685"
    assert first.direction == DIRECTIONS[row["type"]] == "missed"
    assert first.start_time == unix_ms(row["date"]) == "2013-11-06T21:17:16.690000+00:00"
    assert first.duration_s == row["duration"] == 0
    assert first.contact_name == row["name"] == "Barney"
    assert [event.timestamp_desc for event in first.timeline_events()] == ["Call Started"]


def test_contacts2_corpus_contacts_match_sqlite(corpus, tmp_path):
    """This trimmed corpus file has no raw_contacts table and no data rows:
    there is no contact to lose, so 0 contacts and no warning (the warning
    case, data rows without raw_contacts, is test_contacts2_data_without_raw_contacts_warns)."""
    evidence = corpus / "plaso" / "android" / "contacts2.db"
    reference = copy_with_companions(evidence, tmp_path)
    with pytest.raises(sqlite3.OperationalError, match="raw_contacts"):
        query(reference, "SELECT COUNT(*) FROM raw_contacts JOIN data ON data.raw_contact_id = raw_contacts._id")
    assert query(reference, "SELECT COUNT(*) FROM data")[0][0] == 0

    run = run_untouched(AndroidContacts2Plugin(), evidence)

    assert of(run.findings, Contact) == []
    assert run.warnings == []


def test_contacts2_data_without_raw_contacts_warns(tmp_path):
    db = build_db(tmp_path / "contacts2.db", """
        CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY, mimetype TEXT);
        CREATE TABLE data (_id INTEGER PRIMARY KEY, mimetype_id INTEGER, raw_contact_id INTEGER, data1 TEXT);
    """, {"mimetypes": [(1, "vnd.android.cursor.item/phone_v2")], "data": [(1, 1, 7, "+96555550101")]})
    run = run_untouched(AndroidContacts2Plugin(), db)
    assert run.findings == []
    assert len(run.warnings) == 1
    assert "raw_contacts" in run.warnings[0] and "expected tables" in run.warnings[0]
    assert "contacts2.db" in run.warnings[0]


def test_mmssms_corpus_matches_sqlite(corpus, tmp_path):
    evidence = corpus / "plaso" / "android" / "mmssms.db"
    reference = copy_with_companions(evidence, tmp_path)
    sms_rows = query(reference, "SELECT _id, thread_id, address, date, date_sent, read, type, body "
                                "FROM sms ORDER BY _id")
    mms_count = query(reference, "SELECT COUNT(*) FROM pdu")[0][0]

    run = run_untouched(AndroidMmsSmsPlugin(), evidence)

    assert run.warnings == []
    messages = of(run.findings, Message)
    assert len(messages) == len(sms_rows) + mms_count == 9
    # An incoming one (type 1 = inbox), field by field.
    row = next(r for r in sms_rows if r["type"] == 1)
    message = next(m for m in messages if m.source_record_id == f"sms:{row['_id']}")
    assert message.app == "Android SMS"
    assert message.thread_id == str(row["thread_id"])
    assert message.sender == row["address"] == "15555215554"
    assert message.recipients == ()
    assert message.direction == "incoming"
    assert message.body == row["body"] == "What message?"
    assert message.time == unix_ms(row["date"]) == "2013-10-29T17:05:41.303000+00:00"
    assert message.sent_time == unix_ms(row["date_sent"]) == "2013-10-29T17:05:40+00:00"
    assert message.read is bool(row["read"]) is False
    assert message.attachments == 0
    assert message.status == "inbox"
    assert [e.timestamp_desc for e in message.timeline_events()] == ["Message Received"]
    # And a sent one keeps the address as found (with its space and dashes).
    sent = next(m for m in messages if m.source_record_id == "sms:1")
    assert (sent.direction, sent.sender, sent.recipients) == ("outgoing", None, ("1 555-521-5554",))
    assert [e.timestamp_desc for e in sent.timeline_events()] == ["Message Sent"]


# --- synthetic contacts2.db -----------------------------------------------------------------

CONTACTS2_SCHEMA = """
CREATE TABLE accounts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_name TEXT, account_type TEXT, data_set TEXT);
CREATE TABLE contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, name_raw_contact_id INTEGER, lookup TEXT,
    contact_last_updated_timestamp INTEGER);
CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER, sourceid TEXT,
    version INTEGER NOT NULL DEFAULT 1, dirty INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    contact_id INTEGER, display_name TEXT, display_name_alt TEXT);
CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype TEXT NOT NULL);
CREATE TABLE data (_id INTEGER PRIMARY KEY AUTOINCREMENT, package_id INTEGER, mimetype_id INTEGER NOT NULL,
    raw_contact_id INTEGER NOT NULL, is_primary INTEGER NOT NULL DEFAULT 0, data1 TEXT, data2 TEXT, data3 TEXT);
"""


def test_contacts2_synthetic_contacts(tmp_path):
    db = build_db(tmp_path / "contacts2.db", CONTACTS2_SCHEMA, {
        "accounts": [(1, "owner@example.org", "com.google", None)],
        "contacts": [(1, 1, "l1", 1700000000123), (2, 2, "l2", None)],
        "raw_contacts": [(1, 1, None, 1, 0, 0, 1, "محمد العلي", None),
                         (2, 1, None, 1, 0, 1, 2, "Deleted Person", None)],
        "mimetypes": [(1, "vnd.android.cursor.item/phone_v2"), (2, "vnd.android.cursor.item/email_v2"),
                      (3, "vnd.android.cursor.item/name"), (4, "vnd.android.cursor.item/organization")],
        "data": [(1, None, 3, 1, 0, "محمد العلي", "محمد", "العلي"),
                 (2, None, 1, 1, 1, " +965 5555 0101 ", "2", None),
                 (3, None, 1, 1, 0, "5555-0102", "1", None),
                 (4, None, 2, 1, 0, "m.ali@example.org", "1", None),
                 (5, None, 4, 1, 0, "Example Trading Co", None, None),
                 (6, None, 1, 2, 0, "0123", "2", None)],
    })
    run = run_untouched(AndroidContacts2Plugin(), db)

    assert run.warnings == []      # no calls table is normal (Android 7+), not a warning
    first, second = of(run.findings, Contact)
    assert first == Contact(
        name="محمد العلي", phone_numbers=("+965 5555 0101", "5555-0102"), emails=("m.ali@example.org",),
        organisation="Example Trading Co", source_app="Android Contacts", source_record_id="1",
        modified=unix_ms(1700000000123), deleted=False, account="owner@example.org")
    assert [e.timestamp_desc for e in first.timeline_events()] == ["Contact Modified"]
    assert (second.name, second.phone_numbers, second.deleted, second.modified) == (
        "Deleted Person", ("0123",), True, None)


# --- synthetic calllog.db, incl. un-checkpointed WAL ------------------------------------------

CALLLOG_SCHEMA = """
CREATE TABLE calls (_id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, presentation INTEGER NOT NULL DEFAULT 1,
    post_dial_digits TEXT NOT NULL DEFAULT '', via_number TEXT NOT NULL DEFAULT '', date INTEGER, duration INTEGER,
    data_usage INTEGER, type INTEGER, features INTEGER NOT NULL DEFAULT 0, subscription_component_name TEXT,
    subscription_id TEXT, phone_account_address TEXT, phone_account_hidden INTEGER NOT NULL DEFAULT 0,
    sub_id INTEGER DEFAULT -1, new INTEGER, name TEXT, numbertype INTEGER, numberlabel TEXT, countryiso TEXT,
    voicemail_uri TEXT, is_read INTEGER, geocoded_location TEXT, lookup_uri TEXT, matched_number TEXT,
    normalized_number TEXT, photo_id INTEGER NOT NULL DEFAULT 0, photo_uri TEXT, formatted_number TEXT,
    last_modified INTEGER DEFAULT 0);
"""
CALL_COLUMNS = "(number, date, duration, type, name, subscription_component_name)"


def test_calllog_synthetic_all_types(tmp_path):
    db = tmp_path / "calllog.db"
    connection = sqlite3.connect(db)
    connection.executescript(CALLLOG_SCHEMA)
    for kind in range(1, 8):
        connection.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES (?, ?, ?, ?, ?, ?)",
                           (f"+96555550{kind:03d}", 1714550000000 + kind, 10 * kind, kind, None,
                            "com.android.phone/com.android.services.telephony.TelephonyConnectionService"))
    connection.commit()
    connection.close()

    run = run_untouched(AndroidCallLogPlugin(), db)

    assert run.warnings == []
    calls = of(run.findings, Call)
    assert [c.direction for c in calls] == [DIRECTIONS[k] for k in range(1, 8)]
    assert calls[0] == Call(number="+96555550001", direction="incoming", start_time=unix_ms(1714550000001),
                            duration_s=10, contact_name=None,
                            call_type="com.android.phone/com.android.services.telephony.TelephonyConnectionService",
                            source_app="Android Call Log", source_record_id="1")


def test_calllog_reads_uncheckpointed_wal(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    writer = sqlite3.connect(live / "calllog.db")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executescript(CALLLOG_SCHEMA)
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('111', 1714550000000, 5, 1, 'In Main', NULL)")
    writer.commit()
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")        # row 1 now in the main file
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('222', 1714550060000, 6, 2, 'Only In WAL', NULL)")
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('333', 1714550120000, 0, 3, 'Also In WAL', NULL)")
    writer.commit()
    # Seize the files while the writer still holds them open, as on a live phone.
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    evidence = copy_with_companions(live / "calllog.db", evidence_dir)
    writer.close()
    assert (evidence_dir / "calllog.db-wal").stat().st_size > 0

    # Proof the test means something: the main file alone holds only row 1.
    main_only = tmp_path / "main-only"
    main_only.mkdir()
    shutil.copyfile(evidence, main_only / "calllog.db")
    assert query(main_only / "calllog.db", "SELECT COUNT(*) FROM calls")[0][0] == 1

    run = run_untouched(AndroidCallLogPlugin(), evidence)

    assert run.warnings == []
    calls = of(run.findings, Call)
    assert [c.contact_name for c in calls] == ["In Main", "Only In WAL", "Also In WAL"]
    assert calls[1].start_time == unix_ms(1714550060000)
    assert calls[2].direction == "missed"


def test_calllog_without_calls_table_warns(tmp_path):
    db = build_db(tmp_path / "calllog.db", "CREATE TABLE properties (property_key TEXT, property_value TEXT);")
    run = run_untouched(AndroidCallLogPlugin(), db)
    assert run.findings == []
    assert len(run.warnings) == 1 and "expected tables calls(" in run.warnings[0]


def test_calllog_missing_column_warns(tmp_path):
    db = build_db(tmp_path / "calllog.db", "CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, date INTEGER);")
    run = run_untouched(AndroidCallLogPlugin(), db)
    assert run.findings == []
    assert "calls.duration" in run.warnings[0] and "calls.type" in run.warnings[0]


def test_not_sqlite_warns():
    run = run_plugin(AndroidCallLogPlugin(), bytes_file_view(b"not a database at all", "calllog.db"))
    assert run.findings == [] and "not an SQLite database" in run.warnings[0]


# --- synthetic mmssms.db with MMS --------------------------------------------------------------

MMSSMS_SCHEMA = """
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, date INTEGER,
    date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0, status INTEGER DEFAULT -1,
    type INTEGER, reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT,
    locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1, error_code INTEGER DEFAULT 0, creator TEXT,
    seen INTEGER DEFAULT 0);
CREATE TABLE pdu (_id INTEGER PRIMARY KEY AUTOINCREMENT, thread_id INTEGER, date INTEGER, date_sent INTEGER DEFAULT 0,
    msg_box INTEGER, read INTEGER DEFAULT 0, m_id TEXT, sub TEXT, sub_cs INTEGER, ct_t TEXT, m_type INTEGER);
CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, contact_id INTEGER, address TEXT, type INTEGER,
    charset INTEGER);
CREATE TABLE part (_id INTEGER PRIMARY KEY AUTOINCREMENT, mid INTEGER, seq INTEGER DEFAULT 0, ct TEXT, name TEXT,
    chset INTEGER, cd TEXT, fn TEXT, cid TEXT, cl TEXT, ctt_s INTEGER, ctt_t TEXT, _data TEXT, text TEXT);
"""


def test_mmssms_synthetic_mms(tmp_path):
    db = build_db(tmp_path / "mmssms.db", MMSSMS_SCHEMA, {
        "sms": [(1, 7, "+96555550101", None, 1714550000000, 0, 0, 0, -1, 5, 0, None, "not delivered",
                 None, 0, -1, 0, None, 0)],
        "pdu": [(1, 7, 1714550100, 0, 1, 1, "mid1", "Photos", 106, "application/vnd.wap.multipart.related", 132),
                (2, 7, 1714550200, 0, 2, 1, "mid2", None, None, "application/vnd.wap.multipart.related", 128)],
        "addr": [(1, 1, None, "+96555550101", 137, 106), (2, 1, None, "insert-address-token", 151, 106),
                 (3, 2, None, "insert-address-token", 137, 106), (4, 2, None, "+96555550101", 151, 106),
                 (5, 2, None, "+96555550102", 130, 106)],
        "part": [(1, 1, -1, "application/smil", "smil.xml", None, None, None, None, None, None, None, None, "<smil/>"),
                 (2, 1, 0, "image/jpeg", "a.jpg", None, None, None, None, None, None, None, "/data/a.jpg", None),
                 (3, 1, 0, "text/plain", None, 106, None, None, None, None, None, None, None, "مرحبا"),
                 (4, 2, 0, "text/plain", None, 106, None, None, None, None, None, None, None, "see you"),
                 (5, 1, 0, "video/mp4", "b.mp4", None, None, None, None, None, None, None, "/data/b.mp4", None)],
    })
    run = run_untouched(AndroidMmsSmsPlugin(), db)

    assert run.warnings == []
    sms, received, sent = of(run.findings, Message)
    assert (sms.direction, sms.status, sms.recipients, sms.sent_time) == (
        "outgoing", "failed", ("+96555550101",), None)
    assert received == Message(
        app="Android MMS", thread_id="7", sender="+96555550101", recipients=("insert-address-token",),
        direction="incoming", body="مرحبا", time=unix_s(1714550100), read=True, attachments=2,
        subject="Photos", status="inbox", service="MMS", source_record_id="pdu:1")
    assert (sent.direction, sent.recipients, sent.body, sent.attachments) == (
        "outgoing", ("+96555550101", "+96555550102"), "see you", 0)


def test_mmssms_pdu_without_part_warns_but_keeps_sms(tmp_path):
    schema = MMSSMS_SCHEMA.split("CREATE TABLE addr")[0]
    db = build_db(tmp_path / "mmssms.db", schema, {
        "sms": [(1, 1, "123", None, 1714550000000, 0, 0, 1, -1, 1, 0, None, "hi", None, 0, -1, 0, None, 0)]})
    run = run_untouched(AndroidMmsSmsPlugin(), db)
    assert len(run.findings) == 1
    assert "no MMS read" in run.warnings[0] and "addr" in run.warnings[0] and "part" in run.warnings[0]


def test_selectors_match_real_paths():
    assert AndroidContacts2Plugin.SELECTOR.matches(
        "data/data/com.android.providers.contacts/databases/contacts2.db", "application/x-sqlite3", 10)
    assert AndroidCallLogPlugin.SELECTOR.matches("calllog.db", "application/octet-stream", 10)
    assert AndroidMmsSmsPlugin.SELECTOR.matches(
        "/data/user_de/0/com.android.providers.telephony/databases/mmssms.db", "", 10)
    assert not AndroidMmsSmsPlugin.SELECTOR.matches("sdcard/mmssms.db.bak", "", 10)


def test_calllog_wal_without_shm_is_still_read(tmp_path):
    """Some acquisitions keep the -wal but not the -shm: the WAL rows must still be read."""
    live = tmp_path / "live"
    live.mkdir()
    writer = sqlite3.connect(live / "calllog.db")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executescript(CALLLOG_SCHEMA)
    writer.execute(f"INSERT INTO calls {CALL_COLUMNS} VALUES ('444', 1714550000000, 5, 2, 'WAL Only', NULL)")
    writer.commit()
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    evidence = copy_with_companions(live / "calllog.db", evidence_dir)
    writer.close()
    (evidence_dir / "calllog.db-shm").unlink()

    run = run_untouched(AndroidCallLogPlugin(), evidence)

    assert run.warnings == []
    assert [c.contact_name for c in run.findings] == ["WAL Only"]
    assert not (evidence_dir / "calllog.db-shm").exists()    # nothing created beside the evidence
