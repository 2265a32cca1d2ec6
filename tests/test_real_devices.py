"""Real phone extractions (shared/corpus/devices): every database a phone
plugin claims gives the record count plain sqlite3 gives (the query is
written here, run on a test-owned copy with the -wal/-shm/-journal
companions) and one record equal field by field, with no plugin warning.

A database that a plugin claims but that has no oracle below fails
``test_every_claimed_database_has_an_oracle``: adding a device to the
corpus means writing its oracle.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from comms_testlib import cocoa_s, query, run_untouched, unix_ms
from test_real_apps import CACHE_APPS, cache_expected
from evidence_builders import load_report, scan
from traffick_triage.plugins.android_calllog import AndroidCallLogPlugin
from traffick_triage.plugins.android_contacts2 import AndroidContacts2Plugin
from traffick_triage.plugins.android_mmssms import AndroidMmsSmsPlugin
from traffick_triage.plugins.ios_addressbook import IosAddressBookPlugin
from traffick_triage.plugins.ios_callhistory import IosCallHistoryPlugin
from traffick_triage.plugins.ios_sms import IosSmsPlugin
from traffick_triage.plugins.whatsapp_android_contacts import WhatsAppAndroidContactsPlugin
from traffick_triage.plugins.whatsapp_android_msgstore import WhatsAppAndroidMsgstorePlugin
from traffick_triage.plugins.whatsapp_ios_chatstorage import WhatsAppIosChatStoragePlugin
from traffick_triage.plugins.whatsapp_ios_callhistory import WhatsAppIosCallHistoryPlugin
from traffick_triage.plugins.whatsapp_ios_contacts import WhatsAppIosContactsPlugin
from traffick_triage.plugins.burner_android import BurnerAndroidPlugin
from traffick_triage.plugins.tango_android import TangoAndroidPlugin
from traffick_triage.plugins.teams_ios import TeamsIosPlugin
from traffick_triage.plugins.viber_android import ViberAndroidPlugin

PHONE_PLUGINS = (AndroidCallLogPlugin, AndroidContacts2Plugin, AndroidMmsSmsPlugin, IosAddressBookPlugin,
                 IosCallHistoryPlugin, IosSmsPlugin, WhatsAppAndroidContactsPlugin,
                 WhatsAppAndroidMsgstorePlugin, WhatsAppIosChatStoragePlugin, WhatsAppIosContactsPlugin,
                 WhatsAppIosCallHistoryPlugin,
                 # Messaging apps (tests/test_real_apps.py checks them against the sqlite3 shell too).
                 BurnerAndroidPlugin, TangoAndroidPlugin, TeamsIosPlugin, ViberAndroidPlugin)
FOLDER_DEVICES = ("android_fs_legacy", "ios_fs_josh15")
BACKUP_DEVICE = "ios_backup_mvt"
JOSH_TEAMS = ("private/var/mobile/Containers/Shared/AppGroup/E12BE95F-EA64-4826-8A15-DB2CF818F268/SkypeSpacesDogfood/"
              "148AB670-2197-4B7F-AD74-206D4AB2ED62/SkypeSpacesDogfood-9188040d-6c67-4c5b-b112-36a304b66dad.sqlite")
JOSH_WA = "private/var/mobile/Containers/Shared/AppGroup/694FBBC5-2E69-480A-A25B-FF8CC038BEF8"


@dataclass(frozen=True)
class Oracle:
    """Counts per finding kind by plain SQL, and one record: the SQL that
    selects it and the fields the plugin's finding must have."""

    counts: dict[str, str]                       # finding kind -> "SELECT COUNT(*) ..."
    record_kind: str
    record_sql: str
    record_id: Callable[[sqlite3.Row], str]
    fields: Callable[[sqlite3.Row], dict]


def _legacy_wa_message(row):
    return {"thread_id": row["key_remote_jid"], "sender": row["key_remote_jid"], "recipients": (),
            "direction": "incoming", "body": row["data"], "time": unix_ms(row["timestamp"]), "attachments": 0}


