"""Hostile shapes of evidence trees and tables (issue 16, items 4, 7, 8, 9):
a directory graph, a folder 1,100 levels deep, a GPT of 1,000 entries over
one range, an MBR extended chain that loops, a FAT folder whose cluster
chain loops, a split raw image with its middle segment missing.

Each image is built here from benign bytes (mke2fs/debugfs, mkfs.fat and
mtools, struct-written tables). Each scan runs in a fresh interpreter under a
time-out (so a hang fails the test instead of stalling it) and checks, as
test_hostile_evidence.py does: the scan ends by itself, exit 1; the item is
named in a warning that says why; a control file beside it is found and
hashed right; the evidence is unchanged (evidence_builders.scan hashes it
before and after); peak RSS stays under 1 GB. The Sleuth Kit's own tools
(fls, ifind, mmls) are the oracles where they apply."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest

from evidence_builders import SECTOR, _tree, load_report, run

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
RSS_LIMIT = 1 << 30           # issue 16: peak RSS under 1 GB
TIME_OUT = 300                # seconds a scan may take before the test calls it a hang

needs = pytest.mark.skipif(not all(shutil.which(tool) for tool in ("mke2fs", "debugfs", "fls", "mmls")),
                           reason="e2fsprogs and The Sleuth Kit are needed")


# -- helpers -------------------------------------------------------------------------------------


def control_bytes(tag: str) -> bytes:
    return f"benign control file beside {tag}\n".encode() * 7


def scan_in_subprocess(evidence: list[Path], case: Path) -> tuple[dict, int]:
    """evidence_builders.scan() (evidence unchanged, or it fails) in a fresh
    interpreter under TIME_OUT; the report and the peak RSS of the scan or
    any of its workers. Exit code 1 (finished with warnings) is required."""
    code = (
        "import resource, sys; sys.path.insert(0, sys.argv[1]);"
        "from evidence_builders import scan; from pathlib import Path;"
        "r = scan([Path(p) for p in sys.argv[3:]], Path(sys.argv[2]), '--workers', '2');"
        "own = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'));"
        "print(r.exit_code, max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024)"
    )
    done = subprocess.run([str(PYTHON), "-c", code, str(REPO / "tests"), str(case), *map(str, evidence)],
                          capture_output=True, text=True, timeout=TIME_OUT,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 0, done.stderr[-3000:]
    exit_code, peak = map(int, done.stdout.split()[-2:])
    assert exit_code == 1, (exit_code, done.stdout[-2000:])
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    return load_report(case), peak


def assert_control(report: dict, locator: str, data: bytes) -> None:
    rows = [f for f in report["files"] if f["locator"] == locator]
    assert rows, f"control {locator!r} missing; have {[f['locator'] for f in report['files']][:50]}"
    row = rows[0]
    assert (row["size"], row["md5"], row["sha1"], row["sha256"]) == (
        len(data), hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest())


def warnings_about(report: dict, locator: str, *words: str) -> list[dict]:
    found = [w for w in report["warnings"] if w.get("locator") == locator
             and all(word.lower() in w["message"].lower() for word in words)]
    assert found, (f"no warning on {locator!r} with {words}; warnings: "
                   + json.dumps(report["warnings"][:40], indent=1, ensure_ascii=True))
    return found


def triage(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), "-m", "traffick_triage", *arguments], capture_output=True, text=True,
                          timeout=TIME_OUT, env={**os.environ, "PYTHONPATH": str(REPO / "src")})


def text(*command: str) -> str:
    """A tool's standard output as text (the oracles: fls, ifind, mmls, istat)."""
    return run(*command).stdout.decode("utf-8", "replace")


