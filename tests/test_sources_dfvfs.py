"""Images read through dfVFS (APFS, VMDK, QCOW2, VHD/VHDX, DMG): the inventory
(path, size, md5) equals an oracle this project did not write.

- Containers: ``qemu-img convert -O raw`` to a plain image, then The Sleuth
  Kit's ``fls -r -p`` + ``icat`` on it (tests/tsk_oracle.py).
- APFS, which The Sleuth Kit here cannot read: libfsapfs's own Python binding
  (pyfsapfs), walked directly.

Deleted and orphan entries are compared too, deleted flag included: dfVFS
skips them, and pytsk3 run over dfVFS's volume bytes adds them
(sources/tsk_over_media.py), with NTFS's named $INDEX_ROOT attributes
(``$Secure:$SDH``, ``$Extend/$ObjId:$O``...) that dfVFS does not expose.

Differences allowed, each for a stated reason:
- NTFS: a file whose only content is a named $INDEX_ROOT (``$Extend/$ObjId``)
  is also listed by dfVFS, without content; fls lists only its stream.
- HFS+: dfVFS's TSK back-end exposes resource forks as a stream of their own
  (``file:rsrc``); fls lists the data fork only.
- icat refuses orphans with no data attribute left (ntfs3's
  OrphanFile-16..23), which The Sleuth Kit in pytsk3 reads as empty: those
  are compared by name, at size 0 (as in test_tsk_oracle.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import (load_report, make_ext4, make_fat32, make_partitioned_disk, md5, file_system_files, regular_files, run,
                               scan)
from traffick_triage.cli import app
from tsk_oracle import tsk_inventory

pytest.importorskip("dfvfs")
QEMU_IMG = shutil.which("qemu-img")
needs_qemu = pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (apt package qemu-utils) is not installed")

# (corpus path, start sector of the file system in the converted raw image, locator prefix)
CONTAINERS = [
    ("dfvfs/ext2.vmdk", None, ""),
    ("dfvfs/ext2.qcow2", None, ""),
    ("dfvfs/hfsplus_zlib.dmg", 40, "p1 > "),
    ("plaso/vsstest.qcow2", None, ""),
]
APFS = "dfvfs/apfs.raw"
ALL = [APFS] + [c[0] for c in CONTAINERS]


@pytest.fixture(scope="module")
def dfvfs_case(corpus, tmp_path_factory):
    case = tmp_path_factory.mktemp("case")
    # Shadow copies are compared with vshadowinfo and fls/icat in test_shadow_copies.py.
    scan([corpus / relative for relative in ALL], case, "--no-plugins", "--no-shadow-copies")
    return load_report(case)


def _evidence(report: dict, relative: str) -> dict:
    return report["evidence"][ALL.index(relative)]


def _ours(report: dict, relative: str, prefix: str) -> Counter:
    """(path, size, md5, deleted) of each regular file under the prefix."""
    item = _evidence(report, relative)
    start = f"{item['name']} > {prefix}"
    return Counter((f["path"], f["size"], f["md5"], not f["allocated"]) for f in file_system_files(report, item["id"])
                   if f["locator"].startswith(start))


def _oracle(oracle: list) -> Counter:
    return Counter((f.path, f.size, f.md5, f.deleted) for f in oracle)


def _assert_equals_oracle(ours: Counter, oracle: list) -> None:
    """``ours`` as from _ours equals fls + icat's listing, but for the
    differences the module docstring gives."""
    ours = ours - Counter({k: v for k, v in ours.items() if k[0].endswith(":rsrc")})      # HFS+ resource forks
    index_only = {f.path.rsplit(":", 1)[0] for f in oracle if "-144-" in f.address}
    ours -= Counter({k: v for k, v in ours.items() if k[2] is None and k[0] in index_only})
    unreadable = {f.path for f in oracle if f.md5 is None}
    assert {k[0] for k in ours if k[0] in unreadable} == unreadable
    assert all(k[1] == 0 for k in ours if k[0] in unreadable)
    ours -= Counter({k: v for k, v in ours.items() if k[0] in unreadable})
    expected = _oracle([f for f in oracle if f.path not in unreadable])
    assert ours == expected, (f"only TSK: {sorted((expected - ours).elements())[:10]}; "
                              f"only ours: {sorted((ours - expected).elements())[:10]}")


def _to_raw(image: Path, folder: Path) -> Path:
    target = folder / (image.name + ".raw")
    if not target.exists():
        subprocess.run([QEMU_IMG, "convert", "-O", "raw", str(image), str(target)], check=True, capture_output=True)
    return target


@needs_qemu
@pytest.mark.parametrize("relative,offset,prefix", CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_container_inventory_equals_fls_icat_on_qemu_raw(dfvfs_case, corpus, tmp_path_factory, relative, offset,
                                                         prefix):
    raw = _to_raw(corpus / relative, tmp_path_factory.mktemp("raw"))
    # Deleted entries included; these four corpus containers hold none (fls -d lists nothing).
    oracle = tsk_inventory(str(raw), offset)
    assert oracle, f"fls lists no regular file in {relative}"
    _assert_equals_oracle(_ours(dfvfs_case, relative, prefix), oracle)
    # The evidence hash is the hash of the virtual disk's bytes, as qemu-img sees them.
    hashes = _evidence(dfvfs_case, relative)["hashes"]
    assert hashes["md5"] == _md5_file(raw) and hashes["size"] == raw.stat().st_size


def test_container_descriptions(dfvfs_case):
    dmg = _evidence(dfvfs_case, "dfvfs/hfsplus_zlib.dmg")
    assert dmg["kind"] == "dmg"
    description = dmg["description"]
    assert description["format"] == "DMG (UDIF)" and description["partition_scheme"] == "GPT"
    # mmls on the converted image: partition 000 starts at sector 40.
    assert [(v["label"], v["offset"], v["file_system"]) for v in description["volumes"]] == [("p1", 40 * 512, "HFS+")]
    vmdk = _evidence(dfvfs_case, "dfvfs/ext2.vmdk")["description"]
    assert (vmdk["format"], vmdk["media_size"], vmdk["volumes"][0]["file_system"]) == ("VMDK", 4194304, "ext2")
    vss = _evidence(dfvfs_case, "plaso/vsstest.qcow2")
    assert vss["description"]["volumes"][0]["file_system"] == "NTFS"
    # Two stores (vshadowinfo, test_shadow_copies.py), described but not read with --no-shadow-copies.
    stores = vss["description"]["volumes"][0]["shadow_copies"]
    assert [(s["store"], s["summary"]) for s in stores] == [("vss1", "not read (--no-shadow-copies)"),
                                                            ("vss2", "not read (--no-shadow-copies)")]
    # NTFS alternate data streams come as path:stream.
    paths = {f["path"] for f in regular_files(dfvfs_case, vss["id"])}
    assert "/$Extend/$RmMetadata/$Repair:$Config" in paths


def _pyfsapfs_inventory(image: Path) -> tuple[str, Counter]:
    import pyfsapfs

    container = pyfsapfs.container()
    with open(image, "rb") as stream:
        container.open_file_object(stream)
        assert container.number_of_volumes == 1
        volume = container.get_volume(0)
        files: Counter = Counter()

        def walk(entry, parent: str) -> None:
            for child in entry.sub_file_entries:
                path = f"{parent}/{child.name}"
                mode = child.file_mode & 0o170000
                if mode == 0o100000:
                    data = child.read_buffer(child.size) if child.size else b""
                    files[(path, child.size, hashlib.md5(data).hexdigest())] += 1
                elif mode == 0o040000:
                    walk(child, path)

        walk(volume.get_root_directory(), "")
        name = volume.name
        container.close()
    return name, files


def test_apfs_inventory_equals_pyfsapfs(dfvfs_case, corpus):
    name, expected = _pyfsapfs_inventory(corpus / APFS)
    # FIELD-NOTES.md counts 6; libfsapfs lists 7 regular files here (three under .fseventsd).
    assert sum(expected.values()) == 7
    ours = _ours(dfvfs_case, APFS, "apfs1 > ")
    assert ours == Counter({key + (False,): count for key, count in expected.items()})
    item = _evidence(dfvfs_case, APFS)
    assert item["kind"] == "raw"
    assert [(v["label"], v["file_system"]) for v in item["description"]["volumes"]] == [("apfs1", "APFS")]
    assert item["hashes"]["md5"] == _md5_file(corpus / APFS)
    by_path = {f["path"]: f for f in dfvfs_case["files"] if f["evidence_id"] == item["id"]}
    assert by_path["/a_link"]["kind"] == "symlink"
    assert by_path["/a_directory"]["kind"] == "dir"
    times = by_path["/passwords.txt"]["times"]
    assert times["modified"].endswith("+00:00") and times["modified"].startswith("20")


def test_addresses_reopen_the_same_bytes(dfvfs_case, corpus):
    from traffick_triage.sources.detect import open_source

    for relative in (APFS, "dfvfs/ext2.qcow2", "dfvfs/hfsplus_zlib.dmg"):
        item = _evidence(dfvfs_case, relative)
        recorded = {f["locator"]: f["md5"] for f in regular_files(dfvfs_case, item["id"])}
        source = open_source(str(corpus / relative))
        try:
            entries = [e for e in source.entries() if e.kind == "file" and e.opener is not None]
            assert len(entries) == len(recorded)
            for entry in entries:
                address = json.loads(json.dumps(entry.address))        # as the case store keeps it
                with source.open_address(address) as stream:
                    assert hashlib.md5(stream.read()).hexdigest() == recorded[source.locator(*entry.segments)]
        finally:
            source.close()


def test_find_sibling_by_real_path(corpus):
    from traffick_triage.sources.detect import open_source

    source = open_source(str(corpus / APFS))
    try:
        entry = next(e for e in source.entries() if e.path == "/a_directory/a_file")
        sibling = source.find_sibling(entry, "another_file")
        assert sibling is not None and sibling.path == "/a_directory/another_file"
        assert sibling.segments == ("apfs1", "/a_directory/another_file")
        with sibling.opener() as stream:
            assert stream.read() == b"This is another file.\n"
        assert source.find_sibling(entry, "absent") is None
    finally:
        source.close()


def test_times_agree_with_the_tsk_source_on_the_converted_image(corpus, tmp_path):
    """ext2 times through dfVFS (in the VMDK) equal pytsk3's on the raw copy."""
    if QEMU_IMG is None:
        pytest.skip("qemu-img is not installed")
    from traffick_triage.sources.detect import open_source

    raw = _to_raw(corpus / "dfvfs/ext2.vmdk", tmp_path)
    times = {}
    for path in (corpus / "dfvfs/ext2.vmdk", raw):
        source = open_source(str(path))
        try:
            times[path.suffix] = {e.path: e.times for e in source.entries() if e.kind == "file"}
        finally:
            source.close()
    assert times[".vmdk"] == times[".raw"]
    assert times[".vmdk"]["/passwords.txt"]["modified"] == "2021-07-22T14:07:32+00:00"


