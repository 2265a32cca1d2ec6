"""Messaging apps beyond SMS and WhatsApp, on real databases from
shared/corpus/devices (provenance: devices/PROVENANCE.tsv; plaso's test
files for Burner, Tango and Viber on Android, iLEAPP's josh_ios15 test data
for Teams, Discord and Burner on iOS).

The oracle is the ``sqlite3`` command-line shell, run in a subprocess on a
test-owned copy (with the -wal/-shm companions): per finding kind, our
count equals its count, and one record equals its row field by field. Every
plugin also runs with no warning, survives a hostile copy with a table
missing (one warning, the rest still read), and reaches report.json through
``python -m traffick_triage scan DEVICE --only PLUGIN``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import traffick_triage
from comms_testlib import cocoa_s, run_untouched, unix_ms
from traffick_triage.plugins.burner_android import BurnerAndroidPlugin
from traffick_triage.plugins.burner_ios import BurnerIosPlugin
from traffick_triage.plugins.discord_ios import DiscordIosPlugin
from traffick_triage.plugins.tango_android import TangoAndroidPlugin
from traffick_triage.plugins.teams_ios import TeamsIosPlugin
from traffick_triage.plugins.viber_android import ViberAndroidPlugin

SQLITE3 = shutil.which("sqlite3")
TEAMS_DIR = ("private/var/mobile/Containers/Shared/AppGroup/E12BE95F-EA64-4826-8A15-DB2CF818F268/"
             "SkypeSpacesDogfood/148AB670-2197-4B7F-AD74-206D4AB2ED62")


def cli(path: Path, sql: str) -> list[dict]:
    """Rows of ``sql`` from the sqlite3 shell (JSON mode), on ``path``."""
    result = subprocess.run([SQLITE3, "-json", str(path), sql], capture_output=True, check=True)
    text = result.stdout.decode("utf-8", "replace")
    return json.loads(text) if text.strip() else []


def count(path: Path, sql: str) -> int:
    return int(next(iter(cli(path, sql)[0].values())))


@dataclass(frozen=True)
class App:
    device: str
    inner: str
    plugin: type
    counts: dict[str, str]                       # finding kind -> SELECT COUNT(*) ...
    record_kind: str
    record_sql: str
    record_id: Callable[[dict], str]
    fields: Callable[[dict], dict]
    drop: str                                    # table the hostile copy loses
    left: str                                    # a finding kind still read without it


def _tango_body(row: dict) -> str:
    # Independent of the plugin's walker: the text is the first string of
    # field 4 (tag 0x22) and sits right after the conversation id (field 2)
    # and the type (field 3) in these payloads; located by its tag here.
    raw = base64.b64decode(row["payload"])
    at = raw.index(b"\x22", 2 + raw[1])
    return raw[at + 2: at + 2 + raw[at + 1]].decode("utf-8")


APPS = {
    "burner_android": App(
        "android_fs_legacy", "data/data/com.adhoclabs.burner/databases/burners.db", BurnerAndroidPlugin,
        {"comms.message": "SELECT COUNT(*) FROM messages WHERE message_type = 2",
         "comms.call": "SELECT COUNT(*) FROM messages WHERE message_type = 1",
         "comms.contact": "SELECT COUNT(*) FROM contacts"},
        "comms.message",
        "SELECT m.*, b.phone_number_id AS own, (SELECT name FROM contacts WHERE phone_number = "
        "m.contact_phone_number ORDER BY _id LIMIT 1) AS name "
        "FROM messages AS m JOIN burners AS b ON b.burner_id = m.burner_id "
        "WHERE m.direction = 1 AND m.asset_url IS NOT NULL AND m.asset_url != '' ORDER BY m._id LIMIT 1",
        lambda r: f"messages:{r['_id']}",
        lambda r: {"sender": r["contact_phone_number"], "recipients": (r["own"],), "direction": "incoming",
                   "time": unix_ms(r["date_created"]), "read": bool(r["read"]), "account": r["own"],
                   "attachments": 1, "attachment_names": (r["asset_url"],), "app": "Burner",
                   "sender_name": r["name"]},
        "burners", "comms.contact"),
    "tango_android": App(
        "android_fs_legacy", "data/data/com.sgiggle.production/files/tc.db", TangoAndroidPlugin,
        {"comms.message": "SELECT COUNT(*) FROM messages"},
        "comms.message",
        "SELECT * FROM messages WHERE direction = 1 AND type = 0 AND del_status = 0 ORDER BY msg_id LIMIT 1",
        lambda r: f"messages:{r['msg_id']}",
        lambda r: {"sender": r["conv_id"], "thread_id": r["conv_id"], "direction": "incoming",
                   "body": _tango_body(r), "time": unix_ms(r["create_time"]), "sent_time": unix_ms(r["send_time"]),
                   "app": "Tango"},
        "messages", ""),
    "viber_android": App(
        "android_fs_legacy", "data/data/com.viber.voip/databases/viber_data", ViberAndroidPlugin,
        {"comms.call": "SELECT COUNT(*) FROM calls", "comms.contact": "SELECT COUNT(*) FROM phonebookcontact"},
        "comms.call",
        "SELECT calls.*, (SELECT c.display_name FROM phonebookdata AS d JOIN phonebookcontact AS c "
        "ON c._id = d.contact_id WHERE d.data2 = calls.canonized_number ORDER BY c._id, d._id LIMIT 1) AS name "
        "FROM calls WHERE type = 2 AND viber_call_type = 4 ORDER BY _id LIMIT 1",
        lambda r: f"calls:{r['_id']}",
        lambda r: {"number": r["canonized_number"], "direction": "outgoing", "start_time": unix_ms(r["date"]),
                   "duration_s": r["duration"], "call_type": "viber_video", "source_app": "Viber",
                   "contact_name": r["name"]},
        "calls", "comms.contact"),
    "teams_ios": App(
        "ios_fs_josh15", f"{TEAMS_DIR}/SkypeSpacesDogfood-9188040d-6c67-4c5b-b112-36a304b66dad.sqlite",
        TeamsIosPlugin,
        {"comms.message": "SELECT COUNT(*) FROM ZSMESSAGE WHERE ZMESSAGETYPE NOT LIKE 'ThreadActivity/%' "
                          "AND ZMESSAGETYPE NOT LIKE 'Event/%'",
         "comms.chat_event": "SELECT COUNT(*) FROM ZSMESSAGE WHERE ZMESSAGETYPE LIKE 'ThreadActivity/%' "
                             "OR ZMESSAGETYPE LIKE 'Event/%'",
         "comms.contact": "SELECT (SELECT COUNT(*) FROM ZSCONTACT) + (SELECT COUNT(*) FROM ZUSER)"},
        "comms.message",
        "SELECT Z_PK, ZFROM, ZTHREADID, ZCONTENT, ZARRIVALTIME FROM ZSMESSAGE "
        "WHERE ZMESSAGETYPE = 'Text' AND ZTS_ISSENTBYME = 0 ORDER BY Z_PK LIMIT 1",
        lambda r: str(r["Z_PK"]),
        lambda r: {"sender": r["ZFROM"], "thread_id": r["ZTHREADID"], "direction": "incoming",
                   "body": r["ZCONTENT"], "time": cocoa_s(r["ZARRIVALTIME"]), "service": "Text",
                   "app": "Microsoft Teams"},
        "ZSMESSAGE", "comms.contact"),
}


# -- apps read from iOS's URL cache (Cache.db + fsCachedData) ---------------------------------

DISCORD_DIR = ("private/var/mobile/Containers/Data/Application/FC296D69-95CC-448D-8C8B-BBCFADD48A2F/Library/Caches/"
               "com.hammerandchisel.discord")
BURNER_IOS_DIR = ("private/var/mobile/Containers/Data/Application/43637BC0-E3FA-4375-9A56-B85713075C0D/Library/"
                  "Caches/com.adhoclabs.burner")
# The objects of one cached body ``t``: the elements of an array, or the object itself.
OBJECTS = "json_each(CASE json_type(t) WHEN 'array' THEN t ELSE json_array(json(t)) END)"
DISCORD_OK = ("json_extract(v, '$.id') IS NOT NULL AND json_extract(v, '$.channel_id') IS NOT NULL AND "
              "json_extract(v, '$.author') IS NOT NULL AND json_extract(v, '$.timestamp') IS NOT NULL AND "
              "json_extract(v, '$.type') IS NOT NULL")
DISCORD_KINDS = {"comms.message": f"{DISCORD_OK} AND json_extract(v, '$.type') IN (0, 19, 20, 23)",
                 "comms.call": f"{DISCORD_OK} AND json_extract(v, '$.type') = 3",
                 "comms.chat_event": f"{DISCORD_OK} AND json_extract(v, '$.type') NOT IN (0, 3, 19, 20, 23)"}
BURNER_OK = ("json_extract(v, '$.id') IS NOT NULL AND json_extract(v, '$.contactPhoneNumber') IS NOT NULL AND "
             "json_extract(v, '$.direction') IS NOT NULL AND json_extract(v, '$.dateCreated') IS NOT NULL")
BURNER_KINDS = {"comms.message": f"{BURNER_OK} AND json_extract(v, '$.messageType') = 2",
                "comms.call": f"{BURNER_OK} AND json_extract(v, '$.messageType') = 1"}


@dataclass(frozen=True)
class CacheApp:
    device: str
    folder: str
    plugin: type
    file_kinds: dict[str, str]                   # kind -> predicate on one object ``v`` of an fsCachedData body
    db_kinds: dict[str, tuple[str, str]]         # kind -> (URL GLOBs joined by OR, predicate on ``v``)
    record_file: str
    record_pick: str                             # predicate choosing the compared object
    record_id: Callable[[dict], str]
    fields: Callable[[dict], dict]


def _file_sql(path: Path, predicate: str, what: str = "COUNT(*)") -> str:
    quoted = str(path).replace("'", "''")
    return (f"WITH b(t) AS (SELECT CAST(readfile('{quoted}') AS TEXT)), "
            f"m(v) AS (SELECT value FROM b, json_each(CASE WHEN json_valid(t) AND json_type(t) = 'array' "
            f"THEN t ELSE '[]' END)) SELECT {what} FROM m WHERE {predicate}")


def _db_sql(globs: str, predicate: str) -> str:
    return ("WITH b(t) AS (SELECT CAST(d.receiver_data AS TEXT) FROM cfurl_cache_response AS r "
            "JOIN cfurl_cache_receiver_data AS d ON d.entry_ID = r.entry_ID "
            f"WHERE d.isDataOnFS = 0 AND ({globs}) AND json_valid(CAST(d.receiver_data AS TEXT))), "
            f"m(v) AS (SELECT value FROM b, {OBJECTS}) SELECT COUNT(*) FROM m WHERE {predicate}")


def _globs(*patterns: str) -> str:
    return " OR ".join(f"r.request_key GLOB '{pattern}'" for pattern in patterns)


DISCORD_URLS = _globs("*/api/v[0-9]*/channels/[0-9]*/messages", "*/api/v[0-9]*/channels/[0-9]*/messages[?]*")
BURNER_MESSAGES = _globs("*/user/*/messages", "*/user/*/messages[?]*")
BURNER_CONTACTS = _globs("*/user/*/contacts", "*/user/*/contacts[?]*")

CACHE_APPS = {
    "discord_ios": CacheApp(
        "ios_fs_josh15", DISCORD_DIR, DiscordIosPlugin, DISCORD_KINDS,
        {kind: (DISCORD_URLS, predicate) for kind, predicate in DISCORD_KINDS.items()},
        "fsCachedData/A4D1D16E-2153-43F9-B647-68AF65A11903",
        "json_array_length(v, '$.attachments') > 0",
        lambda r: r["id"],
        lambda r: {"sender": r["author_id"], "sender_name": r["username"], "thread_id": r["channel_id"],
                   "body": r["content"] or None, "time": r["timestamp"], "attachments": r["n_attachments"],
                   "attachment_names": (r["filename"],), "app": "Discord"}),
    "burner_ios": CacheApp(
        "ios_fs_josh15", BURNER_IOS_DIR, BurnerIosPlugin, BURNER_KINDS,
        {"comms.message": (BURNER_MESSAGES, BURNER_KINDS["comms.message"]),
         "comms.call": (BURNER_MESSAGES, BURNER_KINDS["comms.call"]),
         "comms.contact": (BURNER_CONTACTS, "json_extract(v, '$.id') IS NOT NULL AND "
                                            "json_extract(v, '$.phoneNumber') IS NOT NULL AND "
                                            "json_extract(v, '$.name') IS NOT NULL")},
        "fsCachedData/34A0C948-4FFD-4FA3-B5DC-5DB8ADBD8B0D",
        "json_extract(v, '$.messageType') = 2 AND json_extract(v, '$.direction') = 1 "
        "AND json_extract(v, '$.assetUrl') IS NOT NULL",
        lambda r: r["id"],
        lambda r: {"sender": r["contactPhoneNumber"], "direction": "incoming", "body": r["message"] or None,
                   "time": unix_ms(r["dateCreated"]), "attachment_names": (r["assetUrl"],), "attachments": 1,
                   "app": "Burner"}),
}


def _cache_files(devices: Path, app: CacheApp) -> list[Path]:
    root = devices / app.device / app.folder
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm")))


def cache_expected(devices: Path, app: CacheApp, work: Path) -> Counter:
    """The sqlite3 shell's counts per finding kind over every file of the
    app's cache folder (also used by test_real_devices' whole-tree scans)."""
    expected: Counter = Counter()
    for path in _cache_files(devices, app):
        if path.name == "Cache.db":
            reference = _copy(path, work)
            for kind, (globs, predicate) in app.db_kinds.items():
                expected[kind] += count(reference, _db_sql(globs, predicate))
        else:
            for kind, predicate in app.file_kinds.items():
                expected[kind] += count(Path(":memory:"), _file_sql(path, predicate))
    return +expected


@pytest.mark.parametrize("name", sorted(CACHE_APPS))
def test_url_cache_counts_and_one_record_equal_sqlite3_shell(devices, tmp_path, name):
    app = CACHE_APPS[name]
    expected = cache_expected(devices, app, tmp_path / "cache")
    found: Counter = Counter()
    warnings = []
    by_record = {}
    for path in _cache_files(devices, app):
        inner = f"{app.folder}/{path.relative_to(devices / app.device / app.folder).as_posix()}"
        assert app.plugin.SELECTOR.matches(inner, "", path.stat().st_size)
        run = run_untouched(app.plugin(), path)
        warnings += run.warnings
        found.update(finding.KIND for finding in run.findings)
        if inner.endswith(app.record_file):
            by_record = {f.source_record_id: f for f in run.findings}
    assert warnings == []
    assert +found == +expected and sum(found.values()) > 0
    record_path = devices / app.device / app.folder / app.record_file
    picked = cli(Path(":memory:"), _file_sql(record_path, app.record_pick, "v"))[0]["v"]
    item = json.loads(picked)
    if name == "discord_ios":
        item = {**item, "author_id": item["author"]["id"], "username": item["author"]["username"],
                "n_attachments": len(item["attachments"]), "filename": item["attachments"][0]["filename"],
                "timestamp": item["timestamp"]}
    finding = by_record[app.record_id(item)]
    wanted = app.fields(item)
    assert {field: getattr(finding, field) for field in wanted} == wanted


def test_url_cache_json_that_does_not_parse_gives_one_warning(tmp_path):
    folder = tmp_path / "com.hammerandchisel.discord" / "fsCachedData"
    folder.mkdir(parents=True)
    broken = folder / "BROKEN"
    broken.write_bytes(b'[{"id": "1", "type": 0, "channel_id": "2", "author": {}, "timestamp": "2023-')
    deep = folder / "DEEP"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    picture = folder / "PICTURE"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for plugin in (DiscordIosPlugin, BurnerIosPlugin):
        runs = [run_untouched(plugin(), path) for path in (broken, deep, picture)]
        assert [len(run.warnings) for run in runs] == [1, 1, 0]
        assert all(run.findings == [] for run in runs)


def test_url_cache_objects_with_odd_value_types_are_read_without_error(tmp_path):
    folder = tmp_path / "fsCachedData"
    folder.mkdir()
    odd = [[], {}, None, "x", 1.5, True, -1, 10**30, "2023-13-99T99:99:99+00:00"]
    discord = [{"id": value, "type": value, "channel_id": value, "author": value, "timestamp": value,
                "attachments": value, "call": value, "content": value} for value in odd]
    burner = [{"id": value, "contactPhoneNumber": value, "direction": value, "messageType": value,
               "dateCreated": value, "assetUrl": value, "voiceUrl": value, "message": value} for value in odd]
    for plugin, items in ((DiscordIosPlugin, discord), (BurnerIosPlugin, burner)):
        path = folder / plugin.NAME
        path.write_text(json.dumps(items), encoding="utf-8")
        run = run_untouched(plugin(), path)
        assert run.warnings == []
        assert len(run.findings) == len(odd)


def _copy(source: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "reference.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        if Path(str(source) + suffix).exists():
            shutil.copyfile(Path(str(source) + suffix), Path(str(target) + suffix))
    return target


@pytest.fixture(scope="module")
def devices(corpus) -> Path:
    if SQLITE3 is None:
        pytest.fail("the sqlite3 command-line shell is missing (scripts/install-system-deps.sh installs it)")
    return corpus / "devices"


@pytest.mark.parametrize("name", sorted(APPS))
def test_selector_claims_the_real_file(devices, name):
    app = APPS[name]
    path = devices / app.device / app.inner
    assert app.plugin.SELECTOR.matches(app.inner, "", path.stat().st_size)


@pytest.mark.parametrize("name", sorted(APPS))
def test_counts_and_one_record_equal_sqlite3_shell(devices, tmp_path, name):
    app = APPS[name]
    path = devices / app.device / app.inner
    reference = _copy(path, tmp_path)
    expected = {kind: count(reference, sql) for kind, sql in app.counts.items()}
    record = cli(reference, app.record_sql)[0]

    run = run_untouched(app.plugin(), path)

    assert run.warnings == []
    found = Counter(finding.KIND for finding in run.findings)
    assert dict(found) == expected
    finding = next(f for f in run.findings
                   if f.KIND == app.record_kind and f.source_record_id == app.record_id(record))
    wanted = app.fields(record)
    assert {name: getattr(finding, name) for name in wanted} == wanted
    # Every time the plugin writes is timezone-aware UTC.
    for finding in run.findings:
        for field in ("time", "start_time", "sent_time", "created", "modified"):
            value = getattr(finding, field, None)
            assert value is None or value.endswith("+00:00"), (field, value)


@pytest.mark.parametrize("name", sorted(APPS))
def test_missing_table_gives_one_warning_and_the_rest_is_read(devices, tmp_path, name):
    app = APPS[name]
    hostile = _copy(devices / app.device / app.inner, tmp_path)
    connection = sqlite3.connect(hostile)
    connection.execute(f"DROP TABLE {app.drop}")
    connection.commit()
    connection.close()

    run = run_untouched(app.plugin(), hostile)

    found = Counter(finding.KIND for finding in run.findings)
    if app.drop in ("burners",):
        # An optional table: no warning, messages lose only the owner's number.
        assert run.warnings == []
        assert found["comms.message"] == count(hostile, app.counts["comms.message"])
    else:
        assert len(run.warnings) == 1 and app.drop in run.warnings[0], run.warnings
    if app.left:
        assert found[app.left] == count(hostile, app.counts[app.left]) > 0


def test_tango_payload_that_is_not_protobuf_is_read_without_body(tmp_path):
    path = tmp_path / "tc.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE messages (msg_id INTEGER PRIMARY KEY, conv_id TEXT, type INTEGER, "
                       "create_time BIGINT, send_time BIGINT, direction INTEGER, payload BLOB)")
    hostile = [b"%%% not base64", base64.b64encode(b"\x22\xff\xff\xff\xff\x0f"), base64.b64encode(b"\xff" * 40),
               base64.b64encode(b"\x22\x05abc"), None, 7]
    for number, payload in enumerate(hostile, 1):
        connection.execute("INSERT INTO messages VALUES (?, 'peer', 0, 1000, 1000, 1, ?)", (number, payload))
    connection.commit()
    connection.close()

    run = run_untouched(TangoAndroidPlugin(), path)

    assert run.warnings == []
    assert [f.body for f in run.findings] == [None] * len(hostile)


@pytest.mark.parametrize("device", sorted({app.device for app in APPS.values()}))
def test_scan_of_device_folder_puts_the_findings_in_report_json(devices, tmp_path, device):
    apps = [app for app in APPS.values() if app.device == device]
    cache_apps = [app for app in CACHE_APPS.values() if app.device == device]
    only = [arg for app in apps + cache_apps for arg in ("--only", app.plugin.NAME)]
    source = str(Path(traffick_triage.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=source + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "traffick_triage", "scan", str(devices / device),
                             "-o", str(tmp_path / "case"), "--quiet", *only],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "case" / "report.json").read_text(encoding="utf-8"))
    assert report["warnings"] == []
    expected: Counter = Counter()
    for app in apps:
        reference = _copy(devices / app.device / app.inner, tmp_path / app.plugin.NAME)
        for kind, sql in app.counts.items():
            expected[kind] += count(reference, sql)
    for app in cache_apps:
        expected += cache_expected(devices, app, tmp_path / app.plugin.NAME)
    found = Counter(f["kind"] for f in report["findings"] if f["kind"].startswith("comms."))
    assert found == +expected