def make_ext4(path: Path, staging: Path, size_kib: int) -> Path:
    run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-E", "root_owner=0:0", "-d", str(staging),
        str(path), f"{size_kib}K", env={**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"})
    return path


# -- item 4: a directory graph -------------------------------------------------------------------

LEVELS = 24


def _directory_graph(tmp_path: Path, control: bytes, leaf: bytes) -> Path:
    """/a/a/.../a (24 levels), and beside every /a^i a second name b for the
    same directory (debugfs link): 2^24 paths reach the bottom, no cycle."""
    staging = tmp_path / "graph"
    bottom = staging.joinpath(*["a"] * LEVELS)
    bottom.mkdir(parents=True)
    (bottom / "leaf.txt").write_bytes(leaf)
    (staging / "control.txt").write_bytes(control)
    image = make_ext4(tmp_path / "graph.img", staging, 4096)
    commands = tmp_path / "links.txt"
    commands.write_text("".join(f"link {'/a' * level} {'/a' * (level - 1)}/b\n" for level in range(1, LEVELS + 1)))
    run("debugfs", "-w", "-f", str(commands), str(image))
    return image


@needs
def test_ext4_directory_graph_walks_each_directory_once(tmp_path):
    control, leaf = control_bytes("graph"), b"the one file at the bottom\n"
    image = _directory_graph(tmp_path, control, leaf)
    # Oracle: TSK resolves both names of each level to the same inode.
    for level in range(1, LEVELS + 1):
        first = text("ifind", "-n", "/a" * level, str(image)).strip()
        second = text("ifind", "-n", "/a" * (level - 1) + "/b", str(image)).strip()
        assert first == second and first.isdigit(), (level, first, second)
    report, _ = scan_in_subprocess([image], tmp_path / "case")
    locators = [f["locator"] for f in report["files"]]
    assert len(locators) < 200, len(locators)       # not 2^24
    bottom = "graph.img > " + "/a" * LEVELS
    assert_control(report, f"{bottom}/leaf.txt", leaf)
    assert [l for l in locators if l.endswith("/leaf.txt")] == [f"{bottom}/leaf.txt"]
    assert_control(report, "graph.img > /control.txt", control)
    for level in range(1, LEVELS + 1):
        link = "graph.img > " + "/a" * (level - 1) + "/b"
        warnings_about(report, link, "directory hard link", "/a" * level + ",")
        row = next(f for f in report["files"] if f["locator"] == link)
        assert row["kind"] == "dir"
        assert not [l for l in locators if l.startswith(link + "/")]
    # TSK's orphan search would walk the 2^24 paths in C: skipped, and said.
    warnings_about(report, "graph.img > /$OrphanFiles", "orphan files not listed")


@needs
@pytest.mark.skipif(not shutil.which("qemu-img"), reason="qemu-img is needed")
def test_directory_graph_in_a_vmdk_through_dfvfs(tmp_path):
    control, leaf = control_bytes("graph vmdk"), b"the one file at the bottom\n"
    image = _directory_graph(tmp_path, control, leaf)
    vmdk = tmp_path / "graph.vmdk"
    run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(image), str(vmdk))
    image.unlink()
    report, _ = scan_in_subprocess([vmdk], tmp_path / "case")
    assert len(report["files"]) < 200
    bottom = "graph.vmdk > " + "/a" * LEVELS
    assert_control(report, f"{bottom}/leaf.txt", leaf)
    assert_control(report, "graph.vmdk > /control.txt", control)
    for level in range(1, LEVELS + 1):
        link = "graph.vmdk > " + "/a" * (level - 1) + "/b"
        # Warned once, though both the dfVFS and the TSK walk of the volume meet it.
        assert len(warnings_about(report, link, "directory hard link")) == 1


# -- item 7: recursion ---------------------------------------------------------------------------

DEEP = 1100


def _deep_folder(root: Path, leaf: bytes) -> Path:
    """A folder DEEP levels deep, made with relative mkdirs (the absolute path
    is longer than PATH_MAX)."""
    root.mkdir(parents=True)
    here = os.getcwd()
    try:
        os.chdir(root)
        for _ in range(DEEP):
            os.mkdir("d")
            os.chdir("d")
        Path("bottom.txt").write_bytes(leaf)
    finally:
        os.chdir(here)
    return root


@pytest.fixture
def deep_tree_removed(tmp_path):
    """Removes the deep folder after the test, without recursion: pytest's
    own clean-up of old temporary folders (shutil.rmtree) recurses and would
    hit the recursion limit on it in a later session."""
    yield
    found = sorted(_tree(tmp_path), key=lambda p: len(p.parts), reverse=True)
    for path in found:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


def test_folder_1100_levels_deep_is_walked_whole(tmp_path, deep_tree_removed):
    evidence = tmp_path / "seized"
    leaf = b"at the bottom\n"
    _deep_folder(evidence / "deep", leaf)
    control = control_bytes("deep folder")
    (evidence / "zz-after.txt").write_bytes(control)        # walked after the deep branch
    os.mkfifo(evidence / "fifo")                              # a warning, so exit 1
    report, _ = scan_in_subprocess([evidence], tmp_path / "case")
    assert_control(report, "seized > /deep" + "/d" * DEEP + "/bottom.txt", leaf)
    assert_control(report, "seized > /zz-after.txt", control)
    assert not [w for w in report["warnings"] if "stopped early" in w["message"]]
    info = triage("info", str(evidence))
    assert info.returncode == 1, info.stderr        # the FIFO's warning, not an internal error (2)
    counts = json.loads(info.stdout)["counts"]
    assert (counts["directories"], counts["files"]) == (DEEP + 1, 2)


