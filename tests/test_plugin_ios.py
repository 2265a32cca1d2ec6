"""iOS/macOS sms.db/chat.db, AddressBook.sqlitedb and CallHistory.storedata plugins."""

from __future__ import annotations

from comms_testlib import build_db, cocoa_ns, cocoa_s, copy_with_companions, query, run_untouched
from traffick_triage.plugins._comms import Call, Contact, Message
from traffick_triage.plugins.ios_addressbook import IosAddressBookPlugin
from traffick_triage.plugins.ios_callhistory import IosCallHistoryPlugin
from traffick_triage.plugins.ios_sms import IosSmsPlugin, text_from_attributed_body


# --- corpus chat.db ------------------------------------------------------------------------

def test_imessage_corpus_matches_sqlite(corpus, tmp_path):
    evidence = corpus / "plaso" / "sqlite" / "imessage_chat.db"
    reference = copy_with_companions(evidence, tmp_path)
    count = query(reference, "SELECT COUNT(*) FROM message")[0][0]
    row = query(reference, """
        SELECT message.ROWID, message.text, message.date, message.date_read, message.is_from_me,
               message.is_read, message.service, message.account, handle.id AS handle, chat.guid AS chat_guid,
               (SELECT COUNT(*) FROM message_attachment_join j WHERE j.message_id = message.ROWID) AS attachments
        FROM message JOIN handle ON handle.ROWID = message.handle_id
        JOIN chat_message_join ON chat_message_join.message_id = message.ROWID
        JOIN chat ON chat.ROWID = chat_message_join.chat_id
        WHERE message.ROWID = 1""")[0]

    run = run_untouched(IosSmsPlugin(), evidence)

    assert run.warnings == []
    messages = [f for f in run.findings if isinstance(f, Message)]
    assert len(messages) == count == 10
    message = next(m for m in messages if m.source_record_id == "1")
    assert message.app == "iOS Messages"
    assert message.thread_id == row["chat_guid"] == "iMessage;-;+447775446518"
    assert message.sender == row["handle"] == "447775455555"
    assert message.recipients == ()
    assert message.direction == "incoming" and row["is_from_me"] == 0
    assert message.body == row["text"] and message.body.startswith("Hey Kenneth")
    # 469908586 s after 2001-01-01 (Cocoa seconds in this macOS 10.11 database).
    assert message.time == cocoa_s(row["date"]) == "2015-11-22T18:09:46+00:00"
    assert message.read_time == cocoa_s(row["date_read"]) == "2015-11-22T18:13:22+00:00"
    assert message.read is True and row["is_read"] == 1
    assert message.attachments == row["attachments"] == 0
    assert message.account == row["account"] == "e:ken.doh@icloud.com"
    assert message.service == row["service"] == "iMessage"
    assert [e.timestamp_desc for e in message.timeline_events()] == ["Message Received", "Message Read"]

    sent = next(m for m in messages if m.source_record_id == "2")
    assert (sent.direction, sent.sender, sent.recipients) == ("outgoing", None, ("447775455555",))


# --- synthetic sms.db (iOS 11+: nanosecond dates, attributedBody) ---------------------------

SMS_SCHEMA = """
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT,
    service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT);
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER,
    state INTEGER, account_id TEXT, chat_identifier TEXT, service_name TEXT, room_name TEXT, display_name TEXT);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT,
    handle_id INTEGER DEFAULT 0, subject TEXT, attributedBody BLOB, service TEXT, account TEXT, date INTEGER,
    date_read INTEGER, date_delivered INTEGER, is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0,
    cache_has_attachments INTEGER DEFAULT 0);
CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, message_date INTEGER DEFAULT 0,
    PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_handle_join (chat_id INTEGER, handle_id INTEGER, UNIQUE(chat_id, handle_id));
CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER, UNIQUE(message_id, attachment_id));
"""

# An NSAttributedString typedstream as macOS 13+ writes it (body only there).
ATTRIBUTED = (b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84"
              b"\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+"
              + bytes([len("نلتقي غدا".encode())]) + "نلتقي غدا".encode() + b"\x86\x84\x02iI\x01\x12\x92")


