"""The report writers stream: the files they write are exactly what the
one-shot encoders give for the same structure, their memory does not grow with
the number of files, and side by side they write what one after another would."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import threading
import tracemalloc
import uuid
from pathlib import Path

import pytest

from traffick_triage import scan
from traffick_triage.report import case_uco, csv_tables, dfxml, hashdeep, html, json_report, side_by_side, timeline
from traffick_triage.external_sort import ExternalSort, keep_sqlite_scratch_in
from traffick_triage.store import CaseStore, dumps, json_array_items

_ODD = ["a", "é", "ع", "\U0001F600", ",", '"', "\n", "\r", "=", "+", " ", "\\", "<", "&", "\x01", "\udcff"]


def _odd_text(rng: random.Random, size: int = 6, alphabet: list[str] = _ODD) -> str:
    return "".join(rng.choice(alphabet + ["x"] * 8) for _ in range(rng.randrange(size)))


def _file_text(rng: random.Random) -> str:
    """Odd text as a file's name, note or finding carries it (valid Unicode)."""
    return _odd_text(rng, 6, _ODD[:-1])


def _value(rng: random.Random, depth: int = 0):
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return rng.randrange(-10 ** 12, 10 ** 12)
    if choice == 1:
        return rng.choice([0.1, -2.5e-7, 1e22, 3.0, float(rng.random())])
    if choice == 2:
        return _odd_text(rng)
    if choice == 3:
        return rng.choice([True, False, None])
    if choice in (4, 5):
        return "".join(rng.choice("0123456789abcdef") for _ in range(8))
    if choice == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_odd_text(rng, 4): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_json_array_items_decode_as_json_loads_does():
    rng = random.Random(5)
    for _ in range(3000):
        items = [_value(rng) for _ in range(rng.randrange(6))]
        text = rng.choice([dumps(items), json.dumps(items, indent=rng.randrange(3)), json.dumps(items)])
        size = rng.choice([1, 2, 3, 7, 64, 1 << 16])
        assert repr(list(json_array_items(io.BytesIO(text.encode()).read, size))) == repr(json.loads(text))


def test_external_sort_is_pythons_stable_sort():
    rng = random.Random(6)
    for _ in range(200):
        rows = [((_odd_text(rng, 3), rng.choice([1, -5, 2 ** 40, 1.5]), _odd_text(rng, 2)), index)
                for index in range(rng.randrange(60))]
        with ExternalSort(3, 1) as rows_sorted:
            for key, index in rows:
                rows_sorted.add(key, (index,))
            got = [index for (index,) in rows_sorted]
        assert got == [index for _, index in sorted(rows, key=lambda row: row[0])]


def test_external_sort_text_keys_sort_as_utf8_bytes():
    # add_text_key hands SQLite the text itself (no bytes conversion): its
    # order must still be Python's sort of the keys' UTF-8 (code points),
    # stable, for any text without lone surrogates (ASCII IRIs in case.jsonld,
    # but also accents, CJK and characters beyond the BMP).
    rng = random.Random(7)
    alphabet = ["a", "b", "Z", "0", "-", ":", "é", "ÿ", "中", "\uffff", "\U0001f600", "\x00", "\x7f"]
    for _ in range(200):
        rows = [("".join(rng.choice(alphabet) for _ in range(rng.randrange(4))), index)
                for index in range(rng.randrange(80))]
        with ExternalSort(1, 1) as rows_sorted:
            for key, index in rows:
                rows_sorted.add_text_key(key, (index,))
            got = [index for (index,) in rows_sorted]
        assert got == [index for _, index in sorted(rows, key=lambda row: row[0].encode("utf-8"))]


def test_uuid5_text_and_bytes_are_uuid_uuid5s():
    rng = random.Random(7)
    for _ in range(2000):
        namespace = uuid.UUID(bytes=rng.randbytes(16))
        name = _file_text(rng) * 2
        expected = uuid.uuid5(namespace, name)
        assert case_uco._uuid5(namespace.bytes, name) == (str(expected), expected.bytes)


def test_indented_json_is_canonical_json():
    rng = random.Random(8)
    for _ in range(3000):
        value = _value(rng)
        level = rng.randrange(4)
        reference = json_report.canonical_json(value).replace("\n", "\n" + " " * level)
        assert json_report._indented(value, level) == reference