@needs
def test_ext4_1100_levels_deep(tmp_path):
    """mke2fs -d aborts on such a tree: debugfs makes it, one mkdir and cd a level."""
    staging = tmp_path / "staging"
    staging.mkdir()
    control, leaf = control_bytes("deep ext4"), b"at the bottom of the image\n"
    (staging / "control.txt").write_bytes(control)
    (tmp_path / "bottom.txt").write_bytes(leaf)
    image = make_ext4(tmp_path / "deep.img", staging, 8192)
    commands = tmp_path / "deep.txt"
    commands.write_text("mkdir d\ncd d\n" * DEEP + f"write {tmp_path / 'bottom.txt'} bottom.txt\n")
    run("debugfs", "-w", "-f", str(commands), str(image))
    info = triage("info", str(image))
    assert info.returncode == 0, info.stdout + info.stderr
    counts = json.loads(info.stdout)["counts"]
    # lost+found, the 1,100 d's and TSK's $OrphanFiles. fls -r stops at 128
    # levels (TSK's own limit), so the oracle for the bottom is ifind + icat.
    assert counts["directories"] == DEEP + 2
    bottom = "/d" * DEEP + "/bottom.txt"
    inode = text("ifind", "-n", bottom, str(image)).strip()
    assert run("icat", str(image), inode).stdout == leaf
    beside = tmp_path / "beside"
    beside.mkdir()
    os.mkfifo(beside / "fifo")
    report, _ = scan_in_subprocess([image, beside], tmp_path / "case")
    assert_control(report, "deep.img > " + "/d" * DEEP + "/bottom.txt", leaf)
    assert_control(report, "deep.img > /control.txt", control)


def test_depth_limit_is_a_warning(tmp_path, monkeypatch):
    """Past MAX_DEPTH a directory is listed, not descended, with a warning."""
    from traffick_triage.sources import tree_walk
    from traffick_triage.sources.directory import DirectorySource

    monkeypatch.setattr(tree_walk, "MAX_DEPTH", 3)
    (tmp_path / "e" / "1" / "2" / "3" / "4").mkdir(parents=True)
    (tmp_path / "e" / "top.txt").write_bytes(b"x")
    source = DirectorySource(str(tmp_path / "e"), "e")
    paths = [entry.path for entry in source.entries()]
    assert paths == ["/1", "/1/2", "/1/2/3", "/top.txt"]
    [warning] = source.take_warnings()
    assert warning.locator == "e > /1/2/3" and "deeper than 3 levels" in warning.message


def test_bind_mount_style_loop_in_a_folder_walk():
    """tree_walk on a synthetic graph: a child naming its ancestor is a loop,
    a second name for a walked directory is a link; neither is descended."""
    from traffick_triage.sources import tree_walk
    from traffick_triage.sources.base import DIRECTORY, Entry

    tree = {1: [("x", 2), ("y", 2)], 2: [("up", 1), ("z", 3)], 3: []}
    warned = []

    def visit(child, parent):
        name, node = child
        path = f"{parent}/{name}"
        entry = Entry(segments=(path,), path=path, kind=DIRECTORY, size=0)
        return tree_walk.Visit([entry], tree_walk.Subdirectory(node, node, path))

    entries = list(tree_walk.walk(1, 1, lambda node, path: tree[node], visit,
                                  lambda message, path: warned.append((path, message))))
    assert [e.path for e in entries] == ["/x", "/x/up", "/x/z", "/y"]
    assert warned[0][0] == "/x/up" and warned[0][1].startswith("directory loop: this is the directory /")
    assert warned[1][0] == "/y" and "directory hard link" in warned[1][1] and "as /x," in warned[1][1]
    assert entries[3].notes and "/x" in entries[3].notes[0]


# -- item 8: quadratic warnings ------------------------------------------------------------------

LINUX_GUID = uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le


