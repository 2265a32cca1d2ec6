"""More kit artifacts on real phone extractions (shared/corpus/devices,
provenance in devices/PROVENANCE.tsv): cellular identifiers, voicemail,
tracker detections, app usage, BeReal caches. Each real file gives the
counts plain sqlite3 / plistlib / json give, one record equal field by
field, and no warning; a cheap hostile copy gives one warning; a scan with
``--only <plugin>`` carries the new kinds to report.json, the page, the
timeline and the CSV tables.

Epochs are converted here independently of traffick_triage.timeutil.
"""

from __future__ import annotations

import csv
import json
import plistlib
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from comms_testlib import build_db, cocoa_s, digests, query, unix_ms, unix_s
from evidence_builders import load_report, scan
from traffick_triage.plugin_host import PluginRun, file_view_for_path, run_plugin
from traffick_triage.plugins.android_files_go import AndroidFilesGoPlugin
from traffick_triage.plugins.android_tracker_detection import AndroidTrackerDetectionPlugin
from traffick_triage.plugins.android_wellbeing import AndroidWellbeingPlugin
from traffick_triage.plugins.ios_bereal import IosBeRealPlugin
from traffick_triage.plugins.ios_cellular import IosCellularPlugin
from traffick_triage.plugins.ios_gmail_search import IosGmailSearchPlugin
from traffick_triage.plugins.ios_voicemail import IosVoicemailPlugin
from traffick_triage.report import finding_kinds

JOSH = "ios_fs_josh15"
LEGACY = "android_fs_legacy"
PREFS = "private/var/wireless/Library/Preferences"


def run_real(corpus: Path, plugin, device: str, inner: str) -> PluginRun:
    """Run a plugin on a corpus file as a scan would name it; the file is unchanged."""
    path = corpus / "devices" / device / inner
    assert plugin.SELECTOR.matches(inner, "", path.stat().st_size), f"{plugin.NAME} does not claim {inner}"
    before = digests(path)
    run = run_plugin(plugin, file_view_for_path(path, locator=f"{device} > {inner}", inner_path=inner), timeout=None)
    assert digests(path) == before, "the plugin changed its evidence"
    return run


def query_immutable(path: Path, sql: str) -> list[tuple]:
    """Plain sqlite3 on a corpus file, read-only (no -wal companion here)."""
    connection = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def query_rows(path: Path, sql: str) -> list[sqlite3.Row]:
    connection = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def run_bytes(tmp_path: Path, plugin, inner: str, data: bytes) -> PluginRun:
    path = tmp_path / inner.rsplit("/", 1)[-1]
    path.write_bytes(data)
    return run_plugin(plugin, file_view_for_path(path, locator=f"hostile > {inner}", inner_path=inner), timeout=None)


# -- cellular identifiers (CommCenter plists) -------------------------------------------------------

def _commcenter_expected(path: Path) -> set[tuple[str, str]]:
    """(type, value) pairs read with plistlib, key by key as iLEAPP's and
    Apple's names say; empty values (this phone's "meid") are not identifiers."""
    document = plistlib.loads(path.read_bytes())
    pairs = set()
    if path.name.endswith("device_specific_nobackup.plist"):
        pairs |= {("IMEI", slot["second"]) for slot in document["imeis"]}
        pairs |= {("subscription_id", slot["second"]) for slot in document["subscriber_account_ids"]}
        pairs |= {("phone_number", document["ReportedPhoneNumber"]), ("ICCID", document["ReportedSubscriberIdentity"]),
                  ("carrier", document["kOperatorRoamingInfo_Subscriber_CarrierBundleID"])}
        if document["meid"]:
            pairs.add(("MEID", document["meid"]))
    else:
        pairs |= {("phone_number", document["PhoneNumber"]), ("ICCID", document["LastKnownICCID"]),
                  ("carrier", document["com.apple.carrier_1"])}
        for wallet in document["PersonalWallet"].values():
            entitlements, phonebook = wallet["CarrierEntitlements"], wallet["phonebook"]
            pairs |= {("IMEI", entitlements["kEntitlementsSelfRegistrationUpdateImei"]),
                      ("IMSI", entitlements["kEntitlementsSelfRegistrationUpdateImsi"]),
                      ("IMSI", entitlements["lastGoodImsi"]),
                      ("phone_number", phonebook["CopiedSIMPhoneNumber"]), ("phone_number", phonebook["PNRPhoneNumber"])}
    return pairs


