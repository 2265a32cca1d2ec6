"""Atheris fuzz target: every SQLite phone plugin (through
traffick_triage.sqlite_access) and the identifiers plugin's SQLite text
reader, on damaged databases. Each input picks one small synthetic seed
database (built at start-up, one per plugin) and patches bytes of it; the
plugins must never raise and every finding must serialise to JSON.

    .venv/bin/python fuzz/fuzz_sqlite_plugins.py -atheris_runs=20000

See fuzz/README.md."""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["traffick_triage"]):
    from traffick_triage.plugin_host import PluginContext, bytes_file_view
    from traffick_triage.plugins.android_calllog import AndroidCallLogPlugin
    from traffick_triage.plugins.android_contacts2 import AndroidContacts2Plugin
    from traffick_triage.plugins.android_downloads import AndroidDownloadsPlugin
    from traffick_triage.plugins.chromium_history import ChromiumHistoryPlugin
    from traffick_triage.plugins.android_mmssms import AndroidMmsSmsPlugin
    from traffick_triage.plugins.identifiers import IdentifiersPlugin
    from traffick_triage.plugins.ios_accounts import IosAccountsPlugin
    from traffick_triage.plugins.ios_addressbook import IosAddressBookPlugin
    from traffick_triage.plugins.ios_callhistory import IosCallHistoryPlugin
    from traffick_triage.plugins.ios_notes import IosNotesPlugin
    from traffick_triage.plugins.ios_sms import IosSmsPlugin
    from traffick_triage.plugins.whatsapp_android_contacts import WhatsAppAndroidContactsPlugin
    from traffick_triage.plugins.whatsapp_android_msgstore import WhatsAppAndroidMsgstorePlugin
    from traffick_triage.plugins.whatsapp_ios_callhistory import WhatsAppIosCallHistoryPlugin
    from traffick_triage.plugins.whatsapp_ios_chatstorage import WhatsAppIosChatStoragePlugin
    from traffick_triage.plugins.whatsapp_ios_contacts import WhatsAppIosContactsPlugin