def _case(root: Path, files: int, seed: int = 1) -> Path:
    """A folder case of `files` files (every one a host file too), written straight into a store."""
    rng = random.Random(seed)
    case = root / f"case-{files}"
    case.mkdir()
    store = CaseStore(case)
    store.set_meta("identity", {"tool": {"name": "traffick-triage", "version": "0"},
                                "environment": {"python": "3.11", "libraries": {"x": "1"}}})
    store.set_meta("case", {"case_number": "C-1", "examiner": "Ann Examiner", "agency": "Unit"})
    store.set_meta("options", {"plugin_options": {}})
    store.upsert_evidence({"id": "E1", "ordinal": 1, "path": "/evidence", "name": "evidence", "kind": "directory",
                           "description": {}})
    run = store.start_run("scan", "2024-05-01T00:00:00+00:00", {})
    store.begin()
    for number in range(files):
        name = f"f{number:06d}{_file_text(rng)}.{rng.choice(['jpg', 'txt', 'bin'])}"
        content = hashlib.sha256(name.encode()).hexdigest()
        row = {"evidence_id": "E1", "seq": number, "locator": "E1:/" + name, "path": "/" + name, "name": name,
               "kind": "file", "size": number, "allocated": number % 7 != 0, "md5": content[:32],
               "sha1": content[:40], "sha256": content, "mime": rng.choice(["image/jpeg", "text/plain"]),
               "extension_mismatch": number % 5 == 0, "notes": [_file_text(rng)] if number % 3 == 0 else [],
               "address": {"relpath": name},      # a folder's host files are its files (CaseStore.host_files)
               "times": {"modified": f"2024-05-{1 + number % 28:02d}T10:00:{number % 60:02d}+00:00",
                         "created_local": "2024-04-01 09:00:00"}}
        store.add_file(row)
    store.add_finding("E1", "E1:/" + name, "exif_metadata", "1.0", "exif.gps",
                      {"latitude": 29.37, "longitude": 47.98, "note": _file_text(rng)},
                      [{"datetime": "2024-05-02T00:00:00+00:00", "timestamp_desc": "Photo Taken", "message": "m"}])
    store.add_warning("E1", "E1:/" + name, "inventory", "a warning")
    store.commit()
    store.update_evidence("E1", hashes={"size": 1}, complete=True)
    store.finish_run(run, "2024-05-01T00:01:00+00:00", {"command_line": ["triage", "scan"]})
    store.close()
    return case


def test_report_json_and_case_jsonld_are_their_one_shot_encodings(tmp_path):
    case = _case(tmp_path, 300)
    store = CaseStore(case, readonly=True)
    try:
        report = json_report.write_report(store, case).read_text(encoding="utf-8")
        jsonld = case_uco.write_case_jsonld(store, case).read_text(encoding="utf-8")
    finally:
        store.close()
    assert report == json_report.canonical_json(json.loads(report)) + "\n"
    assert len(json.loads(report)["files"]) == 300
    document = json.loads(jsonld)
    assert jsonld == json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    ids = [node["@id"] for node in document["@graph"]]
    assert ids == sorted(set(ids))
    (provenance,) = [node for node in document["@graph"] if node["@type"] == "case-investigation:ProvenanceRecord"]
    assert len(provenance["uco-core:object"]) == 1 + 300 + 300     # the item, its host files, its files


def test_evidence_csv_host_paths_cell_is_what_csv_writer_writes(tmp_path):
    case = _case(tmp_path, 40, seed=3)
    store = CaseStore(case, readonly=True)
    try:
        csv_tables.write_csv_tables(store, case)
        (item,) = store.evidence()
        expected = io.StringIO()
        writer = csv.writer(expected, lineterminator="\r\n")
        writer.writerow([csv_tables.cell(column) for column in csv_tables.EVIDENCE_COLUMNS])
        writer.writerow([csv_tables.cell(value) for value in [
            item["id"], item["ordinal"], item["name"], item["kind"], item["path"], None, None, None, 1, None, None,
            None, True, [host["path"] for host in item["host_files"]], {}]])
    finally:
        store.close()
    assert (case / "csv" / "evidence.csv").read_bytes().decode("utf-8") == csv_tables.BOM + expected.getvalue()
    assert any(char in expected.getvalue() for char in ',"\n')      # the cell was quoted