# -- synthetic containers made with qemu-img from images built here ------------------------------

PLANTED = {"notes/ledger.csv": b"date;amount\n2024-05-01;300\n", "a.txt": b"hello container\n"}


@pytest.fixture(scope="module")
def partitioned_raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    ext4 = make_ext4(folder / "ext4.img", PLANTED)
    fat = make_fat32(folder / "fat.img", PLANTED)
    disk = folder / "disk.raw"
    make_partitioned_disk(disk, [ext4, fat], label="gpt")
    return disk


@needs_qemu
@pytest.mark.parametrize("fmt,kind", [("vmdk", "vmdk"), ("qcow2", "qcow"), ("vpc", "vhd"), ("vhdx", "vhd")])
def test_synthetic_gpt_disk_in_each_container(partitioned_raw, tmp_path, fmt, kind):
    image = tmp_path / f"disk.{fmt}"
    subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(partitioned_raw), str(image)], check=True, capture_output=True)
    scan([image], tmp_path / "case", "--no-plugins")
    report = load_report(tmp_path / "case")
    item = report["evidence"][0]
    assert item["kind"] == kind
    description = item["description"]
    assert description["partition_scheme"] == "GPT"
    assert [(v["label"], v["file_system"]) for v in description["volumes"]] == [("p1", "ext4"), ("p2", "FAT32")]
    files = regular_files(report)
    for label in ("p1", "p2"):
        found = {f["path"]: (f["size"], f["md5"]) for f in files if f["locator"].startswith(f"disk.{fmt} > {label} > ")
                 and not f["path"].endswith("(Volume Label Entry)")}       # TSK's FAT label entry, as fls shows
        assert found == {"/" + k: (len(v), md5(v)) for k, v in PLANTED.items()}, label
    fat_times = next(f["times"] for f in files if f["locator"] == f"disk.{fmt} > p2 > /a.txt")
    assert fat_times["timezone"] == "unknown" and "modified_local" in fat_times and "modified" not in fat_times
    ext_times = next(f["times"] for f in files if f["locator"] == f"disk.{fmt} > p1 > /a.txt")
    assert ext_times["modified"].endswith("+00:00")
    if fmt in ("vmdk", "qcow2"):      # a VHD's virtual size is rounded up to its geometry
        assert item["hashes"]["md5"] == _md5_file(partitioned_raw)


