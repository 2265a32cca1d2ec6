"""The same files described as VICS 2.0, ICSE CSV, real hashdeep output and a
plain list give the same lookups, in memory and from a compiled store."""

from __future__ import annotations

import pytest

from hashsets_synth import (digests, parse_hashdeep_oracle, run_hashdeep, write_icse,
                            write_payload_folder, write_plain, write_vics)
from traffick_triage.hashsets import HashSetIndex, import_hashsets

IDS = range(1, 21)


@pytest.fixture
def sets(tmp_path):
    folder = write_payload_folder(tmp_path / "files", IDS)
    return {
        "vics": write_vics(tmp_path / "vics.json", IDS, "2.0"),
        "icse": write_icse(tmp_path / "icse.csv", IDS),
        "hashdeep": run_hashdeep(folder, tmp_path / "audit.txt"),
        "plain": write_plain(tmp_path / "plain.txt", IDS),
    }


def test_hashdeep_oracle_agrees_with_our_digests(sets):
    oracle = parse_hashdeep_oracle(sets["hashdeep"])
    assert len(oracle) == len(IDS)
    known = {(digests(i)["md5"], digests(i)["sha256"]) for i in IDS}
    assert {(r["md5"], r["sha256"]) for r in oracle} == known


def test_same_lookups_across_formats(sets):
    indexes = {name: HashSetIndex.from_paths([path]) for name, path in sets.items()}
    for row in parse_hashdeep_oracle(sets["hashdeep"]):
        for kind in ("md5", "sha256"):
            found = {name: index.lookup(**{kind: row[kind]}) for name, index in indexes.items()}
            for name, entries in found.items():
                assert len(entries) == 1, (name, kind)
                assert getattr(entries[0], kind) == row[kind]
    # Where two formats carry the same facts, they agree.
    for i in IDS:
        (v,) = indexes["vics"].lookup(md5=digests(i)["md5"])
        (c,) = indexes["icse"].lookup(md5=digests(i)["md5"])
        assert (v.sha1, v.sha256, v.category_code, v.series) == \
               (c.sha1, c.sha256, c.category_code, c.series)
        assert indexes["plain"].lookup(sha1=digests(i)["sha1"])[0].sha1 == digests(i)["sha1"]
    unknown = digests(999)
    for index in indexes.values():
        assert index.lookup(**unknown) == []


def test_lookup_across_sets_is_deterministic_and_deduplicated(sets):
    paths = list(sets.values())
    index = HashSetIndex.from_paths(paths)
    d = digests(7)
    first = index.lookup(md5=d["md5"], sha1=d["sha1"].upper(), sha256=d["sha256"])
    # vics (1, all hashes) + icse (1) + hashdeep (1) + plain (3 single-hash lines)
    assert len(first) == 6
    assert [e.set_name for e in first] == ["vics.json", "icse.csv", "audit.txt",
                                           "plain.txt", "plain.txt", "plain.txt"]
    assert first == HashSetIndex.from_paths(paths).lookup(sha256=d["sha256"], sha1=d["sha1"],
                                                           md5=d["md5"])
    with pytest.raises(ValueError):
        index.lookup(md5="xyz")


def test_store_gives_the_same_lookups_as_memory(sets, tmp_path):
    store = tmp_path / "store.sqlite"
    results = import_hashsets(sets.values(), store)
    assert [r.status for r in results] == ["imported"] * 4
    memory = HashSetIndex.from_paths(sets.values())
    stored = HashSetIndex.from_paths([store])
    for i in list(IDS) + [999]:
        for kind, value in digests(i).items():
            assert stored.lookup(**{kind: value}) == memory.lookup(**{kind: value})
    assert [d["name"] for d in stored.describe()] == [d["name"] for d in memory.describe()]
    assert [d["sha256"] for d in stored.describe()] == [d["sha256"] for d in memory.describe()]
    assert [d["entry_count"] for d in stored.describe()] == [20, 20, 20, 60]
