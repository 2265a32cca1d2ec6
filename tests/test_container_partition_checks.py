"""A disk inside a container (VMDK, QCOW2, VHD, VHDX) gets the warnings the
same disk gets as a raw image: a partition past the end of a truncated disk,
a file system larger than the disk holds, overlapping partitions, a GPT
whose CRC32 is wrong, an MBR with no partition in it (sources/volume_checks.py,
called by both routes).

The same disk's partitions are numbered alike too: a GPT whose entries are
not in disk order gets p1, p2... in The Sleuth Kit's order (by start
sector, as mmls lists them) inside a container as in the raw image, not in
partition-table order as dfVFS's libvsgpt lists them.

A disk with two partition tables (a hybrid MBR beside its GPT, or a GPT
behind an MBR without the protective 0xEE entry) gets one warning naming
the other table's entries and the table its partitions were listed from;
a GPT behind its protective MBR gets none.

Oracles: each container's raw equivalent (``qemu-img convert -O raw``)
scanned by the raw image source (DiskImageSource), and The Sleuth Kit's
``mmls`` on that raw file for the partitions the raw warnings name. The
containers and the raw equivalents are scanned in separate cases, so each
case's exit code is its own: 1, finished with warnings."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import (SECTOR, load_report, make_ext4, make_fat32, make_partitioned_disk, md5, regular_files,
                               run, scan, write_volumes)
from traffick_triage.cli import app

pytest.importorskip("dfvfs")
QEMU_IMG = shutil.which("qemu-img")
pytestmark = pytest.mark.skipif(QEMU_IMG is None or shutil.which("mmls") is None,
                                reason="qemu-img (qemu-utils) and mmls (sleuthkit) are needed")

# qemu-img format, the evidence kind the tool gives it
FORMATS = [("vmdk", "vmdk"), ("qcow2", "qcow"), ("vpc", "vhd"), ("vhdx", "vhd")]

EXT4_FILES = {"a.txt": b"first partition\n", "notes/ledger.csv": b"date;amount\n2024-05-01;300\n"}
# Copied in this order by mcopy: big.bin straddles the cut made 8 MiB into the
# FAT partition, gone.txt (deleted) and z.txt lie past it.
FAT_FILES = {"a.txt": b"second partition\n", "big.bin": bytes(range(256)) * 40000,
             "gone.txt": b"deleted, past the end\n" * 30, "z.txt": b"past the end of the disk\n"}
CUT_INTO_LAST = 8 << 20


def _volumes(folder: Path) -> tuple[Path, Path]:
    ext4 = make_ext4(folder / "ext4.img", EXT4_FILES)
    fat = make_fat32(folder / "fat.img", FAT_FILES, delete=["gone.txt"])
    return ext4, fat


def _truncated(folder: Path, label: str) -> Path:
    """ext4 + FAT32 on ``label`` ("gpt" or "dos"), the disk cut 8 MiB into the FAT partition."""
    disk = folder / "disk.raw"
    starts = make_partitioned_disk(disk, list(_volumes(folder)), label=label)
    with open(disk, "r+b") as stream:
        stream.truncate(starts[1] * SECTOR + CUT_INTO_LAST)
    return disk


def _write_mbr(path: Path, partitions: list[tuple[int, int, int]]) -> None:
    """Primary MBR entries (start sector, sector count, type), written as bytes: sfdisk refuses overlaps."""
    table = bytearray(64)
    for index, (start, count, kind) in enumerate(partitions):
        struct.pack_into("<B3sB3sII", table, index * 16, 0, b"\x00\x02\x00", kind, b"\xff\xff\xff", start, count)
    with open(path, "r+b") as disk:
        disk.seek(446)
        disk.write(bytes(table) + b"\x55\xaa")


def _overlapping(folder: Path) -> Path:
    """ext4 and FAT32 on an MBR, plus a third entry spanning p1's second half
    and p2's start (TSK sorts it second: p2)."""
    disk = folder / "disk.raw"
    ext4, fat = _volumes(folder)
    starts = make_partitioned_disk(disk, [ext4, fat], label="dos")
    ext4_sectors, fat_sectors = ext4.stat().st_size // SECTOR, fat.stat().st_size // SECTOR
    _write_mbr(disk, [(starts[0], ext4_sectors, 0x83), (starts[1], fat_sectors, 0x0C),
                      (starts[0] + ext4_sectors // 2, ext4_sectors, 0x83)])
    return disk


def _bad_gpt_crc(folder: Path) -> Path:
    disk = folder / "disk.raw"
    make_partitioned_disk(disk, list(_volumes(folder)), label="gpt")
    with open(disk, "r+b") as stream:
        stream.seek(SECTOR + 16)            # primary GPT header: HeaderCRC32
        crc = stream.read(4)
        stream.seek(SECTOR + 16)
        stream.write(bytes(b ^ 0xFF for b in crc))
    return disk


def _empty_mbr(folder: Path) -> Path:
    """8 MiB: boot code, an all-empty partition table, the 0x55AA signature."""
    disk = folder / "disk.raw"
    with open(disk, "wb") as stream:
        stream.truncate(8 << 20)
        stream.write(b"\xfa\x33\xc0\x8e\xd0\xbc\x00\x7c\x8e\xc0\x8e\xd8")      # cli; xor ax,ax; ...
        stream.seek(510)
        stream.write(b"\x55\xaa")
    return disk


DISKS = {"gpt-truncated": lambda f: _truncated(f, "gpt"), "mbr-truncated": lambda f: _truncated(f, "dos"),
         "mbr-overlap": _overlapping, "gpt-bad-crc": _bad_gpt_crc, "mbr-empty": _empty_mbr}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Per disk, built and scanned once: (containers' report, raw equivalents'
    report, raw equivalents' paths), each list in FORMATS order."""
    built: dict[str, tuple[dict, dict, list[Path]]] = {}

    def get(name: str) -> tuple[dict, dict, list[Path]]:
        if name not in built:
            folder = tmp_path_factory.mktemp(name)
            built[name] = _scan_in_each_container(folder, DISKS[name](folder), expect_exit=1)
        return built[name]

    return get


def _scan_in_each_container(folder: Path, disk: Path, expect_exit: int,
                            formats: list[tuple[str, str]] = FORMATS) -> tuple[dict, dict, list[Path]]:
    """The disk in each of ``formats`` and each container's raw equivalent, scanned
    in two cases: (containers' report, raw equivalents' report, raw paths)."""
    containers, raws = [], []
    for fmt, _ in formats:
        container = folder / f"disk.{fmt}"
        subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(disk), str(container)], check=True,
                       capture_output=True)
        raw = folder / f"disk-{fmt}.raw"          # the oracle: the container's bytes as qemu-img reads them
        subprocess.run([QEMU_IMG, "convert", "-O", "raw", str(container), str(raw)], check=True,
                       capture_output=True)
        containers.append(container)
        raws.append(raw)
    scan(containers, folder / "case-containers", "--no-plugins", expect_exit=expect_exit)
    scan(raws, folder / "case-raw", "--no-plugins", expect_exit=expect_exit)
    return load_report(folder / "case-containers"), load_report(folder / "case-raw"), raws


def _warnings(report: dict, item: dict) -> list[tuple[str, str, str]]:
    """(locator below the item's name, message, stage) of each warning on the item, in report order."""
    name = item["name"]
    found = []
    for warning in report["warnings"]:
        if warning["evidence_id"] != item["id"]:
            continue
        locator = warning["locator"]
        assert locator == name or locator.startswith(name + " > "), locator
        found.append((locator[len(name):], warning["message"].replace(name, "<item>"), warning["source"]))
    return found


def _mmls(image: Path) -> list[tuple[int, int]] | None:
    """(start, length) in bytes of each partition mmls lists, in its order;
    None when mmls finds no partition table."""
    listing = subprocess.run(["mmls", str(image)], capture_output=True, text=True)
    if listing.returncode != 0:
        return None
    rows = [line.split() for line in listing.stdout.splitlines() if re.match(r"\d{3}:\s", line)]
    return [(int(row[2]) * SECTOR, int(row[4]) * SECTOR) for row in rows if row[1] not in ("Meta", "-------")]


def _expected_source_warnings(name: str, raw: Path) -> list[tuple[str, str]]:
    """What the raw image source must say about this disk, from mmls's listing:
    (locator below the item, message)."""
    partitions = _mmls(raw)
    size = raw.stat().st_size
    if name == "mbr-empty":
        assert partitions is None, "mmls reads a partition table in the empty MBR"
        return [("", "no file system The Sleuth Kit recognises in the image: Cannot determine file system type")]
    expected = []
    for number, (start, length) in enumerate(partitions, start=1):
        if start + length > size:
            expected.append((f" > p{number}", f"partition p{number} ends at byte {start + length} but the image "
                                              f"holds only {size} bytes (truncated image?)"))
    for first in range(len(partitions)):
        for second in range(first + 1, len(partitions)):
            (a, a_len), (b, b_len) = partitions[first], partitions[second]
            if a < b + b_len and b < a + a_len:
                expected.append(("", f"partitions p{first + 1} and p{second + 1} overlap (bytes {max(a, b)}-"
                                     f"{min(a + a_len, b + b_len)}): a damaged or tampered partition table; "
                                     "both are read"))
    if name == "gpt-bad-crc":
        expected.append(("", "GPT header CRC32 does not match: the partition table is damaged or was altered"))
    if name.endswith("-truncated"):
        start, length = partitions[-1]
        label = f"p{len(partitions)}"
        expected.append((f" > {label}", f"the file system in partition {label} at offset {start} declares "
                                         f"{length} bytes but the image ends {size - start} bytes in "
                                         "(truncated image?): files past the end are read short or not at all"))
    if name == "mbr-overlap":
        start = partitions[1][0]
        expected.append((" > p2", f"no file system The Sleuth Kit recognises in partition p2 at offset {start}: "
                                   "Cannot determine file system type"))
    return expected


def _files(report: dict, item: dict) -> Counter:
    name = item["name"]
    return Counter((f["locator"][len(name):], f["size"], f["md5"], not f["allocated"])
                   for f in regular_files(report, item["id"]))


def _container_and_raw(cases, name: str, fmt: str, kind: str, formats: list[tuple[str, str]] = FORMATS) -> tuple:
    """The scans of disk ``name`` (containers, raws, raw paths), the format's
    index and its two evidence items, checked to be the same disk bytes."""
    containers, raws, raw_paths = cases(name)
    index = [f for f, _ in formats].index(fmt)
    item, raw_item = containers["evidence"][index], raws["evidence"][index]
    assert (item["kind"], raw_item["kind"]) == (kind, "raw")
    assert item["hashes"]["md5"] == raw_item["hashes"]["md5"], "not the same disk bytes"
    return containers, raws, raw_paths, index, item, raw_item


def _volumes_of(item: dict) -> list[tuple]:
    return [(v["label"], v["offset"], v["length"], v["file_system"]) for v in item["description"]["volumes"]]


@pytest.mark.parametrize("fmt,kind", FORMATS, ids=[f for f, _ in FORMATS])
@pytest.mark.parametrize("name", list(DISKS))
def test_container_warns_as_its_raw_equivalent(cases, name, fmt, kind):
    containers, raws, raw_paths, index, item, raw_item = _container_and_raw(cases, name, fmt, kind)

    # The raw route says what mmls's listing implies, and nothing else from the source.
    raw_warnings = _warnings(raws, raw_item)
    source_warnings = [(where, message) for where, message, stage in raw_warnings if stage == "source"]
    assert sorted(source_warnings) == sorted(_expected_source_warnings(name, raw_paths[index]))
    # The container says the same, word for word, at the same place below the item.
    assert _warnings(containers, item) == raw_warnings

    # Same partitions, and the scan went on: every file the raw route lists, with the same bytes.
    assert item["description"]["partition_scheme"] == raw_item["description"]["partition_scheme"]
    assert _volumes_of(item) == _volumes_of(raw_item)
    files = _files(containers, item)
    assert files == _files(raws, raw_item)
    if name != "mbr-empty":
        readable = {where: digest for where, _, digest, _ in files}
        for label, planted in (("p1", EXT4_FILES), ("p2" if name != "mbr-overlap" else "p3", FAT_FILES)):
            assert readable[f" > {label} > /a.txt"] == md5(planted["a.txt"]), label

    # Counted in the report (the exit code, 1, is checked when each case is scanned).
    assert containers["summary"]["warnings"] == len(containers["warnings"]) > 0


def test_truncated_disk_content_past_the_end_is_not_invented(cases):
    """Through the container as through the raw disk: the file straddling the
    end reads short, the one past it is not readable (no zeros passed off as
    its content), the deleted one past it is listed."""
    containers, raws, _ = cases("mbr-truncated")
    for report in (containers, raws):
        for item in report["evidence"]:
            by_path = {f["locator"][len(item["name"]):]: f for f in report["files"]
                       if f["evidence_id"] == item["id"]}
            assert by_path[" > p2 > /z.txt"]["md5"] is None, item["name"]
            assert any("content not readable" in note for note in by_path[" > p2 > /z.txt"]["notes"])
            big = by_path[" > p2 > /big.bin"]
            assert big["md5"] is None or big["size"] < len(FAT_FILES["big.bin"])
            assert not by_path[" > p2 > /_one.txt"]["allocated"]
            assert by_path[" > p1 > /notes/ledger.csv"]["md5"] == md5(EXT4_FILES["notes/ledger.csv"])


# -- a GPT whose entries are not in disk order ---------------------------------------------------

START_FILES = {"start.txt": b"first on the disk, second in the table\n"}
MIDDLE_FILES = {"middle.txt": b"second on the disk, third in the table\n"}
END_FILES = {"end.txt": b"last on the disk, first in the table\n", "gone.txt": b"deleted at the end\n" * 40}
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def _unordered_gpt(folder: Path, unused_entry: bool = False) -> Path:
    """ext4, FAT32, ext4 in disk order, whose GPT entries are not: entry 1 is
    the ext4 at the end of the disk (named END, a deleted file in it), entry
    2 the ext4 at the start (START), entry 3 the FAT32 between them. With
    ``unused_entry``, entry 4 has a zero type GUID (an unused entry to UEFI
    and libvsgpt) and a range, in the gap before the FAT32: TSK lists it as a
    partition, with no file system in it."""
    start = make_ext4(folder / "start.img", START_FILES)
    middle = make_fat32(folder / "middle.img", MIDDLE_FILES)
    end = make_ext4(folder / "end.img", END_FILES, delete=["gone.txt"])
    volumes = [start, middle, end]
    sectors = [volume.stat().st_size // SECTOR for volume in volumes]
    starts = [2048]
    for count in sectors[:-1]:
        starts.append(starts[-1] + count + 2048)
    disk = folder / "disk.raw"
    with open(disk, "wb") as stream:
        stream.truncate((starts[-1] + sectors[-1] + 2048) * SECTOR)
    entries = [(2, 'name="END"'), (0, 'name="START"'), (1, "")]
    script = "label: gpt\n" + "".join(f"start={starts[i]}, size={sectors[i]}, type=L, {name}\n"
                                      for i, name in entries)
    if unused_entry:
        script += f"start={starts[1] - 2048}, size=2048, type={ZERO_GUID}\n"
    run("sfdisk", "--no-reread", "--no-tell-kernel", str(disk), input=script.encode())
    write_volumes(disk, starts, volumes)
    return disk


# disk name: (builder, exit code of its scans, labels of the start, middle and end partitions)
UNORDERED = {"gpt-unordered": (_unordered_gpt, 0, ("p1", "p2", "p3")),
             "gpt-unordered-unused-entry": (lambda f: _unordered_gpt(f, unused_entry=True), 1, ("p1", "p3", "p4"))}


@pytest.fixture(scope="module")
def unordered_cases(tmp_path_factory):
    built: dict[str, tuple[dict, dict, list[Path]]] = {}

    def get(name: str) -> tuple[dict, dict, list[Path]]:
        if name not in built:
            folder = tmp_path_factory.mktemp(name)
            builder, expect_exit, _ = UNORDERED[name]
            built[name] = _scan_in_each_container(folder, builder(folder), expect_exit)
        return built[name]

    return get


def _table_starts(image: Path) -> list[int]:
    """Start sector of each GPT entry, in table order (sfdisk --dump)."""
    dump = run("sfdisk", "--dump", str(image)).stdout.decode()
    return [int(match) for match in re.findall(r"start=\s*(\d+)", dump)]


def test_the_unordered_gpt_is_out_of_order(tmp_path):
    """The oracle itself: the table lists the partitions in another order than
    mmls (which lists them by start sector), and mmls lists the unused entry."""
    disk = _unordered_gpt(tmp_path, unused_entry=True)
    table = _table_starts(disk)
    listed = [start // SECTOR for start, _ in _mmls(disk)]
    assert table[:3] != sorted(table[:3]) and listed == sorted(table) and len(listed) == 4


@pytest.mark.parametrize("fmt,kind", FORMATS, ids=[f for f, _ in FORMATS])
@pytest.mark.parametrize("name", list(UNORDERED))
def test_gpt_not_in_disk_order_is_numbered_as_in_the_raw_image(unordered_cases, name, fmt, kind):
    containers, raws, raw_paths, index, item, raw_item = _container_and_raw(unordered_cases, name, fmt, kind)

    # The raw route numbers the partitions as mmls lists them; the container as the raw route.
    partitions = _mmls(raw_paths[index])
    assert [(v["offset"], v["length"]) for v in raw_item["description"]["volumes"]] == partitions
    assert item["description"]["partition_scheme"] == raw_item["description"]["partition_scheme"] == "GPT"
    assert _volumes_of(item) == _volumes_of(raw_item)
    # Same files (deleted included) and warnings, at the same locators.
    files = _files(containers, item)
    assert files == _files(raws, raw_item)
    assert _warnings(containers, item) == _warnings(raws, raw_item)

    start, middle, end = UNORDERED[name][2]
    readable = {where: (digest, deleted) for where, _, digest, deleted in files}
    for label, planted in ((start, START_FILES), (middle, MIDDLE_FILES), (end, END_FILES)):
        for path, data in planted.items():
            assert readable[f" > {label} > /{path}"] == (md5(data), path == "gone.txt"), (label, path)
    descriptions = {v["label"]: v["description"] for v in item["description"]["volumes"]}
    assert descriptions[start] == f"GPT partition {start}, table entry 2: START"
    assert descriptions[middle] == f"GPT partition {middle}, table entry 3"
    assert descriptions[end] == f"GPT partition {end}, table entry 1: END"
    if name.endswith("unused-entry"):
        assert descriptions["p2"] == "GPT partition p2, table entry 4"
        assert [(where, message) for where, message, _ in _warnings(containers, item)] == [
            (" > p2", f"no file system The Sleuth Kit recognises in partition p2 at offset {partitions[1][0]}: "
                      "Cannot determine file system type")]


def test_unordered_gpt_locators_reopen_in_the_container(unordered_cases):
    """A locator from the containers' case reads the file the raw image's same locator names."""
    containers, _, raw_paths = unordered_cases("gpt-unordered")
    case = raw_paths[0].parent / "case-containers"          # as _scan_in_each_container names it
    item = containers["evidence"][[f for f, _ in FORMATS].index("qcow2")]
    for locator, data in ((f"{item['name']} > p1 > /start.txt", START_FILES["start.txt"]),
                          (f"{item['name']} > p3 > /gone.txt", END_FILES["gone.txt"])):
        result = CliRunner().invoke(app, ["cat", str(case), locator])
        assert result.exit_code == 0 and result.stdout_bytes == data, (locator, result.output)


def test_gpt_partitions_tsk_does_not_read_are_kept_in_disk_order(tmp_path):
    """A GPT behind an MBR whose first entry is a Linux partition (0x83) over
    the whole disk instead of the protective 0xEE: TSK reads the MBR there
    (mmls: one DOS partition), libvsgpt the GPT. The container lists the GPT's
    partitions, numbered in disk order as mmls lists them on the disk before
    the MBR was changed. It says the disk holds two tables (exit code 1)."""
    disk = _unordered_gpt(tmp_path)
    expected = _mmls(disk)
    sectors = disk.stat().st_size // SECTOR
    _write_mbr(disk, [(1, sectors - 1, 0x83)])
    assert _mmls(disk) == [(SECTOR, (sectors - 1) * SECTOR)], "TSK still reads the GPT"
    image = tmp_path / "disk.qcow2"
    subprocess.run([QEMU_IMG, "convert", "-O", "qcow2", str(disk), str(image)], check=True, capture_output=True)
    scan([image], tmp_path / "case", "--no-plugins", expect_exit=1)
    report = load_report(tmp_path / "case")
    item = report["evidence"][0]
    assert [message for _, message, _ in _warnings(report, item)] == [
        f"two partition tables: a GPT behind a non-protective MBR (MBR entry 1: type 0x83, start sector 1, "
        f"{sectors - 1} sectors, overlapping GPT partitions p1, p2, p3 with another extent); partitions were "
        "listed from the GPT, not from the MBR's entry 1: files only it describes may be missing"]
    assert item["description"]["partition_scheme"] == "GPT"
    assert [(v["label"], v["offset"], v["length"], v["file_system"]) for v in item["description"]["volumes"]] == [
        (f"p{number}", start, length, system)
        for number, ((start, length), system) in enumerate(zip(expected, ("ext4", "FAT32", "ext4")), start=1)]
    readable = {where: digest for where, _, digest, _ in _files(report, item)}
    for label, planted in (("p1", START_FILES), ("p2", MIDDLE_FILES), ("p3", END_FILES)):
        assert readable[f" > {label} > /{next(iter(planted))}"] == md5(next(iter(planted.values()))), label


# -- two partition tables: a hybrid MBR, or a GPT behind a non-protective MBR -----------------------

# ext4 then FAT32 on a GPT (sfdisk), as _volumes and make_partitioned_disk lay them out: in sectors.
EXT4_START, EXT4_SECTORS, FAT_START, FAT_SECTORS, DISK_SECTORS = 2048, 8192, 12288, 81920, 98304
TWO_TABLE_FORMATS = [("vmdk", "vmdk"), ("qcow2", "qcow")]
HIDDEN_FAT = f"MBR entry 2: type 0x0c, start sector {FAT_START + 2048}, {FAT_SECTORS // 2} sectors"
# disk name: (MBR entries written over sfdisk's protective MBR, or None to keep it;
#             the table TSK reads (mmls); the raw route's warning; the container's, when not the raw one's)
TWO_TABLES = {
    "gpt-protective": (None, "GPT", None, None),
    "hybrid-mbr": (
        [(1, EXT4_START - 1, 0xEE), (FAT_START, FAT_SECTORS, 0x0C)], "GPT",
        f"two partition tables: a hybrid MBR beside the GPT (MBR entry 2: type 0x0c, start sector {FAT_START}, "
        f"{FAT_SECTORS} sectors, the same as GPT partition p2); partitions were listed from the GPT", None),
    "hybrid-mbr-contradicting": (
        [(1, EXT4_START - 1, 0xEE), (FAT_START + 2048, FAT_SECTORS // 2, 0x0C)], "GPT",
        f"two partition tables: a hybrid MBR beside the GPT ({HIDDEN_FAT}, overlapping GPT partition p2 with "
        "another extent); partitions were listed from the GPT, not from the MBR's entry 2: files only it "
        "describes may be missing", None),
    # TSK reads the MBR, finds no file system in its one partition, and the
    # raw route reads the disk through dfVFS (libvsgpt) as the container route does.
    "gpt-behind-mbr": (
        [(1, DISK_SECTORS - 1, 0x83)], "MBR",
        f"two partition tables: a GPT behind a non-protective MBR (MBR entry 1: type 0x83, start sector 1, "
        f"{DISK_SECTORS - 1} sectors, overlapping GPT partitions p1, p2 with another extent); partitions were "
        "listed from the GPT, not from the MBR's entry 1: files only it describes may be missing", None),
    # TSK reads the MBR, whose one partition is the ext4: the raw route lists
    # it alone; dfVFS's libvsgpt reads the GPT, and the container route lists both.
    "gpt-behind-mbr-partition": (
        [(EXT4_START, EXT4_SECTORS, 0x83)], "MBR",
        f"two partition tables: a GPT behind a non-protective MBR (GPT entry 1: start sector {EXT4_START}, "
        f"{EXT4_SECTORS} sectors, the same as MBR partition p1; GPT entry 2: start sector {FAT_START}, "
        f"{FAT_SECTORS} sectors, in no MBR partition); partitions were listed from the MBR, not from the GPT's "
        "entry 2: files only it describes may be missing",
        f"two partition tables: a GPT behind a non-protective MBR (MBR entry 1: type 0x83, start sector "
        f"{EXT4_START}, {EXT4_SECTORS} sectors, the same as GPT partition p1); partitions were listed from the GPT"),
}


def _two_tables(folder: Path, name: str) -> Path:
    disk = folder / "disk.raw"
    assert make_partitioned_disk(disk, list(_volumes(folder)), label="gpt") == [EXT4_START, FAT_START]
    assert disk.stat().st_size == DISK_SECTORS * SECTOR
    if TWO_TABLES[name][0] is not None:
        _write_mbr(disk, TWO_TABLES[name][0])
    return disk


@pytest.fixture(scope="module")
def two_table_cases(tmp_path_factory):
    built: dict[str, tuple[dict, dict, list[Path]]] = {}

    def get(name: str) -> tuple[dict, dict, list[Path]]:
        if name not in built:
            folder = tmp_path_factory.mktemp(name)
            expect_exit = 0 if TWO_TABLES[name][2] is None else 1
            built[name] = _scan_in_each_container(folder, _two_tables(folder, name), expect_exit,
                                                  TWO_TABLE_FORMATS)
        return built[name]

    return get


def _mmls_table(image: Path, table: str) -> tuple[str, list[tuple[int, int, int, str]]]:
    """mmls -t <table>: its heading and (entry number from 1, start sector,
    sector count, description) of each partition it lists, in its order."""
    listing = subprocess.run(["mmls", "-t", table, str(image)], capture_output=True, text=True, check=True)
    rows = []
    for line in listing.stdout.splitlines():
        match = re.match(r"\d{3}:\s+(\d{3}:)?(\d{3})\s+(\d+)\s+\d+\s+(\d+)\s*(.*)$", line)
        if match:
            rows.append((int(match.group(2)) + 1, int(match.group(3)), int(match.group(4)), match.group(5)))
    return listing.stdout.splitlines()[0], rows


@pytest.mark.parametrize("name", list(TWO_TABLES))
def test_the_two_tables_are_what_mmls_reads(tmp_path, name):
    """The oracle: mmls -t dos and -t gpt list the entries the warnings name,
    and mmls (TSK's choice, the raw route's) reads the table the row says."""
    disk = _two_tables(tmp_path, name)
    mbr, tsk_reads, _, _ = TWO_TABLES[name]
    heading, gpt = _mmls_table(disk, "gpt")
    assert [row[:3] for row in gpt] == [(1, EXT4_START, EXT4_SECTORS), (2, FAT_START, FAT_SECTORS)]
    _, dos = _mmls_table(disk, "dos")
    assert [row[:3] for row in dos] == [(number, start, count) for number, (start, count, _) in
                                        enumerate(mbr or [(1, DISK_SECTORS - 1, 0xEE)], start=1)]
    assert all(f"(0x{kind:02x})" in row[3] for row, (_, _, kind) in zip(dos, mbr or [(0, 0, 0xEE)]))
    listing = subprocess.run(["mmls", str(disk)], capture_output=True, text=True, check=True).stdout
    assert listing.splitlines()[0] == {"GPT": "GUID Partition Table (EFI)", "MBR": "DOS Partition Table"}[tsk_reads]


@pytest.mark.parametrize("fmt,kind", TWO_TABLE_FORMATS, ids=[f for f, _ in TWO_TABLE_FORMATS])
@pytest.mark.parametrize("name", list(TWO_TABLES))
def test_two_partition_tables_are_named(two_table_cases, name, fmt, kind):
    """One warning on the disk (not a partition) naming the other table's
    entries and the table the partitions were listed from; none for a
    protective MBR. Raw and container routes word it alike when they follow
    the same table; the scan goes on (exit code 1, or 0 with no warning)."""
    containers, raws, raw_paths, index, item, raw_item = _container_and_raw(two_table_cases, name, fmt, kind,
                                                                            TWO_TABLE_FORMATS)
    _, _, raw_message, container_message = TWO_TABLES[name]
    raw_warnings = _warnings(raws, raw_item)
    assert raw_warnings == ([("", raw_message, "source")] if raw_message else [])
    container_warnings = _warnings(containers, item)
    if container_message is None:
        assert container_warnings == raw_warnings
        assert _volumes_of(item) == _volumes_of(raw_item)
        assert _files(containers, item) == _files(raws, raw_item)
    else:
        # The routes follow different tables (TSK the MBR, libvsgpt the GPT): each says which.
        assert container_warnings == [("", container_message, "source")]
        assert raw_item["description"]["partition_scheme"] == "MBR"
        assert [v[:3] for v in _volumes_of(raw_item)] == [("p1", EXT4_START * SECTOR, EXT4_SECTORS * SECTOR)]
    assert item["description"]["partition_scheme"] == "GPT"
    assert [v[:3] for v in _volumes_of(item)] == [("p1", EXT4_START * SECTOR, EXT4_SECTORS * SECTOR),
                                                  ("p2", FAT_START * SECTOR, FAT_SECTORS * SECTOR)]
    # The scan went on: the planted files are read from every partition the route listed.
    for report, evidence in ((containers, item), (raws, raw_item)):
        readable = {where: digest for where, _, digest, _ in _files(report, evidence)}
        assert readable[" > p1 > /a.txt"] == md5(EXT4_FILES["a.txt"])
        if len(evidence["description"]["volumes"]) > 1:
            assert readable[" > p2 > /a.txt"] == md5(FAT_FILES["a.txt"])
        else:    # what the warning says may be missing is: the FAT32 only the GPT describes
            assert not any(where.startswith(" > p2") for where in readable)
