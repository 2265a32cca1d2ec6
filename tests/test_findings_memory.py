"""Memory does not grow with the number of findings (a seized phone has
hundreds of thousands of messages): every output writer's Python peak is flat
when a case's findings grow fivefold, a file's many findings travel from the
plugin to the store through a spool instead of a list, and what the streamed
and SQL-counted versions give equals a plain in-memory computation of the same
thing, written here."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import pickle
import random
import re
import tracemalloc
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from evidence_builders import scan
from traffick_triage import external_sort, finding_spool
from traffick_triage.demo.android import _sms_db
from traffick_triage.entry_processing import EntryTask, Processing, process_entry
from traffick_triage.finding_spool import FindingSpool, remove_leftovers
from traffick_triage.identifiers.index import canonical, iter_index
from traffick_triage.plugin_api import Plugin, Selector
from traffick_triage.plugins._comms import Message
from traffick_triage.registry import LoadedPlugin
from traffick_triage.report import csv_tables, geo, html, json_report, timeline, vics_export
from traffick_triage.report.html_map import build_map
from traffick_triage.report.identifier_index import identifier_index
from traffick_triage.report.json_pieces import LazyList
from traffick_triage.sources.detect import open_source
from traffick_triage.store import CaseStore

# -- a synthetic case, written straight into a store ------------------------------------------------

CATEGORIES = ["Category A", "Category B", "فئة ج"]
CITIES = [(29.37, 47.98), (30.04, 31.24), (14.6, 121.0)]


def _case(root: Path, n: int, seed: int = 1) -> Path:
    """Two evidence items; ``n`` messages on their phone databases, with the
    identifiers, contacts, calls and keyword hits they bring; a hash-set match
    on one file per two messages (NSRL-like known-good, one in four known-bad);
    perceptual matches, image clusters and geotags on some of those files.
    The files grow with the matches (one file each, as in a real case), the
    numbers named with the messages: everything a finding brings grows with n."""
    rng = random.Random(seed)
    case = root / f"case-{n}"
    case.mkdir()
    store = CaseStore(case)
    store.set_meta("identity", {"tool": {"name": "traffick-triage", "version": "0"},
                                "environment": {"python": "3", "libraries": {}}})
    store.set_meta("case", {"case_number": "C-7", "examiner": "Ann Examiner"})
    store.set_meta("options", {"plugin_options": {"region": "KW"},
                               "evidence": [{"id": "E1", "plugin_options": {}},
                                            {"id": "E2", "plugin_options": {"region": "EG"}}]})
    store.set_meta("plugins", [{"name": "android_mmssms", "version": "1.0"}])
    for ordinal, evidence_id in enumerate(("E1", "E2"), start=1):
        store.upsert_evidence({"id": evidence_id, "ordinal": ordinal, "path": f"/evidence/{evidence_id}",
                               "name": evidence_id, "kind": "directory", "description": {}})
    run = store.start_run("scan", "2024-05-01T00:00:00+00:00", {})
    store.begin()

    def add_file(evidence_id: str, name: str, seq: int) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()
        locator = f"{evidence_id} > {name}"
        store.add_file({"evidence_id": evidence_id, "seq": seq, "locator": locator, "path": "/" + name,
                        "name": name, "kind": "file", "size": 100 + seq, "allocated": seq % 9 != 0,
                        "md5": digest[:32], "sha1": digest[:40], "sha256": digest, "mime": "image/jpeg",
                        "address": {"relpath": name}, "times": {}})
        return locator

    databases = [add_file(evidence_id, "mmssms.db", index) for index, evidence_id in enumerate(("E1", "E2"))]
    numbers = [f"+9655{rng.randrange(10 ** 7):07d}" for _ in range(n // 3 + 5)]
    names = ["Ali Hassan", "منى حسن", "Sara J"] + [f"Person {i}" for i in range(n // 5 + 1)]
    for i in range(n):
        evidence_id, database = ("E1", "E2")[i % 2], databases[i % 2]
        moment = f"2024-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00"
        sender, recipient = rng.choice(numbers), rng.choice(numbers)
        store.add_finding(evidence_id, database, "android_mmssms", "1.0", "comms.message",
                          {"app": "Android SMS", "sender": sender if i % 3 else f"0{sender[4:]}",
                           "recipients": [recipient, "user@example.org"] if i % 4 == 0 else [recipient],
                           "direction": "incoming", "thread_id": str(i % 13), "time": moment if i % 17 else None,
                           "sent_time": moment,
                           "body": rng.choice(["high salary ", "ok ", "راتب عالي ", ""]) * (i % 60)},
                          [{"datetime": moment, "timestamp_desc": "Message Received", "message": f"SMS {i}"}])
        identifier = ({"kind": "wallet", "value": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "wallet_type": "bitcoin"}
                      if i % 7 == 0 else {"kind": "email", "value": f"U{i % 11}@Example.org", "count": 2}
                      if i % 11 == 0 else {"kind": "phone", "value": sender, "count": 1 + i % 3})
        store.add_finding(evidence_id, database, "identifiers", "1.0", "identifier", identifier, [])
        if i % 5 == 0:
            name = rng.choice(names)
            store.add_finding(evidence_id, database, "android_contacts2", "1.0", "comms.contact",
                              {"name": name, "phone_numbers": [sender, recipient], "emails": [f"p{i}@example.com"]},
                              [])
            store.add_finding(evidence_id, database, "android_calllog", "1.0", "comms.call",
                              {"number": sender, "start_time": moment, "direction": "outgoing",
                               "contact_name": name, "duration_s": i % 60}, [])
            store.add_finding(evidence_id, database, "identifiers", "1.0", "keyword",
                              {"term": "high salary", "matched": "High Salary", "list_name": "recruitment-en",
                               "count": 1, "snippet": f"... high salary {i % 4} ..."}, [])
        if i % 2 == 0:
            locator = add_file(evidence_id, f"IMG_{i:06d}.jpg", 10 + i)
            bad = i % 4 == 0
            store.add_finding(evidence_id, locator, "hashset", "1.0", "hashset.match",
                              {"known_good": not bad, "set_name": "vics.json" if bad else "NSRL",
                               "category": CATEGORIES[i % 3] if bad and i % 12 else None,
                               "category_code": i % 3 if bad else None, "scheme": ("vics-us", "vics-uk")[i % 8 == 0]
                               if bad else "nsrl", "series": f"S{i % 5}" if bad else None, "hash_type": "md5",
                               "label": f"/Windows/WinSxS/amd64_microsoft-windows-{i:06d}/IMG_{i:06d}.jpg"}, [])
            if bad and i % 16 == 0:       # in a known-good set too: counted as known-bad
                store.add_finding(evidence_id, locator, "hashset", "1.0", "hashset.match",
                                  {"known_good": True, "set_name": "NSRL", "scheme": "nsrl", "hash_type": "sha1"}, [])
            if bad and i % 24 == 0:       # in two known-bad sets: one file of its category
                store.add_finding(evidence_id, locator, "hashset", "1.0", "hashset.match",
                                  {"known_good": False, "set_name": "plain.txt", "category": None,
                                   "category_code": i % 3, "scheme": "plain", "series": f"S{i % 5}",
                                   "hash_type": "md5"}, [])
            if i % 4 == 2:
                city = CITIES[i % len(CITIES)]        # the map's grid: a cell per city, whatever the photos
                store.add_finding(evidence_id, locator, "exif_metadata", "1.0", "exif.gps",
                                  {"latitude": city[0] + (i % 97) / 10_000, "longitude": city[1] + (i % 89) / 10_000,
                                   "gps_time_utc": moment},
                                  [{"datetime": moment, "timestamp_desc": "Photo Taken", "message": "photo"}])
                store.add_finding(evidence_id, locator, "exif_metadata", "1.0", "exif.metadata",
                                  {"make": "Cam", "model": f"M{i % 3}", "capture_time_utc": moment}, [])
            if i % 10 == 0:
                store.add_finding(evidence_id, locator, "perceptual", "1.0", "perceptual.match",
                                  {"algorithm": "pdq", "distance": i % 31, "threshold": 31, "set_name": "pdq.txt",
                                   "category": CATEGORIES[i % 3], "hash": f"{i:064x}"}, [])
                store.add_finding(evidence_id, locator, "perceptual", "1.0", "perceptual.cluster",
                                  {"cluster": f"C{i % 7:04d}", "size": 3, "algorithm": "pdq"}, [])
    store.add_warning("E1", databases[0], "inventory", "a warning")
    store.commit()
    for evidence_id in ("E1", "E2"):
        store.update_evidence(evidence_id, hashes={"size": 1}, complete=True)
    store.finish_run(run, "2024-05-01T00:01:00+00:00", {"command_line": ["triage", "scan"]})
    store.close()
    return case


@pytest.fixture(scope="module")
def small_case(tmp_path_factory) -> Path:
    return _case(tmp_path_factory.mktemp("findings"), 240)


def _peak(run: Callable[[], Any]) -> int:
    """The peak of Python's memory during a second run of ``run``, beyond what
    is held when it starts. The first run (not traced) fills Python's free
    lists (of tuples, floats...) as far as this work needs them, and the
    second reuses them: traced alone, their filling would pass for growth
    wherever the smaller case fills them less."""
    gc.collect()
    run()
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()


def _geotags(store: CaseStore) -> Iterator[dict[str, Any]]:
    """The points the geo writers take, one at a time (scan.geotagged_points' fields)."""
    for finding in store.findings(["exif.gps"]):
        yield {"locator": finding["locator"], "latitude": finding["data"]["latitude"],
               "longitude": finding["data"]["longitude"], "altitude": None, "time": finding["data"]["gps_time_utc"],
               "md5": None, "sha1": None, "sha256": None, "evidence_id": finding["evidence_id"]}


_WRITERS = {
    "report.json": json_report.write_report,
    "csv": csv_tables.write_csv_tables,
    "timeline": timeline.write_timeline,
    "report.html": html.write_html,
    "vics-export.json": vics_export.write_vics_export,
    "locations.geojson": lambda store, case: geo.write_geojson(_geotags(store), case / "locations.geojson"),
    "locations.kml": lambda store, case: geo.write_kml(_geotags(store), case / "locations.kml"),
    "summary": lambda store, case: json_report.summarise(store),
    "identifier index": lambda store, case: sum(1 for _ in identifier_index(store)),
}


def _flat(small: int, large: int) -> bool:
    """Fivefold findings, about the same peak: within a few rows' worth.
    Holding the findings cost at least 300 KiB more here, in every writer
    that did."""
    return large <= small + (192 << 10)


def test_writers_memory_does_not_grow_with_the_number_of_findings(tmp_path, monkeypatch):
    # The writers' fixed-size buffers made small, so that the smaller case fills
    # them too: what grows beyond them grows with the findings.
    monkeypatch.setattr(html, "ROW_LIMIT", 20)              # rows of the page's capped tables (timeline...)
    monkeypatch.setattr(external_sort, "_BATCH", 20)        # rows a sort gathers before it writes them
    monkeypatch.setattr(csv_tables, "WRITE_EVERY", 4096)    # characters a CSV gathers before it writes them
    # The page's template compiled once, as for every page a process renders in
    # one language: its compilation (8 MiB, the same for any case) is not measured.
    compiled = {}

    def environment(translations, make=html._environment):
        if type(translations) not in compiled:
            compiled[type(translations)] = make(translations)
        return compiled[type(translations)]

    monkeypatch.setattr(html, "_environment", environment)
    peaks = {}
    for n in (150, 750):
        case = _case(tmp_path, n)
        store = CaseStore(case, readonly=True)
        try:
            assert store.count("findings") > 2.5 * n
            peaks[n] = {name: _peak(lambda: writer(store, case)) for name, writer in _WRITERS.items()}
        finally:
            store.close()
    for name in _WRITERS:
        assert _flat(peaks[150][name], peaks[750][name]), (name, peaks[150][name], peaks[750][name])


# -- one file's findings: spooled from the plugin to the store --------------------------------------

class _ManyMessages(Plugin):
    """A plugin yielding as many messages as the file's name says."""

    NAME, VERSION, DESCRIPTION = "many_messages", "1.0", "test: n messages from one file"
    SELECTOR = Selector(globs=("*.db",))

    def extract(self, file, ctx):
        for i in range(int(file.name.split(".")[0])):
            yield Message(app="SMS", thread_id=str(i % 9), sender=f"+9655{i:07d}", recipients=(), direction="incoming",
                          body=f"message {i} " + "x" * 200, time="2024-05-01T10:00:00+00:00")


def _process(folder: Path, name: str, spool: Path):
    source = open_source(str(folder))
    try:
        (entry,) = [e for e in source.entries() if e.path.endswith(name)]
        task = EntryTask.from_entry("E1", f"E1 > {name}", 1, entry)
        processing = Processing(plugins=[LoadedPlugin(_ManyMessages(), "test")], hashsets=None, plugin_options={},
                                plugin_timeout=60, spool_dir=str(spool))
        return process_entry(task, source, processing, opener=entry.opener)
    finally:
        source.close()


def test_one_files_many_findings_wait_in_a_spool_not_in_memory(tmp_path):
    spool = tmp_path / "case"
    spool.mkdir()
    peaks, results = {}, defaultdict(list)
    for n in (600, 3000):
        folder = tmp_path / f"in-{n}"
        folder.mkdir()
        (folder / f"{n}.db").write_bytes(b"not read")
        # As a worker does: process the entry, pickle the result to send it.
        peaks[n] = _peak(lambda: results[n].append(pickle.dumps(_process(folder, f"{n}.db", spool))))
    assert peaks[3000] <= peaks[600] + (128 << 10), peaks
    # What crosses from a worker is the spool's file name, not its findings.
    assert len(results[3000][0]) < len(results[600][0]) + 1024
    for n, sent in results.items():
        for result in map(pickle.loads, sent):
            bodies = [data["body"] for _plugin, _version, _kind, data, _timeline in result.findings.drain()]
            assert bodies == [f"message {i} " + "x" * 200 for i in range(n)]
    assert list(spool.iterdir()) == []          # read back, then deleted


def test_a_spool_keeps_order_across_processes_and_cleans_up(tmp_path):
    spool = FindingSpool(tmp_path, held_in_memory=3)
    for i in range(10):
        spool.append(("p", "1", "k", {"i": i}, []))
    assert len(spool) == 10 and len(list(tmp_path.iterdir())) == 1
    handed = pickle.loads(pickle.dumps(spool))        # as a worker's result crosses to the scanning process
    assert [item[3]["i"] for item in handed.drain()] == list(range(10))
    assert list(tmp_path.iterdir()) == []
    in_memory = FindingSpool(None, held_in_memory=3)   # no folder (a Dask worker): a list
    for i in range(10):
        in_memory.append(i)
    assert list(pickle.loads(pickle.dumps(in_memory)).drain()) == list(range(10))
    left = FindingSpool(tmp_path, held_in_memory=0)
    left.append(1)
    pickle.dumps(left)                                  # a killed scan leaves its file...
    assert len(list(tmp_path.glob("*.partial"))) == 1
    remove_leftovers(tmp_path)                          # ...which the next scan removes
    assert list(tmp_path.iterdir()) == []


def test_a_scan_stores_spooled_findings_as_it_stores_held_ones(tmp_path, monkeypatch):
    phone = tmp_path / "phone"
    database = phone / "data/data/com.android.providers.telephony/databases/mmssms.db"
    database.parent.mkdir(parents=True)
    _sms_db(database, [(f"+9655{i % 40:07d}", 1_700_000_000_000 + i * 60_000, f"message {i} high salary", 1 + i % 2)
                       for i in range(400)])
    outputs = {}
    for held in (finding_spool.HELD_IN_MEMORY, 7):
        monkeypatch.setattr(finding_spool, "HELD_IN_MEMORY", held)
        case = tmp_path / f"case-{held}"
        scan([phone], case, "--only", "android_mmssms", "--only", "identifiers", expect_exit=0)
        assert not list(case.glob(".*.partial"))
        outputs[held] = json.loads((case / "report.json").read_text(encoding="utf-8"))
    assert outputs[7]["summary"]["findings_by_kind"]["comms.message"] == 400
    assert outputs[7]["findings"] == outputs[finding_spool.HELD_IN_MEMORY]["findings"]


# -- the streamed and SQL-counted versions equal plain in-memory computations ------------------------

def _identifier_index_in_memory(mentions: list[dict[str, Any]], region: str | None) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for mention in mentions:
        raw = mention.get("value") or mention.get("raw")
        if not isinstance(mention.get("kind"), str) or not isinstance(raw, str) or not raw.strip():
            continue
        kind, value, wallet_type = canonical(mention["kind"], raw, mention.get("region") or region)
        row = rows.setdefault((kind, value), {"kind": kind, "value": value, "wallet_type": None, "occurrences": 0,
                                              "sources": set()})
        row["wallet_type"] = row["wallet_type"] or wallet_type or mention.get("wallet_type")
        count = mention.get("count", 1)
        row["occurrences"] += count if isinstance(count, int) and count > 0 else 1
        row["sources"].add((str(mention.get("evidence_id", "")), str(mention.get("locator", ""))))
    return [{**row, "evidence_count": len({e for e, _ in row["sources"]}),
             "sources": [{"evidence_id": e, "locator": l} for e, l in sorted(row["sources"])]}
            for _key, row in sorted(rows.items())]


def test_identifier_index_equals_an_in_memory_index():
    rng = random.Random(4)
    values = ["+96551234567", "0096551234567", "51234567", "not a number", "A@Example.org", "a@example.org",
              "https://Example.org/x", "example.org", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "x\udcff", " ", ""]
    mentions = []
    for i in range(3000):
        mention = {"kind": rng.choice(["phone", "email", "url", "domain", "wallet", None]),
                   rng.choice(["value", "raw"]): rng.choice(values),
                   "evidence_id": rng.choice(["E1", "E2", "E10"]), "locator": rng.choice(["a", "b", "é", "B"])}
        if rng.random() < 0.3:
            mention["count"] = rng.choice([0, 1, 3, -2, "7", True])
        if rng.random() < 0.2:
            mention["region"] = rng.choice(["EG", None])
        if rng.random() < 0.2:
            mention["wallet_type"] = rng.choice(["bitcoin", "ethereum", "", None, 0])
        mentions.append(mention)
    assert list(iter_index(mentions, "KW")) == _identifier_index_in_memory(mentions, "KW")


def test_report_summary_counts_equal_in_memory_sets(small_case):
    store = CaseStore(small_case, readonly=True)
    try:
        summary = json_report.summarise(store)
        good, bad, by_category = set(), set(), defaultdict(set)
        for finding in store.findings():
            if finding["kind"] == "hashset.match":
                if finding["data"]["known_good"]:
                    good.add(finding["locator"])
                else:
                    bad.add(finding["locator"])
                    by_category[finding["data"].get("category") or "(no category)"].add(finding["locator"])
    finally:
        store.close()
    assert summary["known_good_files"] == len(good - bad) > 0
    assert summary["known_bad_files"] == len(bad) > 0
    assert summary["known_bad_by_category"] == {k: len(v) for k, v in sorted(by_category.items())}
    assert "(no category)" in summary["known_bad_by_category"]


def _vics_in_memory(store: CaseStore) -> str:
    """vics-export.json as one json.dumps of the whole document, the groups made in memory."""
    matches = []
    for finding in store.findings():
        if finding["kind"] not in ("hashset.match", "perceptual.match") or finding["data"].get("known_good"):
            continue
        row = store.file_by_locator(finding["locator"])
        if row and vics_export._content_key(row):
            matches.append((finding, row))
    schemes = Counter(f["data"]["scheme"] for f, _ in matches
                      if f["kind"] == "hashset.match" and f["data"].get("scheme") in vics_export.VICS_SCHEMES)
    scheme = sorted(schemes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if schemes else "vics-us"
    groups: dict[str, dict[str, Any]] = {}
    for finding, row in matches:
        group = groups.setdefault(vics_export._content_key(row), {"file": row, "exact": [], "perceptual": [],
                                                                  "files": {}})
        group["files"][row["locator"]] = row
        group["exact" if finding["kind"] == "hashset.match" else "perceptual"].append(finding["data"])
    media = [vics_export._media(number, groups[key], scheme) for number, key in enumerate(sorted(groups), start=1)]
    tool = store.get_meta("identity")["tool"]       # the runs record none
    case = {"CaseID": "C-7", "SourceApplicationName": tool["name"], "SourceApplicationVersion": tool["version"],
            "Media": media}
    document = {"@odata.context": vics_export.ODATA_CONTEXT, "@TrafficTriage.CategoryScheme": scheme,
                "value": [case]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_vics_export_is_the_one_shot_encoding_of_the_in_memory_groups(small_case, tmp_path):
    store = CaseStore(small_case, readonly=True)
    try:
        written = vics_export.write_vics_export(store, tmp_path).read_text(encoding="utf-8")
        expected = _vics_in_memory(store)
    finally:
        store.close()
    assert json.loads(written)["value"][0]["Media"]
    assert written == expected


def _kml_in_memory(points: list[dict[str, Any]]) -> bytes:
    """The KML document as one ElementTree, indented and written whole."""
    ET.register_namespace("", geo.KML_NAMESPACE)
    ns = f"{{{geo.KML_NAMESPACE}}}"
    root = ET.Element(ns + "kml")
    document = ET.SubElement(root, ns + "Document")
    ET.SubElement(document, ns + "name").text = "traffick-triage geotags"
    for point in points:
        placemark = geo._placemark(point)
        for element in placemark.iter():
            element.tag = ns + element.tag
        document.append(placemark)
    ET.indent(root)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="UTF-8", xml_declaration=True)
    return buffer.getvalue() + b"\n"


def test_geo_files_are_the_one_shot_encodings(tmp_path):
    rng = random.Random(9)
    points = [{"locator": rng.choice(["b", "a", "é > <x&y>", "a"]), "latitude": rng.choice([10.0, -3.25, 45.5]),
               "longitude": rng.uniform(-180, 180), "altitude": rng.choice([None, 12.5, -0.0]),
               "time": rng.choice([None, "2024-05-01T10:00:00+00:00", "2024-05-01T09:00:00+00:00"]),
               "md5": "ab" * 16, "sha1": None, "sha256": None, "note": rng.choice(["x", "\udcff", None, 3.5])}
              for _ in range(300)]
    normalised = sorted((geo._normalised_point(p) for p in points),
                        key=lambda p: (p["locator"], p["time"] or "", p["latitude"], p["longitude"]))
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [p["longitude"], p["latitude"]]
                                                 + ([p["altitude"]] if p["altitude"] is not None else [])},
                 "properties": {k: v for k, v in p.items() if k not in ("latitude", "longitude")}}
                for p in normalised]
    geojson = json.dumps({"type": "FeatureCollection", "features": features}, indent=2, sort_keys=True,
                         ensure_ascii=True, allow_nan=False) + "\n"
    assert geo.write_geojson(iter(points), tmp_path / "g.geojson") == 300
    assert (tmp_path / "g.geojson").read_text(encoding="ascii") == geojson
    assert geo.write_kml(iter(points), tmp_path / "g.kml") == 300
    assert (tmp_path / "g.kml").read_bytes() == _kml_in_memory(normalised)
    for empty in ([], iter([])):
        geo.write_geojson(empty, tmp_path / "e.geojson")
        assert (tmp_path / "e.geojson").read_text() == json.dumps(
            {"type": "FeatureCollection", "features": []}, indent=2, sort_keys=True) + "\n"