@pytest.mark.parametrize("name,head", [
    ("broken.qcow2", b"QFI\xfb" + b"\xff" * 60),
    ("broken.vmdk", b"KDMV" + b"\x00" * 508),
    ("broken.vhd", b"conectix" + b"\x00" * 504),
    ("broken.dmg", b"\x00" * 4096 + b"koly" + b"\x00" * 508),
])
def test_unopenable_container_is_one_clear_warning(tmp_path, name, head):
    image = tmp_path / name
    image.write_bytes(head if name.endswith(".dmg") else head + b"\x00" * 4096)
    scan([image], tmp_path / "case", expect_exit=1)
    report = load_report(tmp_path / "case")
    messages = [w["message"] for w in report["warnings"]]
    assert len(messages) == 1 and "\n" not in messages[0], messages
    assert messages[0].startswith("cannot open evidence: ") and "through dfVFS" in messages[0], messages
    assert report["files"] == []


# -- deleted and orphan entries inside containers ------------------------------------------------

LIVE = {"a.txt": b"still here\n", "notes/ledger.csv": b"date;amount\n2024-05-01;300\n"}
DELETED = {"gone.txt": b"deleted but recoverable\n" * 50, "notes/secret.txt": b"secret plan\n" * 100}
IN_DELETED_FOLDER = {"old/victim.txt": b"inside a folder removed with it\n" * 20}


