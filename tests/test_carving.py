"""Carving of unallocated space with PhotoRec (issue 17, item 2).

Three small file systems, each holding benign JPEGs made here (Pillow) that
were deleted and whose directory entry, MFT record or inode was then reused
by a new file, so that only a carver can find them: FAT32 in an MBR disk
acquired as an E01, NTFS written through ntfs-3g, ext4 written through
debugfs. Oracles no one here wrote: hashlib of the planted bytes, fls (the
entries really were reused), and PhotoRec and foremost run on the same raw
image."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from evidence_builders import load_report, make_e01, make_partitioned_disk, run, scan
from traffick_triage.cli import app
from traffick_triage.sources import photorec
from tsk_oracle import fls_regular_files

pytestmark = pytest.mark.skipif(not shutil.which("photorec") or not shutil.which("foremost"),
                                reason="PhotoRec (testdisk) and foremost are the oracles")

CARVED = " > carved > "


def _jpeg(seed: int) -> bytes:
    """A benign picture of noise over a gradient: ~30 KB, many clusters, unique."""
    rng = random.Random(seed)
    image = Image.new("RGB", (200, 150))
    image.putdata([((x * 3 + seed * 40) % 256, (y * 5 + rng.randrange(90)) % 256, rng.randrange(256))
                   for y in range(150) for x in range(200)])
    out = BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


KEEP = _jpeg(1)
DELETED = {f"del{n}.jpg": _jpeg(10 + n) for n in range(3)}
def _png(seed: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (120, 90))
    image.putdata([(rng.randrange(256), (x * 2) % 256, (y * 3) % 256) for y in range(90) for x in range(120)])
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _sqlite(path: Path) -> bytes:
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sms (id INTEGER PRIMARY KEY, address TEXT, body TEXT)")
        db.executemany("INSERT INTO sms (address, body) VALUES (?, ?)",
                       [(f"+9655000{n:04d}", f"synthetic message {n} " * 8) for n in range(300)])
    db.close()
    return path.read_bytes()


UNPARTITIONED = _jpeg(20)
OTHER_DELETED: dict[str, bytes] = {}        # a PNG and a SQLite database deleted from the FAT32 image
NEW = {f"new{n}.txt": f"new file {n}\n".encode() for n in range(6)}


def _fat32_e01(root: Path) -> tuple[Path, Path]:
    """FAT32 in an MBR disk: keep.jpg, dup.jpg (keep.jpg's bytes, deleted: its
    carved copy duplicates a live file) and the deleted JPEGs; the new files
    take their directory entries. Returns (E01, raw disk)."""
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    volume = root / "fat32.img"
    with open(volume, "wb") as stream:
        stream.truncate(34 << 20)
    run("mkfs.vfat", "-F", "32", "-n", "CARVE", "-i", "12345678", str(volume))
    staging = root / "fat-staging"
    staging.mkdir()
    OTHER_DELETED.update({"chart.png": _png(3), "mmssms.db": _sqlite(root / "mmssms.db")})
    files = {"keep.jpg": KEEP, "dup.jpg": KEEP, **DELETED, **OTHER_DELETED, **NEW}
    for name, data in files.items():
        (staging / name).write_bytes(data)
    for name in ["keep.jpg", "dup.jpg", *DELETED, *OTHER_DELETED]:
        run("mcopy", "-i", str(volume), str(staging / name), "::/" + name, env=env)
    run("mdel", "-i", str(volume), *("::/" + name for name in ["dup.jpg", *DELETED, *OTHER_DELETED]), env=env)
    for name in NEW:
        run("mcopy", "-i", str(volume), str(staging / name), "::/" + name, env=env)
    disk = root / "fat-disk.raw"
    starts = make_partitioned_disk(disk, [volume])
    # A picture in no partition (after the last one): carved as unpartitioned space.
    with open(disk, "r+b") as stream:
        stream.seek(starts[0] * 512 + volume.stat().st_size + (64 << 10))
        stream.write(UNPARTITIONED)
    return make_e01(disk, root / "fat-disk"), disk


def _ntfs(root: Path) -> Path:
    """NTFS through ntfs-3g (FUSE): the deleted JPEGs' MFT records are taken
    by the new files (ntfs-3g reuses the lowest free record after a remount)."""
    image, mount = root / "ntfs.raw", root / "ntfs-mount"
    mount.mkdir()
    with open(image, "wb") as stream:
        stream.truncate(8 << 20)
    run("mkntfs", "-q", "-F", "-f", "-L", "CARVE", str(image))

    def mounted(action) -> None:
        subprocess.run(["ntfs-3g", str(image), str(mount)], check=True, capture_output=True, timeout=30)
        try:
            action()
        finally:
            subprocess.run(["umount", str(mount)], check=True, capture_output=True, timeout=30)

    def plant() -> None:
        (mount / "keep.jpg").write_bytes(KEEP)
        for name, data in DELETED.items():
            (mount / name).write_bytes(data)

    mounted(plant)
    mounted(lambda: [(mount / name).unlink() for name in DELETED])
    mounted(lambda: [(mount / name).write_bytes(data) for name, data in NEW.items()])
    return image


def _ext4(root: Path) -> Path:
    """ext4 by mke2fs -d; the JPEGs written after it by debugfs, then removed
    with a spacer file in front of them; the new files take the freed inodes
    and the spacer's first blocks."""
    image, staging = root / "ext4.raw", root / "ext4-staging"
    staging.mkdir()
    (staging / "keep.jpg").write_bytes(KEEP)
    (staging / "spacer.bin").write_bytes(random.Random(7).randbytes(64 << 10))
    run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-E", "root_owner=0:0", "-d", str(staging),
        str(image), "4096K", env={**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"})
    for name, data in {**DELETED, **NEW}.items():
        (root / name).write_bytes(data)
    for name in DELETED:
        run("debugfs", "-w", "-R", f"write {root / name} {name}", str(image))
    for name in ["spacer.bin", *DELETED]:
        run("debugfs", "-w", "-R", f"rm /{name}", str(image))
    for name in NEW:
        run("debugfs", "-w", "-R", f"write {root / name} {name}", str(image))
    return image


def _photorec_oracle(image: Path, out: Path) -> set[str]:
    """SHA-256 of the JPEGs PhotoRec carves from the raw image's whole space by itself."""
    out.mkdir()
    subprocess.run(["photorec", "/log", "/d", str(out / "recup"), "/cmd", str(image),
                    "fileopt,everything,disable,jpg,enable,wholespace,search"], cwd=out, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return {sha256(p.read_bytes()) for p in out.glob("recup.*/*.jpg")}


def _foremost_oracle(image: Path, out: Path) -> set[str]:
    subprocess.run(["foremost", "-q", "-t", "jpg", "-i", str(image), "-o", str(out)], check=True,
                   capture_output=True, timeout=120)
    return {sha256(p.read_bytes()) for p in (out / "jpg").glob("*.jpg")}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """name -> (evidence to scan, raw image for the oracles, sector offset of the file system)."""
    root = tmp_path_factory.mktemp("carving")
    built = {}
    e01, disk = _fat32_e01(root)
    built["fat32"] = (e01, disk, 2048)
    ext4 = _ext4(root)
    built["ext4"] = (ext4, ext4, 0)
    try:
        ntfs = _ntfs(root)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        ntfs = None                      # no FUSE here: the NTFS case is skipped, the others run
    if ntfs is not None:
        built["ntfs"] = (ntfs, ntfs, 0)
    for name, (_, raw, offset) in built.items():
        data = raw.read_bytes()
        # Fixture sanity, by hashlib and fls: each deleted JPEG lies whole and
        # contiguous in the image, and no file-system entry leads to it any more.
        assert all(planted in data for planted in DELETED.values()), name
        listed = {path.rsplit("/", 1)[-1] for path, _, _ in fls_regular_files(str(raw), offset or None)}
        assert not listed & (set(DELETED) | set(OTHER_DELETED)), (name, sorted(listed))
    return built


@pytest.fixture(scope="module")
def scanned(images, tmp_path_factory):
    """One default scan per image, with the deleted JPEGs in a plain SHA-256 list."""
    root = tmp_path_factory.mktemp("carving-cases")
    listed = root / "known.txt"
    listed.write_text("".join(sha256(data) + "\n" for data in [KEEP, UNPARTITIONED, *DELETED.values()]))
    cases = {}
    for name, (evidence, _, _) in images.items():
        case = root / name
        scan([evidence], case, "--no-plugins", "--workers", "2", "--hashset", f"sha256:{listed}")
        cases[name] = (case, load_report(case))
    return cases


def _carved(report: dict) -> list[dict]:
    return [f for f in report["files"] if CARVED in f["locator"]]


@pytest.mark.parametrize("name", ["fat32", "ntfs", "ext4"])
def test_every_deleted_jpeg_is_carved_with_its_hash_and_flagged(name, images, scanned, tmp_path):
    if name not in images:
        pytest.skip("ntfs-3g could not mount (no FUSE)")
    _, report = scanned[name]
    carved = _carved(report)
    assert carved and all(f["allocated"] is False for f in carved)
    assert all(f.get("route", "carved") == "carved" for f in carved)
    found = {f["sha256"] for f in carved}
    planted = {sha256(data) for data in DELETED.values()} | ({sha256(UNPARTITIONED)} if name == "fat32" else set())
    assert planted <= found
    matched = {f["locator"] for f in report["findings"] if f["kind"] == "hashset.match"}
    for item in carved:
        if item["sha256"] in planted:
            assert item["locator"] in matched, item["locator"]
            # The locator says where: the volume's byte offset and the length.
            assert f", {item['size']} bytes)." in item["locator"]
    # At least as many planted pictures as each carver finds by itself on the same raw image.
    _, raw, _ = images[name]
    inventory = {f["sha256"] for f in report["files"] if f.get("sha256")}
    everything = planted | {sha256(KEEP)}
    for oracle in (_photorec_oracle(raw, tmp_path / "photorec"), _foremost_oracle(raw, tmp_path / "foremost")):
        assert len(oracle & everything) <= len(inventory & everything)
        assert oracle & everything <= inventory


def test_carved_duplicate_of_a_live_file_is_marked_and_counted(scanned):
    """dup.jpg (deleted, keep.jpg's bytes) is carved, noted and counted apart."""
    _, report = scanned["fat32"]
    evidence = report["evidence"][0]
    live = next(f for f in report["files"] if f["locator"].endswith(" > p1 > /keep.jpg"))
    copies = [f for f in _carved(report) if f["sha256"] == sha256(KEEP)]
    assert len(copies) == 1
    assert f"same content as {live['locator']}" in copies[0]["notes"]
    carving = evidence["description"]["carving"]
    assert carving["carved_duplicates"] == 1
    assert carving["carved"] == len(_carved(report))
    assert [(v["volume"], v["space"], v["status"]) for v in carving["volumes"]] == [
        ("p1", "free space", "done"), ("unpartitioned 0-1048576", "whole volume", "done"),
        (f"unpartitioned {(2048 << 9) + (34 << 20)}-{evidence['description']['media_size']}", "whole volume", "done")]


def test_cat_of_a_carved_locator_reads_the_planted_bytes_from_the_image(scanned):
    case, report = scanned["fat32"]          # an E01: PhotoRec read a raw copy; cat reads the E01
    wanted = {sha256(data): data for data in DELETED.values()}
    for item in _carved(report):
        if item["sha256"] in wanted:
            result = CliRunner().invoke(app, ["cat", str(case), item["locator"]])
            assert result.exit_code == 0, result.output
            assert result.stdout_bytes == wanted[item["sha256"]]


def test_a_relative_case_folder_carves_the_same(images, scanned, tmp_path, monkeypatch):
    """PhotoRec runs in its work folder: a case folder given relative to the
    current folder (as `triage demo run` gives it) must not lose its way."""
    monkeypatch.chdir(tmp_path)
    scan([images["ext4"][0]], Path("relative-case"), "--no-plugins", expect_exit=0)
    relative = {f["sha256"] for f in _carved(load_report(tmp_path / "relative-case"))}
    assert relative == {f["sha256"] for f in _carved(scanned["ext4"][1])} != set()


def test_no_carve_recovers_nothing_and_is_recorded(images, tmp_path):
    evidence = images["ext4"][0]
    scan([evidence], tmp_path / "case", "--no-plugins", "--no-carve")
    report = load_report(tmp_path / "case")
    assert not _carved(report)
    assert report["options"]["source_options"]["carve"] is False
    assert "carving" not in report["evidence"][0]["description"]


def test_report_is_byte_identical_on_a_second_run(images, scanned, tmp_path):
    name = "ntfs" if "ntfs" in images else "ext4"
    first, _ = scanned[name]
    listed = first.parent / "known.txt"
    # Another worker count too: carved entries are read back in worker processes the same way.
    scan([images[name][0]], tmp_path / "again", "--no-plugins", "--workers", "1", "--hashset", f"sha256:{listed}")
    assert (tmp_path / "again" / "report.json").read_bytes() == (first / "report.json").read_bytes()
    assert not any((tmp_path / "again" / ".scratch").glob("carve-*")), "PhotoRec's work folder was left behind"


def test_photorec_missing_is_one_warning(images, tmp_path, monkeypatch):
    monkeypatch.setattr(photorec, "PHOTOREC", "photorec-is-not-installed")
    scan([images["ext4"][0]], tmp_path / "case", "--no-plugins", expect_exit=1)
    report = load_report(tmp_path / "case")
    messages = [w["message"] for w in report["warnings"]]
    assert len([m for m in messages if "photorec is not installed" in m]) == 1
    assert not _carved(report)
    assert report["files"]        # the walk itself went on


def test_photorec_over_its_time_is_stopped_with_a_warning(images, tmp_path):
    scan([images["ext4"][0]], tmp_path / "case", "--no-plugins", "--carve-timeout", "0.001", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert any("did not finish within" in w["message"] for w in report["warnings"])
    assert not _carved(report)


REPORT = """<?xml version='1.0' encoding='UTF-8'?>
<dfxml xmloutputversion='1.0'><source><image_filename>v</image_filename></source>
{objects}</dfxml>"""


def _object(name: str, size: int, runs: list[tuple[int, int, int]]) -> str:
    rows = "".join(f"<byte_run offset='{o}' img_offset='{i}' len='{n}'/>" for o, i, n in runs)
    return f"<fileobject><filename>{name}</filename><filesize>{size}</filesize><byte_runs>{rows}</byte_runs></fileobject>"


def test_report_xml_runs_are_checked_and_cut_to_the_size(tmp_path):
    path = tmp_path / "report.xml"
    path.write_text(REPORT.format(objects="".join([
        _object("f0000002.jpg", 700, [(0, 1024, 512), (512, 4096, 512)]),        # two runs, cut to 700 bytes
        _object("f0000009.png", 100, [(0, 9000, 512)]),                            # past the volume's end
        _object("evil/../../name.jpg.sh", 10, [(0, 0, 512)]),                      # a name: only its extension
        _object("f0000001.gif", 1000, [(0, 0, 512)]),                              # runs shorter than the size
    ])))
    result = photorec.read_report(str(path), volume_bytes=8192)
    assert [(f.size, f.runs, f.extension) for f in result.files] == [
        (10, ((0, 10),), "sh"), (700, ((1024, 512), (4096, 188)), "jpg")]
    assert len(result.problems) == 2
    assert any("outside the volume" in p and "refused" in p for p in result.problems)


@pytest.mark.parametrize("text", [
    "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]><dfxml>&b;</dfxml>",
    "<?xml version='1.0'?><!--" + "x" * 8192 + "--><!DOCTYPE d [<!ENTITY a 'a'>]><dfxml>&a;</dfxml>",
    "<dfxml><fileobject><filename>f.jpg</filename>",
    "not xml at all",
])
def test_report_xml_hostile_or_broken_is_a_carve_error(tmp_path, text):
    path = tmp_path / "report.xml"
    path.write_text(text)
    with pytest.raises(photorec.CarveError):
        photorec.read_report(str(path), volume_bytes=1 << 20)


def test_command_selects_the_families_and_the_space():
    assert photorec.command_line(True).endswith(",freespace,search")
    assert photorec.command_line(False).endswith(",wholespace,search")
    for family in ("jpg", "png", "gif", "bmp", "mov", "sqlite", "pdf", "zip"):
        assert f",{family},enable," in photorec.command_line(True)
    assert json.dumps(photorec.FILE_FAMILIES)


def test_dfxml_gives_each_carved_file_its_place_in_the_image(images, scanned):
    """inventory.dfxml's byte runs of a carved file, read from the raw disk
    (the E01's media), are the planted bytes."""
    import xml.etree.ElementTree as ET

    case, _ = scanned["fat32"]
    disk = images["fat32"][1].read_bytes()
    wanted = {sha256(data): data for data in [*DELETED.values(), UNPARTITIONED]}
    found = 0
    for element in ET.parse(case / "inventory.dfxml").getroot().iter():
        if not element.tag.endswith("fileobject"):
            continue
        digest = next((h.text for h in element.iter() if h.tag.endswith("hashdigest") and h.get("type") == "sha256"),
                      None)
        runs = [r for r in element.iter() if r.tag.endswith("byte_run")]
        if digest not in wanted or not runs:
            continue
        data = b"".join(disk[int(r.get("img_offset")):int(r.get("img_offset")) + int(r.get("len"))] for r in runs)
        assert data == wanted[digest]
        found += 1
    assert found == len(wanted)


def test_volumes_over_the_cap_are_not_carved_and_said(images, tmp_path, monkeypatch):
    from traffick_triage.sources import carving

    monkeypatch.setattr(carving, "MAX_CARVED_VOLUMES", 1)
    scan([images["fat32"][0]], tmp_path / "case", "--no-plugins", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert any("3 volumes and unpartitioned ranges: only the first 1 are carved" in w["message"]
               for w in report["warnings"])
    assert {f["locator"].split(CARVED)[0] for f in _carved(report)} == {"fat-disk.E01 > p1"}


def test_a_vmdk_is_carved_through_dfvfs(images, tmp_path):
    """The ext4 image inside a VMDK (qemu-img): the same planted pictures, read through dfVFS."""
    pytest.importorskip("dfvfs")
    if not shutil.which("qemu-img"):
        pytest.skip("qemu-img (qemu-utils) not installed")
    vmdk = tmp_path / "ext4.vmdk"
    run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(images["ext4"][1]), str(vmdk))
    scan([vmdk], tmp_path / "case", "--no-plugins")
    report = load_report(tmp_path / "case")
    assert {sha256(data) for data in DELETED.values()} <= {f["sha256"] for f in _carved(report)}
    assert report["evidence"][0]["kind"] == "vmdk"


def test_carved_pictures_are_pdq_hashed_like_any_file(images, tmp_path):
    scan([images["ext4"][0]], tmp_path / "case", "--only", "perceptual")
    report = load_report(tmp_path / "case")
    carved = {f["locator"] for f in _carved(report) if f["sha256"] in {sha256(d) for d in DELETED.values()}}
    hashed = {f["locator"] for f in report["findings"] if f["kind"] == "perceptual.hash"}
    assert carved and carved <= hashed


def test_other_families_are_carved_whole(scanned):
    """A deleted PNG and SQLite database (PhotoRec sizes both from their own
    structure: IEND, page size times page count) come back byte for byte."""
    _, report = scanned["fat32"]
    found = {f["sha256"]: f for f in _carved(report)}
    for name, data in OTHER_DELETED.items():
        assert sha256(data) in found, name
        assert found[sha256(data)]["locator"].endswith(f", {len(data)} bytes).{'png' if name.endswith('png') else 'sqlite'}")