@pytest.mark.parametrize("name", ["com.apple.commcenter.plist", "com.apple.commcenter.device_specific_nobackup.plist"])
def test_commcenter_identifiers_equal_plistlib(corpus, name):
    path = corpus / "devices" / JOSH / PREFS / name
    run = run_real(corpus, IosCellularPlugin(), JOSH, f"{PREFS}/{name}")
    assert run.warnings == []
    found = [(f.identifier_type, f.value) for f in run.findings]
    assert len(found) == len(set(found)), "one finding per (type, value) in a file"
    assert set(found) == _commcenter_expected(path)
    assert {f.KIND for f in run.findings} == {"device.identifier"}
    assert {f.source_app for f in run.findings} == {"iOS CommCenter"}


def test_commcenter_gives_the_issue_imei_and_imsi(corpus):
    """Issue 18 counts the IMEI/IMSI of ios_fs_josh15 as a peer artifact."""
    runs = [run_real(corpus, IosCellularPlugin(), JOSH, f"{PREFS}/{name}")
            for name in ("com.apple.commcenter.plist", "com.apple.commcenter.device_specific_nobackup.plist")]
    kinds = {f.identifier_type for run in runs for f in run.findings}
    assert {"IMEI", "IMSI", "ICCID", "phone_number", "carrier"} <= kinds
    imei = next(f for f in runs[1].findings if f.identifier_type == "IMEI")
    document = plistlib.loads((corpus / "devices" / JOSH / PREFS / "com.apple.commcenter.device_specific_nobackup.plist")
                              .read_bytes())
    assert (imei.value, imei.source_record_id) == (document["imeis"][0]["second"], "imeis[0]")