# The owner's JID: what a received row (ZISFROMME 0) was delivered to.
OWN_WHATSAPP_JIDS = ("SELECT COUNT(DISTINCT CAST(ZTOJID AS TEXT)) FROM ZWAMESSAGE "
                     "WHERE ZISFROMME = 0 AND CAST(ZTOJID AS TEXT) LIKE '%@s.whatsapp.net'")

ORACLES: dict[tuple[str, str, str], Oracle] = {
    ("android_fs_legacy", "data/data/com.android.providers.contacts/databases/calllog.db", "android_calllog"): Oracle(
        {"comms.call": "SELECT COUNT(*) FROM calls"}, "comms.call",
        "SELECT * FROM calls ORDER BY _id LIMIT 1", lambda r: str(r["_id"]),
        lambda r: {"number": r["number"], "direction": {2: "outgoing"}[r["type"]],
                   "start_time": unix_ms(r["date"]), "duration_s": r["duration"], "contact_name": r["name"],
                   "call_type": r["subscription_component_name"]}),
    ("android_fs_legacy", "data/data/com.android.providers.contacts/databases/contacts2.db", "android_contacts2"): Oracle(
        # No raw_contacts table and no data rows in this file: calls only.
        {"comms.call": "SELECT COUNT(*) FROM calls", "comms.contact": "SELECT COUNT(*) FROM data"}, "comms.call",
        "SELECT * FROM calls WHERE type = 2 ORDER BY _id LIMIT 1", lambda r: str(r["_id"]),
        lambda r: {"number": r["number"], "direction": "outgoing", "start_time": unix_ms(r["date"]),
                   "duration_s": r["duration"], "contact_name": r["name"]}),
    ("android_fs_legacy", "data/data/com.android.providers.telephony/databases/mmssms.db", "android_mmssms"): Oracle(
        {"comms.message": "SELECT (SELECT COUNT(*) FROM sms) + (SELECT COUNT(*) FROM pdu)"}, "comms.message",
        "SELECT * FROM sms WHERE type = 1 ORDER BY _id LIMIT 1", lambda r: f"sms:{r['_id']}",
        lambda r: {"sender": r["address"], "recipients": (), "direction": "incoming", "body": r["body"],
                   "time": unix_ms(r["date"]), "read": bool(r["read"]), "thread_id": str(r["thread_id"])}),
    ("android_fs_legacy", "data/data/com.whatsapp/databases/msgstore.db", "whatsapp_android_msgstore"): Oracle(
        # Row 1 is WhatsApp's placeholder (key_remote_jid '-1'); status 6 rows
        # are system rows, calls when media_wa_type is 8.
        {"comms.message": "SELECT COUNT(*) FROM messages WHERE key_remote_jid != '-1' AND status != 6",
         "comms.call": "SELECT COUNT(*) FROM messages WHERE status = 6 AND media_wa_type = '8'",
         "comms.chat_event": "SELECT COUNT(*) FROM messages WHERE key_remote_jid != '-1' AND status = 6 "
                             "AND media_wa_type != '8'"}, "comms.message",
        "SELECT * FROM messages WHERE key_from_me = 0 AND status != 6 AND data IS NOT NULL ORDER BY _id LIMIT 1",
        lambda r: str(r["_id"]), _legacy_wa_message),
    ("android_fs_legacy", "data/data/com.whatsapp/databases/wa.db", "whatsapp_android_contacts"): Oracle(
        {"comms.contact": "SELECT COUNT(*) FROM wa_contacts"}, "comms.contact",
        "SELECT * FROM wa_contacts WHERE number IS NOT NULL ORDER BY _id LIMIT 1", lambda r: str(r["_id"]),
        lambda r: {"name": r["display_name"], "phone_numbers": (r["number"],), "identifiers": (r["jid"],)}),
    ("ios_fs_josh15", "private/var/mobile/Library/SMS/sms.db", "ios_sms"): Oracle(
        {"comms.message": "SELECT COUNT(*) FROM message"}, "comms.message",
        "SELECT message.*, handle.id AS handle, chat.guid AS chat_guid FROM message "
        "JOIN handle ON handle.ROWID = message.handle_id "
        "JOIN chat_message_join ON chat_message_join.message_id = message.ROWID "
        "JOIN chat ON chat.ROWID = chat_message_join.chat_id "
        "WHERE message.is_from_me = 0 ORDER BY message.ROWID LIMIT 1", lambda r: str(r["ROWID"]),
        lambda r: {"sender": r["handle"], "direction": "incoming", "body": r["text"], "thread_id": r["chat_guid"],
                   "time": cocoa_s(r["date"] / 1e9), "read": bool(r["is_read"]), "service": r["service"]}),
    ("ios_fs_josh15", "private/var/mobile/Library/AddressBook/AddressBook.sqlitedb", "ios_addressbook"): Oracle(
        {"comms.contact": "SELECT COUNT(*) FROM ABPerson"}, "comms.contact",
        "SELECT ABPerson.*, (SELECT value FROM ABMultiValue WHERE record_id = ABPerson.ROWID AND property = 3) "
        "AS phone FROM ABPerson WHERE ROWID = 1", lambda r: str(r["ROWID"]),
        lambda r: {"name": f"{r['First']} {r['Last']}", "phone_numbers": (r["phone"],),
                   "created": cocoa_s(r["CreationDate"]), "modified": cocoa_s(r["ModificationDate"])}),
    ("ios_fs_josh15", f"{JOSH_WA}/ChatStorage.sqlite", "whatsapp_ios_chatstorage"): Oracle(
        # ZMESSAGETYPE 6 = group event, 10 = system notice: events, not messages.
        {"comms.message": "SELECT COUNT(*) FROM ZWAMESSAGE WHERE ZMESSAGETYPE NOT IN (6, 10)",
         "comms.chat_event": "SELECT COUNT(*) FROM ZWAMESSAGE WHERE ZMESSAGETYPE IN (6, 10)",
         "app.own_account": OWN_WHATSAPP_JIDS}, "comms.message",
        "SELECT * FROM ZWAMESSAGE WHERE ZISFROMME = 0 AND ZTEXT IS NOT NULL ORDER BY Z_PK LIMIT 1",
        lambda r: str(r["Z_PK"]),
        lambda r: {"sender": r["ZFROMJID"], "thread_id": r["ZFROMJID"], "direction": "incoming",
                   "body": r["ZTEXT"], "time": cocoa_s(r["ZMESSAGEDATE"]), "attachments": 0}),
    ("ios_fs_josh15", f"{JOSH_WA}/ContactsV2.sqlite", "whatsapp_ios_contacts"): Oracle(
        {"comms.contact": "SELECT COUNT(*) FROM ZWAADDRESSBOOKCONTACT"}, "comms.contact",
        "SELECT * FROM ZWAADDRESSBOOKCONTACT WHERE ZPHONENUMBER IS NOT NULL AND ZWHATSAPPID IS NOT NULL "
        "ORDER BY Z_PK LIMIT 1", lambda r: str(r["Z_PK"]),
        lambda r: {"name": r["ZFULLNAME"], "phone_numbers": (r["ZPHONENUMBER"],),
                   "identifiers": (r["ZWHATSAPPID"],)}),
    ("ios_fs_josh15", f"{JOSH_WA}/CallHistory.sqlite", "whatsapp_ios_callhistory"): Oracle(
        # One call per leg (ZWACDCALLEVENT) of each aggregate call.
        {"comms.call": "SELECT COUNT(*) FROM ZWAAGGREGATECALLEVENT AS a "
                       "LEFT JOIN ZWACDCALLEVENT AS l ON l.Z1CALLEVENTS = a.Z_PK"}, "comms.call",
        "SELECT a.Z_PK, l.Z_PK AS leg, l.ZDATE, l.ZDURATION, p.ZJIDSTRING FROM ZWAAGGREGATECALLEVENT AS a "
        "JOIN ZWACDCALLEVENT AS l ON l.Z1CALLEVENTS = a.Z_PK "
        "JOIN ZWACDCALLEVENTPARTICIPANT AS p ON p.Z1PARTICIPANTS = l.Z_PK "
        "WHERE a.ZINCOMING = 1 AND a.ZVIDEO = 1 AND a.ZMISSED = 0 ORDER BY a.Z_PK LIMIT 1",
        lambda r: f"{r['Z_PK']}:{r['leg']}",
        lambda r: {"number": r["ZJIDSTRING"], "direction": "incoming", "start_time": cocoa_s(r["ZDATE"]),
                   "duration_s": r["ZDURATION"], "call_type": "whatsapp_video", "source_app": "WhatsApp"}),
    ("android_fs_legacy", "data/data/com.adhoclabs.burner/databases/burners.db", "burner_android"): Oracle(
        # message_type 1 = call, 2 = text.
        {"comms.message": "SELECT COUNT(*) FROM messages WHERE message_type = 2",
         "comms.call": "SELECT COUNT(*) FROM messages WHERE message_type = 1",
         "comms.contact": "SELECT COUNT(*) FROM contacts"}, "comms.call",
        "SELECT * FROM messages WHERE message_type = 1 AND direction = 2 ORDER BY _id LIMIT 1",
        lambda r: f"messages:{r['_id']}",
        lambda r: {"number": r["contact_phone_number"], "direction": "outgoing",
                   "start_time": unix_ms(r["date_created"]), "duration_s": r["duration"], "source_app": "Burner"}),
    ("android_fs_legacy", "data/data/com.sgiggle.production/files/tc.db", "tango_android"): Oracle(
        {"comms.message": "SELECT COUNT(*) FROM messages"}, "comms.message",
        "SELECT * FROM messages WHERE direction = 2 ORDER BY msg_id LIMIT 1", lambda r: f"messages:{r['msg_id']}",
        lambda r: {"recipients": (r["conv_id"],), "sender": None, "direction": "outgoing",
                   "time": unix_ms(r["create_time"]), "sent_time": unix_ms(r["send_time"])}),
    ("android_fs_legacy", "data/data/com.viber.voip/databases/viber_data", "viber_android"): Oracle(
        {"comms.call": "SELECT COUNT(*) FROM calls", "comms.contact": "SELECT COUNT(*) FROM phonebookcontact"},
        "comms.call", "SELECT * FROM calls WHERE type = 1 ORDER BY _id LIMIT 1", lambda r: f"calls:{r['_id']}",
        lambda r: {"number": r["canonized_number"], "direction": "incoming", "start_time": unix_ms(r["date"]),
                   "duration_s": r["duration"]}),
    ("ios_fs_josh15", JOSH_TEAMS, "teams_ios"): Oracle(
        # ThreadActivity/* and Event/* rows are chat events, the rest messages.
        {"comms.message": "SELECT COUNT(*) FROM ZSMESSAGE WHERE ZMESSAGETYPE NOT LIKE 'ThreadActivity/%' "
                          "AND ZMESSAGETYPE NOT LIKE 'Event/%'",
         "comms.chat_event": "SELECT COUNT(*) FROM ZSMESSAGE WHERE ZMESSAGETYPE LIKE 'ThreadActivity/%' "
                             "OR ZMESSAGETYPE LIKE 'Event/%'",
         "comms.contact": "SELECT (SELECT COUNT(*) FROM ZSCONTACT) + (SELECT COUNT(*) FROM ZUSER)"}, "comms.message",
        "SELECT * FROM ZSMESSAGE WHERE ZMESSAGETYPE = 'Text' AND ZTS_ISSENTBYME = 1 ORDER BY Z_PK LIMIT 1",
        lambda r: str(r["Z_PK"]),
        lambda r: {"sender": r["ZFROM"], "direction": "outgoing", "body": r["ZCONTENT"],
                   "time": cocoa_s(r["ZARRIVALTIME"])}),
    (BACKUP_DEVICE, "HomeDomain/Library/SMS/sms.db", "ios_sms"): Oracle(
        # Partial sms.db: only message and handle.
        {"comms.message": "SELECT COUNT(*) FROM message"}, "comms.message",
        "SELECT message.*, handle.id AS handle FROM message JOIN handle ON handle.ROWID = message.handle_id "
        "ORDER BY message.ROWID LIMIT 1", lambda r: str(r["ROWID"]),
        lambda r: {"sender": r["handle"], "direction": "incoming", "body": r["text"], "thread_id": None,
                   "time": cocoa_s(r["date"] / 1e9)}),
    (BACKUP_DEVICE, "AppDomainGroup-group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite",
     "whatsapp_ios_chatstorage"): Oracle(
        {"comms.message": "SELECT COUNT(*) FROM ZWAMESSAGE WHERE ZMESSAGETYPE NOT IN (6, 10)",
         "app.own_account": OWN_WHATSAPP_JIDS}, "comms.message",
        # An incoming message in a group (no ZWAGROUPMEMBER table: ZFROMJID is the sender).
        "SELECT ZWAMESSAGE.Z_PK, ZFROMJID AS sender, ZTEXT AS body, ZMESSAGEDATE, "
        "ZWACHATSESSION.ZCONTACTJID AS chat FROM ZWAMESSAGE JOIN ZWACHATSESSION "
        "ON ZWACHATSESSION.Z_PK = ZWAMESSAGE.ZCHATSESSION WHERE ZISFROMME = 0 AND ZCONTACTJID LIKE '%@g.us' "
        "ORDER BY ZWAMESSAGE.Z_PK LIMIT 1",
        lambda r: str(r["Z_PK"]),
        lambda r: {"sender": r["sender"], "recipients": (), "thread_id": r["chat"], "direction": "incoming",
                   "body": r["body"], "time": cocoa_s(r["ZMESSAGEDATE"])}),
    (BACKUP_DEVICE, "AppDomainGroup-group.net.whatsapp.WhatsApp.shared/ContactsV2.sqlite",
     "whatsapp_ios_contacts"): Oracle(
        {"comms.contact": "SELECT COUNT(*) FROM ZWAADDRESSBOOKCONTACT"}, "comms.contact",
        # Real data: the text columns of this file are stored as BLOB.
        "SELECT Z_PK, CAST(ZFULLNAME AS TEXT) AS name, CAST(ZPHONENUMBER AS TEXT) AS phone, "
        "CAST(ZWHATSAPPID AS TEXT) AS jid, CAST(ZLID AS TEXT) AS lid, ZLASTUPDATED FROM ZWAADDRESSBOOKCONTACT "
        "ORDER BY Z_PK LIMIT 1", lambda r: str(r["Z_PK"]),
        lambda r: {"name": r["name"], "phone_numbers": (r["phone"],),
                   "identifiers": (r["jid"], r["lid"]), "modified": cocoa_s(r["ZLASTUPDATED"])}),
}