def write_gpt(path: Path, ranges: list[tuple[int, int]], total_sectors: int) -> None:
    """A protective MBR and a primary GPT (header at LBA 1, entries from LBA 2)
    with one entry per (first, last) LBA range, CRCs right."""
    entries = bytearray()
    for number, (first, last) in enumerate(ranges):
        entries += LINUX_GUID + uuid.UUID(int=number + 1).bytes_le + struct.pack("<QQQ", first, last, 0)
        entries += f"part{number + 1}".encode("utf-16-le").ljust(72, b"\0")
    entry_sectors = (len(entries) + SECTOR - 1) // SECTOR
    header = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, 1, total_sectors - 1,
                                   2 + entry_sectors, total_sectors - 2 - entry_sectors,
                                   uuid.UUID(int=7).bytes_le, 2, len(ranges), 128, zlib.crc32(entries)))
    struct.pack_into("<I", header, 16, zlib.crc32(header[:92]))
    mbr = bytearray(SECTOR)
    struct.pack_into("<B3sB3sII", mbr, 446, 0, b"\0\2\0", 0xEE, b"\xff\xff\xff", 1, total_sectors - 1)
    mbr[510:512] = b"\x55\xaa"
    with open(path, "r+b") as disk:
        disk.write(mbr)
        disk.seek(SECTOR)
        disk.write(bytes(header).ljust(SECTOR, b"\0"))
        disk.write(bytes(entries))


def _small_ext4(tmp_path: Path, name: str, files: dict[str, bytes]) -> bytes:
    staging = tmp_path / f"{name}-staging"
    staging.mkdir()
    for relative, data in files.items():
        (staging / relative).write_bytes(data)
    return make_ext4(tmp_path / f"{name}.fs", staging, 1024).read_bytes()


@needs
def test_gpt_with_1000_entries_over_one_range_gives_one_warning(tmp_path):
    control = control_bytes("gpt overlap")
    fs = _small_ext4(tmp_path, "gpt", {"control.txt": control})
    sectors = len(fs) // SECTOR
    total = 2048 + sectors + 2048
    disk = tmp_path / "overlap1000.raw"
    with open(disk, "wb") as stream:
        stream.truncate(total * SECTOR)
        stream.seek(2048 * SECTOR)
        stream.write(fs)
    write_gpt(disk, [(2048, 2048 + sectors - 1)] * 1000, total)
    table = text("mmls", str(disk))
    assert sum(1 for line in table.splitlines() if "part" in line and "0000002048" in line) == 1000
    report, _ = scan_in_subprocess([disk], tmp_path / "case")
    overlaps = [w for w in report["warnings"] if "overlap" in w["message"]]
    assert len(overlaps) == 1, len(overlaps)
    message = overlaps[0]["message"]
    assert message.startswith("1000 partitions overlap within bytes 1048576-")
    assert "p1, p2, p3" in message and "p20 and 980 more" in message
    assert_control(report, "overlap1000.raw > p1 > /control.txt", control)
    assert_control(report, "overlap1000.raw > p1000 > /control.txt", control)


def test_overlap_grouping_is_per_range():
    from traffick_triage.sources.volume_checks import overlap_problems

    def part(label, offset, length):
        return {"label": label, "offset": offset, "length": length}

    volumes = [part(f"p{n}", 4096, 1024) for n in range(1, 8193)]          # 8,192 over one range
    volumes += [part("q1", 100_000, 50), part("q2", 100_040, 50)]         # a chain of three elsewhere:
    volumes += [part("q3", 100_080, 50)]                                   # q1-q2 and q2-q3, not q1-q3
    volumes += [part("r1", 200_000, 10), part("r2", 200_010, 10)]         # adjacent, not overlapping
    problems = [message for message, _ in overlap_problems(volumes)]
    assert len(problems) == 3
    assert problems[0].startswith("8192 partitions overlap within bytes 4096-5120 (p1, p2,")
    assert "and 8172 more" in problems[0]
    assert problems[1].startswith("partitions q1 and q2 overlap (bytes 100040-100050)")
    assert problems[2].startswith("partitions q2 and q3 overlap (bytes 100080-100090)")


# -- item 9: tampering ---------------------------------------------------------------------------


def _mbr_entry(kind: int, start: int, count: int) -> bytes:
    return struct.pack("<B3sB3sII", 0, b"\0\2\0", kind, b"\xff\xff\xff", start, count)


def _write_table(path: Path, sector: int, entries: list[bytes]) -> None:
    with open(path, "r+b") as disk:
        disk.seek(sector * SECTOR + 446)
        disk.write(b"".join(entries).ljust(64, b"\0") + b"\x55\xaa")


