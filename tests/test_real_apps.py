"""Messaging apps beyond SMS and WhatsApp, on real databases from
shared/corpus/devices (provenance: devices/PROVENANCE.tsv; plaso's test
files for Burner, Tango and Viber on Android, iLEAPP's josh_ios15 test data
for Teams on iOS).

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
        "SELECT m.*, b.phone_number_id AS own FROM messages AS m JOIN burners AS b ON b.burner_id = m.burner_id "
        "WHERE m.direction = 1 AND m.asset_url IS NOT NULL AND m.asset_url != '' ORDER BY m._id LIMIT 1",
        lambda r: f"messages:{r['_id']}",
        lambda r: {"sender": r["contact_phone_number"], "recipients": (r["own"],), "direction": "incoming",
                   "time": unix_ms(r["date_created"]), "read": bool(r["read"]), "account": r["own"],
                   "attachments": 1, "attachment_names": (r["asset_url"],), "app": "Burner"},
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
        "SELECT * FROM calls WHERE type = 2 AND viber_call_type = 4 ORDER BY _id LIMIT 1",
        lambda r: f"calls:{r['_id']}",
        lambda r: {"number": r["canonized_number"], "direction": "outgoing", "start_time": unix_ms(r["date"]),
                   "duration_s": r["duration"], "call_type": "viber_video", "source_app": "Viber"},
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
    only = [arg for app in apps for arg in ("--only", app.plugin.NAME)]
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
    found = Counter(f["kind"] for f in report["findings"] if f["kind"].startswith("comms."))
    assert found == expected