def test_sms_db_synthetic_nanoseconds_group_and_attributed_body(tmp_path):
    ns = 735000000 * 10**9 + 123456000          # 2024-04-16, iOS 11+ nanoseconds
    db = build_db(tmp_path / "sms.db", SMS_SCHEMA, {
        "handle": [(1, "+96555550101", "kw", "SMS", None, None), (2, "friend@example.org", "kw", "iMessage", None, None)],
        "chat": [(1, "iMessage;+;chat123", 43, 3, None, "chat123", "iMessage", "chat123", "Group")],
        "message": [(1, "G1", None, 2, None, ATTRIBUTED, "iMessage", "p:+96555550100", ns, 0, 0, 0, 0, 0),
                    (2, "G2", "photo", 0, None, None, "iMessage", "p:+96555550100", ns + 10**9, 0, 0, 1, 1, 1)],
        "chat_message_join": [(1, 1, ns), (1, 2, ns)],
        "chat_handle_join": [(1, 1), (1, 2)],
        "message_attachment_join": [(2, 1), (2, 2)],
    })
    run = run_untouched(IosSmsPlugin(), db)

    assert run.warnings == []
    received, sent = run.findings
    assert received == Message(
        app="iOS Messages", thread_id="iMessage;+;chat123", sender="friend@example.org", recipients=(),
        direction="incoming", body="نلتقي غدا", time=cocoa_ns(ns), read=False, attachments=0,
        account="p:+96555550100", service="iMessage", source_record_id="1")
    assert received.time == "2024-04-16T22:40:00.123456+00:00"
    assert sent.recipients == ("+96555550101", "friend@example.org")
    assert (sent.direction, sent.attachments, sent.body) == ("outgoing", 2, "photo")


def test_attributed_body_long_length_prefix():
    text = "x" * 300
    blob = b"\x84\x08NSString\x01\x94\x84\x01+\x81" + (300).to_bytes(2, "little") + text.encode() + b"\x86"
    assert text_from_attributed_body(blob) == text
    assert text_from_attributed_body(b"no string here") is None


def test_sms_db_missing_tables_warns(tmp_path):
    db = build_db(tmp_path / "sms.db", "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT);")
    run = run_untouched(IosSmsPlugin(), db)
    assert run.findings == []
    # chat and chat_message_join are optional (partial sms.db copies lack them).
    assert "handle" in run.warnings[0] and "message.date" in run.warnings[0]


# --- synthetic AddressBook.sqlitedb -----------------------------------------------------------

ADDRESSBOOK_SCHEMA = """
CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT,
    FirstPhonetic TEXT, MiddlePhonetic TEXT, LastPhonetic TEXT, Organization TEXT, Department TEXT, Note TEXT,
    Kind INTEGER, Birthday TEXT, JobTitle TEXT, Nickname TEXT, Prefix TEXT, Suffix TEXT, FirstSort TEXT,
    LastSort TEXT, CreationDate INTEGER, ModificationDate INTEGER, CompositeNameFallback TEXT);
CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, identifier INTEGER,
    label INTEGER, value TEXT, guid TEXT);
CREATE TABLE ABMultiValueLabel (value TEXT, UNIQUE(value));
"""


def test_addressbook_synthetic(tmp_path):
    none13 = (None,) * 10
    db = build_db(tmp_path / "AddressBook.sqlitedb", ADDRESSBOOK_SCHEMA, {
        "ABPerson": [(1, "محمد", "العلي", None, None, None, None, "Example Trading Co") + none13[:10]
                     + (700000000, 700100000, None),
                     (2, None, None, None, None, None, None, "Only A Company") + none13[:10] + (0, 0, None)],
        "ABMultiValue": [(1, 1, 3, 0, 1, "+965 5555 0101", "g1"), (2, 1, 4, 0, 2, "m.ali@example.org", "g2"),
                         (3, 1, 3, 1, 1, "5555 0102", "g3"), (4, 2, 3, 0, 1, "(555) 0103", "g4"),
                         (5, 1, 22, 0, 3, "https://example.org", "g5")],
        "ABMultiValueLabel": [("_$!<Mobile>!$_",), ("_$!<Home>!$_",), ("_$!<HomePage>!$_",)],
    })
    run = run_untouched(IosAddressBookPlugin(), db)

    assert run.warnings == []
    first, second = run.findings
    assert first == Contact(
        name="محمد العلي", phone_numbers=("+965 5555 0101", "5555 0102"), emails=("m.ali@example.org",),
        organisation="Example Trading Co", source_app="iOS Contacts", source_record_id="1",
        created=cocoa_s(700000000), modified=cocoa_s(700100000))
    assert [e.timestamp_desc for e in first.timeline_events()] == ["Contact Created", "Contact Modified"]
    assert (second.name, second.organisation, second.phone_numbers, second.created) == (
        None, "Only A Company", ("(555) 0103",), None)


