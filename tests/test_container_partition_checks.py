"""A disk inside a container (VMDK, QCOW2, VHD, VHDX) gets the warnings the
same disk gets as a raw image: a partition past the end of a truncated disk,
a file system larger than the disk holds, overlapping partitions, a GPT
whose CRC32 is wrong, an MBR with no partition in it (sources/volume_checks.py,
called by both routes).

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

from evidence_builders import (SECTOR, load_report, make_ext4, make_fat32, make_partitioned_disk, md5, regular_files,
                               scan)

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
            disk = DISKS[name](folder)
            containers, raws = [], []
            for fmt, _ in FORMATS:
                container = folder / f"disk.{fmt}"
                subprocess.run([QEMU_IMG, "convert", "-O", fmt, str(disk), str(container)], check=True,
                               capture_output=True)
                raw = folder / f"disk-{fmt}.raw"          # the oracle: the container's bytes as qemu-img reads them
                subprocess.run([QEMU_IMG, "convert", "-O", "raw", str(container), str(raw)], check=True,
                               capture_output=True)
                containers.append(container)
                raws.append(raw)
            scan(containers, folder / "case-containers", "--no-plugins", expect_exit=1)
            scan(raws, folder / "case-raw", "--no-plugins", expect_exit=1)
            built[name] = load_report(folder / "case-containers"), load_report(folder / "case-raw"), raws
        return built[name]

    return get


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


def _volumes_of(item: dict) -> list[tuple]:
    return [(v["label"], v["offset"], v["length"], v["file_system"]) for v in item["description"]["volumes"]]


@pytest.mark.parametrize("fmt,kind", FORMATS, ids=[f for f, _ in FORMATS])
@pytest.mark.parametrize("name", list(DISKS))
def test_container_warns_as_its_raw_equivalent(cases, name, fmt, kind):
    containers, raws, raw_paths = cases(name)
    index = [f for f, _ in FORMATS].index(fmt)
    item, raw_item = containers["evidence"][index], raws["evidence"][index]
    assert (item["kind"], raw_item["kind"]) == (kind, "raw")
    assert item["hashes"]["md5"] == raw_item["hashes"]["md5"], "not the same disk bytes"

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
