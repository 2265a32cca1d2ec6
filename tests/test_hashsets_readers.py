"""Each reader on its committed sample, VICS layouts, and problem recording."""

from __future__ import annotations

import json

import pytest

from hashsets_synth import SAMPLES, digests, write_vics
from traffick_triage.hashsets import (HashdeepReader, IcseCsvReader, PerceptualListReader,
                                      PlainListReader, VicsJsonReader, detect_format,
                                      hashset_info, open_reader)

EXPECTED_FORMAT = {
    "plain-list.txt": "plain", "hashdeep.txt": "hashdeep", "md5deep.txt": "md5deep",
    "vics-1.3.json": "vics-json", "vics-2.0.json": "vics-json", "vics-case.json": "vics-json",
    "icse.csv": "icse-csv", "pdq.txt": "pdq", "phash.txt": "phash",
    "nsrl-rds3-minimal.db": "nsrl-rds3",
}


@pytest.mark.parametrize("name,fmt", sorted(EXPECTED_FORMAT.items()))
def test_detect_format_of_samples(name, fmt):
    assert detect_format(SAMPLES / name) == fmt


def test_detection_ignores_extension(tmp_path):
    disguised = tmp_path / "list.json"
    disguised.write_bytes((SAMPLES / "hashdeep.txt").read_bytes())
    assert detect_format(disguised) == "hashdeep"
    vics = tmp_path / "hashes.txt"
    vics.write_bytes((SAMPLES / "vics-2.0.json").read_bytes())
    assert detect_format(vics) == "vics-json"


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED_FORMAT if not n.endswith(".db")))
def test_every_sample_reads_cleanly(name):
    reader = open_reader(SAMPLES / name)
    entries = list(reader)
    assert entries and reader.problems == []
    assert all(e.has_hash() for e in entries)
    assert all(e.set_name == name for e in entries)


def test_plain_list_types_by_length_and_labels():
    entries = list(PlainListReader(SAMPLES / "plain-list.txt"))
    assert len(entries) == 7
    assert entries[0].sha1 == digests(1)["sha1"] and entries[0].label == "benign sample 1"
    assert entries[1].sha256 == digests(2)["sha256"]
    assert entries[2].md5 == digests(3)["md5"]
    assert entries[-1].sha1 == digests(7)["sha1"] and entries[-1].label is None  # upper-cased in file


def test_plain_list_bad_lines_are_problems(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("zz-not-hex label\n" + digests(1)["md5"] + "\n" + "abc\n")
    reader = PlainListReader(path)
    assert [e.md5 for e in reader] == [digests(1)["md5"]]
    assert len(reader.problems) == 2 and "line 1" in reader.problems[0]


def test_plain_list_utf16_from_windows(tmp_path):
    path = tmp_path / "ps.txt"
    path.write_bytes(("\r\n".join([digests(1)["sha256"].upper(), digests(2)["md5"]]) + "\r\n")
                     .encode("utf-16"))
    assert detect_format(path) == "plain"
    assert [e.sha256 or e.md5 for e in PlainListReader(path)] == [digests(1)["sha256"],
                                                                  digests(2)["md5"]]


def test_hashdeep_sample():
    reader = HashdeepReader(SAMPLES / "hashdeep.txt")
    entries = list(reader)
    assert reader.metadata["hashdeep_header"] == "HASHDEEP-1.0"
    by_label = {e.label: e for e in entries}
    e = by_label["benign/benign-3.txt"]
    assert (e.md5, e.sha256, e.sha1) == (digests(3)["md5"], digests(3)["sha256"], None)


def test_hashdeep_filename_with_commas(tmp_path):
    path = tmp_path / "h.txt"
    d = digests(1)
    path.write_text(f"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
                    f"15,{d['md5']},{d['sha256']},/x/a, b,c.txt\n15,nothex,{d['sha256']},y\n")
    reader = HashdeepReader(path)
    entries = list(reader)
    assert [e.label for e in entries] == ["/x/a, b,c.txt"]
    assert len(reader.problems) == 1


def test_md5deep_with_size_column(tmp_path):
    path = tmp_path / "z.txt"
    path.write_text(f"      15  {digests(4)['md5']}  /x/benign-4.txt\n")
    entries = list(HashdeepReader(path))
    assert entries[0].md5 == digests(4)["md5"] and entries[0].label == "/x/benign-4.txt"


def test_vics_13_strings_as_booleans():
    reader = VicsJsonReader(SAMPLES / "vics-1.3.json")
    entries = list(reader)
    assert reader.metadata["data_model_version"] == "1.3"
    third = next(e for e in entries if e.md5 == digests(3)["md5"])
    assert third.victim_identified is True and third.is_distributed is True
    assert third.category_code == 3
    assert third.category == "CGI/Animation - Child Focused"


@pytest.mark.parametrize("version,layout", [("1.3", "flat"), ("2.0", "flat"),
                                            ("2.0", "case"), ("1.3", "case"),
                                            ("2.0", "top-media")])
def test_vics_layouts_give_the_same_entries(tmp_path, version, layout):
    ids = range(1, 11)
    reader = VicsJsonReader(write_vics(tmp_path / "v.json", ids, version, layout))
    entries = list(reader)
    assert reader.problems == []
    assert sorted(e.md5 for e in entries) == sorted(digests(i)["md5"] for i in ids)
    for e in entries:
        i = next(i for i in ids if digests(i)["md5"] == e.md5)
        assert e.sha1 == digests(i)["sha1"]
        assert e.category_code == i % 5
        assert e.series == f"Synthetic {i % 3}"
        assert e.victim_identified is bool(i % 2)
        assert e.is_distributed is False
        assert e.scheme == "vics-us"
        if version == "2.0":
            assert e.sha256 == digests(i)["sha256"]


def test_vics_alternative_hashes_media_files_and_case_insensitive_keys(tmp_path):
    pdq = "ab" * 32
    doc = {"@odata.context": "x/DataModels/2.0.xml/Default/$metadata#Media", "value": [
        {"md5": digests(1)["md5"], "category": "2", "Unknown": {"deep": [1, 2]},
         "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq},
                               {"HashName": "PhotoDNA", "HashValue": "AAAA"},
                               {"HashName": "pHash", "HashValue": "0123456789abcdef"}],
         "MediaFiles": [{"FileName": "a.jpg", "MD5": digests(2)["md5"]},
                        {"FileName": "b.jpg"}]}]}
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    reader = VicsJsonReader(path)
    entries = list(reader)
    assert reader.problems == []
    assert [(e.md5, e.pdq, e.phash, e.label) for e in entries] == [
        (digests(1)["md5"], pdq, "0123456789abcdef", "a.jpg"),
        (digests(2)["md5"], None, None, "a.jpg")]
    assert entries[1].category == "Child Exploitation/Age Difficult"
    assert reader.alt_hash_counts == {"PDQ": 1, "PhotoDNA": 1, "pHash": 1}


