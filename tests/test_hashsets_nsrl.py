"""NSRL RDS v3: looked up in place, known-good, and never modified."""

from __future__ import annotations

import hashlib
import os

import pytest

from hashsets_synth import SAMPLES, digests, write_nsrl
from traffick_triage.hashsets import (HashSetIndex, NsrlLookup, detect_format,
                                      hashset_info, import_hashsets)


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("as_view", [False, True], ids=["minimal", "file-view"])
def test_nsrl_lookups_are_known_good_and_leave_the_file_alone(tmp_path, as_view):
    rds_dir = tmp_path / "rds"
    rds_dir.mkdir()
    rds = write_nsrl(rds_dir / "RDS_2099.01.1_modern_minimal.db", range(1, 11),
                     file_as_view=as_view)
    before = sha256_of(rds)
    stat_before = os.stat(rds)
    cache = tmp_path / "cache"
    assert detect_format(rds) == "nsrl-rds3"
    with NsrlLookup(rds, cache_dir=cache) as lookup:
        assert lookup.indexed == (set() if as_view else {"sha256"})
        d = digests(3)
        for kind in ("sha256", "sha1", "md5"):
            (entry,) = lookup.lookup(**{kind: d[kind]})
            assert (entry.md5, entry.sha1, entry.sha256) == (d["md5"], d["sha1"], d["sha256"])
            assert entry.known_good and entry.category == "known" and entry.scheme == "nsrl"
        if not as_view:
            assert entry.label == "benign-3.txt (Synthetic Suite 2.1)"
        assert lookup.lookup(md5=digests(99)["md5"]) == []
        assert lookup.lookup(md5=d["md5"].upper(), sha256=d["sha256"])[0].md5 == d["md5"]
        assert lookup.sidecar_path.parent == cache and lookup.sidecar_path.exists()
        described = lookup.describe()
        assert described[0]["sha256"] == before and described[0]["version"] == "2099.01.1"
    assert sha256_of(rds) == before
    assert os.stat(rds).st_mtime_ns == stat_before.st_mtime_ns
    assert sorted(os.listdir(rds_dir)) == [rds.name]  # no journal/wal/index beside it


def test_sidecar_is_reused_and_rebuilt_when_the_rds_changes(tmp_path):
    rds = write_nsrl(tmp_path / "rds.db", range(1, 4))
    cache = tmp_path / "cache"
    with NsrlLookup(rds, cache_dir=cache) as lookup:
        assert lookup.lookup(md5=digests(1)["md5"])
        built = lookup.sidecar_path.stat().st_mtime_ns
    with NsrlLookup(rds, cache_dir=cache) as lookup:
        assert lookup.lookup(md5=digests(2)["md5"])
        assert lookup.sidecar_path.stat().st_mtime_ns == built
    rds.unlink()
    write_nsrl(rds, range(4, 6))  # a new release under the same name
    with NsrlLookup(rds, cache_dir=cache) as lookup:
        assert lookup.lookup(md5=digests(5)["md5"])[0].known_good


def test_unwritable_cache_falls_back_to_scanning(tmp_path):
    rds = write_nsrl(tmp_path / "rds.db", range(1, 4))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with NsrlLookup(rds, cache_dir=blocker / "sub") as lookup:
        assert lookup.lookup(sha1=digests(2)["sha1"])[0].known_good
        assert lookup.problems and "slow" in lookup.problems[0]


def test_nsrl_in_an_index_and_info(tmp_path):
    sample = SAMPLES / "nsrl-rds3-minimal.db"
    before = sha256_of(sample)
    index = HashSetIndex.from_paths([sample], cache_dir=tmp_path)
    (entry,) = index.lookup(sha1=digests(2)["sha1"])
    assert entry.known_good
    assert list(index.pdq_entries()) == []
    index.close()
    info = hashset_info(sample)
    assert info["version"] == "2000.01.1" and info["entry_count"] == 6
    assert info["categories"] == {"known": 6}
    (result,) = import_hashsets([sample], tmp_path / "store.sqlite")
    assert result.status == "skipped" and "in place" in result.reason
    assert sha256_of(sample) == before
