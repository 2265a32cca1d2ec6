"""The compiled store: provenance, idempotent re-import, detection, lookups."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

from hashsets_synth import SAMPLES, digests, write_plain
from traffick_triage.hashsets import (HashSetIndex, detect_format, hashset_info,
                                      import_hashsets)
from traffick_triage.hashsets.fileutil import file_sha256

SAMPLE_NAMES = ["vics-2.0.json", "icse.csv", "hashdeep.txt", "plain-list.txt", "pdq.txt",
                "phash.txt", "md5deep.txt", "vics-case.json", "vics-1.3.json"]


def test_import_records_provenance(tmp_path):
    store = tmp_path / "store.sqlite"
    results = import_hashsets([SAMPLES / n for n in SAMPLE_NAMES], store)
    assert [r.status for r in results] == ["imported"] * len(SAMPLE_NAMES)
    assert detect_format(store) == "triage-store"
    con = sqlite3.connect(store)
    rows = con.execute("SELECT file_name, sha256, format, entry_count, imported_utc "
                       "FROM sources ORDER BY id").fetchall()
    assert [r[0] for r in rows] == SAMPLE_NAMES
    for name, sha, fmt, count, when in rows:
        assert sha == file_sha256(SAMPLES / name)
        assert fmt == detect_format(SAMPLES / name)
        assert count == con.execute("SELECT COUNT(*) FROM entries e JOIN sources s "
                                    "ON e.source_id = s.id WHERE s.file_name = ?",
                                    (name,)).fetchone()[0]
        assert dt.datetime.fromisoformat(when).utcoffset() == dt.timedelta(0)
    indexes = {r[0] for r in con.execute("SELECT sql FROM sqlite_master WHERE type='index' "
                                         "AND tbl_name='entries'")}
    for column in ("md5", "sha1", "sha256", "pdq"):
        assert any(f"entries({column})" in (sql or "") for sql in indexes)
    con.close()


def test_reimport_is_a_noop_even_under_another_name(tmp_path):
    store = tmp_path / "store.sqlite"
    source = SAMPLES / "icse.csv"
    import_hashsets([source], store)
    copy = tmp_path / "renamed.csv"
    shutil.copy(source, copy)
    before = sqlite3.connect(store).execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    results = import_hashsets([source, copy], store)
    assert [r.status for r in results] == ["unchanged", "unchanged"]
    assert results[0].entry_count == 6
    con = sqlite3.connect(store)
    assert con.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == before
    assert con.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 1


def test_changed_file_is_a_new_source(tmp_path):
    store = tmp_path / "store.sqlite"
    path = write_plain(tmp_path / "list.txt", range(1, 3))
    import_hashsets([path], store)
    write_plain(path, range(1, 4))
    (result,) = import_hashsets([path], store)
    assert result.status == "imported" and result.entry_count == 9
    index = HashSetIndex.from_paths([store])
    assert len(index.lookup(md5=digests(1)["md5"])) == 2  # both versions, each its source
    assert len(index.describe()) == 2


def test_store_lookup_pdq_and_info(tmp_path):
    store = tmp_path / "store.sqlite"
    import_hashsets([SAMPLES / "vics-2.0.json", SAMPLES / "pdq.txt"], store)
    index = HashSetIndex.from_paths([store])
    (entry,) = index.lookup(sha256=digests(4)["sha256"])
    assert entry.category == "Comparison Images" and entry.category_code == 4
    assert entry.victim_identified is False and entry.is_distributed is True
    assert entry.label == "benign-4.txt"
    pdq = list(index.pdq_entries())
    assert len(pdq) == 12 and all(len(e.pdq) == 64 for e in pdq)
    assert pdq == list(HashSetIndex.from_paths([store]).pdq_entries())
    info = hashset_info(store)
    assert info["format"] == "triage-store" and info["entry_count"] == 12
    assert info["hashes"]["pdq"] == 12 and len(info["sources"]) == 2
    described = index.describe()
    assert described[0]["version"] == "2.0" and described[0]["format"] == "vics-json"


def test_problems_are_kept_with_the_source(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(digests(1)["md5"] + "\nnot a hash\n")
    store = tmp_path / "s.sqlite"
    (result,) = import_hashsets([path], store)
    assert result.entry_count == 1 and result.problem_count == 1
    row = sqlite3.connect(store).execute("SELECT problem_count, problems_json FROM sources").fetchone()
    assert row[0] == 1 and "line 2" in row[1]


def test_unknown_files_are_skipped(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01garbage")
    (result,) = import_hashsets([path], tmp_path / "s.sqlite")
    assert result.status == "skipped"