def test_commcenter_hostile(corpus, tmp_path):
    real = (corpus / "devices" / JOSH / PREFS / "com.apple.commcenter.plist").read_bytes()
    inner = f"{PREFS}/com.apple.commcenter.plist"
    truncated = run_bytes(tmp_path, IosCellularPlugin(), inner, real[: len(real) // 2])
    assert truncated.findings == [] and len(truncated.warnings) == 1
    document = plistlib.loads(real)
    imsi = next(iter(document["PersonalWallet"].values()))["CarrierEntitlements"]["lastGoodImsi"]
    document["PhoneNumber"] = {"not": "a number"}
    document["LastKnownICCID"] = [1, 2]
    wrong = run_bytes(tmp_path, IosCellularPlugin(), inner, plistlib.dumps(document, fmt=plistlib.FMT_BINARY))
    assert len(wrong.warnings) == 1 and "PhoneNumber" in wrong.warnings[0] and "LastKnownICCID" in wrong.warnings[0]
    assert ("IMSI", imsi) in {(f.identifier_type, f.value) for f in wrong.findings}
    top_list = run_bytes(tmp_path, IosCellularPlugin(), inner, plistlib.dumps([1, 2]))
    assert top_list.findings == [] and len(top_list.warnings) == 1
    many = run_bytes(tmp_path, IosCellularPlugin(), inner,
                     plistlib.dumps({"imeis": [{"first": "1:kOne", "second": str(n)} for n in range(10_000)]}))
    assert len(many.warnings) == 1 and 0 < len(many.findings) < 10_000     # bounded, and said


# -- iOS voicemail -----------------------------------------------------------------------------------

VOICEMAIL = "private/var/mobile/Library/Voicemail/voicemail.db"


def _real_schema(path: Path) -> str:
    """The real file's CREATE statements (sqlite3's own text), to build fixtures with its exact layout."""
    connection = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)
    try:
        return ";\n".join(sql for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")) + ";"
    finally:
        connection.close()


def test_voicemail_real_file_equals_sqlite(corpus):
    path = corpus / "devices" / JOSH / VOICEMAIL
    run = run_real(corpus, IosVoicemailPlugin(), JOSH, VOICEMAIL)
    assert run.warnings == []
    expected = {"comms.voicemail": query_immutable(path, "SELECT (SELECT COUNT(*) FROM voicemail) + "
                                                         "(SELECT COUNT(*) FROM deleted)")[0][0]}
    assert Counter(f.KIND for f in run.findings) == +Counter(expected)


def test_voicemail_fields_on_the_real_layout(corpus, tmp_path):
    """The real file holds no message: the same schema (sqlite3's text of it) with planted rows."""
    db = build_db(tmp_path / "voicemail.db", _real_schema(corpus / "devices" / JOSH / VOICEMAIL), {
        "voicemail": [(7, 1001, 1684331273, "tok", "+19195550100", "+19195550101", 42, 1686923273, 706024073, 3,
                       "+19195794674", None),
                      (8, 1002, 1684331999, "tok2", None, None, 5, 0, 0, 0, None, None)],
        "deleted": [(2, 900, 1684000000, "tokd", "+15555550123", None, 12, 0, 0, 1, None, None)]})
    run = run_plugin(IosVoicemailPlugin(), file_view_for_path(db, inner_path=VOICEMAIL), timeout=None)
    assert run.warnings == []
    assert len(run.findings) == query(db, "SELECT (SELECT COUNT(*) FROM voicemail) + (SELECT COUNT(*) FROM deleted)")[0][0]
    row = query(db, "SELECT * FROM voicemail WHERE trashed_date != 0 ORDER BY ROWID LIMIT 1")[0]
    kept = next(f for f in run.findings if f.source_record_id == f"voicemail:{row['ROWID']}")
    assert {name: getattr(kept, name) for name in (
        "sender", "callback_number", "receiver", "received_time", "duration_s", "expiration_time", "trashed_time",
        "in_trash", "deleted", "flags", "remote_uid")} == {
        "sender": row["sender"], "callback_number": row["callback_num"], "receiver": row["receiver"],
        "received_time": unix_s(row["date"]), "duration_s": row["duration"], "expiration_time": unix_s(row["expiration"]),
        "trashed_time": cocoa_s(row["trashed_date"]), "in_trash": True, "deleted": False, "flags": row["flags"],
        "remote_uid": row["remote_uid"]}
    gone = next(f for f in run.findings if f.source_record_id.startswith("deleted:"))
    assert (gone.deleted, gone.in_trash, gone.sender) == (True, False, query(db, "SELECT sender FROM deleted")[0][0])
    untrashed = next(f for f in run.findings if f.source_record_id == "voicemail:8")
    assert (untrashed.in_trash, untrashed.trashed_time, untrashed.expiration_time) == (False, None, None)


def test_voicemail_hostile(tmp_path):
    db = build_db(tmp_path / "voicemail.db", "CREATE TABLE voicemail (ROWID INTEGER PRIMARY KEY, date INTEGER);",
                  {"voicemail": [(1, 1)]})
    run = run_plugin(IosVoicemailPlugin(), file_view_for_path(db, inner_path=VOICEMAIL), timeout=None)
    assert run.findings == [] and len(run.warnings) == 1 and "voicemail" in run.warnings[0]


# -- AirGuard tracker detection ------------------------------------------------------------------

ATTD = "data/data/de.seemoo.at_tracking_detection.release/databases/attd_db"


def test_tracker_detection_equals_sqlite(corpus):
    path = corpus / "devices" / LEGACY / ATTD
    run = run_real(corpus, AndroidTrackerDetectionPlugin(), LEGACY, ATTD)
    assert run.warnings == []
    expected = {kind: query_immutable(path, f"SELECT COUNT(*) FROM {table}")[0][0] for kind, table in (
        ("device.tracker", "device"), ("device.tracker_sighting", "beacon"), ("device.tracker_alert", "notification"))}
    assert Counter(f.KIND for f in run.findings) == +Counter(expected)

    device = query_rows(path, "SELECT * FROM device WHERE deviceType = 'AIRTAG' ORDER BY deviceId LIMIT 1")[0]
    tracker = next(f for f in run.findings if f.source_record_id == f"device:{device['deviceId']}")
    assert {name: getattr(tracker, name) for name in (
        "address", "device_type", "first_seen_local", "last_seen_local", "unique_id", "ignored", "notified")} == {
        "address": device["address"], "device_type": "AIRTAG", "first_seen_local": device["firstDiscovery"],
        "last_seen_local": device["lastSeen"], "unique_id": device["uniqueId"], "ignored": bool(device["ignore"]),
        "notified": bool(device["notificationSent"])}

    # This app version stored each pair swapped: "latitude" runs beyond +-90, "longitude" never does.
    assert query_immutable(path, "SELECT MAX(ABS(latitude)) > 90, MAX(ABS(longitude)) <= 90 FROM beacon")[0] == (1, 1)
    beacon = query_rows(path, "SELECT b.*, d.deviceType FROM beacon b JOIN device d ON d.address = b.deviceAddress "
                              "WHERE b.latitude IS NOT NULL AND d.deviceType = 'AIRTAG' ORDER BY b.beaconId LIMIT 1")[0]
    sighting = next(f for f in run.findings if f.source_record_id == f"beacon:{beacon['beaconId']}")
    assert {name: getattr(sighting, name) for name in (
        "address", "device_type", "received_local", "rssi", "latitude", "longitude", "stored_latitude",
        "stored_longitude")} == {
        "address": beacon["deviceAddress"], "device_type": "AIRTAG", "received_local": beacon["receivedAt"],
        "rssi": beacon["rssi"], "latitude": beacon["longitude"], "longitude": beacon["latitude"],
        "stored_latitude": beacon["latitude"], "stored_longitude": beacon["longitude"]}
    positioned = [f for f in run.findings if f.KIND == "device.tracker_sighting" and f.latitude is not None]
    assert len(positioned) == query_immutable(path, "SELECT COUNT(*) FROM beacon WHERE latitude IS NOT NULL "
                                                    "AND longitude IS NOT NULL")[0][0]
    assert all(-90 <= f.latitude <= 90 and f.position_note for f in positioned)


TRACKER_SCHEMA = """
CREATE TABLE device (deviceId INTEGER PRIMARY KEY, uniqueId TEXT, address TEXT NOT NULL, name TEXT, ignore INTEGER,
  connectable INTEGER, payloadData INTEGER, firstDiscovery TEXT NOT NULL, lastSeen TEXT NOT NULL,
  notificationSent INTEGER, lastNotificationSent TEXT, deviceType TEXT);
CREATE TABLE beacon (beaconId INTEGER PRIMARY KEY, receivedAt TEXT NOT NULL, rssi INTEGER NOT NULL,
  deviceAddress TEXT NOT NULL, longitude REAL, latitude REAL, mfg BLOB, serviceUUIDs TEXT);
CREATE TABLE notification (notificationId INTEGER PRIMARY KEY, deviceAddress TEXT NOT NULL, falseAlarm INTEGER NOT NULL,
  dismissed INTEGER, clicked INTEGER, createdAt TEXT NOT NULL);
"""


def test_tracker_detection_pairs_in_order_and_alerts(tmp_path):
    """A file whose pairs are stored the right way round is read as stored (Munich and Austin)."""
    db = build_db(tmp_path / "attd_db", TRACKER_SCHEMA, {
        "device": [(1, "u", "AA:BB", None, 0, 0, 0, "2023-01-02T03:04:05.600", "2023-01-02T04:00:00", 1,
                    "2023-01-02T04:00:01", "AIRTAG")],
        "beacon": [(1, "2023-01-02T03:04:05.600", -60, "AA:BB", 11.5, 48.1, None, None),
                   (2, "2023-01-02T03:05:00", -61, "AA:BB", -97.7, 30.2, None, None)],
        "notification": [(1, "AA:BB", 0, 1, 0, "2023-01-02T04:00:01")]})
    run = run_plugin(AndroidTrackerDetectionPlugin(), file_view_for_path(db, inner_path=ATTD), timeout=None)
    assert run.warnings == []
    sightings = [(f.latitude, f.longitude, f.position_note) for f in run.findings if f.KIND == "device.tracker_sighting"]
    assert sightings == [(48.1, 11.5, None), (30.2, -97.7, None)]
    alert = next(f for f in run.findings if f.KIND == "device.tracker_alert")
    assert (alert.address, alert.created_local, alert.false_alarm, alert.dismissed) == ("AA:BB", "2023-01-02T04:00:01",
                                                                                        False, True)
    event = alert.timeline_events()[0]
    assert (event.datetime, event.local_time, event.timezone) == (None, "2023-01-02T04:00:01", "unknown")


def test_tracker_detection_hostile(tmp_path):
    db = build_db(tmp_path / "attd_db", TRACKER_SCHEMA.replace("longitude REAL, latitude REAL, ", ""), {
        "device": [(1, "u", "AA:BB", None, 0, 0, 0, "x", "y", 0, None, "TILE")]})
    run = run_plugin(AndroidTrackerDetectionPlugin(), file_view_for_path(db, inner_path=ATTD), timeout=None)
    assert len(run.warnings) == 1 and "beacon" in run.warnings[0]
    assert [f.KIND for f in run.findings] == ["device.tracker"]


@pytest.mark.parametrize("plugin_name", ["ios_voicemail", "android_tracker_detection", "android_wellbeing",
                                         "android_files_go"])
def test_new_sqlite_plugins_take_any_value_in_any_column(tmp_path, plugin_name):
    """The kit's hostile-values check (tests/test_plugin_kit.py) on these plugins."""
    from test_plugin_kit import test_kit_plugins_take_any_value_in_any_column as any_value_in_any_column

    any_value_in_any_column(tmp_path, plugin_name)


def test_tracker_positions_agree_with_the_phone_camera(corpus):
    """The swap is not a guess: on 2022-08-16 the phone's own photos (their
    GPS, as Files by Google indexed it) were taken where AirGuard's swapped
    positions of that day put the phone."""
    files = query_immutable(corpus / "devices" / LEGACY / FILES_GO,
                            "SELECT latitude, longitude FROM files_metadata_table WHERE latitude IS NOT NULL "
                            "AND taken_date_ms BETWEEN 1660608000000 AND 1660694399999")
    assert files
    run = run_real(corpus, AndroidTrackerDetectionPlugin(), LEGACY, ATTD)
    day = [f for f in run.findings if f.KIND == "device.tracker_sighting" and f.latitude is not None
           and (f.received_local or "").startswith("2022-08-16")]
    assert day
    for sighting in day:
        assert min(abs(sighting.latitude - lat) + abs(sighting.longitude - lon) for lat, lon in files) < 0.05


# -- Digital Wellbeing ---------------------------------------------------------------------------

WELLBEING = "data/data/com.google.android.apps.wellbeing/databases/app_usage"
USAGE_NAMES = {1: "ACTIVITY_RESUMED", 2: "ACTIVITY_PAUSED", 12: "NOTIFICATION_INTERRUPTION", 18: "KEYGUARD_HIDDEN",
               19: "FOREGROUND_SERVICE_START", 20: "FOREGROUND_SERVICE_STOP", 23: "ACTIVITY_STOPPED",
               26: "DEVICE_SHUTDOWN", 27: "DEVICE_STARTUP"}     # android.app.usage.UsageEvents.Event (AOSP)


def test_wellbeing_equals_sqlite(corpus):
    path = corpus / "devices" / LEGACY / WELLBEING
    run = run_real(corpus, AndroidWellbeingPlugin(), LEGACY, WELLBEING)
    assert run.warnings == []
    assert len(run.findings) == query_immutable(path, "SELECT COUNT(*) FROM events")[0][0]
    by_type = dict(query_immutable(path, "SELECT type, COUNT(*) FROM events GROUP BY type"))
    assert Counter(f.event_code for f in run.findings) == Counter(by_type)
    assert {f.event for f in run.findings} == {USAGE_NAMES[code] for code in by_type}
    row = query_rows(path, "SELECT e.*, p.package_name, r.package_name AS root FROM events e "
                           "JOIN packages p ON p._id = e.package_id JOIN packages r ON r._id = e.task_root_package_id "
                           "WHERE e.type = 1 ORDER BY e._id LIMIT 1")[0]
    event = next(f for f in run.findings if f.source_record_id == f"events:{row['_id']}")
    assert {name: getattr(event, name) for name in ("app_id", "event", "event_code", "time", "task_root_app",
                                                    "instance_id", "source_app")} == {
        "app_id": row["package_name"], "event": "ACTIVITY_RESUMED", "event_code": 1, "time": unix_ms(row["timestamp"]),
        "task_root_app": row["root"], "instance_id": row["instance_id"], "source_app": "Digital Wellbeing"}


def test_wellbeing_hostile(tmp_path):
    db = build_db(tmp_path / "app_usage", "CREATE TABLE events (_id INTEGER PRIMARY KEY, timestamp INTEGER);")
    run = run_plugin(AndroidWellbeingPlugin(), file_view_for_path(db, inner_path=WELLBEING), timeout=None)
    assert run.findings == [] and len(run.warnings) == 1 and "app usage" in run.warnings[0]


# -- Files by Google -----------------------------------------------------------------------------

FILES_GO = "data/data/com.google.android.apps.nbu.files/databases/files_master_database"


def test_files_go_equals_sqlite(corpus):
    path = corpus / "devices" / LEGACY / FILES_GO
    run = run_real(corpus, AndroidFilesGoPlugin(), LEGACY, FILES_GO)
    assert run.warnings == []
    assert Counter(f.KIND for f in run.findings) == {
        "content.file_record": query_immutable(path, "SELECT COUNT(*) FROM files_master_table")[0][0]}
    assert sum(f.latitude is not None for f in run.findings) == query_immutable(
        path, "SELECT COUNT(*) FROM files_metadata_table WHERE latitude IS NOT NULL AND longitude IS NOT NULL")[0][0]
    row = query_rows(path, "SELECT f.*, m.* FROM files_master_table f JOIN files_metadata_table m ON m.file_id = f.id "
                           "WHERE m.latitude IS NOT NULL AND m.taken_date_ms IS NOT NULL ORDER BY f.id LIMIT 1")[0]
    record = next(f for f in run.findings if f.source_record_id == f"files_master_table:{row['id']}")
    assert {name: getattr(record, name) for name in (
        "path", "size", "modified_time", "mime_type", "uri", "hidden", "capture_time_utc", "latitude", "longitude",
        "camera", "width", "height")} == {
        "path": f"{row['root_path']}/{row['root_relative_file_path']}", "size": row["size"],
        "modified_time": unix_ms(row["file_date_modified_ms"]), "mime_type": row["mime_type"], "uri": row["uri"],
        "hidden": bool(row["is_hidden"]), "capture_time_utc": unix_ms(row["taken_date_ms"]),
        "latitude": row["latitude"], "longitude": row["longitude"], "camera": row["device_description"],
        "width": row["width_px"], "height": row["height_px"]}
    opened = query_rows(path, "SELECT file_id, MAX(file_open_time_stamp_ms) AS t FROM file_open_info_table "
                              "GROUP BY file_id")
    assert {(f.source_record_id, f.last_opened_time) for f in run.findings if f.last_opened_time} == {
        (f"files_master_table:{o['file_id']}", unix_ms(o["t"])) for o in opened}


def test_files_go_hostile(tmp_path):
    db = build_db(tmp_path / "files_master_database", "CREATE TABLE files_master_table (id INTEGER PRIMARY KEY);")
    run = run_plugin(AndroidFilesGoPlugin(), file_view_for_path(db, inner_path=FILES_GO), timeout=None)
    assert run.findings == [] and len(run.warnings) == 1 and "file records" in run.warnings[0]


# -- BeReal caches ---------------------------------------------------------------------------------

BEREAL_CACHES = "private/var/mobile/Containers/Data/Application/6A9FBCE8-7B19-4741-9A65-2EC98E2EEED2/Library/Caches"


def _bereal_files(corpus: Path) -> dict[str, tuple[str, Path]]:
    """Repository name -> (path inside the evidence, host file) of every BeReal cache file."""
    root = corpus / "devices" / JOSH / BEREAL_CACHES
    return {path.parent.name[len("disk-bereal-"):]: (path.relative_to(corpus / "devices" / JOSH).as_posix(), path)
            for path in sorted(root.glob("disk-bereal-*/*")) if path.is_file()}


def test_bereal_caches_equal_json(corpus):
    files = _bereal_files(corpus)
    claimed = {name for name, (inner, path) in files.items()
               if IosBeRealPlugin.SELECTOR.matches(inner, "", path.stat().st_size)}
    # Memories (the owner's posts) are not read yet.
    assert claimed == set(files) - {"MemoriesRepository-subject-key"}
    for name in sorted(claimed):
        inner, path = files[name]
        document = json.loads(path.read_bytes())["object"]
        run = run_real(corpus, IosBeRealPlugin(), JOSH, inner)
        assert run.warnings == [], name
        kinds = Counter(f.KIND for f in run.findings)
        if name == "ProfileRepository":
            assert kinds == {"device.account": 1, "device.identifier": 1 + len(document["devices"])}
            account = next(f for f in run.findings if f.KIND == "device.account")
            assert {k: getattr(account, k) for k in ("username", "identifier", "description", "created")} == {
                "username": document["username"], "identifier": document["id"], "description": document["fullname"],
                "created": cocoa_s(document["createdAt"])}
            assert ("phone_number", document["phoneNumber"]) in {(f.identifier_type, f.value) for f in run.findings
                                                                 if f.KIND == "device.identifier"}
        else:
            assert kinds == +Counter({"comms.contact": len(document)}), name
    friend = json.loads(files["RelationshipsFriendsListManager"][1].read_bytes())["object"][0]
    run = run_real(corpus, IosBeRealPlugin(), JOSH, files["RelationshipsFriendsListManager"][0])
    assert {k: getattr(run.findings[0], k) for k in ("name", "identifiers", "source_record_id")} == {
        "name": friend["fullname"], "identifiers": (friend["username"], friend["id"]),
        "source_record_id": f"friend:{friend['id']}"}
    uploaded = json.loads(files["RelationshipsContactsManager-contact"][1].read_bytes())["object"]
    run = run_real(corpus, IosBeRealPlugin(), JOSH, files["RelationshipsContactsManager-contact"][0])
    assert [f.phone_numbers for f in run.findings] == [tuple(c["phoneNumbers"]) for c in uploaded]
    assert [f.name for f in run.findings] == [
        " ".join(p for p in (c["givenName"], c["middleName"], c["familyName"]) if p) for c in uploaded]


def test_bereal_hostile(corpus, tmp_path):
    inner = f"{BEREAL_CACHES}/disk-bereal-RelationshipsFriendsListManager/5D0D66C27E420224031B3AE11392258F"
    real = (corpus / "devices" / JOSH / inner).read_bytes()
    truncated = run_bytes(tmp_path, IosBeRealPlugin(), inner, real[:-5])
    assert truncated.findings == [] and len(truncated.warnings) == 1
    wrong_top = run_bytes(tmp_path, IosBeRealPlugin(), inner, b'{"object": {"username": "x"}}')
    assert wrong_top.findings == [] and len(wrong_top.warnings) == 1
    mixed = run_bytes(tmp_path, IosBeRealPlugin(), inner, b'{"object": [7, {"id": 5, "username": ["x"]}, "y"]}')
    assert len(mixed.warnings) == 1 and [f.identifiers for f in mixed.findings] == [("5",)]
    profile = f"{BEREAL_CACHES}/disk-bereal-ProfileRepository/A1"
    odd = run_bytes(tmp_path, IosBeRealPlugin(), profile, b'{"object": {"id": "u", "createdAt": "soon", "devices": 3}}')
    assert len(odd.warnings) == 1 and [(f.KIND, f.created) for f in odd.findings] == [("device.account", None)]


# -- a scan with only these plugins: every new kind reaches every output -----------------------------

MORE = ("ios_cellular", "ios_voicemail", "android_tracker_detection", "android_wellbeing", "android_files_go",
        "ios_bereal", "ios_gmail_search")


@pytest.fixture(scope="module")
def more_case(corpus, tmp_path_factory):
    case = tmp_path_factory.mktemp("more") / "case"
    options = [option for name in MORE for option in ("--only", name)]
    scan([corpus / "devices/android_fs_legacy", corpus / "devices/ios_fs_josh15"], case, *options)
    devices = corpus / "devices"
    expected = Counter({
        "device.tracker": query_immutable(devices / LEGACY / ATTD, "SELECT COUNT(*) FROM device")[0][0],
        "device.tracker_sighting": query_immutable(devices / LEGACY / ATTD, "SELECT COUNT(*) FROM beacon")[0][0],
        "device.app_usage": query_immutable(devices / LEGACY / WELLBEING, "SELECT COUNT(*) FROM events")[0][0],
        "content.file_record": query_immutable(devices / LEGACY / FILES_GO, "SELECT COUNT(*) FROM files_master_table")[0][0],
        "device.identifier": sum(len(_commcenter_expected(devices / JOSH / PREFS / name)) for name in (
            "com.apple.commcenter.plist", "com.apple.commcenter.device_specific_nobackup.plist")),
    })
    expected.update({"comms.message": query_immutable(devices / JOSH / GMAIL, "SELECT COUNT(*) FROM offline_search")[0][0],
                     "device.account": 1})
    for name, (_inner, path) in _bereal_files(corpus).items():
        document = json.loads(path.read_bytes())["object"]
        if name == "ProfileRepository":
            expected.update({"device.account": 1, "device.identifier": 1 + len(document["devices"])})
        elif name != "MemoriesRepository-subject-key":
            expected["comms.contact"] += len(document)
    return case, +expected


def test_more_scan_reports_every_finding_and_stays_valid(more_case):
    jsonschema = pytest.importorskip("jsonschema")
    case, expected = more_case
    report = load_report(case)
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs/report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert Counter(f["kind"] for f in report["findings"]) == expected
    assert report["warnings"] == []


def test_more_scan_reaches_page_timeline_csv_and_map(more_case, corpus):
    case, expected = more_case
    page = (case / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="other-findings">'):].split("</section>", 1)[0]
    for kind in expected:
        if kind not in finding_kinds.KNOWN_KINDS:
            assert f'id="{finding_kinds.anchor(kind)}"' in section, kind
        # contacts and messages have hand-made tables
        table = {"comms.contact": "contacts", "comms.message": "messages"}.get(kind, kind.replace(".", "_"))
        with open(case / "csv" / f"{table}.csv", newline="", encoding="utf-8-sig") as stream:
            assert sum(1 for _row in csv.DictReader(stream)) == expected[kind], kind
    events = [json.loads(line) for line in (case / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    descs = Counter(e["timestamp_desc"] for e in events)
    assert descs["App Usage"] == expected["device.app_usage"]
    assert descs["Tracker Beacon Received"] == expected["device.tracker_sighting"]
    local = [e for e in events if e["timestamp_desc"] == "Tracker Beacon Received"]
    assert {e["timezone"] for e in local} == {"unknown"}
    assert descs["Picture/Video Taken"] == query_immutable(
        corpus / "devices" / LEGACY / FILES_GO, "SELECT COUNT(*) FROM files_metadata_table WHERE taken_date_ms > 0")[0][0]
    points = json.loads((case / "locations.geojson").read_text(encoding="utf-8"))["features"]
    sources = Counter(point["properties"]["source"] for point in points)
    assert sources == {
        "android_tracker_detection:device.tracker_sighting": query_immutable(
            corpus / "devices" / LEGACY / ATTD, "SELECT COUNT(*) FROM beacon WHERE latitude IS NOT NULL")[0][0],
        "android_files_go:content.file_record": query_immutable(
            corpus / "devices" / LEGACY / FILES_GO, "SELECT COUNT(*) FROM files_metadata_table "
                                                    "WHERE latitude IS NOT NULL")[0][0]}


# -- Gmail offline search index ----------------------------------------------------------------------

GMAIL = ("private/var/mobile/Containers/Data/Application/EBF32AAA-D9C0-4041-B54B-CEED246823C3/Library/"
         "Application Support/data/thisisdfir@gmail.com/searchsqlitedb")


def test_gmail_search_equals_sqlite_fts5(corpus):
    """The oracle reads the FTS5 table by its column names (the plugin reads the content table)."""
    path = corpus / "devices" / JOSH / GMAIL
    run = run_real(corpus, IosGmailSearchPlugin(), JOSH, GMAIL)
    assert run.warnings == []
    rows = query_rows(path, 'SELECT rowid, score, itemServerPermId, messageServerPermId, "from", "to", cc, bcc, '
                            "subject, body, has FROM offline_search ORDER BY rowid")
    assert Counter(f.KIND for f in run.findings) == {"comms.message": len(rows), "device.account": 1}
    [account] = [f for f in run.findings if f.KIND == "device.account"]
    assert (account.username, account.provider) == ("thisisdfir@gmail.com", "Google")
    messages = {f.source_record_id: f for f in run.findings if f.KIND == "comms.message"}
    # A server message id (msg-f:<decimal>) carries the message's Unix milliseconds above its 20th bit: the
    # score is that time. (The two msg-a ids are the mails this phone wrote, ids of its own making.)
    server = [r for r in rows if r["messageServerPermId"].startswith("msg-f:")]
    assert len(server) == len(rows) - 2
    assert all(int(r["messageServerPermId"][len("msg-f:"):]) >> 20 == int(r["score"]) for r in server)
    row = next(r for r in rows if r["has"])
    message = messages[f"{row['messageServerPermId']}#{row['rowid']}"]
    assert {name: getattr(message, name) for name in (
        "thread_id", "sender", "recipients", "subject", "body", "time", "status", "direction", "account")} == {
        "thread_id": row["itemServerPermId"], "sender": row["from"], "subject": row["subject"], "body": row["body"],
        "recipients": tuple(v for v in (row["to"], row["cc"], row["bcc"]) if v), "time": unix_ms(int(row["score"])),
        "status": row["has"], "direction": "incoming", "account": "thisisdfir@gmail.com"}
    outgoing = [f for f in messages.values() if f.direction == "outgoing"]
    assert len(outgoing) == sum(1 for r in rows if "thisisdfir@gmail.com" in r["from"].lower())


def test_gmail_search_hostile(tmp_path):
    inner = "private/var/mobile/Containers/Data/Application/X/Library/Application Support/data/a@b.c/searchsqlitedb"
    reordered = build_db(tmp_path / "searchsqlitedb",
                         'CREATE VIRTUAL TABLE offline_search USING fts5(subject, body, "from", score UNINDEXED, '
                         "itemServerPermId UNINDEXED, messageServerPermId UNINDEXED, \"to\", cc, bcc, has);")
    build_db(reordered, "", {"offline_search": [("s", "b", "f", 1, "t", "m", "x", "", "", "")]})
    run = run_plugin(IosGmailSearchPlugin(), file_view_for_path(reordered, inner_path=inner), timeout=None)
    assert run.findings == [] and len(run.warnings) == 1 and "offline_search" in run.warnings[0]
    (tmp_path / "other").mkdir()
    empty = build_db(tmp_path / "other" / "searchsqlitedb", "CREATE TABLE unrelated (x);")
    run = run_plugin(IosGmailSearchPlugin(), file_view_for_path(empty, inner_path=inner), timeout=None)
    assert run.findings == [] and len(run.warnings) == 2      # one per query: mailbox and mail


def test_voicemail_reaches_page_timeline_and_csv(corpus, tmp_path):
    """The real tree's voicemail.db is empty: a tree holding it with planted rows, scanned with --only."""
    target = tmp_path / "phone" / VOICEMAIL
    target.parent.mkdir(parents=True)
    build_db(target, _real_schema(corpus / "devices" / JOSH / VOICEMAIL), {
        "voicemail": [(1, 11, 1684331273, "t", "+15555550100", None, 30, 0, 706024073, 0, None, None)],
        "deleted": [(1, 12, 1684000000, "d", "+15555550101", None, 9, 0, 0, 0, None, None)]})
    case = tmp_path / "case"
    scan([tmp_path / "phone"], case, "--only", "ios_voicemail")
    report = load_report(case)
    assert Counter(f["kind"] for f in report["findings"]) == {"comms.voicemail": 2} and report["warnings"] == []
    page = (case / "report.html").read_text(encoding="utf-8")
    assert f'id="{finding_kinds.anchor("comms.voicemail")}"' in page
    with open(case / "csv" / "comms_voicemail.csv", newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(row["deleted"] for row in rows) == ["false", "true"]
    events = [json.loads(line) for line in (case / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    descs = Counter(e["timestamp_desc"] for e in events)
    assert (descs["Voicemail Received"], descs["Voicemail Trashed"]) == (2, 1)
