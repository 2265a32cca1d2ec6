"""WhatsApp plugins: Android msgstore.db (current and legacy) and wa.db,
iOS ChatStorage.sqlite, ContactsV2.sqlite and CallHistory.sqlite. All
databases synthetic (the real ones are in test_real_devices.py)."""

from __future__ import annotations

import sqlite3

from comms_testlib import build_db, cocoa_s, copy_with_companions, run_untouched, unix_ms
from traffick_triage.plugins._comms import Call, ChatEvent, Contact, Message
from traffick_triage.plugins.whatsapp_android_contacts import WhatsAppAndroidContactsPlugin
from traffick_triage.plugins.whatsapp_android_msgstore import WhatsAppAndroidMsgstorePlugin
from traffick_triage.plugins.whatsapp_ios_chatstorage import WhatsAppIosChatStoragePlugin
from traffick_triage.plugins.whatsapp_ios_callhistory import WhatsAppIosCallHistoryPlugin
from traffick_triage.plugins.whatsapp_ios_contacts import WhatsAppIosContactsPlugin

PEER = "96555550101@s.whatsapp.net"
MEMBER = "96555550102@s.whatsapp.net"
GROUP = "96555550100-1700000000@g.us"

# --- Android msgstore.db, current schema ----------------------------------------------------

CURRENT_SCHEMA = """
CREATE TABLE jid (_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL,
    agent INTEGER, device INTEGER, type INTEGER, raw_string TEXT);
CREATE TABLE chat (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER UNIQUE, hidden INTEGER,
    subject TEXT, created_timestamp INTEGER, display_message_row_id INTEGER, last_message_row_id INTEGER,
    archived INTEGER, sort_timestamp INTEGER);
CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL, from_me INTEGER NOT NULL,
    key_id TEXT NOT NULL, sender_jid_row_id INTEGER, status INTEGER, broadcast INTEGER, recipient_count INTEGER,
    participant_hash TEXT, origination_flags INTEGER, origin INTEGER, timestamp INTEGER,
    received_timestamp INTEGER, receipt_server_timestamp INTEGER, message_type INTEGER, text_data TEXT,
    starred INTEGER, lookup_tables INTEGER, sort_id INTEGER NOT NULL DEFAULT 0);
CREATE TABLE message_media (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER, file_path TEXT,
    file_size INTEGER, mime_type TEXT, media_name TEXT, media_caption TEXT, media_duration INTEGER);
"""


def _current_db(path):
    return build_db(path, CURRENT_SCHEMA, {
        "jid": [(1, "96555550101", "s.whatsapp.net", 0, 0, 0, PEER),
                (2, "96555550100-1700000000", "g.us", 0, 0, 1, GROUP),
                (3, "96555550102", "s.whatsapp.net", 0, 0, 0, MEMBER)],
        "chat": [(1, 1, 0, None, 1700000000000, 3, 3, 0, 0), (2, 2, 0, "Trip", 1700000000000, 4, 4, 0, 0)],
        "message": [(1, 1, 0, "K1", None, 0, 0, 0, None, 0, 0, 1714550000123, 1714550000500, 0, 0,
                     "السلام عليكم", 0, 0, 1),
                    (2, 1, 1, "K2", None, 13, 0, 0, None, 0, 0, 1714550060000, 0, 0, 0, "hello", 0, 0, 2),
                    (3, 1, 1, "K3", None, 13, 0, 0, None, 0, 0, 1714550120000, 0, 0, 1, None, 0, 0, 3),
                    (4, 2, 0, "K4", 3, 0, 0, 0, None, 0, 0, 1714550180000, 0, 0, 0, "group hi", 0, 0, 4)],
        "message_media": [(3, 1, "Media/WhatsApp Images/IMG-1.jpg", 1000, "image/jpeg", None, "a caption", 0)],
    })


def test_msgstore_current_schema(tmp_path):
    db = _current_db(tmp_path / "msgstore.db")
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)

    assert run.warnings == []
    incoming, outgoing, media, group = run.findings
    assert incoming == Message(app="WhatsApp", thread_id=PEER, sender=PEER, recipients=(), direction="incoming",
                               body="السلام عليكم", time=unix_ms(1714550000123), read=None, attachments=0,
                               source_record_id="1")
    assert [e.timestamp_desc for e in incoming.timeline_events()] == ["Message Received"]
    assert (outgoing.direction, outgoing.sender, outgoing.recipients, outgoing.body) == (
        "outgoing", None, (PEER,), "hello")
    assert [e.timestamp_desc for e in outgoing.timeline_events()] == ["Message Sent"]
    assert (media.attachments, media.body) == (1, "a caption")
    assert (group.thread_id, group.sender, group.direction) == (GROUP, MEMBER, "incoming")


