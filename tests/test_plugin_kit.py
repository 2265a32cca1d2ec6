"""The public plugin kit (issue 18 item 1): the SQLite artifact base
(version picking, warnings, files merely named like an artifact), the
bounded plist / NSKeyedArchiver / JSON / XML readers (the unarchiver checked
against nska_deserialize, a maintained third-party unarchiver, on every
archive of a real Accounts3.sqlite), PLUGIN_API_VERSION checked at load,
and helper modules in a --plugin-dir."""

from __future__ import annotations

import datetime as dt
import plistlib
import sqlite3
import time
from pathlib import Path

import pytest

from comms_testlib import build_db, iso, unix_s
from evidence_builders import scan
from traffick_triage import registry
from traffick_triage.plugin_api import PLUGIN_API_VERSION, api_version_problem
from traffick_triage.plugin_host import file_view_for_path, run_plugin
from traffick_triage.plugin_kit import (DocumentError, QueryVersion, SqlQuery, SqliteArtifactPlugin, WebVisit,
                                        load_json, load_plist, load_xml, unarchive)
from traffick_triage.plugins.chromium_history import ChromiumHistoryPlugin

ACCOUNTS = "devices/ios_fs_josh15/private/var/mobile/Library/Accounts/Accounts3.sqlite"


def _webkit(value: int) -> str:
    return iso(dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=value))


def _run(plugin, path: Path, inner: str):
    return run_plugin(plugin, file_view_for_path(path, locator=inner, inner_path=inner), timeout=None)


# -- the SQLite artifact base ---------------------------------------------------------------------

MODERN_HISTORY = """
CREATE TABLE urls(id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, visit_count INTEGER, typed_count INTEGER,
    last_visit_time INTEGER, hidden INTEGER);
CREATE TABLE visits(id INTEGER PRIMARY KEY, url INTEGER, visit_time INTEGER, from_visit INTEGER, transition INTEGER,
    segment_id INTEGER, visit_duration INTEGER);
CREATE TABLE keyword_search_terms(keyword_id INTEGER, url_id INTEGER, term LONGVARCHAR, normalized_term LONGVARCHAR);
CREATE TABLE downloads(id INTEGER PRIMARY KEY, guid VARCHAR, current_path LONGVARCHAR, target_path LONGVARCHAR,
    start_time INTEGER, received_bytes INTEGER, total_bytes INTEGER, state INTEGER, end_time INTEGER,
    referrer VARCHAR, mime_type VARCHAR);
CREATE TABLE downloads_url_chains(id INTEGER, chain_index INTEGER, url LONGVARCHAR);
"""
MODERN_ROWS = {
    "urls": [(1, "https://example.org/ad?id=7", "Ad 7", 2, 1, 13350000000000000, 0),
             (2, "https://search.example/?q=room+rent", "room rent", 1, 0, 13350000100000000, 0),
             (3, "https://expired.example/", "Visits expired", 4, 0, 13300000000000000, 0)],
    "visits": [(1, 1, 13340000000000000, 0, 0x30000001, 0, 2_500_000), (2, 1, 13350000000000000, 1, 0, 0, 0),
               (3, 2, 13350000100000000, 0, 9, 0, 0)],
    "keyword_search_terms": [(3, 2, "room rent", "room rent")],
    "downloads": [(1, "g", "/sdcard/Download/ticket.pdf.crdownload", "/sdcard/Download/ticket.pdf",
                   13350000200000000, 500, 500, 1, 13350000300000000, "https://example.org/", "application/pdf")],
    "downloads_url_chains": [(1, 0, "https://example.org/t"), (1, 1, "https://cdn.example.org/ticket.pdf")],
}


