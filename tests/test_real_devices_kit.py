"""The plugin kit's artifacts on real phone extractions (shared/corpus/devices,
provenance in devices/PROVENANCE.tsv): every file a kit plugin claims gives
the counts plain sqlite3 (or plistlib) gives, one record equal field by
field, and no warning; then a scan of both device trees carries every new
finding kind to every output (report.json valid against its schema, the
page's "Other findings", the timeline, the CSV tables, case.jsonld).

Epochs are converted here independently of traffick_triage.timeutil.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import plistlib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from comms_testlib import cocoa_s, digests, iso, query, unix_ms, unix_s
from evidence_builders import load_report, scan
from test_real_devices import _device_files, _reference_copy
from traffick_triage.plugin_host import file_view_for_path, run_plugin
from traffick_triage.plugins.android_downloads import AndroidDownloadsPlugin
from traffick_triage.plugins.chromium_history import ChromiumHistoryPlugin
from traffick_triage.plugins.ios_accounts import IosAccountsPlugin
from traffick_triage.plugins.ios_notes import IosNotesPlugin
from traffick_triage.plugins.ios_wifi import IosWifiPlugin
from traffick_triage.report import finding_kinds

KIT_PLUGINS = (ChromiumHistoryPlugin, AndroidDownloadsPlugin, IosAccountsPlugin, IosNotesPlugin, IosWifiPlugin)
KIT_NAMES = frozenset(plugin.NAME for plugin in KIT_PLUGINS)
CHROME = "data/data/com.android.chrome/app_chrome/Default/History"
NOTES = "private/var/mobile/Containers/Shared/AppGroup/B120CD27-5591-4ED6-A1EC-E73CFFB4F8D3/NoteStore.sqlite"
KNOWN_NETWORKS = "private/var/preferences/com.apple.wifi.known-networks.plist"
LEGACY_WIFI = "private/var/preferences/SystemConfiguration/com.apple.wifi.plist"


def webkit(value: int) -> str:
    return iso(dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=value))


def plist_utc(value: dt.datetime) -> str:
    return iso(value.replace(tzinfo=dt.timezone.utc))


@dataclass(frozen=True)
class Oracle:
    """Counts per kind (callables over the reference copy, so plist files
    are counted with plistlib and databases with sqlite3) and records:
    (kind, source_record_id of the oracle's record, expected fields)."""

    counts: Callable[[Path], dict[str, int]]
    records: Callable[[Path], list[tuple[str, str, dict]]]


def _sql_counts(**queries: str) -> Callable[[Path], dict[str, int]]:
    return lambda path: {kind.replace("__", "."): query(path, sql)[0][0] for kind, sql in queries.items()}


def _chrome_records(path: Path) -> list[tuple[str, str, dict]]:
    visit = query(path, "SELECT visits.*, urls.url AS u, urls.title, urls.visit_count, urls.typed_count "
                        "FROM visits JOIN urls ON urls.id = visits.url WHERE urls.typed_count > 0 "
                        "ORDER BY visits.id LIMIT 1")[0]
    search = query(path, "SELECT k.rowid AS r, k.term, urls.url, urls.last_visit_time FROM keyword_search_terms AS k "
                         "JOIN urls ON urls.id = k.url_id ORDER BY k.rowid LIMIT 1")[0]
    download = query(path, "SELECT * FROM downloads ORDER BY id LIMIT 1")[0]
    common = {"source_app": "Chrome", "profile": "Default"}
    return [
        ("web.visit", str(visit["id"]), {**common, "url": visit["u"], "title": visit["title"],
                                         "visit_time": webkit(visit["visit_time"]),
                                         "visit_count": visit["visit_count"], "typed_count": visit["typed_count"]}),
        ("web.search", f"keyword_search_terms:{search['r']}", {**common, "term": search["term"], "url": search["url"],
                                                               "search_time": webkit(search["last_visit_time"])}),
        # Chrome 25 and older: downloads.start_time is Unix seconds (schema up to 23).
        ("web.download", f"downloads:{download['id']}", {
            **common, "url": download["url"], "target_path": download["full_path"],
            "start_time": unix_s(download["start_time"]), "received_bytes": download["received_bytes"],
            "total_bytes": download["total_bytes"], "state": "complete"}),
    ]


def _android_download_record(path: Path) -> list[tuple[str, str, dict]]:
    row = query(path, "SELECT * FROM downloads WHERE status = 200 ORDER BY _id LIMIT 1")[0]
    return [("web.download", str(row["_id"]), {
        "url": row["uri"], "target_path": row["_data"], "mime_type": row["mimetype"],
        "modified_time": unix_ms(row["lastmod"]), "total_bytes": row["total_bytes"],
        "received_bytes": row["current_bytes"], "requested_by": row["notificationpackage"], "state": "complete",
        "deleted": bool(row["deleted"]), "source_app": "Android Download Manager"})]


def _account_record(path: Path) -> list[tuple[str, str, dict]]:
    row = query(path, "SELECT a.*, t.ZACCOUNTTYPEDESCRIPTION AS td, t.ZIDENTIFIER AS ti FROM ZACCOUNT AS a "
                      "JOIN ZACCOUNTTYPE AS t ON t.Z_PK = a.ZACCOUNTTYPE WHERE a.ZUSERNAME LIKE '%@%' "
                      "ORDER BY a.Z_PK LIMIT 1")[0]
    return [("device.account", str(row["Z_PK"]), {
        "account_type": row["td"], "provider": row["ti"], "username": row["ZUSERNAME"],
        "identifier": row["ZIDENTIFIER"], "owning_app": row["ZOWNINGBUNDLEID"], "created": cocoa_s(row["ZDATE"]),
        "active": bool(row["ZACTIVE"]), "authenticated": bool(row["ZAUTHENTICATED"]), "source_app": "iOS Accounts"})]


NOTE_ENTITY = "(SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'ICNote')"


def _note_record(path: Path) -> list[tuple[str, str, dict]]:
    row = query(path, "SELECT n.*, f.ZTITLE2 AS folder FROM ZICCLOUDSYNCINGOBJECT AS n "
                      "JOIN ZICCLOUDSYNCINGOBJECT AS f ON f.Z_PK = n.ZFOLDER "
                      f"WHERE n.Z_ENT = {NOTE_ENTITY} AND n.ZSNIPPET IS NOT NULL ORDER BY n.Z_PK LIMIT 1")[0]
    return [("content.note", str(row["Z_PK"]), {
        "title": row["ZTITLE1"], "snippet": row["ZSNIPPET"], "created": cocoa_s(row["ZCREATIONDATE3"]),
        "modified": cocoa_s(row["ZMODIFICATIONDATE1"]), "folder": row["folder"], "locked": False,
        "source_app": "Apple Notes"})]


def _known_networks(path: Path) -> dict:
    return plistlib.loads(path.read_bytes())


def _wifi_record(path: Path) -> list[tuple[str, str, dict]]:
    key, entry = sorted(_known_networks(path).items())[0]
    return [("device.wifi_network", key, {
        "ssid": entry["SSID"].decode(), "security": entry["SupportedSecurityTypes"],
        "bssids": tuple(sorted({b["BSSID"] for b in entry["BSSList"]})),
        "added_time": plist_utc(entry["AddedAt"]), "last_joined_by_user_time": plist_utc(entry["JoinedByUserAt"]),
        "last_joined_time": plist_utc(max(entry["JoinedByUserAt"], entry["JoinedBySystemAt"])),
        "updated_time": plist_utc(entry["UpdatedAt"]), "hidden": entry["Hidden"]})]


ORACLES: dict[tuple[str, str, str], Oracle] = {
    ("android_fs_legacy", CHROME, "chromium_history"): Oracle(
        # A visit per visits row, and one per URL no visit names (none here: every URL has a visit).
        _sql_counts(web__visit="SELECT (SELECT COUNT(*) FROM visits) + "
                               "(SELECT COUNT(*) FROM urls WHERE id NOT IN (SELECT url FROM visits))",
                    web__search="SELECT COUNT(*) FROM keyword_search_terms",
                    web__download="SELECT COUNT(*) FROM downloads"), _chrome_records),
    ("android_fs_legacy", "data/data/com.android.providers.downloads/databases/downloads.db", "android_downloads"):
        Oracle(_sql_counts(web__download="SELECT COUNT(*) FROM downloads"), _android_download_record),
    ("ios_fs_josh15", "private/var/mobile/Library/Accounts/Accounts3.sqlite", "ios_accounts"): Oracle(
        _sql_counts(device__account="SELECT COUNT(*) FROM ZACCOUNT"), _account_record),
    ("ios_fs_josh15", NOTES, "ios_notes"): Oracle(
        _sql_counts(content__note=f"SELECT COUNT(*) FROM ZICCLOUDSYNCINGOBJECT WHERE Z_ENT = {NOTE_ENTITY}"),
        _note_record),
    ("ios_fs_josh15", KNOWN_NETWORKS, "ios_wifi"): Oracle(
        lambda path: {"device.wifi_network": sum(1 for key in _known_networks(path) if key.startswith("wifi.network."))},
        _wifi_record),
    # iOS 15 keeps com.apple.wifi.plist for settings only: no "List of known networks".
    ("ios_fs_josh15", LEGACY_WIFI, "ios_wifi"): Oracle(
        lambda path: {"device.wifi_network": len(plistlib.loads(path.read_bytes()).get("List of known networks", []))},
        lambda path: []),
}


def _claims(devices: Path):
    for device, inner, path in _device_files(devices):
        for plugin in KIT_PLUGINS:
            if plugin.SELECTOR.matches(inner, "", path.stat().st_size):
                yield device, inner, path, plugin


def test_every_claimed_file_has_an_oracle(corpus):
    claimed = {(device, inner, plugin.NAME) for device, inner, _path, plugin in _claims(corpus / "devices")}
    assert claimed == set(ORACLES)


def test_the_issue_counts_are_the_corpus_counts(corpus):
    """The peers' counts quoted in issue 18, recomputed with plain sqlite3."""
    chrome = corpus / "devices/android_fs_legacy" / CHROME
    uri = f"{chrome.as_uri()}?immutable=1"
    connection = sqlite3.connect(uri, uri=True)
    try:
        counts = [connection.execute(sql).fetchone()[0] for sql in (
            "SELECT COUNT(*) FROM urls", "SELECT COUNT(DISTINCT url) FROM visits", "SELECT COUNT(*) FROM visits",
            "SELECT COUNT(*) FROM keyword_search_terms", "SELECT COUNT(*) FROM downloads")]
    finally:
        connection.close()
    assert counts == [55, 55, 69, 3, 2]     # every URL has a visit: 69 visit findings cover the 55 URLs


@pytest.mark.parametrize("key", sorted(ORACLES), ids=lambda key: f"{key[0]}:{key[1].rsplit('/', 1)[-1]}")
def test_real_file_matches_the_oracle(corpus, tmp_path, key):
    device, inner, _name = key
    path, plugin = next((p, plugin) for d, i, p, plugin in _claims(corpus / "devices") if (d, i, plugin.NAME) == key)
    reference = _reference_copy(path, tmp_path) if path.read_bytes()[:6] == b"SQLite" else path
    expected = ORACLES[key].counts(reference)
    records = ORACLES[key].records(reference)

    before = digests(path)
    run = run_plugin(plugin(), file_view_for_path(path, locator=f"{device} > {inner}", inner_path=inner), timeout=None)
    assert digests(path) == before, "the plugin changed its evidence"

    assert run.warnings == []
    counts = Counter(finding.KIND for finding in run.findings)
    assert dict(counts) == {kind: count for kind, count in expected.items() if count}
    for kind, record_id, fields in records:
        finding = next(f for f in run.findings if f.KIND == kind and f.source_record_id == record_id)
        assert {name: getattr(finding, name) for name in fields} == fields


# -- a scan of both trees: every new kind reaches every output ------------------------------------------

NEW_KINDS = ("web.visit", "web.search", "web.download", "device.account", "content.note", "device.wifi_network")


@pytest.fixture(scope="module")
def device_case(corpus, tmp_path_factory):
    case = tmp_path_factory.mktemp("kit") / "case"
    scan([corpus / "devices/android_fs_legacy", corpus / "devices/ios_fs_josh15"], case)
    expected: Counter = Counter()
    scratch = tmp_path_factory.mktemp("oracle")
    for (device, inner, _name), oracle in ORACLES.items():
        path = corpus / "devices" / device / inner
        reference = _reference_copy(path, scratch / inner.replace("/", "_")) if path.read_bytes()[:6] == b"SQLite" else path
        expected.update(oracle.counts(reference))
    return case, +expected


def test_scan_reports_every_kit_finding_and_stays_valid(device_case):
    jsonschema = pytest.importorskip("jsonschema")
    case, expected = device_case
    report = load_report(case)
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs/report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    found = Counter(f["kind"] for f in report["findings"] if f["kind"] in NEW_KINDS and f["plugin"] in KIT_NAMES)
    assert found == expected
    assert [w for w in report["warnings"] if any(p.NAME in json.dumps(w) for p in KIT_PLUGINS)] == []


def test_scan_carries_every_kit_kind_to_page_timeline_csv_and_case(device_case):
    case, expected = device_case
    page = (case / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="other-findings">'):].split("</section>", 1)[0]
    for kind in NEW_KINDS:
        assert f'id="{finding_kinds.anchor(kind)}"' in section, kind
        with open(case / "csv" / f"{kind.replace('.', '_')}.csv", newline="", encoding="utf-8-sig") as stream:
            assert sum(1 for row in csv.DictReader(stream) if row["plugin"] in KIT_NAMES) == expected[kind], kind
    events = [json.loads(line) for line in (case / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    descs = Counter(e["timestamp_desc"] for e in events if e["source"].split(":", 1)[0] in KIT_NAMES)
    assert descs["Web Visit"] == expected["web.visit"]
    assert descs["Web Search"] == expected["web.search"]
    assert descs["Note Created"] == expected["content.note"]
    assert descs["Account Added"] == expected["device.account"]
    assert descs["Wi-Fi Network Added"] == expected["device.wifi_network"]
    graph = json.loads((case / "case.jsonld").read_text(encoding="utf-8"))["@graph"]
    # Other plugins give some of these kinds too (BeReal's account): count the kit plugins' findings.
    named = Counter(node.get("uco-core:name") for node in graph if node.get("@type") == "uco-observable:ObservableObject"
                    and any(f" by plugin {name} " in (node.get("uco-core:description") or [""])[0] for name in KIT_NAMES))
    for kind in NEW_KINDS:
        assert named[kind] == expected[kind], kind