def test_msgstore_wal_rows_are_read(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    db = _current_db(live / "msgstore.db")
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO message (chat_row_id, from_me, key_id, timestamp, text_data) "
                   "VALUES (1, 0, 'K5', 1714550240000, 'only in the WAL')")
    writer.commit()
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    evidence = copy_with_companions(db, evidence_dir)
    writer.close()

    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), evidence)
    assert run.findings[-1].body == "only in the WAL"
    assert len(run.findings) == 5


# --- Android msgstore.db, legacy schema --------------------------------------------------------

LEGACY_SCHEMA = """
CREATE TABLE messages (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT NOT NULL, key_from_me INTEGER,
    key_id TEXT NOT NULL, status INTEGER, needs_push INTEGER, data TEXT, timestamp INTEGER, media_url TEXT,
    media_mime_type TEXT, media_wa_type TEXT, media_size INTEGER, media_name TEXT, media_caption TEXT,
    media_hash TEXT, media_duration INTEGER, origin INTEGER, latitude REAL, longitude REAL, thumb_image TEXT,
    remote_resource TEXT, received_timestamp INTEGER, send_timestamp INTEGER, receipt_server_timestamp INTEGER,
    receipt_device_timestamp INTEGER, read_device_timestamp INTEGER, played_device_timestamp INTEGER,
    raw_data BLOB, recipient_count INTEGER);
CREATE TABLE chat_list (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT UNIQUE, message_table_id INTEGER);
"""


def _legacy_row(rowid, jid, from_me, data, timestamp, wa_type, caption, resource):
    return (rowid, jid, from_me, f"K{rowid}", 0, 0, data, timestamp, None, None, wa_type, 0, None, caption,
            None, 0, 0, 0.0, 0.0, None, resource, 0, 0, 0, 0, 0, 0, None, 0)


def test_msgstore_legacy_schema(tmp_path):
    db = build_db(tmp_path / "msgstore.db", LEGACY_SCHEMA, {"messages": [
        _legacy_row(1, PEER, 0, "hi there", 1500000000000, 0, None, None),
        _legacy_row(2, PEER, 1, None, 1500000060000, 1, "look", None),
        _legacy_row(3, GROUP, 0, "in the group", 1500000120000, 0, None, MEMBER),
    ]})
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)

    assert run.warnings == []
    first, second, third = run.findings
    assert first == Message(app="WhatsApp", thread_id=PEER, sender=PEER, recipients=(), direction="incoming",
                            body="hi there", time=unix_ms(1500000000000), attachments=0, source_record_id="1")
    # media_wa_type is declared TEXT in old databases: "1" must still count as an image.
    assert (second.direction, second.recipients, second.body, second.attachments) == (
        "outgoing", (PEER,), "look", 1)
    assert (third.thread_id, third.sender) == (GROUP, MEMBER)


def test_msgstore_legacy_placeholder_system_and_call_rows(tmp_path):
    """Row 1 is WhatsApp's placeholder; status 6 rows are system rows (an
    encryption notice, action 19) or, with media_wa_type 8, calls."""
    def row(rowid, jid, from_me, status, data, wa_type, size, duration, caption):
        values = list(_legacy_row(rowid, jid, from_me, data, 1500000000000 + rowid, wa_type, caption, None))
        values[4], values[11], values[15] = status, size, duration
        return tuple(values)
    db = build_db(tmp_path / "msgstore.db", LEGACY_SCHEMA, {"messages": [
        row(1, "-1", 0, -1, None, "-1", -1, 0, None),
        row(2, PEER, 1, 6, None, "0", 19, 0, None),
        row(3, PEER, 0, 0, "real one", "0", 0, 0, None),
        row(4, PEER, 0, 6, None, "8", 1, 5, "audio"),
        row(5, PEER, 1, 6, None, "8", 2, 0, "video"),
        row(6, PEER, 0, 6, None, "8", 1, 0, "audio"),
    ]})
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)
    assert run.warnings == []
    assert [type(f).__name__ for f in run.findings] == ["ChatEvent", "Message", "Call", "Call", "Call"]
    event, message, incoming, outgoing, missed = run.findings
    assert event == ChatEvent(app="WhatsApp", thread_id=PEER, actor=None, event_type="status 6, action 19",
                              time=unix_ms(1500000000002), source_record_id="2")
    assert message.body == "real one"
    assert incoming == Call(number=PEER, direction="incoming", start_time=unix_ms(1500000000004), duration_s=5,
                            call_type="whatsapp_audio", source_app="WhatsApp", source_record_id="4")
    assert (outgoing.direction, outgoing.call_type) == ("outgoing", "whatsapp_video")
    assert (missed.direction, missed.duration_s) == ("missed", 0)