def test_a_modern_samsung_internet_history_is_read_by_its_newest_versions(tmp_path):
    """Schema 24+ downloads (redirect chains), visit durations, searches; the
    expected values are the rows written here, converted here."""
    path = build_db(tmp_path / "History", MODERN_HISTORY, MODERN_ROWS)
    inner = "data/data/com.sec.android.app.sbrowser/app_sbrowser/Default/History"
    run = _run(ChromiumHistoryPlugin(), path, inner)
    assert run.warnings == []
    visits = [f for f in run.findings if f.KIND == "web.visit"]
    assert [v.to_dict() for v in visits][0] == WebVisit(
        url="https://example.org/ad?id=7", title="Ad 7", visit_time=_webkit(13340000000000000),
        source_app="Samsung Internet", visit_count=2, typed_count=1, transition="typed", from_visit=None,
        duration_s=2.5, profile="Default", source_record_id="1").to_dict()
    assert visits[1].from_visit == "1" and visits[2].transition == "keyword"
    # The URL no visit row names: one finding at its last visit time.
    assert (visits[3].source_record_id, visits[3].url, visits[3].visit_time, visits[3].visit_count) == (
        "url:3", "https://expired.example/", _webkit(13300000000000000), 4)
    assert len(visits) == 4
    [search] = [f for f in run.findings if f.KIND == "web.search"]
    assert (search.term, search.url, search.search_time) == ("room rent", MODERN_ROWS["urls"][1][1],
                                                             _webkit(13350000100000000))
    [download] = [f for f in run.findings if f.KIND == "web.download"]
    assert (download.url, download.target_path, download.start_time, download.end_time, download.state,
            download.mime_type, download.referrer) == (
        "https://cdn.example.org/ticket.pdf", "/sdcard/Download/ticket.pdf", _webkit(13350000200000000),
        _webkit(13350000300000000), "complete", "application/pdf", "https://example.org/")


def test_a_file_merely_named_history_is_left_alone_but_not_at_a_browsers_path(tmp_path):
    other = build_db(tmp_path / "History", "CREATE TABLE history(id INTEGER PRIMARY KEY, line TEXT);",
                     {"history": [(1, "ls -la")]})
    assert _run(ChromiumHistoryPlugin(), other, "home/a/.config/someapp/History").warnings == []
    assert _run(ChromiumHistoryPlugin(), other, "home/a/.config/someapp/History").findings == []
    text = tmp_path / "text" / "History"
    text.parent.mkdir()
    text.write_text("not a database")
    assert _run(ChromiumHistoryPlugin(), text, "notes/History").warnings == []
    # At a browser's own path, an unknown layout is never silent.
    run = _run(ChromiumHistoryPlugin(), other, "data/data/com.android.chrome/app_chrome/Default/History")
    assert run.findings == []
    [warning] = run.warnings
    assert "no web visits read" in warning and "lacks visits, urls" in warning
    assert "com.android.chrome/app_chrome/Default/History" in warning
    run = _run(ChromiumHistoryPlugin(), text, "data/data/com.android.chrome/app_chrome/Default/History")
    assert len(run.warnings) == 1 and "not an SQLite database" in run.warnings[0]


def test_a_query_naming_a_missing_method_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="names method 'rows'"):
        class Broken(SqliteArtifactPlugin):   # noqa: F841 - the class statement is the test
            NAME, VERSION, DESCRIPTION = "broken", "1.0", "a plugin whose query has no method"
            PATHS = ("x.db",)
            QUERIES = (SqlQuery("things", "rows", (QueryVersion("v1", {"t": ("id",)}, "SELECT id FROM t"),)),)


def test_the_newest_matching_version_wins_and_optional_columns_may_be_absent(tmp_path):
    class Things(SqliteArtifactPlugin):
        NAME, VERSION, DESCRIPTION = "things", "1.0", "test plugin: things in two layouts"
        PATHS = ("**/things.db",)
        QUERIES = (SqlQuery("things", "thing", (
            QueryVersion("v2", {"thing": ("id", "label", "seen_ms")},
                         "SELECT id, label, seen_ms / 1000 AS seen, {optional} FROM thing ORDER BY id",
                         optional={"thing": ("owner",)}),
            QueryVersion("v1", {"thing": ("id", "label", "seen")}, "SELECT id, label, seen, NULL AS owner FROM thing"),
        )),)

        def thing(self, row, source):
            yield WebVisit(url=row["label"], title=row["owner"], visit_time=unix_s(row["seen"]),
                           source_app=source.version, source_record_id=str(row["id"]))

    old = build_db(tmp_path / "old.db", "CREATE TABLE thing(id INTEGER PRIMARY KEY, label TEXT, seen INTEGER);",
                   {"thing": [(1, "a", 1_700_000_000)]})
    new = build_db(tmp_path / "new.db", "CREATE TABLE thing(id INTEGER PRIMARY KEY, label TEXT, seen_ms INTEGER);",
                   {"thing": [(1, "b", 1_700_000_000_000)]})
    for path, version, label in ((old, "v1", "a"), (new, "v2", "b")):
        run = _run(Things(), path, f"data/{path.name[:3]}/things.db")
        assert run.warnings == []
        [finding] = run.findings
        assert (finding.source_app, finding.url, finding.title, finding.visit_time) == (
            version, label, None, unix_s(1_700_000_000))
    assert Things.SCHEMAS == {"things: v2": "thing(id, label, seen_ms)", "things: v1": "thing(id, label, seen)"}