def _device_files(devices: Path) -> list[tuple[str, str, Path]]:
    """(device, path inside the evidence, host file) of every database file."""
    found = []
    for device in FOLDER_DEVICES:
        root = devices / device
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(("-wal", "-shm", "-journal")):
                found.append((device, path.relative_to(root).as_posix(), path))
    manifest = sqlite3.connect(f"{(devices / BACKUP_DEVICE / 'Manifest.db').as_uri()}?immutable=1", uri=True)
    try:
        rows = manifest.execute("SELECT fileID, domain, relativePath FROM Files WHERE flags = 1 ORDER BY fileID")
        for file_id, domain, relative in rows:
            path = devices / BACKUP_DEVICE / file_id[:2] / file_id
            if path.is_file():
                found.append((BACKUP_DEVICE, f"{domain}/{relative}", path))
    finally:
        manifest.close()
    return found


def _claims(devices: Path):
    for device, inner, path in _device_files(devices):
        for plugin in PHONE_PLUGINS:
            if plugin.SELECTOR.matches(inner, "", path.stat().st_size):
                yield device, inner, path, plugin


def _reference_copy(path: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "reference.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        companion = Path(str(path) + suffix)
        if companion.exists():
            shutil.copyfile(companion, Path(str(target) + suffix))
    return target


def test_every_claimed_database_has_an_oracle(corpus):
    claimed = {(device, inner, plugin.NAME) for device, inner, _path, plugin in _claims(corpus / "devices")}
    assert claimed == set(ORACLES), "a plugin claims a corpus database with no oracle here (or an oracle is stale)"


@pytest.mark.parametrize("key", sorted(ORACLES), ids=lambda key: f"{key[0]}:{key[1].rsplit('/', 1)[-1]}")
def test_real_database_matches_sqlite(corpus, tmp_path, key):
    device, inner, plugin_name = key
    oracle = ORACLES[key]
    path, plugin = next((path, plugin) for d, i, path, plugin in _claims(corpus / "devices")
                        if (d, i, plugin.NAME) == key)
    reference = _reference_copy(path, tmp_path)
    expected_counts = {kind: query(reference, sql)[0][0] for kind, sql in oracle.counts.items()}
    record = query(reference, oracle.record_sql)[0]

    run = run_untouched(plugin(), path)

    assert run.warnings == []
    # Live rows are what plain SQL counts; recovered deleted records
    # (test_sqlite_recovery.py) are marked and counted apart.
    live = [finding for finding in run.findings if not getattr(finding, "recovered", False)]
    assert all(finding.recovered_from for finding in run.findings if getattr(finding, "recovered", False))
    counts = Counter(finding.KIND for finding in live)
    assert {kind: counts.get(kind, 0) for kind in expected_counts} == expected_counts
    assert sum(counts.values()) == sum(expected_counts.values()), counts
    finding = next(f for f in live
                   if f.KIND == oracle.record_kind and f.source_record_id == oracle.record_id(record))
    assert {name: getattr(finding, name) for name in oracle.fields(record)} == oracle.fields(record)


# -- whole trees through the CLI ----------------------------------------------------------------

EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback")


def _zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return target


@pytest.mark.parametrize("device,container", [(device, "folder") for device in FOLDER_DEVICES + (BACKUP_DEVICE,)]
                         + [(device, "zip") for device in FOLDER_DEVICES])
def test_scan_of_real_device_names_no_exception(corpus, tmp_path, device, container):
    """A scan of each tree, as a folder and (the on-device trees) as a ZIP:
    no warning names an exception, and the comms findings in report.json add
    up to the per-database oracles."""
    evidence = corpus / "devices" / device
    if container == "zip":
        evidence = _zip_of(evidence, tmp_path / f"{device}.zip")
    scan([evidence], tmp_path / "case")
    report = load_report(tmp_path / "case")
    bad = [w["message"] for w in report["warnings"] if EXCEPTION_NAME.search(w["message"])]
    assert bad == []
    expected: Counter = Counter()
    for (oracle_device, inner, _plugin), oracle in ORACLES.items():
        if oracle_device != device:
            continue
        path = next(p for d, i, p in _device_files(corpus / "devices") if (d, i) == (oracle_device, inner))
        reference = _reference_copy(path, tmp_path / inner.replace("/", "_"))
        for kind, sql in oracle.counts.items():
            expected[kind] += query(reference, sql)[0][0]
    for name, app in CACHE_APPS.items():     # apps read from iOS's URL cache, not from one database
        if app.device == device:
            expected += cache_expected(corpus / "devices", app, tmp_path / name)
    # Other plugins' comms findings (BeReal's contacts, voicemail...) have oracles of their own elsewhere.
    names = {plugin.NAME for plugin in PHONE_PLUGINS} | {app.plugin.NAME for app in CACHE_APPS.values()}
    found = Counter(f["kind"] for f in report["findings"]
                    if (f["kind"].startswith("comms.") or f["kind"] in expected) and f["plugin"] in names
                    and not f["data"].get("recovered"))
    assert found == +expected
