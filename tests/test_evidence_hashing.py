"""The evidence item's own hashes (evidence_hashing): taken beside the walk,
one read for a raw image's media and host file, and the same values, warnings
and verification as hashing the media and each host file on their own."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import pytest

from evidence_builders import load_report, make_e01, make_ext4, make_tar, make_zip, scan
from traffick_triage import evidence_hashing
from traffick_triage.evidence_hashing import ItemHashing
from traffick_triage.sources.detect import open_source


def digests(data: bytes) -> dict[str, object]:
    return {"size": len(data), "md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


def host_entry(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"path": str(path.resolve()), "size": len(data), "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture(scope="module")
def ext4(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hashing")
    # Incompressible, so the E01 of it spans several 1 MiB segments.
    files = {f"dir/{n:02d}.bin": random.Random(n).randbytes(50000 + n) for n in range(40)}
    return make_ext4(folder / "disk.raw", files, size_kib=8192)


def taken(path: Path) -> evidence_hashing.ItemHashes:
    source = open_source(str(path))
    try:
        hashing = ItemHashing(source, host_files=True)
        hashing.start()
        list(source.entries())          # the walk reads the image at the same time
        return hashing.result()
    finally:
        source.close()


def test_raw_image_media_and_host_file_from_one_read(ext4, monkeypatch):
    opened = []
    real_open = evidence_hashing.open_readonly
    monkeypatch.setattr(evidence_hashing, "open_readonly", lambda p: opened.append(p) or real_open(p))
    result = taken(ext4)
    assert result.media == digests(ext4.read_bytes())
    assert result.host_files == [host_entry(ext4)]
    assert not result.media_warnings and not result.host_warnings
    assert opened == [str(ext4)]


def test_split_raw_media_is_the_segments_end_to_end(ext4, tmp_path):
    data = ext4.read_bytes()
    third = len(data) // 3
    segments = [tmp_path / f"disk.{n:03d}" for n in (1, 2, 3)]
    for segment, part in zip(segments, (data[:third], data[third:2 * third], data[2 * third:])):
        segment.write_bytes(part)
    result = taken(segments[0])
    assert result.media == digests(data)
    assert result.host_files == [host_entry(s) for s in segments]


def test_unreadable_segment_is_worded_as_when_hashed_on_its_own(ext4, tmp_path, monkeypatch):
    data = ext4.read_bytes()
    segments = [tmp_path / "disk.001", tmp_path / "disk.002"]
    segments[0].write_bytes(data[: len(data) // 2])
    segments[1].write_bytes(data[len(data) // 2:])
    real_open = evidence_hashing.open_readonly

    def refuse_second(path):
        if path.endswith(".002"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path)

    monkeypatch.setattr(evidence_hashing, "open_readonly", refuse_second)
    result = taken(segments[0])
    assert result.media == digests(data)            # the media stream reads through its own reader
    assert result.host_files == [host_entry(segments[0])]
    assert result.host_warnings == [(str(segments[1]), "cannot hash evidence file: Permission denied")]


def test_e01_media_hashes_verify_and_segments_are_hashed_as_files(ext4, tmp_path):
    e01 = make_e01(ext4, tmp_path / "disk", segment_bytes=1 << 20)
    result = taken(e01)
    assert result.media == digests(ext4.read_bytes())
    segments = sorted(tmp_path.glob("disk.E*"))
    assert len(segments) > 1
    assert result.host_files == [host_entry(s) for s in segments]


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_is_hashed_once_beside_the_walk(kind, tmp_path, monkeypatch):
    members = {f"sdcard/DCIM/{n:03d}.bin": random.Random(n).randbytes(3000 + n) for n in range(50)}
    archive = (make_zip if kind == "zip" else make_tar)(tmp_path / f"phone.{kind}", members)
    opened, readers = [], set()
    real_open, real_chunks = evidence_hashing.open_readonly, ItemHashing._chunks
    monkeypatch.setattr(evidence_hashing, "open_readonly", lambda p: opened.append(p) or real_open(p))

    def chunks(self, stream):
        readers.add(threading.current_thread().name)
        yield from real_chunks(self, stream)

    monkeypatch.setattr(ItemHashing, "_chunks", chunks)
    result = taken(archive)
    assert result.media == digests(archive.read_bytes())
    assert result.host_files == [host_entry(archive)]
    assert opened == [str(archive)]                 # one read for both
    assert readers == {"evidence-hashes"}           # in its thread, not after the walk


def test_a_failed_walk_stops_the_hashing_thread(ext4, monkeypatch):
    started, release = threading.Event(), threading.Event()
    real_chunks = ItemHashing._chunks

    def slow_chunks(self, stream):
        started.set()
        release.wait(10)
        yield from real_chunks(self, stream)

    monkeypatch.setattr(ItemHashing, "_chunks", slow_chunks)
    source = open_source(str(ext4))
    try:
        hashing = ItemHashing(source, host_files=True)
        hashing.start()
        assert started.wait(10)
        release.set()
        hashing.cancel()
        assert not any(t.name == "evidence-hashes" for t in threading.enumerate())
    finally:
        source.close()


def test_scan_records_the_same_item_hashes(ext4, tmp_path):
    e01 = make_e01(ext4, tmp_path / "laptop")
    scan([ext4, e01], tmp_path / "case", "--no-plugins", expect_exit=0)
    items = {item["name"]: item for item in load_report(tmp_path / "case")["evidence"]}
    media = digests(ext4.read_bytes())
    assert items["disk.raw"]["hashes"] == media
    assert items["laptop.E01"]["hashes"] == media
    assert items["laptop.E01"]["verification"] == "verified"


def test_md5_runs_beside_the_other_digests_and_its_thread_ends(ext4, tmp_path, monkeypatch):
    """MD5 (the slowest digest, which cannot be split) is updated in a helper
    thread while the hashing thread does SHA-1 and SHA-256; the helpers are
    gone when the hashes are (the scan forks its output processes after)."""
    md5_threads, other_threads = set(), set()

    class Recorded:
        def __init__(self, make, threads):
            self._hash, self._threads = make(), threads

        def update(self, data):
            self._threads.add(threading.current_thread().name)
            self._hash.update(data)

        def hexdigest(self):
            return self._hash.hexdigest()

    data = ext4.read_bytes()
    segments = [tmp_path / "disk.001", tmp_path / "disk.002"]
    segments[0].write_bytes(data[:len(data) // 2])
    segments[1].write_bytes(data[len(data) // 2:])
    cases = [(ext4, [host_entry(ext4)]), (segments[0], [host_entry(s) for s in segments])]
    media = digests(data)
    # hashlib is one module: from here on the test's own helpers would record too.
    real_md5, real_sha256 = hashlib.md5, hashlib.sha256
    monkeypatch.setattr(evidence_hashing.hashlib, "md5", lambda: Recorded(real_md5, md5_threads))
    monkeypatch.setattr(evidence_hashing.hashlib, "sha256", lambda: Recorded(real_sha256, other_threads))
    for evidence, hosts in cases:      # a raw image (media = host file), a split one
        md5_threads.clear()
        other_threads.clear()
        result = taken(evidence)
        assert result.media == media
        assert result.host_files == hosts
        assert md5_threads and all(name.startswith("evidence-md5") for name in md5_threads)
        assert other_threads == {"evidence-hashes"}
        assert not [t.name for t in threading.enumerate() if t.name.startswith("evidence-")]