# -- documents --------------------------------------------------------------------------------------

def _archive(objects: list, root_index: int = 1) -> bytes:
    return plistlib.dumps({"$version": 100000, "$archiver": "NSKeyedArchiver",
                           "$top": {"root": plistlib.UID(root_index)}, "$objects": ["$null", *objects]},
                          fmt=plistlib.FMT_BINARY)


def test_unarchive_agrees_with_nska_deserialize_on_every_archive_of_a_real_accounts_store(corpus, tmp_path):
    nska = pytest.importorskip("nska_deserialize")
    source = corpus / ACCOUNTS
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'a.sqlite'}{suffix}").write_bytes(Path(f"{source}{suffix}").read_bytes())
    connection = sqlite3.connect(tmp_path / "a.sqlite")
    values = [v for (v,) in connection.execute("SELECT ZVALUE FROM ZACCOUNTPROPERTY ORDER BY Z_PK")
              if isinstance(v, bytes) and b"NSKeyedArchiver" in v]
    connection.close()

    def plain(value):
        # nska keeps NSData wrapped as {"NS.data": bytes}; the kit returns the bytes.
        if isinstance(value, dict):
            return value["NS.data"] if set(value) == {"NS.data"} else {k: plain(v) for k, v in value.items()}
        return [plain(v) for v in value] if isinstance(value, list) else value

    assert len(values) > 100
    for value in values:
        theirs = nska.deserialize_plist_from_string(value)
        if isinstance(theirs, dict) and list(theirs) == ["root"]:
            theirs = theirs["root"]         # nska returns $top for some roots, the root for others
        assert unarchive(value) == plain(theirs)


def test_unarchive_is_bounded_against_hostile_archives():
    # Each object names the next twice: 2^25 paths through 25 objects, within the depth bound.
    bomb = [{"NS.objects": [plistlib.UID(i + 2), plistlib.UID(i + 2)]} for i in range(25)] + ["leaf"]
    started = time.process_time()
    with pytest.raises(DocumentError, match="more than"):
        unarchive(_archive(bomb))
    assert time.process_time() - started < 5
    with pytest.raises(DocumentError, match="deeper"):
        unarchive(_archive([{"NS.objects": [plistlib.UID(1)]}]))           # a cycle
    with pytest.raises(DocumentError, match="outside"):
        unarchive(_archive([{"NS.objects": [plistlib.UID(99)]}]))
    with pytest.raises(DocumentError, match="not an NSKeyedArchiver"):
        unarchive(plistlib.dumps({"a": 1}))
    assert unarchive(_archive([{"NS.keys": [plistlib.UID(2)], "NS.objects": [plistlib.UID(3)]}, "k",
                               {"NS.time": 0.0}])) == {"k": dt.datetime(2001, 1, 1)}