def test_msgstore_mid_migration_reads_the_table_with_live_rows(tmp_path):
    """Both tables exist; `message` holds only the placeholder (chat_row_id
    -1), the 2 real rows are still in the legacy `messages`."""
    db = build_db(tmp_path / "msgstore.db", CURRENT_SCHEMA + LEGACY_SCHEMA, {
        "message": [(1, -1, 0, "-1", None, -1, 0, 0, None, 0, 0, 0, 0, 0, 0, None, 0, 0, 0)],
        "messages": [_legacy_row(1, "-1", 0, None, 0, "-1", None, None),
                     _legacy_row(2, PEER, 0, "hi there", 1500000000000, "0", None, None),
                     _legacy_row(3, PEER, 1, "bye", 1500000060000, "0", None, None)]})
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)
    assert run.warnings == []
    assert [(m.source_record_id, m.direction, m.body, m.time) for m in run.findings] == [
        ("2", "incoming", "hi there", unix_ms(1500000000000)), ("3", "outgoing", "bye", unix_ms(1500000060000))]


def test_msgstore_current_placeholder_and_system_rows(tmp_path):
    db = _current_db(tmp_path / "msgstore.db")
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, message_type) "
                           "VALUES (100, -1, 0, '-1', 0, 0)")
        connection.execute("INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, "
                           "timestamp, message_type) VALUES (101, 2, 0, 'K101', 3, 1714550300000, 7)")
    connection.close()
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)
    assert run.warnings == []
    assert len([f for f in run.findings if isinstance(f, Message)]) == 4
    assert run.findings[-1] == ChatEvent(app="WhatsApp", thread_id=GROUP, actor=MEMBER,
                                         event_type="message_type 7, action None",
                                         time=unix_ms(1714550300000), source_record_id="101")


def test_msgstore_current_call_log(tmp_path):
    db = _current_db(tmp_path / "msgstore.db")
    with sqlite3.connect(db) as connection:
        connection.executescript("""
            CREATE TABLE call_log (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER, from_me INTEGER,
                call_id TEXT, transaction_id INTEGER, timestamp INTEGER, video_call INTEGER, duration INTEGER,
                call_result INTEGER, bytes_transferred INTEGER);
            INSERT INTO call_log VALUES (1, 1, 0, 'C1', 1, 1714550400000, 1, 61, 5, 1000);
            INSERT INTO call_log VALUES (2, 1, 0, 'C2', 2, 1714550500000, 0, 0, 2, 0);
            INSERT INTO call_log VALUES (3, 1, 1, 'C3', 3, 1714550600000, 0, 12, 5, 500);""")
    connection.close()
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)
    assert run.warnings == []
    calls = [f for f in run.findings if isinstance(f, Call)]
    assert calls[0] == Call(number=PEER, direction="incoming", start_time=unix_ms(1714550400000), duration_s=61,
                            call_type="whatsapp_video", source_app="WhatsApp", source_record_id="call_log:1")
    assert [(c.direction, c.call_type) for c in calls[1:]] == [("missed", "whatsapp_audio"),
                                                              ("outgoing", "whatsapp_audio")]
    assert len(run.findings) == 4 + 3


def test_msgstore_unknown_schema_warns(tmp_path):
    db = build_db(tmp_path / "msgstore.db", "CREATE TABLE props (_id INTEGER PRIMARY KEY, key TEXT, value TEXT);")
    run = run_untouched(WhatsAppAndroidMsgstorePlugin(), db)
    assert run.findings == []
    assert "message(" in run.warnings[0] and "messages(" in run.warnings[0] and "jid" in run.warnings[0]


# --- Android wa.db -----------------------------------------------------------------------------