# (plugin, file name, schema and rows): minimal synthetic layouts of each store.
SEEDS = [
    (AndroidCallLogPlugin, "calllog.db", """
        CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, date INTEGER, duration INTEGER, type INTEGER,
            name TEXT, subscription_component_name TEXT);
        INSERT INTO calls VALUES (1, '+96555550101', 1700000000000, 12, 1, 'A', NULL);
        INSERT INTO calls VALUES (2, '+96555550102', 1700000100000, 0, 3, NULL, 'com.whatsapp');"""),
    (AndroidContacts2Plugin, "contacts2.db", """
        CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY, display_name TEXT, deleted INTEGER, account_name TEXT);
        CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY, mimetype TEXT);
        CREATE TABLE data (_id INTEGER PRIMARY KEY, raw_contact_id INTEGER, mimetype_id INTEGER, data1 TEXT);
        CREATE VIEW v AS SELECT display_name FROM raw_contacts ORDER BY display_name COLLATE NOCASE;
        INSERT INTO raw_contacts VALUES (1, 'Farid', 0, 'x@example.com');
        INSERT INTO mimetypes VALUES (1, 'vnd.android.cursor.item/phone_v2');
        INSERT INTO data VALUES (1, 1, 1, '+96555550101');"""),
    (AndroidMmsSmsPlugin, "mmssms.db", """
        CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, read INTEGER,
            type INTEGER, body TEXT, date_sent INTEGER, subject TEXT);
        CREATE TABLE pdu (_id INTEGER PRIMARY KEY, thread_id INTEGER, date INTEGER, msg_box INTEGER, read INTEGER,
            sub TEXT);
        CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, address TEXT, type INTEGER);
        CREATE TABLE part (_id INTEGER PRIMARY KEY, mid INTEGER, ct TEXT, text TEXT);
        INSERT INTO sms VALUES (1, 1, '+96555550101', 1700000000000, 1, 1, 'hello', 0, NULL);
        INSERT INTO pdu VALUES (1, 1, 1700000000, 1, 0, 'subj');
        INSERT INTO addr VALUES (1, 1, '+96555550102', 137);
        INSERT INTO part VALUES (1, 1, 'text/plain', 'mms text');"""),
    (IosAddressBookPlugin, "AddressBook.sqlitedb", """
        CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY, First TEXT, Last TEXT, CreationDate INTEGER);
        CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, value TEXT);
        CREATE VIRTUAL TABLE ABPersonFullTextSearch USING fts4(First, Last);
        INSERT INTO ABPerson VALUES (1, 'Amal', 'H', 700000000);
        INSERT INTO ABMultiValue VALUES (1, 1, 3, '+96555550101');"""),
    (IosCallHistoryPlugin, "CallHistory.storedata", """
        CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, ZDATE TIMESTAMP, ZDURATION FLOAT, ZORIGINATED INTEGER,
            ZANSWERED INTEGER, ZADDRESS BLOB, ZCALLTYPE INTEGER);
        INSERT INTO ZCALLRECORD VALUES (1, 700000000.5, 3.5, 0, 1, X'2B393635', 1);"""),
    (IosSmsPlugin, "sms.db", """
        CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT, handle_id INTEGER, date INTEGER,
            is_from_me INTEGER, attributedBody BLOB);
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT);
        CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, guid TEXT);
        CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER);
        INSERT INTO handle VALUES (1, '+96555550101');
        INSERT INTO chat VALUES (1, 'iMessage;-;+96555550101');
        INSERT INTO message VALUES (1, NULL, 1, 700000000000000000, 0, X'4E53537472696E6701020304052B0568656C6C6F');
        INSERT INTO chat_message_join VALUES (1, 1);"""),
    (WhatsAppAndroidContactsPlugin, "wa.db", """
        CREATE TABLE wa_contacts (_id INTEGER PRIMARY KEY, jid TEXT, number TEXT, display_name TEXT);
        INSERT INTO wa_contacts VALUES (1, '96555550101@s.whatsapp.net', '55550101', 'Peer');"""),
    (WhatsAppAndroidMsgstorePlugin, "msgstore.db", """
        CREATE TABLE messages (_id INTEGER PRIMARY KEY, key_remote_jid TEXT, key_from_me INTEGER, status INTEGER,
            data TEXT, timestamp INTEGER, media_wa_type TEXT, media_size INTEGER, media_duration INTEGER,
            media_caption TEXT, remote_resource TEXT);
        INSERT INTO messages VALUES (1, '-1', 0, -1, NULL, 0, '-1', -1, 0, NULL, NULL);
        INSERT INTO messages VALUES (2, '1@s.whatsapp.net', 0, 0, 'hi', 1500000000000, '0', 0, 0, NULL, NULL);
        INSERT INTO messages VALUES (3, '1@s.whatsapp.net', 1, 6, NULL, 1500000001000, '8', 1, 5, 'audio', NULL);
        INSERT INTO messages VALUES (4, '2@g.us', 0, 6, NULL, 1500000002000, '0', 12, 0, NULL, '3@s.whatsapp.net');"""),
    (WhatsAppIosChatStoragePlugin, "ChatStorage.sqlite", """
        CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, ZCONTACTJID TEXT);
        CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, ZISFROMME INTEGER, ZCHATSESSION INTEGER,
            ZMESSAGEDATE TIMESTAMP, ZFROMJID TEXT, ZTOJID TEXT, ZTEXT TEXT, ZMESSAGETYPE INTEGER,
            ZGROUPEVENTTYPE INTEGER, ZMEDIAITEM INTEGER);
        INSERT INTO ZWACHATSESSION VALUES (1, '2@g.us');
        INSERT INTO ZWAMESSAGE VALUES (1, 0, 1, 700000000, '2@g.us', NULL, NULL, 6, 12, NULL);
        INSERT INTO ZWAMESSAGE VALUES (2, 0, 1, 700000001, '3@s.whatsapp.net', NULL, X'6869', 0, 2, NULL);"""),
    (WhatsAppIosContactsPlugin, "ContactsV2.sqlite", """
        CREATE TABLE ZWAADDRESSBOOKCONTACT (Z_PK INTEGER PRIMARY KEY, ZFULLNAME BLOB, ZPHONENUMBER TEXT,
            ZWHATSAPPID TEXT, ZLASTUPDATED TIMESTAMP);
        INSERT INTO ZWAADDRESSBOOKCONTACT VALUES (1, X'416C696365', '+14155550100', '1@s.whatsapp.net', 7e8);"""),
    (WhatsAppIosCallHistoryPlugin, "CallHistory.sqlite", """
        CREATE TABLE ZWAAGGREGATECALLEVENT (Z_PK INTEGER PRIMARY KEY, ZINCOMING INTEGER, ZMISSED INTEGER,
            ZVIDEO INTEGER, ZFIRSTDATE TIMESTAMP);
        CREATE TABLE ZWACDCALLEVENT (Z_PK INTEGER PRIMARY KEY, Z1CALLEVENTS INTEGER, ZDATE TIMESTAMP,
            ZDURATION FLOAT, ZGROUPJIDSTRING TEXT);
        CREATE TABLE ZWACDCALLEVENTPARTICIPANT (Z_PK INTEGER PRIMARY KEY, Z1PARTICIPANTS INTEGER, ZJIDSTRING TEXT);
        INSERT INTO ZWAAGGREGATECALLEVENT VALUES (1, 1, 0, 1, 700000000);
        INSERT INTO ZWACDCALLEVENT VALUES (1, 1, 700000000, 42.5, NULL);
        INSERT INTO ZWACDCALLEVENTPARTICIPANT VALUES (1, 1, '1@s.whatsapp.net');"""),
    # The plugin kit's artifacts (files named as on the device; "History" is read by its tables).
    (ChromiumHistoryPlugin, "History", """
        CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT, title TEXT, visit_count INTEGER, typed_count INTEGER,
            last_visit_time INTEGER);
        CREATE TABLE visits (id INTEGER PRIMARY KEY, url INTEGER, visit_time INTEGER, from_visit INTEGER,
            transition INTEGER, visit_duration INTEGER);
        CREATE TABLE keyword_search_terms (keyword_id INTEGER, url_id INTEGER, term TEXT);
        CREATE TABLE downloads (id INTEGER PRIMARY KEY, current_path TEXT, target_path TEXT, start_time INTEGER,
            end_time INTEGER, received_bytes INTEGER, total_bytes INTEGER, state INTEGER, mime_type TEXT);
        CREATE TABLE downloads_url_chains (id INTEGER, chain_index INTEGER, url TEXT);
        INSERT INTO urls VALUES (1, 'https://ads.example/1', 'Ad', 1, 1, 13350000000000000);
        INSERT INTO visits VALUES (1, 1, 13350000000000000, 0, 1, 1000000);
        INSERT INTO keyword_search_terms VALUES (2, 1, 'room rent');
        INSERT INTO downloads VALUES (1, '/d/a.pdf', '/d/a.pdf', 13350000000000000, 0, 9, 9, 1, 'application/pdf');
        INSERT INTO downloads_url_chains VALUES (1, 0, 'https://ads.example/a.pdf');"""),
    (AndroidDownloadsPlugin, "downloads.db", """
        CREATE TABLE downloads (_id INTEGER PRIMARY KEY, uri TEXT, _data TEXT, mimetype TEXT, status INTEGER,
            lastmod INTEGER, total_bytes INTEGER, current_bytes INTEGER, notificationpackage TEXT, deleted BOOLEAN);
        INSERT INTO downloads VALUES (1, 'https://x.example/a.jpg', '/sdcard/Download/a.jpg', 'image/jpeg', 200,
            1700000000000, 10, 10, 'com.discord', 0);"""),
    (IosAccountsPlugin, "Accounts3.sqlite", """
        CREATE TABLE ZACCOUNTTYPE (Z_PK INTEGER PRIMARY KEY, ZACCOUNTTYPEDESCRIPTION TEXT, ZIDENTIFIER TEXT);
        CREATE TABLE ZACCOUNT (Z_PK INTEGER PRIMARY KEY, ZACCOUNTTYPE INTEGER, ZUSERNAME TEXT, ZIDENTIFIER TEXT,
            ZACCOUNTDESCRIPTION TEXT, ZDATE TIMESTAMP, ZOWNINGBUNDLEID TEXT, ZPARENTACCOUNT INTEGER, ZACTIVE INTEGER);
        INSERT INTO ZACCOUNTTYPE VALUES (1, 'Apple ID', 'com.apple.account.AppleIDAuthentication');
        INSERT INTO ZACCOUNT VALUES (1, 1, 'a@example.com', 'U-1', NULL, 7e8, 'com.apple.AuthKit', NULL, 1);
        INSERT INTO ZACCOUNT VALUES (2, 1, 'a@example.com', 'U-2', NULL, 7e8, 'com.apple.AuthKit', 1, 1);"""),
    (IosNotesPlugin, "NoteStore.sqlite", """
        CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME TEXT);
        CREATE TABLE ZICCLOUDSYNCINGOBJECT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, ZTITLE1 TEXT, ZSNIPPET TEXT,
            ZMODIFICATIONDATE1 TIMESTAMP, ZFOLDER INTEGER, ZTITLE2 TEXT, ZCREATIONDATE3 TIMESTAMP);
        INSERT INTO Z_PRIMARYKEY VALUES (11, 'ICNote');
        INSERT INTO Z_PRIMARYKEY VALUES (14, 'ICFolder');
        INSERT INTO ZICCLOUDSYNCINGOBJECT VALUES (1, 14, NULL, NULL, NULL, NULL, 'Notes', NULL);
        INSERT INTO ZICCLOUDSYNCINGOBJECT VALUES (2, 11, 'Meeting', 'at the station', 7e8, 1, NULL, 7e8);"""),
]


