"""WhatsApp plugins: Android msgstore.db (current and legacy) and wa.db,
iOS ChatStorage.sqlite and ContactsV2.sqlite. All databases synthetic."""

from __future__ import annotations

import sqlite3

from comms_testlib import build_db, cocoa_s, copy_with_companions, run_untouched, unix_ms
from traffick_triage.plugins._comms import Contact, Message
from traffick_triage.plugins.whatsapp_android_contacts import WhatsAppAndroidContactsPlugin
from traffick_triage.plugins.whatsapp_android_msgstore import WhatsAppAndroidMsgstorePlugin
from traffick_triage.plugins.whatsapp_ios_chatstorage import WhatsAppIosChatStoragePlugin
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


def test_whatsapp_selectors():
    assert WhatsAppAndroidMsgstorePlugin.SELECTOR.matches("data/data/com.whatsapp/databases/msgstore.db", "", 1)
    assert WhatsAppAndroidContactsPlugin.SELECTOR.matches("data/data/com.whatsapp/databases/wa.db", "", 1)
    assert WhatsAppIosChatStoragePlugin.SELECTOR.matches(
        "private/var/mobile/Containers/Shared/AppGroup/X/ChatStorage.sqlite", "", 1)
    assert WhatsAppIosContactsPlugin.SELECTOR.matches(
        "private/var/mobile/Containers/Shared/AppGroup/X/ContactsV2.sqlite", "", 1)