WA_SCHEMA = """
CREATE TABLE wa_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT NOT NULL, is_whatsapp_user BOOLEAN NOT NULL,
    status TEXT, status_timestamp INTEGER, number TEXT, raw_contact_id INTEGER, display_name TEXT,
    phone_type INTEGER, phone_label TEXT, unseen_msg_count INTEGER, photo_ts INTEGER, thumb_ts INTEGER,
    photo_id_timestamp INTEGER, given_name TEXT, family_name TEXT, wa_name TEXT, sort_name TEXT,
    nickname TEXT, company TEXT, title TEXT);
"""


def test_wa_db_contacts(tmp_path):
    db = build_db(tmp_path / "wa.db", WA_SCHEMA, {"wa_contacts": [
        (1, PEER, 1, "Hey there", 0, "+965 5555 0101", 12, "محمد العلي", 2, None, 0, 0, 0, 0,
         "محمد", "العلي", "Mo", "محمد العلي", None, "Example Co", None),
        (2, MEMBER, 1, None, 0, None, None, None, None, None, 0, 0, 0, 0, None, None, "Self Named", None,
         None, None, None),
    ]})
    run = run_untouched(WhatsAppAndroidContactsPlugin(), db)

    assert run.warnings == []
    assert run.findings == [
        Contact(name="محمد العلي", phone_numbers=("+965 5555 0101",), organisation="Example Co",
                identifiers=(PEER,), source_app="WhatsApp", source_record_id="1"),
        Contact(name="Self Named", identifiers=(MEMBER,), source_app="WhatsApp", source_record_id="2"),
    ]


def test_wa_db_missing_table_warns(tmp_path):
    db = build_db(tmp_path / "wa.db", "CREATE TABLE android_metadata (locale TEXT);")
    run = run_untouched(WhatsAppAndroidContactsPlugin(), db)
    assert run.findings == [] and "wa_contacts(_id, jid)" in run.warnings[0]


# --- iOS ChatStorage.sqlite ------------------------------------------------------------------------

CHATSTORAGE_SCHEMA = """
CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZARCHIVED INTEGER,
    ZMESSAGECOUNTER INTEGER, ZSESSIONTYPE INTEGER, ZUNREADCOUNT INTEGER, ZGROUPINFO INTEGER,
    ZLASTMESSAGE INTEGER, ZLASTMESSAGEDATE TIMESTAMP, ZCONTACTJID VARCHAR, ZPARTNERNAME VARCHAR);
CREATE TABLE ZWAGROUPMEMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZISADMIN INTEGER,
    ZCHATSESSION INTEGER, ZCONTACTNAME VARCHAR, ZMEMBERJID VARCHAR);
CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCHILDMESSAGESDELIVEREDCOUNT INTEGER,
    ZISFROMME INTEGER, ZMESSAGESTATUS INTEGER, ZMESSAGETYPE INTEGER, ZCHATSESSION INTEGER, ZGROUPMEMBER INTEGER,
    ZMEDIAITEM INTEGER, ZMESSAGEDATE TIMESTAMP, ZSENTDATE TIMESTAMP, ZFROMJID VARCHAR, ZPUSHNAME VARCHAR,
    ZSTANZAID VARCHAR, ZTEXT VARCHAR, ZTOJID VARCHAR);
CREATE TABLE ZWAMEDIAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMESSAGE INTEGER,
    ZMEDIALOCALPATH VARCHAR, ZTITLE VARCHAR);
"""


def test_chatstorage_messages(tmp_path):
    db = build_db(tmp_path / "ChatStorage.sqlite", CHATSTORAGE_SCHEMA, {
        "ZWACHATSESSION": [(1, 4, 1, 0, 2, 0, 0, None, 2, 700000060.0, PEER, "Peer"),
                           (2, 4, 1, 0, 1, 1, 0, None, 3, 700000120.0, GROUP, "Trip")],
        "ZWAGROUPMEMBER": [(1, 5, 1, 0, 2, "Member", MEMBER)],
        "ZWAMESSAGE": [(1, 9, 1, 0, 0, 0, 0, 1, None, None, 700000000.25, None, PEER, "Peer", "S1", "مرحبا", None),
                       (2, 9, 1, 0, 1, 8, 1, 1, None, 1, 700000060.0, 700000060.0, None, None, "S2", None, PEER),
                       (3, 9, 1, 0, 0, 0, 0, 2, 1, None, 700000120.0, None, GROUP, "Member", "S3", "group hi", None)],
        "ZWAMEDIAITEM": [(1, 7, 1, 2, "Media/x.jpg", None)],
    })
    run = run_untouched(WhatsAppIosChatStoragePlugin(), db)

    assert run.warnings == []
    incoming, outgoing, group = run.findings
    assert incoming == Message(app="WhatsApp", thread_id=PEER, sender=PEER, recipients=(), direction="incoming",
                               body="مرحبا", time=cocoa_s(700000000.25), attachments=0, source_record_id="1")
    assert (outgoing.direction, outgoing.recipients, outgoing.attachments, outgoing.body) == (
        "outgoing", (PEER,), 1, None)
    assert (group.thread_id, group.sender) == (GROUP, MEMBER)