def _deleted_disk(folder: Path, label: str) -> tuple[Path, list[int]]:
    """A disk with partition table ``label`` ("gpt" or "dos"): p1 ext4 with
    two deleted files and an orphan (its folder removed and the folder's
    inode cleared, so no name leads to it), p2 FAT32 with two deleted files
    and a deleted folder still holding one. Returns it and its start sectors."""
    planted = {**LIVE, **DELETED, **IN_DELETED_FOLDER}
    ext4 = make_ext4(folder / "ext4.img", planted, delete=[*DELETED, "old/victim.txt"])
    old_inode = re.search(r"Inode: (\d+)", run("debugfs", "-R", "stat /old", str(ext4)).stdout.decode()).group(1)
    run("debugfs", "-w", "-R", "rmdir /old", str(ext4))
    run("debugfs", "-w", "-R", f"clri <{old_inode}>", str(ext4))
    fat = make_fat32(folder / "fat.img", planted, delete=DELETED)
    run("mdeltree", "-i", str(fat), "::/old", env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    disk = folder / "disk.raw"
    starts = make_partitioned_disk(disk, [ext4, fat], label=label)
    return disk, starts


@pytest.fixture(scope="module")
def deleted_raw(tmp_path_factory) -> tuple[Path, list[int]]:
    return _deleted_disk(tmp_path_factory.mktemp("deleted"), "gpt")


@pytest.fixture(scope="module")
def deleted_oracle(deleted_raw) -> dict[str, Counter]:
    disk, starts = deleted_raw
    return {f"p{number}": _oracle(tsk_inventory(str(disk), start)) for number, start in enumerate(starts, start=1)}


def test_the_synthetic_disk_holds_what_the_container_tests_expect(deleted_oracle):
    """The oracle itself: without this, a builder change could leave nothing deleted to find."""
    deleted = {label: sorted(key[0] for key in found if key[3]) for label, found in deleted_oracle.items()}
    orphan = deleted["p1"][0]
    assert orphan.startswith("/$OrphanFiles/OrphanFile-") and deleted["p1"][1:] == ["/gone.txt", "/notes/secret.txt"]
    assert deleted["p2"] == ["/_ld/_ictim.txt", "/_one.txt", "/notes/_ecret.txt"]
    contents = {key[0]: key[2] for found in deleted_oracle.values() for key in found}
    assert contents["/gone.txt"] == contents["/_one.txt"] == md5(DELETED["gone.txt"])
    assert contents[orphan] == contents["/_ld/_ictim.txt"] == md5(IN_DELETED_FOLDER["old/victim.txt"])


@needs_qemu
@pytest.mark.parametrize("fmt", ["vmdk", "qcow2", "vpc", "vhdx"])
def test_deleted_entries_in_each_container_equal_fls_icat_on_the_raw_disk(deleted_raw, deleted_oracle, tmp_path,
                                                                         fmt):
    disk, _ = deleted_raw
    image = tmp_path / f"disk.{fmt}"
    subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(disk), str(image)], check=True, capture_output=True)
    case = tmp_path / "case"
    scan([image], case, "--no-plugins", expect_exit=0)
    report = load_report(case)
    files = regular_files(report)
    for label, expected in deleted_oracle.items():
        ours = Counter((f["path"], f["size"], f["md5"], not f["allocated"]) for f in files
                       if f["locator"].startswith(f"disk.{fmt} > {label} > "))
        assert ours == expected, (f"{label} only TSK: {sorted((expected - ours).elements())}; "
                                  f"only ours: {sorted((ours - expected).elements())}")
    by_locator = {f["locator"]: f for f in files}
    gone = by_locator[f"disk.{fmt} > p1 > /gone.txt"]
    assert gone["notes"] == ["deleted: content may be overwritten"] and gone["times"]["modified"].endswith("+00:00")
    assert by_locator[f"disk.{fmt} > p2 > /_one.txt"]["times"]["timezone"] == "unknown"
    # The bytes come back from the locator alone, through a fresh opening of the container.
    for locator, data in ((f"disk.{fmt} > p1 > /notes/secret.txt", DELETED["notes/secret.txt"]),
                          (f"disk.{fmt} > p2 > /_ld/_ictim.txt", IN_DELETED_FOLDER["old/victim.txt"])):
        result = CliRunner().invoke(app, ["cat", str(case), locator])
        assert result.exit_code == 0 and result.stdout_bytes == data, (locator, result.output)


