"""For every corpus image The Sleuth Kit reads, the inventory's regular files
(path, size, md5), deleted ones included, equal what ``fls -r -p`` + ``icat``
give. The only differences allowed are listed here with their reason."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tarfile
from collections import Counter

import pytest

from evidence_builders import file_system_files, load_report, regular_files, scan
from tsk_oracle import tsk_inventory

# (corpus path, how it is stored, partition start sector for fls -o or None;
#  a partitioned image's file system is partition p1)
IMAGES = [
    ("dfir_ntfs/fat12.raw.gz", "gz", None),
    ("dfir_ntfs/fat16.raw.gz", "gz", None),
    ("dfir_ntfs/fat_lfn_test.raw.gz", "gz", None),
    ("dfir_ntfs/fat_deleted_dir_2.raw.gz", "gz", None),
    ("dfir_ntfs/fat32_full_test.tgz", "tgz", None),
    ("dfir_ntfs/exfat_win.raw.gz", "gz", None),
    ("dfir_ntfs/ntfs3.raw.gz", "gz", None),
    ("dfir_ntfs/ntfs_index.raw.gz", "gz", 128),
    ("dfvfs/ext2.E01", "plain", None),
    ("dfvfs/hfsplus.raw", "plain", None),
    ("dfvfs/iso9660.raw", "plain", None),
    ("dfvfs/imynd.dd", "plain", None),
    ("plaso/image.E01", "plain", None),
    ("plaso/syslog_image.dd", "plain", None),
    ("pytsk/image.raw", "plain", None),
]


@pytest.fixture(scope="module")
def corpus_case(corpus, tmp_path_factory):
    """All images scanned in one case (decompressed copies where the corpus
    keeps them compressed; TSK reads raw images only)."""
    work = tmp_path_factory.mktemp("tsk-images")
    paths = []
    for relative, storage, _ in IMAGES:
        source = corpus / relative
        if storage == "gz":
            target = work / source.name[:-3]
            with gzip.open(source) as compressed, open(target, "wb") as plain:
                shutil.copyfileobj(compressed, plain)
        elif storage == "tgz":
            with tarfile.open(source) as archive:
                member = archive.getmembers()[0]
                archive.extract(member, work, filter="data")
                target = work / member.name
        else:
            target = source
        paths.append(target)
    case = tmp_path_factory.mktemp("case")
    scan(paths, case, "--no-plugins")
    return paths, load_report(case)


def _evidence_id_of(relative: str) -> str:
    return f"E{[i[0] for i in IMAGES].index(relative) + 1}"


def _ours(report: dict, evidence_id: str, prefix: str) -> Counter:
    files = [f for f in file_system_files(report, evidence_id) if f["locator"].startswith(prefix)]
    return Counter((f["path"], f["size"] if f["md5"] else None, f["md5"]) for f in files)


@pytest.mark.parametrize("index", range(len(IMAGES)), ids=[i[0] for i in IMAGES])
def test_inventory_equals_fls_and_icat(corpus_case, index):
    paths, report = corpus_case
    relative, _, offset = IMAGES[index]
    image = paths[index]
    evidence_id = f"E{index + 1}"
    oracle = tsk_inventory(str(image), offset)
    assert oracle, f"fls lists no regular file in {relative}: the comparison would be empty"
    item = report["evidence"][index]
    prefix = f"{item['name']} > " + ("p1 > " if offset else "")
    ours = _ours(report, evidence_id, prefix)
    expected = Counter((f.path, f.size, f.md5) for f in oracle)
    # icat refuses some orphan entries that have no data attribute left (ntfs3's
    # OrphanFile-16..23); The Sleuth Kit in pytsk3 reads them as empty. Compare
    # those by name only.
    unreadable = {f.path for f in oracle if f.md5 is None}
    ours_unreadable = Counter(k for k in ours.elements() if k[0] in unreadable)
    assert {k[0] for k in ours_unreadable} == unreadable
    assert all(k[1] in (0, None) for k in ours_unreadable)
    ours -= ours_unreadable
    expected = Counter({k: v for k, v in expected.items() if k[0] not in unreadable})
    assert ours == expected, (f"only TSK: {sorted((expected - ours).elements())[:10]}; "
                              f"only ours: {sorted((ours - expected).elements())[:10]}")
    deleted_tsk = sum(1 for f in oracle if f.deleted)
    deleted_ours = sum(1 for f in file_system_files(report, evidence_id)
                       if f["locator"].startswith(prefix) and not f["allocated"])
    assert deleted_ours == deleted_tsk


def test_partitions_equal_mmls(corpus):
    """tsk_volume_system.raw: an MBR with an extended partition (its second
    file system holds no regular file: fls lists only lost+found)."""
    image = corpus / "plaso/tsk_volume_system.raw"
    listing = subprocess.run(["mmls", str(image)], capture_output=True, text=True, check=True).stdout
    expected = [int(line.split()[2]) * 512 for line in listing.splitlines()
                if line[:4].strip().rstrip(":").isdigit() and line.split()[1] not in ("Meta", "-------")]
    from traffick_triage.sources.detect import open_source

    source = open_source(str(image))
    try:
        volumes = source.describe()["volumes"]
    finally:
        source.close()
    assert [v["offset"] for v in volumes] == expected == [512, 180224]
    assert [v["file_system"] for v in volumes] == [None, "ext2"]


def test_fls_oracle_counts_are_not_trivial(corpus_case):
    """The corpus really exercises deleted files and NTFS streams."""
    _, report = corpus_case
    files = regular_files(report)
    assert sum(1 for f in files if not f["allocated"]) >= 64 + 4
    assert any(":" in f["path"].rsplit("/", 1)[-1] for f in files if f["evidence_id"] == _evidence_id_of("dfir_ntfs/ntfs3.raw.gz"))


def test_file_system_tsk_cannot_read_is_one_warning(corpus, tmp_path):
    # fat32_small uses 2048-byte sectors, which The Sleuth Kit does not read.
    image = tmp_path / "fat32_small.raw"
    with gzip.open(corpus / "dfir_ntfs/fat32_small.raw.gz") as compressed, open(image, "wb") as plain:
        shutil.copyfileobj(compressed, plain)
    scan([image], tmp_path / "case", "--no-plugins", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert [w["message"] for w in report["warnings"]] == [
        "no file system The Sleuth Kit recognises in the image: Cannot determine file system type"]
    assert report["evidence"][0]["hashes"]["size"] == image.stat().st_size


def test_system_tsk_version_is_what_the_oracle_reports():
    # Recorded so a differing fls build is visible in the test log.
    version = subprocess.run(["fls", "-V"], capture_output=True, text=True).stdout.strip()
    assert version.startswith("The Sleuth Kit ver")