def test_chatstorage_group_events_are_events(tmp_path):
    """ZMESSAGETYPE 6 (group event) and 10 (system notice) rows come from the
    group's JID with no text: they are not incoming messages."""
    db = build_db(tmp_path / "ChatStorage.sqlite", CHATSTORAGE_SCHEMA, {
        "ZWACHATSESSION": [(2, 4, 1, 0, 1, 1, 0, None, 3, 700000120.0, GROUP, "Trip")],
        "ZWAGROUPMEMBER": [(1, 5, 1, 0, 2, "Member", MEMBER)],
        "ZWAMESSAGE": [(1, 9, 1, 0, 0, 0, 6, 2, 1, None, 700000000.0, None, GROUP, None, "S1", None, None),
                       (2, 9, 1, 0, 0, 0, 10, 2, None, None, 700000001.0, None, GROUP, None, "S2", None, None),
                       (3, 9, 1, 0, 0, 0, 0, 2, 1, None, 700000120.0, None, GROUP, "Member", "S3", "hi", None)],
    })
    with sqlite3.connect(db) as connection:   # the real column, absent from the older fixture schema
        connection.execute("ALTER TABLE ZWAMESSAGE ADD COLUMN ZGROUPEVENTTYPE INTEGER")
        connection.execute("UPDATE ZWAMESSAGE SET ZGROUPEVENTTYPE = 12 WHERE Z_PK = 1")
    connection.close()
    run = run_untouched(WhatsAppIosChatStoragePlugin(), db)
    assert run.warnings == []
    first, second, message = run.findings
    assert first == ChatEvent(app="WhatsApp", thread_id=GROUP, actor=MEMBER,
                              event_type="ZMESSAGETYPE 6, ZGROUPEVENTTYPE 12", time=cocoa_s(700000000.0),
                              source_record_id="1")
    assert (second.event_type, second.actor) == ("ZMESSAGETYPE 10, ZGROUPEVENTTYPE None", GROUP)
    assert isinstance(message, Message) and message.body == "hi"


def test_chatstorage_missing_tables_warns(tmp_path):
    db = build_db(tmp_path / "ChatStorage.sqlite", "CREATE TABLE Z_METADATA (Z_VERSION INTEGER);")
    run = run_untouched(WhatsAppIosChatStoragePlugin(), db)
    assert run.findings == [] and "ZWAMESSAGE" in run.warnings[0] and "ZWACHATSESSION" in run.warnings[0]


# --- iOS ContactsV2.sqlite ----------------------------------------------------------------------------

CONTACTSV2_SCHEMA = """
CREATE TABLE ZWAADDRESSBOOKCONTACT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
    ZLASTUPDATED TIMESTAMP, ZABOUTTEXT VARCHAR, ZBUSINESSNAME VARCHAR, ZFULLNAME VARCHAR, ZGIVENNAME VARCHAR,
    ZIDENTIFIER VARCHAR, ZLASTNAME VARCHAR, ZLID VARCHAR, ZLOCALIZEDPHONENUMBER VARCHAR, ZPHONENUMBER VARCHAR,
    ZPHONENUMBERLABEL VARCHAR, ZUSERNAME VARCHAR, ZWHATSAPPID VARCHAR);
"""