# --- synthetic CallHistory.storedata --------------------------------------------------------------

CALLHISTORY_SCHEMA = """
CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER,
    ZCALLTYPE INTEGER, ZDISCONNECTED_CAUSE INTEGER, ZFACE_TIME_DATA INTEGER, ZNUMBER_AVAILABILITY INTEGER,
    ZORIGINATED INTEGER, ZREAD INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZDEVICE_ID VARCHAR,
    ZISO_COUNTRY_CODE VARCHAR, ZLOCATION VARCHAR, ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR,
    ZUNIQUE_ID VARCHAR, ZADDRESS BLOB);
"""


def test_callhistory_synthetic(tmp_path):
    db = build_db(tmp_path / "CallHistory.storedata", CALLHISTORY_SCHEMA, {
        "ZCALLRECORD": [
            (1, 2, 1, 1, 1, 0, None, 0, 0, 1, 700000000.5, 61.25, None, "kw", "Kuwait", "أحمد",
             "com.apple.Telephony", "U1", "+965 5555 0101".encode()),
            (2, 2, 1, 0, 1, 0, None, 0, 1, 1, 700000100.0, 0.0, None, "kw", None, None,
             "com.apple.Telephony", "U2", "+96555550102"),
            (3, 2, 1, 0, 1, 0, None, 0, 0, 0, 700000200.0, 0.0, None, "kw", None, None,
             "net.whatsapp.WhatsApp", "U3", "+96555550103"),
            (4, 2, 1, 1, 8, 0, None, 0, 0, 1, 700000300.0, 12.0, None, "kw", None, None,
             "com.apple.FaceTime", "U4", "friend@example.org"),
        ]})
    run = run_untouched(IosCallHistoryPlugin(), db)

    assert run.warnings == []
    calls = [f for f in run.findings if isinstance(f, Call)]
    assert calls[0] == Call(number="+965 5555 0101", direction="incoming", start_time=cocoa_s(700000000.5),
                            duration_s=61.25, contact_name="أحمد", call_type="phone",
                            source_app="iOS Call History", source_record_id="1")
    assert calls[0].start_time == "2023-03-08T20:26:40.500000+00:00"
    assert [(c.direction, c.call_type) for c in calls[1:]] == [
        ("outgoing", "phone"), ("missed", "net.whatsapp.WhatsApp"), ("incoming", "facetime_video")]


def test_callhistory_missing_table_warns(tmp_path):
    db = build_db(tmp_path / "CallHistory.storedata", "CREATE TABLE Z_METADATA (Z_VERSION INTEGER);")
    run = run_untouched(IosCallHistoryPlugin(), db)
    assert run.findings == [] and "ZCALLRECORD" in run.warnings[0]


def test_ios_selectors():
    assert IosSmsPlugin.SELECTOR.matches("private/var/mobile/Library/SMS/sms.db", "", 1)
    assert IosSmsPlugin.SELECTOR.matches("Users/x/Library/Messages/chat.db", "", 1)
    assert IosAddressBookPlugin.SELECTOR.matches(
        "private/var/mobile/Library/AddressBook/AddressBook.sqlitedb", "", 1)
    assert IosCallHistoryPlugin.SELECTOR.matches(
        "private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", "", 1)