def _map_in_memory(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The map's clusters as a list of the points gives them: grouped by grid
    cell, each cell's points sorted, their mean position."""
    lats, lons = [p["lat"] for p in points], [p["lon"] for p in points]
    span_lon, span_lat = max(max(lons) - min(lons), 8.0) * 1.3, max(max(lats) - min(lats), 4.0) * 1.3
    if span_lon < 2 * span_lat:
        span_lon = 2 * span_lat
    else:
        span_lat = span_lon / 2
    span_lon, span_lat = min(span_lon, 360.0), min(span_lat, 180.0)
    west = min(max((min(lons) + max(lons)) / 2 - span_lon / 2, -180.0), 180.0 - span_lon)
    north = max(min((min(lats) + max(lats)) / 2 + span_lat / 2, 90.0), -90.0 + span_lat)
    cell = span_lon / 40
    groups = defaultdict(list)
    for point in points:
        groups[(int((point["lon"] - west) // cell), int((north - point["lat"]) // cell))].append(point)
    clusters = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda p: (p["locator"], p["source"], p["lat"], p["lon"]))
        clusters.append({"count": len(members), "lat": round(sum(p["lat"] for p in members) / len(members), 6),
                         "lon": round(sum(p["lon"] for p in members) / len(members), 6),
                         "items": [{k: p[k] for k in ("locator", "evidence_id", "time", "source", "camera", "lat",
                                                      "lon")} for p in members]})
    return clusters


def test_map_clusters_equal_the_in_memory_grouping():
    rng = random.Random(3)
    points = [{"lat": round(rng.choice([29.1, 29.2, 29.35, 10.0]) + rng.randrange(50) / 300, 6),
               "lon": round(rng.choice([47.9, 48.0, 120.0]) + rng.randrange(50) / 300, 6),
               "locator": rng.choice(["a", "b", "c"]), "source": rng.choice(["exif:exif.gps", "x:y"]),
               "evidence_id": rng.choice(["E1", "E2"]), "time": str(i), "camera": ""} for i in range(2000)]
    points.sort(key=lambda p: (p["evidence_id"], p["locator"], p["source"], p["lat"], p["lon"]))
    model, by_cell = build_map(points)
    try:
        got = [{"count": c["count"], "lat": c["lat"], "lon": c["lon"], "items": list(c["items"])}
               for c in model["clusters"]]
    finally:
        by_cell.close()
    assert got == _map_in_memory(points)
    assert len(got) > 3


def _table_rows(page: str, table_id: str) -> list[str]:
    body = page.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>.*?</tr>", body)


def test_html_tables_and_counts_equal_in_memory_ones(small_case, tmp_path):
    store = CaseStore(small_case, readonly=True)
    try:
        page = html.render_html(store, small_case)
        findings = list(store.findings())
    finally:
        store.close()
    messages = sorted((f for f in findings if f["kind"] == "comms.message"),
                      key=lambda f: (f["data"].get("time") or f["data"].get("sent_time") or "", f["evidence_id"],
                                     f["locator"], f["data"]["thread_id"], f["data"]["body"]))
    shown = _table_rows(page, "t-messages")
    assert len(shown) == len(messages) > 100
    for row, finding in zip(shown, messages):
        assert f"<bdi dir=\"ltr\">{finding['data']['thread_id']}</bdi>" in row
        assert f"{finding['data']['sender']}</bdi>" in row
    bad = defaultdict(set)
    for f in findings:
        if f["kind"] == "hashset.match" and not f["data"]["known_good"]:
            data = f["data"]
            category = data.get("category") or (f"#{data['category_code']}" if data.get("category_code") is not None
                                                else "")
            bad[(category, data.get("series") or "")].add(f["locator"])
    series = _table_rows(page, "known-bad-series")
    assert len(series) == len(bad)
    for row, ((category, name), files) in zip(series, sorted(bad.items())):
        assert f">{category}</bdi>" in row and f">{name}</bdi>" in row and f">{len(files)}</td>" in row
    geotagged = {f["locator"] for f in findings if f["kind"] == "exif.gps"}
    assert f'<span class="n">{len(geotagged)}</span><span class="l">Geotagged items' in page
    data = json.loads(page.split('<script type="application/json" id="page-data">', 1)[1].split("</script>", 1)[0])
    assert sum(cluster["count"] for cluster in data["map"]["clusters"]) == len(_table_rows(page, "t-geo"))
    assert sum(len(cluster["items"]) for cluster in data["map"]["clusters"]) == len(geotagged)


def test_the_page_streams_what_script_json_encodes_whole():
    rng = random.Random(2)
    value = {"map": {"clusters": [{"id": i, "items": [{"locator": rng.choice(["</script>", "a&b", "\u2028", "é"]),
                                                        "lat": rng.random()} for _ in range(rng.randrange(4))]}
                                  for i in range(30)]}, "strings": {"of": "من"}}
    lazy = {"map": {"clusters": [dict(c, items=LazyList(lambda c=c: iter(c["items"])))
                                 for c in value["map"]["clusters"]]}, "strings": value["strings"]}
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    expected = (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    assert "".join(html.script_json_pieces(lazy)) == expected == html.script_json(value)


def test_long_tables_show_their_first_rows_and_say_how_many_there_are(small_case, monkeypatch):
    """A phone can hold 500,000 messages: the page shows the first ROW_LIMIT
    rows of each long table in order, and says how many there are in all."""
    monkeypatch.setattr(html, "ROW_LIMIT", 7)
    store = CaseStore(small_case, readonly=True)
    try:
        page = html.render_html(store, small_case)
        findings = list(store.findings())
    finally:
        store.close()
    messages = sorted((f for f in findings if f["kind"] == "comms.message"),
                      key=lambda f: (f["data"].get("time") or f["data"].get("sent_time") or "", f["evidence_id"],
                                     f["locator"], f["data"]["thread_id"], f["data"]["body"]))
    shown = _table_rows(page, "t-messages")
    assert len(shown) == 7 and len(messages) > 7
    for row, finding in zip(shown, messages):
        assert f"<bdi dir=\"ltr\">{finding['data']['thread_id']}</bdi>" in row
    assert f"Showing the first 7 of {len(messages)} rows" in page
    for table, kind in (("t-contacts", "comms.contact"), ("t-calls", "comms.call"), ("t-keywords", "keyword")):
        total = sum(1 for f in findings if f["kind"] == kind)
        assert len(_table_rows(page, table)) == min(7, total)
        if total > 7:
            assert f"Showing the first 7 of {total} rows" in page