@needs
def test_mbr_extended_entries_that_loop(tmp_path):
    """self.raw: the MBR's extended entry starts at sector 0, the MBR itself.
    chain.raw: the first EBR's next-table link points at that EBR again."""
    control, logical = control_bytes("mbr p1"), control_bytes("mbr logical")
    fs1 = _small_ext4(tmp_path, "p1", {"control.txt": control})
    fs5 = _small_ext4(tmp_path, "p5", {"logical.txt": logical})
    sectors = len(fs1) // SECTOR
    extended = 2048 + sectors + 1024
    total = extended + 1024 + sectors + 2048
    disks = {}
    for name, extended_start in (("self.raw", 0), ("chain.raw", extended)):
        disk = tmp_path / name
        with open(disk, "wb") as stream:
            stream.truncate(total * SECTOR)
            stream.seek(2048 * SECTOR)
            stream.write(fs1)
            stream.seek((extended + 1024) * SECTOR)
            stream.write(fs5)
        _write_table(disk, 0, [_mbr_entry(0x83, 2048, sectors), _mbr_entry(0x05, extended_start, total - extended)])
        if extended_start:
            _write_table(disk, extended, [_mbr_entry(0x83, 1024, sectors), _mbr_entry(0x05, 0, total - extended)])
        disks[name] = disk
    # Oracle: mmls reads each without complaint; the looped chain gives one logical partition.
    assert text("mmls", str(disks["chain.raw"])).count("Linux (0x83)") == 2
    report, _ = scan_in_subprocess(list(disks.values()), tmp_path / "case")
    warnings_about(report, "self.raw", "MBR entry 2", "points at the MBR itself")
    warnings_about(report, "chain.raw", "extended partition (entry 2) loops",
                   f"extended table at sector {extended} links to itself")
    assert_control(report, "self.raw > p1 > /control.txt", control)
    assert_control(report, "chain.raw > p1 > /control.txt", control)
    assert_control(report, "chain.raw > p2 > /logical.txt", logical)


def _fat16_with_looping_folder(path: Path, control: bytes) -> tuple[Path, int]:
    """FAT16, one sector per cluster; a folder of 30 long names spans several
    clusters; its last cluster's FAT entry is patched to link to its first."""
    with open(path, "wb") as stream:
        stream.truncate(8 << 20)
    run("mkfs.fat", "-F", "16", "-s", "1", "-S", "512", "-n", "EVIDENCE", "-i", "12345678", str(path))
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    run("mmd", "-i", str(path), "::/loopdir", env=env)
    staging = path.with_suffix(".staging")
    staging.mkdir()
    for number in range(30):
        source = staging / f"f{number}"
        source.write_bytes(f"file {number}\n".encode())
        run("mcopy", "-i", str(path), str(source), f"::/loopdir/a-longer-file-name-{number:02d}.txt", env=env)
    (staging / "control.txt").write_bytes(control)
    run("mcopy", "-i", str(path), str(staging / "control.txt"), "::/control.txt", env=env)
    inode = next(line.split()[1].rstrip(":") for line in text("fls", str(path)).splitlines()
                 if line.endswith("\tloopdir"))
    sectors = [int(s) for s in text("istat", str(path), inode).split("Sectors:")[1].split()]
    assert len(sectors) >= 3, sectors
    data = bytearray(path.read_bytes())
    bytes_per_sector, _, reserved, fats, root_entries, _, _, fat_size = struct.unpack_from("<HBHBHHBH", data, 11)
    data_start = reserved + fats * fat_size + root_entries * 32 // bytes_per_sector
    first, last = sectors[0] - data_start + 2, sectors[-1] - data_start + 2
    for copy in range(fats):
        struct.pack_into("<H", data, (reserved + copy * fat_size) * bytes_per_sector + 2 * last, first)
    path.write_bytes(bytes(data))
    return path, len(sectors)


@pytest.mark.skipif(not all(shutil.which(t) for t in ("mkfs.fat", "mmd", "mcopy", "fls", "istat")),
                    reason="dosfstools, mtools and The Sleuth Kit are needed")