def _seed_bytes() -> list[bytes]:
    with tempfile.TemporaryDirectory() as folder:
        result = []
        for index, (_plugin, name, script) in enumerate(SEEDS):
            path = Path(folder) / f"{index}-{name}"
            connection = sqlite3.connect(path)
            connection.executescript(script)
            connection.commit()
            connection.close()
            result.append(path.read_bytes())
        return result


SEED_BYTES = _seed_bytes()


def run_one(plugin, data: bytes, name: str) -> None:
    ctx = PluginContext(options={"region": "KW"})
    try:
        for finding in plugin.extract(bytes_file_view(data, name, "application/vnd.sqlite3"), ctx):
            json.dumps(finding.to_dict())
    finally:
        ctx.cleanup()


def mutate(seed: bytes, patches: bytes) -> bytes:
    """Each 3 bytes of ``patches``: a 16-bit offset into the seed and a byte."""
    data = bytearray(seed)
    for start in range(0, len(patches) - 2, 3):
        offset = int.from_bytes(patches[start:start + 2], "little") % len(data)
        data[offset] = patches[start + 2]
    return bytes(data)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    index = data[0] % len(SEEDS)
    plugin, name, _script = SEEDS[index]
    damaged = mutate(SEED_BYTES[index], data[1:])
    run_one(plugin(), damaged, name)
    run_one(IdentifiersPlugin(), damaged, name)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