def test_vics_malformed_items_are_counted_and_reading_continues(tmp_path):
    doc = {"odata.metadata": "x", "value": [
        "a string, not an object", {"MD5": "not-hex", "Category": 1},
        {"Category": 1}, {"MD5": digests(5)["md5"], "Category": 99}]}
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    reader = VicsJsonReader(path)
    entries = list(reader)
    assert [e.md5 for e in entries] == [digests(5)["md5"]]
    assert entries[0].category == "vics-us category 99" and entries[0].category_code == 99
    assert reader.problem_count == 4


def test_vics_truncated_file_keeps_what_was_read(tmp_path):
    path = write_vics(tmp_path / "v.json", range(1, 6))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    reader = VicsJsonReader(path)
    entries = list(reader)
    assert 1 <= len(entries) < 5
    assert reader.problems and "syntax" in reader.problems[-1]


def test_vics_uk_scheme_names():
    entries = list(VicsJsonReader(SAMPLES / "vics-1.3.json", scheme="vics-uk"))
    first = next(e for e in entries if e.category_code == 1)
    assert first.category == "Category A" and first.scheme == "vics-uk"
    custom = list(VicsJsonReader(SAMPLES / "vics-1.3.json", scheme="custom",
                                 category_names={1: "Lab grade one"}))
    assert next(e for e in custom if e.category_code == 1).category == "Lab grade one"


def test_icse_sample_and_tolerant_headers(tmp_path):
    entries = list(IcseCsvReader(SAMPLES / "icse.csv"))
    assert entries[0].category == "1" and entries[0].category_code == 1
    assert entries[0].series == "Synthetic Series A" and entries[0].label == "benign-1.txt"
    path = tmp_path / "odd.csv"
    path.write_text('\ufeff"Hash MD5"\t"sha_1"\tCATEGORY\tSeries Name\tIs-Distributed\n'
                    f'{digests(1)["md5"].upper()}\t{digests(1)["sha1"]}\tA\tS\ttrue\n')
    assert detect_format(path) == "icse-csv"
    reader = IcseCsvReader(path)
    (entry,) = list(reader)
    assert (entry.md5, entry.sha1, entry.category, entry.series, entry.is_distributed) == (
        digests(1)["md5"], digests(1)["sha1"], "A", "S", True)


def test_icse_without_hash_column_is_a_problem(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Name;Category\na;1\n")
    reader = IcseCsvReader(path)
    assert list(reader) == [] and reader.problems


def test_perceptual_lists():
    pdq = list(PerceptualListReader(SAMPLES / "pdq.txt"))
    assert all(len(e.pdq) == 64 and e.pdq_quality == 100 for e in pdq)
    assert pdq[0].label == "synthetic gradient 1"
    phash = list(PerceptualListReader(SAMPLES / "phash.txt", kind="phash"))
    assert all(len(e.phash) == 16 and e.pdq is None for e in phash)


def test_pdq_detection_needs_a_marker(tmp_path):
    bare = tmp_path / "bare.txt"
    bare.write_text(digests(1)["sha256"] + "\n")
    assert detect_format(bare) == "plain"  # 64 hex alone is read as SHA-256
    marked = tmp_path / "marked.txt"
    marked.write_text("# pdq\n" + digests(1)["sha256"] + "\n")
    assert detect_format(marked) == "pdq"
    quality = tmp_path / "q.txt"
    quality.write_text(digests(1)["sha256"] + ",87\n")
    assert detect_format(quality) == "pdq"


def test_hashset_info_vics():
    info = hashset_info(SAMPLES / "vics-2.0.json")
    assert info["format"] == "vics-json" and info["version"] == "2.0"
    assert info["entry_count"] == 6 and info["hashes"]["sha256"] == 6
    assert info["categories"]["Child Abuse Material"] == 2
    assert info["alternative_hashes"] == {"PDQ": 6}
    assert len(info["sha256"]) == 64 and info["problem_count"] == 0