def test_fat_folder_whose_cluster_chain_loops(tmp_path):
    control = control_bytes("fat loop")
    image, _ = _fat16_with_looping_folder(tmp_path / "fatloop.img", control)
    # Oracle: fls stops at the loop silently and lists each of the 30 names once.
    listing = subprocess.run(["fls", "-r", str(image)], capture_output=True, text=True, timeout=60).stdout
    assert listing.count("a-longer-file-name-") == 30
    evidence = [image]
    if shutil.which("qemu-img"):          # the same volume in a container: dfVFS plus TSK over its bytes
        evidence.append(tmp_path / "fatloop.vmdk")
        run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(image), str(evidence[-1]))
    report, _ = scan_in_subprocess(evidence, tmp_path / "case")
    for item in (path.name for path in evidence):
        assert len(warnings_about(report, f"{item} > /loopdir", "FAT cluster chain of this folder loops",
                                  "links back")) == 1
        names = [f["locator"] for f in report["files"] if f["locator"].startswith(f"{item} > /loopdir/")]
        assert len(names) == len(set(names)) == 30
        assert_control(report, f"{item} > /control.txt", control)
        assert_control(report, f"{item} > /loopdir/a-longer-file-name-29.txt", b"file 29\n")


@needs
def test_split_raw_with_middle_segment_missing(tmp_path):
    control = control_bytes("split gap")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "control.txt").write_bytes(control)
    for number in range(12):
        (staging / f"filler{number:02d}.bin").write_bytes(bytes([number + 1]) * 150_000)
    image = make_ext4(tmp_path / "whole.raw", staging, 4096).read_bytes()
    folder = tmp_path / "split"
    folder.mkdir()
    quarter = len(image) // 4
    for number in range(4):
        (folder / f"disk.{number + 1:03d}").write_bytes(image[number * quarter:(number + 1) * quarter])
    (folder / "disk.002").unlink()
    beside = tmp_path / "beside"
    beside.mkdir()
    (beside / "control.txt").write_bytes(control)
    report, _ = scan_in_subprocess([folder / "disk.001", beside], tmp_path / "case")
    warnings_about(report, "disk.001", "segment disk.002 is missing", "disk.003, disk.004 after it")
    assert_control(report, "beside > /control.txt", control)
    # What the first segment holds is still listed: the file system and its root.
    assert any(f["locator"] == "disk.001 > /control.txt" for f in report["files"])


@needs
def test_deleted_name_of_a_reused_directory_inode_is_not_walked_as_a_link(tmp_path):
    """/aaa deleted, its inode reused by /zzz/newdir: the deleted name comes
    first in the walk but must not take /zzz/newdir's files (fls lists it as
    "(realloc)" and does not descend); no link, no graph, no warning."""
    from traffick_triage.sources.detect import open_source

    staging = tmp_path / "staging"
    (staging / "aaa").mkdir(parents=True)
    (staging / "aaa" / "inner.txt").write_bytes(b"one\n")
    (staging / "zzz").mkdir()
    image = make_ext4(tmp_path / "realloc.img", staging, 2048)
    (tmp_path / "new.txt").write_bytes(b"new\n")
    for command in ("rm /aaa/inner.txt", "rmdir /aaa", "mkdir /zzz/newdir",
                    f"write {tmp_path / 'new.txt'} /zzz/newdir/new.txt"):
        run("debugfs", "-w", "-R", command, str(image))
    listing = text("fls", "-r", "-p", str(image))
    assert "d/d * 12(realloc):\taaa" in listing and "r/r 13:\tzzz/newdir/new.txt" in listing
    source = open_source(str(image))
    try:
        paths = [entry.path for entry in source.entries()]
        warnings = source.take_warnings()
    finally:
        source.close()
    assert "/zzz/newdir/new.txt" in paths and not [p for p in paths if p.startswith("/aaa/")]
    assert warnings == []


def test_chain_followers_end_on_any_bytes():
    """The fuzz target's property (fuzz/fuzz_volume_checks.py) in every test
    run: on arbitrary disk bytes the MBR chain and FAT chain followers end
    without raising."""
    from hypothesis import given, settings, strategies as st

    from traffick_triage.sources import fat_chains, volume_checks

    @settings(max_examples=200, deadline=None)
    @given(st.binary(min_size=0, max_size=8192), st.sampled_from([512, 4096]))
    def check(disk: bytes, block_size: int) -> None:
        def read(offset: int, length: int) -> bytes:
            return disk[offset:offset + length]

        volume_checks.extended_chain_loop(read, block_size)
        layout = fat_chains.layout(read, 0)
        if layout is not None:
            fat_chains.chain_loop(layout, read, 2)

    check()