# Corpus file systems with deleted and orphan entries (fls -r -p marks them "*"),
# each wrapped in a container by qemu-img: (corpus path, qemu-img format).
WRAPPED = [
    ("dfir_ntfs/exfat_win.raw.gz", "vmdk"),
    ("dfir_ntfs/fat_deleted_dir_2.raw.gz", "qcow2"),
    ("dfir_ntfs/ntfs3.raw.gz", "vpc"),
    ("dfvfs/imynd.dd", "vmdk"),
    ("plaso/syslog_image.dd", "qcow2"),
    ("pytsk/image.raw", "vpc"),
]


@pytest.fixture(scope="module")
def wrapped_case(corpus, tmp_path_factory):
    """(raw copies, report): every WRAPPED image scanned in one case as a container."""
    work = tmp_path_factory.mktemp("wrapped")
    raws, containers = [], []
    for number, (relative, fmt) in enumerate(WRAPPED):
        source = corpus / relative
        raw = work / f"{number}.raw"
        with (gzip.open(source) if source.suffix == ".gz" else open(source, "rb")) as data, open(raw, "wb") as out:
            shutil.copyfileobj(data, out)
        container = work / f"{number}-{source.name.split('.')[0]}.{fmt}"
        subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(raw), str(container)], check=True, capture_output=True)
        raws.append(raw)
        containers.append(container)
    case = tmp_path_factory.mktemp("case")
    scan(containers, case, "--no-plugins")
    return raws, load_report(case)