def test_contactsv2(tmp_path):
    db = build_db(tmp_path / "ContactsV2.sqlite", CONTACTSV2_SCHEMA, {"ZWAADDRESSBOOKCONTACT": [
        (1, 2, 1, 700000000.0, "Busy", None, "محمد العلي", "محمد", "ABC", "العلي", "111@lid",
         "+965 5555 0101", "+96555550101", "mobile", None, PEER),
        (2, 2, 1, None, None, "Example Shop", None, "Shop", None, None, None, None, "+96555550103", None, None,
         "96555550103"),
    ]})
    run = run_untouched(WhatsAppIosContactsPlugin(), db)

    assert run.warnings == []
    assert run.findings == [
        Contact(name="محمد العلي", phone_numbers=("+96555550101",), identifiers=(PEER, "111@lid"),
                source_app="WhatsApp", source_record_id="1", modified=cocoa_s(700000000.0)),
        Contact(name="Shop", phone_numbers=("+96555550103",), organisation="Example Shop",
                identifiers=("96555550103",), source_app="WhatsApp", source_record_id="2"),
    ]


CALLHISTORY_SCHEMA = """
CREATE TABLE ZWAAGGREGATECALLEVENT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZINCOMING INTEGER,
    ZMISSED INTEGER, ZMISSEDREASON INTEGER, ZVIDEO INTEGER, ZFIRSTDATE TIMESTAMP, ZLINKTOKEN VARCHAR);
CREATE TABLE ZWACDCALLEVENT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZBYTESRECEIVED INTEGER,
    ZBYTESSENT INTEGER, ZOUTCOME INTEGER, Z1CALLEVENTS INTEGER, Z_FOK_1CALLEVENTS INTEGER, ZDATE TIMESTAMP,
    ZDURATION FLOAT, ZGROUPCALLCREATORUSERJIDSTRING VARCHAR, ZGROUPJIDSTRING VARCHAR, ZSCHEDULEDID VARCHAR);
CREATE TABLE ZWACDCALLEVENTPARTICIPANT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZOUTCOME INTEGER,
    Z1PARTICIPANTS INTEGER, Z_FOK_1PARTICIPANTS INTEGER, ZJIDSTRING VARCHAR);
"""


def test_ios_callhistory_calls(tmp_path):
    db = build_db(tmp_path / "CallHistory.sqlite", CALLHISTORY_SCHEMA, {
        "ZWAAGGREGATECALLEVENT": [(1, 1, 1, 1, 0, 1, 1, 700000000.5, None),    # incoming video
                                  (2, 1, 1, 1, 1, 2, 0, 700000100.0, None),    # missed, no leg
                                  (3, 1, 1, 0, 0, 1, 0, 700000200.0, None)],   # outgoing group call
        "ZWACDCALLEVENT": [(1, 2, 1, 10, 10, 0, 1, 2048, 700000000.5, 42.5, PEER, None, None),
                           (2, 2, 1, 10, 10, 0, 3, 2048, 700000200.0, 7.0, None, GROUP, None)],
        "ZWACDCALLEVENTPARTICIPANT": [(1, 3, 1, 0, 1, 2048, PEER), (2, 3, 1, 0, 2, 2048, MEMBER)],
    })
    run = run_untouched(WhatsAppIosCallHistoryPlugin(), db)
    assert run.warnings == []
    video, missed, group = run.findings
    assert video == Call(number=PEER, direction="incoming", start_time=cocoa_s(700000000.5), duration_s=42.5,
                         call_type="whatsapp_video", source_app="WhatsApp", source_record_id="1:1")
    assert (missed.direction, missed.number, missed.duration_s, missed.start_time, missed.source_record_id) == (
        "missed", None, None, cocoa_s(700000100.0), "2:-")
    assert (group.direction, group.number, group.call_type) == ("outgoing", GROUP, "whatsapp_audio")


def test_whatsapp_selectors():
    assert WhatsAppIosCallHistoryPlugin.SELECTOR.matches(
        "private/var/mobile/Containers/Shared/AppGroup/X/CallHistory.sqlite", "", 1)
    assert not WhatsAppIosCallHistoryPlugin.SELECTOR.matches(
        "private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", "", 1)
    assert WhatsAppAndroidMsgstorePlugin.SELECTOR.matches("data/data/com.whatsapp/databases/msgstore.db", "", 1)
    assert WhatsAppAndroidContactsPlugin.SELECTOR.matches("data/data/com.whatsapp/databases/wa.db", "", 1)
    assert WhatsAppIosChatStoragePlugin.SELECTOR.matches(
        "private/var/mobile/Containers/Shared/AppGroup/X/ChatStorage.sqlite", "", 1)
    assert WhatsAppIosContactsPlugin.SELECTOR.matches(
        "private/var/mobile/Containers/Shared/AppGroup/X/ContactsV2.sqlite", "", 1)