_WRITERS = [json_report.write_report, case_uco.write_case_jsonld, timeline.write_timeline, dfxml.write_dfxml,
            csv_tables.write_csv_tables, html.write_html, hashdeep.write_evidence_hashdeep]


def _peaks(case: Path) -> dict[str, int]:
    store = CaseStore(case, readonly=True)
    peaks = {}
    try:
        for writer in _WRITERS:
            tracemalloc.start()
            writer(store, case)
            peaks[writer.__name__] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    finally:
        store.close()
    return peaks


def test_writers_memory_does_not_grow_with_the_number_of_files(tmp_path, monkeypatch):
    monkeypatch.setattr(html, "ROW_LIMIT", 100)     # the page's tables hold at most this many rows
    small, large = _peaks(_case(tmp_path, 800)), _peaks(_case(tmp_path, 4000))
    for name, peak in large.items():
        assert peak < small[name] * 1.25 + (256 << 10), (name, small[name], peak)


def _outputs(case: Path) -> dict[str, bytes]:
    return {str(path.relative_to(case)): path.read_bytes() for path in sorted(case.rglob("*"))
            if path.is_file() and not path.name.startswith("case.sqlite")}


def test_side_by_side_writes_what_one_after_another_writes(tmp_path, monkeypatch):
    case = _case(tmp_path, 200)
    store = CaseStore(case)
    try:
        written = scan.write_outputs(store, case)
        side = _outputs(case)
        monkeypatch.setattr(side_by_side, "cores", lambda: 1)
        assert scan.write_outputs(store, case) == written
    finally:
        store.close()
    assert _outputs(case) == side
    assert [path.name for path in written][:3] == ["report.json", "evidence.hashdeep", "timeline.jsonl"]


def test_a_writers_exception_surfaces_from_write_outputs(tmp_path, monkeypatch):
    case = _case(tmp_path, 20)

    def broken(store, case_dir):
        raise ValueError("the DFXML writer broke")

    monkeypatch.setattr(scan, "write_dfxml", broken)
    store = CaseStore(case)
    try:
        with pytest.raises(ValueError, match="the DFXML writer broke") as raised:
            scan.write_outputs(store, case)
    finally:
        store.close()
    assert any("in the output writer process" in note for note in getattr(raised.value, "__notes__", []))
    assert (case / "case.jsonld").is_file()          # started before it: finished, never cut off
    assert not list(case.glob(".*.partial"))


class _LockedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()        # cannot be pickled


@pytest.mark.skipif(side_by_side.cores() < 2, reason="writers run in this process on one core")
def test_a_writer_process_that_fails_oddly_still_says_what_happened(tmp_path):
    case = _case(tmp_path, 5)

    def unpicklable(store, case_dir):
        raise _LockedError("DFXML: disk full")

    def dying(store, case_dir):
        os._exit(3)

    store = CaseStore(case, readonly=True)
    try:
        with pytest.raises(RuntimeError, match="_LockedError: DFXML: disk full"):
            side_by_side.run_writers(store, case, [unpicklable])
        with pytest.raises(RuntimeError, match="process .* died running dying"):
            side_by_side.run_writers(store, case, [dfxml.write_dfxml, dying])
    finally:
        store.close()


def _open_deleted_files() -> list[str]:
    fd_dir = Path("/proc/self/fd")
    links = []
    for fd in fd_dir.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            pass
    return [link for link in links if link.endswith(" (deleted)")]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_sqlite_scratch_goes_to_the_case_folder_and_leaves_nothing(tmp_path):
    scratch = tmp_path / "case"
    scratch.mkdir()
    keep_sqlite_scratch_in(scratch)
    try:
        with ExternalSort(1, 1) as rows:
            # More than SQLite's page cache holds (2 MB): only then is a file opened.
            for index in range(40_000):
                rows.add((f"k{index % 7}",), ("x" * 100,))
            assert sum(1 for _ in rows) == 40_000
            held = [link for link in _open_deleted_files() if link.startswith(str(scratch))]
            assert held, "the sort's database is not in the scratch folder"
        assert list(scratch.iterdir()) == []
    finally:
        keep_sqlite_scratch_in(None)