@needs_qemu
@pytest.mark.parametrize("index", range(len(WRAPPED)), ids=[f"{r} in {f}" for r, f in WRAPPED])
def test_corpus_deleted_entries_inside_a_container_equal_fls_icat(wrapped_case, index):
    raws, report = wrapped_case
    item = report["evidence"][index]
    oracle = tsk_inventory(str(raws[index]))
    assert any(f.deleted for f in oracle), f"fls lists nothing deleted in {WRAPPED[index][0]}"
    ours = Counter((f["path"], f["size"], f["md5"], not f["allocated"]) for f in file_system_files(report, item["id"]))
    _assert_equals_oracle(ours, oracle)


@needs_qemu
def test_deleted_entries_are_those_the_raw_image_source_gives(deleted_raw, tmp_path):
    """Same locators, times, notes, inodes and flags as DiskImageSource on the
    raw disk, and every address reopens the same bytes."""
    from traffick_triage.sources.detect import open_source

    disk, _ = deleted_raw
    image = tmp_path / "disk.qcow2"
    subprocess.run([QEMU_IMG, "convert", "-O", "qcow2", str(disk), str(image)], check=True, capture_output=True)
    listings = []
    for path in (disk, image):
        source = open_source(str(path), display_name="disk")
        try:
            listing = {}
            for entry in source.entries():
                data = None
                if entry.opener is not None:
                    with source.open_address(json.loads(json.dumps(entry.address))) as stream:
                        data = stream.read()
                    with entry.opener() as stream:
                        assert stream.read() == data, entry.path
                listing[(source.locator(*entry.segments), entry.kind)] = (
                    entry.allocated, entry.size, entry.inode, entry.times, entry.notes, data)
            listings.append(listing)
        finally:
            source.close()
    raw, container = listings
    assert sum(not value[0] for value in raw.values()) == 8        # deleted files, folders, the orphan
    assert container == raw



# -- MBR disks inside containers (no dfVFS analyzer reports an MBR) ------------------------------


def _mmls_offsets(image: Path) -> list[int]:
    """Byte offsets of the partitions mmls lists, its table and gap rows left out."""
    listing = subprocess.run(["mmls", str(image)], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[2]) * 512 for line in listing.splitlines()
            if line[:4].strip().rstrip(":").isdigit() and line.split()[1] not in ("Meta", "-------")]


@pytest.fixture(scope="module")
def mbr_case(tmp_path_factory) -> tuple[Path, list[int], Path, dict]:
    """The deleted-entries disk with an MBR, scanned raw (DiskImageSource) and
    as QCOW2 and VMDK in one case: (raw disk, start sectors, case, report)."""
    if QEMU_IMG is None:
        pytest.skip("qemu-img (apt package qemu-utils) is not installed")
    folder = tmp_path_factory.mktemp("mbr")
    disk, starts = _deleted_disk(folder, "dos")
    images = [disk]
    for fmt in ("qcow2", "vmdk"):
        images.append(folder / f"disk.{fmt}")
        subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(disk), str(images[-1])], check=True, capture_output=True)
    case = tmp_path_factory.mktemp("case")
    scan(images, case, "--no-plugins", expect_exit=0)
    return disk, starts, case, load_report(case)


def _by_partition(report: dict, index: int) -> dict[str, Counter]:
    """(path, size, md5, deleted) of each regular file, by partition label."""
    item = report["evidence"][index]
    found: dict[str, Counter] = {}
    for f in regular_files(report, item["id"]):
        label = f["locator"][len(item["name"]) + 3:].split(" > ", 1)[0]
        found.setdefault(label, Counter())[(f["path"], f["size"], f["md5"], not f["allocated"])] += 1
    return found