def test_document_readers_raise_document_error_only():
    with pytest.raises(DocumentError):
        load_plist(b"bplist00\x00\x01garbage")
    with pytest.raises(DocumentError):
        load_json(b"[" * 100_000)
    with pytest.raises(DocumentError, match="NaN"):
        load_json(b"[NaN]")
    assert load_json('{"a": [1, 2]}') == {"a": [1, 2]}
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b"<lolz>&lol2;</lolz>")
    with pytest.raises(DocumentError):
        load_xml(laughs)
    with pytest.raises(DocumentError):
        load_xml(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    root = load_xml(b'<WifiConfigStoreData><string name="SSID">&quot;home&quot;</string></WifiConfigStoreData>')
    assert root.find("string").text == '"home"'


# -- the API version and --plugin-dir helpers -----------------------------------------------------

PLUGIN = '''
from traffick_triage.plugin_api import Plugin, Selector
from ._shared import make_finding


class Tagged(Plugin):
    NAME = "tagged"
    VERSION = "1.0"
    DESCRIPTION = "a plugin that uses a helper module beside it"
    SELECTOR = Selector(globs=("*.tag",))
    {api}

    def extract(self, file, ctx):
        yield make_finding(file.read().decode().strip())
'''
SHARED = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Plugin, Selector, Note


def make_finding(text):
    return Note(title=text, snippet=None, created="2024-01-02T03:04:05+00:00", modified=None, source_app="tagger")


class NotAPlugin(Plugin):   # helpers are never loaded as plugins, even when they define one
    NAME = "helper_only"
    VERSION = "1.0"
    DESCRIPTION = "must not load"
    SELECTOR = Selector(globs=("*",))

    def extract(self, file, ctx):
        return iter(())
'''


def _plugin_dir(tmp_path: Path, api: str = "") -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / "tagged.py").write_text(PLUGIN.replace("{api}", api))
    (folder / "_shared.py").write_text(SHARED)
    return folder


def test_a_plugin_dir_helper_module_is_imported_by_its_plugins_and_never_loaded(tmp_path):
    loaded = registry.directory_plugins(_plugin_dir(tmp_path))
    assert [p.name for p in loaded] == ["tagged"]
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.tag").write_text("meet at the station")
    case = tmp_path / "case"
    scan([evidence], case, "--plugin-dir", str(tmp_path / "plugins"), "--only", "tagged", expect_exit=0)
    assert "meet at the station" in (case / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("declared,allowed", [("1.0", True), (PLUGIN_API_VERSION, True), ("1.99", False),
                                              ("2.0", False), ("0.9", False), ("one", False)])
def test_api_version_rule(declared, allowed):
    assert (api_version_problem(declared) is None) is allowed


def test_an_incompatible_plugin_is_refused_before_the_scan_starts(tmp_path):
    folder = _plugin_dir(tmp_path, api='API_VERSION = "2.0"')
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.tag").write_text("x")
    result = scan([evidence], tmp_path / "case", "--plugin-dir", str(folder), expect_exit=2)
    assert "plugin tagged" in result.output and "refused" in result.output and "2.0" in result.output
    assert not (tmp_path / "case" / "report.json").exists()


# -- the newcomer's plugin in docs/writing-plugins.md --------------------------------------------

def _doc_blocks() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "docs/writing-plugins.md").read_text(encoding="utf-8")
    section = text[text.index("## The plugin kit"):text.index("## Where plugins come from")]
    return [block.split("\n", 1)[1] for block in section.split("```python")[1:] for block in [block.split("```")[0]]]


def test_the_documented_kit_plugin_and_its_test_run_and_reach_the_page(tmp_path, monkeypatch):
    plugin_source, test_source = _doc_blocks()
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "ads_app.py").write_text(plugin_source)
    (tmp_path / "test_ads_doc.py").write_text(test_source)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    documented_test = importlib.import_module("test_ads_doc")
    (tmp_path / "t").mkdir()
    documented_test.test_example_ads(tmp_path / "t")

    database = tmp_path / "evidence/data/data/com.example.ads/databases/ads.db"
    database.parent.mkdir(parents=True)
    build_db(database, "CREATE TABLE searches(_id INTEGER PRIMARY KEY, query TEXT, created_ms INTEGER);"
                       "CREATE TABLE saved_ads(_id INTEGER PRIMARY KEY, url TEXT, title TEXT, saved_ms INTEGER);",
             {"searches": [(1, "massage jobs abroad", 1_700_000_000_000)],
              "saved_ads": [(1, "https://ads.example/42", "Visa and flight paid", 1_700_000_100_000)]})
    case = tmp_path / "case"
    scan([tmp_path / "evidence"], case, "--plugin-dir", str(folder), "--only", "example_ads", expect_exit=0)
    page = (case / "report.html").read_text(encoding="utf-8")
    for text in ('id="kind-web-search"', 'id="kind-web-bookmark"', "massage jobs abroad", "Visa and flight paid"):
        assert text in page
    timeline = (case / "timeline.jsonl").read_text(encoding="utf-8")
    assert "Example Ads search: massage jobs abroad" in timeline


def test_the_coverage_table_lists_every_builtin_plugin():
    text = (Path(__file__).resolve().parents[1] / "docs/coverage.md").read_text(encoding="utf-8")
    listed = {line.split("|")[1].strip().strip("`") for line in text.splitlines() if line.startswith("| `")}
    assert listed == {item.name for item in registry.builtin_plugins()}


HOSTILE_VALUES = ["inf", "-inf", "nan", "1e400", 2**63 - 1, -2**63, 1e308, -1.5, "", "  ", None, b"\xff\x00\xfe",
                  "\u202e\u0000text", "9" * 400, 0]


@pytest.mark.parametrize("plugin_name", ["chromium_history", "android_downloads", "ios_accounts", "ios_notes"])
def test_kit_plugins_take_any_value_in_any_column(tmp_path, plugin_name):
    """SQLite types each value, not each column: every column of every table
    a plugin's versions name holds text, blobs, huge, non-finite and empty
    values. No exception (the engine would turn it into a warning), every
    row of a plain table still read."""
    plugin = next(p.plugin for p in registry.builtin_plugins() if p.name == plugin_name)
    columns: dict[str, list[str]] = {}
    for query in plugin.QUERIES:
        version = query.versions[0]
        for table, names in list(version.tables.items()) + list(version.optional.items()):
            columns.setdefault(table, [])
            columns[table] += [name for name in names if name not in columns[table]]
    path = tmp_path / "hostile.db"
    connection = sqlite3.connect(path)
    for table, names in columns.items():
        connection.execute(f"CREATE TABLE {table} ({', '.join(names)})")
        for index, value in enumerate(HOSTILE_VALUES):
            row = [index + 1 if name.lower() in ("id", "_id", "z_pk") else value for name in names]
            connection.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(names))})", row)
    connection.commit()
    connection.close()
    inner = plugin.PATHS[0].replace("**/", "data/").replace("*", "Default")
    run = _run(plugin, path, inner)
    assert run.warnings == []
    if plugin_name in ("android_downloads", "ios_accounts"):
        assert len(run.findings) == len(HOSTILE_VALUES)
    for finding in run.findings:
        json_ready = finding.to_dict()
        assert all(not isinstance(v, float) or v == v for v in json_ready.values())   # no NaN in the report


def test_ios_wifi_reads_the_ios_13_list_and_warns_on_damaged_entries(tmp_path):
    """The iOS 5-13 layout (no real file in the corpus): a list written here
    with plistlib, read back field by field; a damaged entry is one warning."""
    from traffick_triage.plugins.ios_wifi import IosWifiPlugin

    joined = dt.datetime(2019, 6, 1, 10, 0, 0)
    networks = [{"SSID_STR": "Hotel Lobby", "BSSID": "aa:bb:cc:dd:ee:ff", "lastJoined": joined,
                 "lastAutoJoined": joined + dt.timedelta(days=2), "addedAt": joined - dt.timedelta(days=1),
                 "SecurityMode": "WPA2 Personal", "HIDDEN_NETWORK": False}, "not a dictionary"]
    path = tmp_path / "com.apple.wifi.plist"
    path.write_bytes(plistlib.dumps({"List of known networks": networks, "Version": 14}, fmt=plistlib.FMT_BINARY))
    run = _run(IosWifiPlugin(), path, "private/var/preferences/SystemConfiguration/com.apple.wifi.plist")
    [network] = run.findings
    assert (network.ssid, network.bssids, network.security, network.hidden) == (
        "Hotel Lobby", ("aa:bb:cc:dd:ee:ff",), "WPA2 Personal", False)
    assert network.added_time == "2019-05-31T10:00:00+00:00"
    assert network.last_joined_by_user_time == "2019-06-01T10:00:00+00:00"
    assert network.last_joined_time == "2019-06-03T10:00:00+00:00"
    assert len(run.warnings) == 1 and "network 1 is not a dictionary" in run.warnings[0]
    path.write_bytes(b"bplist00 damaged")
    damaged = _run(IosWifiPlugin(), path, "private/var/preferences/SystemConfiguration/com.apple.wifi.plist")
    assert damaged.findings == [] and len(damaged.warnings) == 1