@needs_qemu
@pytest.mark.parametrize("index,kind", [(1, "qcow"), (2, "vmdk")], ids=["qcow2", "vmdk"])
def test_mbr_disk_in_a_container_equals_the_raw_disk_and_fls_icat(mbr_case, index, kind):
    disk, starts, _, report = mbr_case
    raw_item, item = report["evidence"][0], report["evidence"][index]
    assert (raw_item["kind"], item["kind"]) == ("raw", kind)
    oracle = {f"p{number}": _oracle(tsk_inventory(str(disk), start)) for number, start in enumerate(starts, start=1)}
    assert all(any(key[3] for key in found) for found in oracle.values()), "nothing deleted to compare"
    assert _by_partition(report, index) == _by_partition(report, 0) == oracle
    description = item["description"]
    assert description["partition_scheme"] == raw_item["description"]["partition_scheme"] == "MBR"
    volumes = [(v["label"], v["offset"], v["file_system"]) for v in description["volumes"]]
    assert volumes == [("p1", starts[0] * 512, "ext4"), ("p2", starts[1] * 512, "FAT32")]
    assert volumes == [(v["label"], v["offset"], v["file_system"]) for v in raw_item["description"]["volumes"]]
    assert not [w for w in report["warnings"] if w["evidence_id"] == item["id"]]
    assert item["hashes"]["md5"] == raw_item["hashes"]["md5"]


@needs_qemu
def test_mbr_deleted_file_in_a_container_reopens_from_its_locator(mbr_case):
    case = mbr_case[2]
    for locator, data in (("disk.vmdk > p1 > /notes/secret.txt", DELETED["notes/secret.txt"]),
                          ("disk.qcow2 > p2 > /_ld/_ictim.txt", IN_DELETED_FOLDER["old/victim.txt"])):
        result = CliRunner().invoke(app, ["cat", str(case), locator])
        assert result.exit_code == 0 and result.stdout_bytes == data, (locator, result.output)


@needs_qemu
def test_corpus_mbr_with_a_logical_partition_in_qcow2_equals_mmls(corpus, tmp_path):
    """tsk_volume_system.raw: a primary and a logical partition (dfVFS names
    the logical one /p5; the raw image source and mmls count it second)."""
    image = corpus / "plaso/tsk_volume_system.raw"
    qcow2 = tmp_path / "tsk_volume_system.qcow2"
    subprocess.run([QEMU_IMG, "convert", "-O", "qcow2", str(image), str(qcow2)], check=True, capture_output=True)
    from traffick_triage.sources.detect import open_source

    described = []
    for path in (qcow2, image):
        source = open_source(str(path))
        try:
            described.append([(v["label"], v["offset"], v["length"], v["file_system"])
                              for v in source.describe()["volumes"]])
        finally:
            source.close()
    assert [v[1] for v in described[0]] == _mmls_offsets(image) == [512, 180224]
    assert described[0] == described[1]
    assert [v[0] for v in described[0]] == ["p1", "p2"]


@needs_qemu
def test_corpus_ntfs_on_mbr_in_qcow2_equals_fls_icat(corpus, tmp_path):
    raw = tmp_path / "ntfs_index.raw"
    with gzip.open(corpus / "dfir_ntfs/ntfs_index.raw.gz") as data, open(raw, "wb") as out:
        shutil.copyfileobj(data, out)
    qcow2 = tmp_path / "ntfs_index.qcow2"
    subprocess.run([QEMU_IMG, "convert", "-O", "qcow2", str(raw), str(qcow2)], check=True, capture_output=True)
    scan([qcow2], tmp_path / "case", "--no-plugins", expect_exit=0)
    report = load_report(tmp_path / "case")
    offsets = _mmls_offsets(raw)
    assert [v["offset"] for v in report["evidence"][0]["description"]["volumes"]] == offsets == [128 * 512]
    _assert_equals_oracle(_by_partition(report, 0)["p1"], tsk_inventory(str(raw), offsets[0] // 512))

def _md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
