"""Hostile evidence: the scan keeps working, loses nothing, lets nothing out.

Every hostile item is generated here, in the test, from benign synthetic
bytes (zeros, repeated text, tiny solid-colour pictures): nothing harmful is
committed. Each case goes through ``evidence_builders.scan()`` (which proves
the evidence is unchanged) and checks the same four things:

* the scan finishes, with exit code 1 (finished with warnings);
* the hostile item is named in a warning that says why;
* a benign control file beside it is fully processed (its hashes are right);
* memory and time stay within the bounds documented in docs/security.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from evidence_builders import (SECTOR, load_report, make_e01, make_ext4, make_partitioned_disk, run, scan)

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)   # the interpreter running the tests, as make test's .venv


# -- helpers -------------------------------------------------------------------------------------


def control_bytes(tag: str) -> bytes:
    return f"benign control file beside {tag}\n".encode() * 7


def assert_control(report: dict, locator: str, data: bytes) -> None:
    """The control file was fully processed: its three hashes are right."""
    rows = [f for f in report["files"] if f["locator"] == locator]
    assert rows, f"control {locator!r} missing; have {[f['locator'] for f in report['files']]}"
    row = rows[0]
    assert (row["size"], row["md5"], row["sha1"], row["sha256"]) == (
        len(data), hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest())


def warnings_about(report: dict, locator_part: str, *reason_words: str) -> list[dict]:
    """Warnings whose locator names the item and whose message holds every reason word."""
    found = [w for w in report["warnings"]
             if locator_part in (w.get("locator") or "")
             and all(word.lower() in w["message"].lower() for word in reason_words)]
    assert found, (f"no warning naming {locator_part!r} with {reason_words}; warnings: "
                   + json.dumps(report["warnings"], indent=1, ensure_ascii=True))
    return found


def hostile_scan(evidence: list[Path], case: Path, *options: str) -> dict:
    started = time.monotonic()
    result = scan(evidence, case, "--workers", "2", *options)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert elapsed < 60, f"scan took {elapsed:.0f} s"
    return load_report(case)


def jpeg(colour=(40, 120, 200), size=(32, 24)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# -- archives ------------------------------------------------------------------------------------


def _zip_symlink(archive: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    archive.writestr(info, target)


def test_zip_traversal_absolute_and_symlink_members(tmp_path):
    path = tmp_path / "export.zip"
    control = control_bytes("zip names")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../escape.txt", b"traversal\n")
        archive.writestr("/etc/absolute.txt", b"absolute\n")
        archive.writestr("C:\\Windows\\drive.txt", b"drive letter\n")
        _zip_symlink(archive, "sdcard/link-out", "../../../../etc/passwd")
        _zip_symlink(archive, "sdcard/link-abs", "/etc/shadow")
        archive.writestr("sdcard/control.txt", control)
    report = hostile_scan([path], tmp_path / "case")
    warnings_about(report, "export.zip > ../../escape.txt", "traversal")
    warnings_about(report, "export.zip > /etc/absolute.txt", "absolute")
    warnings_about(report, "export.zip > C:\\\\Windows", "absolute")
    for name, target in (("sdcard/link-out", "../../../../etc/passwd"), ("sdcard/link-abs", "/etc/shadow")):
        row = next(f for f in report["files"] if f["locator"] == f"export.zip > {name}")
        assert (row["kind"], row["link_target"]) == ("symlink", target)
        warnings_about(report, f"export.zip > {name}", "symlink")
    assert_control(report, "export.zip > sdcard/control.txt", control)
    # The traversal members are inventoried (hashed) in place: nothing was written outside.
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_deep_and_wide(tmp_path):
    """Wide: 40 members of 4 MiB of zeros each (about 4 KiB compressed each,
    ~1000:1); the member limit is lowered to 1 MiB through --max-member-bytes,
    so none is expanded. Deep: a zip in a zip in a zip... is inventoried as
    the bytes it is: archives inside evidence are never opened recursively, so
    depth costs nothing. Lying: a member whose headers declare 1000 bytes but
    whose data inflates to 4 MiB stops at the declared size with a warning."""
    zeros = bytes(4 << 20)
    deep = _zip_bytes({"zeros.bin": zeros})
    for level in range(6):
        deep = _zip_bytes({f"level{level}.zip": deep, f"level{level}-copy.zip": deep})
    control = control_bytes("bombs")
    path = tmp_path / "bombs.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for number in range(40):
            archive.writestr(f"wide/{number:02d}.bin", zeros)
        archive.writestr("deep/nested.zip", deep)
        archive.writestr("lying.bin", zeros)
        archive.writestr("control.txt", control)
    assert path.stat().st_size < 1 << 20
    _patch_declared_size(path, "lying.bin", 1000)
    report = hostile_scan([path], tmp_path / "case", "--max-member-bytes", str(1 << 20))
    for number in range(40):
        warnings_about(report, f"bombs.zip > wide/{number:02d}.bin", "over the member limit")
        row = next(f for f in report["files"] if f["locator"] == f"bombs.zip > wide/{number:02d}.bin")
        assert row["md5"] is None
    nested = next(f for f in report["files"] if f["locator"] == "bombs.zip > deep/nested.zip")
    assert nested["sha256"] == hashlib.sha256(deep).hexdigest()
    warnings_about(report, "bombs.zip > lying.bin", "limit")
    assert_control(report, "bombs.zip > control.txt", control)


def _patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make a member lie: its local and central headers declare ``size``."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    struct.pack_into("<I", data, local + 22, size)           # local header: uncompressed size
    central = data.find(b"PK\x01\x02" + data[local + 4: local + 6])
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46: central + 46 + name_length] == encoded:
            struct.pack_into("<I", data, central + 24, size)  # central header: uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_zip_with_corrupt_member_data(tmp_path):
    """A member whose compressed bytes are damaged (CRC or inflate error)."""
    control = control_bytes("corrupt member")
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("broken.txt", os.urandom(64) * 400)
        archive.writestr("control.txt", control)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("broken.txt")
    start = info.header_offset + 30 + len("broken.txt")
    for offset in range(start + 10, start + 60):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    report = hostile_scan([path], tmp_path / "case")
    warnings_about(report, "damaged.zip > broken.txt", "not readable")
    assert_control(report, "damaged.zip > control.txt", control)


def test_tar_with_devices_hard_links_and_traversal(tmp_path):
    control = control_bytes("tar")
    path = tmp_path / "fs.tar"
    with tarfile.open(path, "w") as archive:
        def add(name: str, kind: bytes, data: bytes = b"", **fields) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mtime = kind, len(data), 1714564800
            for key, value in fields.items():
                setattr(info, key, value)
            archive.addfile(info, io.BytesIO(data) if data else None)

        add("data/control.txt", tarfile.REGTYPE, control)
        add("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
        add("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("dev/pipe", tarfile.FIFOTYPE)
        add("data/hard-ok", tarfile.LNKTYPE, linkname="data/control.txt")
        add("data/hard-out", tarfile.LNKTYPE, linkname="../../etc/shadow")
        add("data/hard-missing", tarfile.LNKTYPE, linkname="data/never-there")
        add("data/sym-out", tarfile.SYMTYPE, linkname="/etc/passwd")
        add("../outside.txt", tarfile.REGTYPE, b"outside\n")
    report = hostile_scan([path], tmp_path / "case")
    for device in ("dev/sda", "dev/null", "dev/pipe"):
        warnings_about(report, f"fs.tar > {device}", "not read")
    warnings_about(report, "fs.tar > data/hard-out", "link")
    warnings_about(report, "fs.tar > data/sym-out", "symlink")
    warnings_about(report, "fs.tar > ../outside.txt", "traversal")
    hard = next(f for f in report["files"] if f["locator"] == "fs.tar > data/hard-ok")
    assert hard["link_target"] == "data/control.txt"
    assert_control(report, "fs.tar > data/control.txt", control)


# -- folders -------------------------------------------------------------------------------------


def test_folder_symlink_loops_fifo_and_unreadable_file(tmp_path, monkeypatch):
    """Tests run as root, where chmod 000 does not stop a read; the unreadable
    file is made unreadable by design: opening it fails (EACCES) in the
    scanning process and its forked workers, as it would for a non-root
    examiner (the scan's read-only open is replaced by one that refuses
    it). The FIFO is real: opening it would block forever."""
    folder = tmp_path / "usb"
    (folder / "loop").mkdir(parents=True)
    os.symlink(".", folder / "loop" / "self")
    os.symlink("b", folder / "a")
    os.symlink("a", folder / "b")
    os.symlink(str(folder), folder / "loop" / "root")
    os.mkfifo(folder / "pipe")
    (folder / "locked.bin").write_bytes(b"cannot be read\n")
    control = control_bytes("folder")
    (folder / "control.txt").write_bytes(control)
    from traffick_triage.sources import directory

    real_open = directory.open_readonly

    def refusing_open(path):
        if os.fsencode(path).endswith(b"locked.bin"):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path)

    monkeypatch.setattr(directory, "open_readonly", refusing_open)
    report = hostile_scan([folder], tmp_path / "case")
    monkeypatch.undo()
    warnings_about(report, "usb > /locked.bin", "not readable", "permission denied")
    warnings_about(report, "usb > /pipe", "not read")
    links = {f["locator"]: f["link_target"] for f in report["files"] if f["kind"] == "symlink"}
    assert links == {"usb > /a": "b", "usb > /b": "a", "usb > /loop/self": ".", "usb > /loop/root": str(folder)}
    assert_control(report, "usb > /control.txt", control)


HOSTILE_NAMES = {
    b"bad-utf8-\xff\xfe.txt": "bad-utf8-\\xff\\xfe.txt",
    b"bell-\x07-escape-\x1b[31m.txt": "bell-\\x07-escape-\\x1b[31m.txt",
    b"two\nlines.txt": "two\\x0alines.txt",
    "holiday-\u202egpj.exe".encode(): "holiday-\\u202egpj.exe",
}


def test_hostile_file_names_are_escaped_and_flagged(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    for raw in HOSTILE_NAMES:
        with open(os.path.join(os.fsencode(folder), raw), "wb") as stream:
            stream.write(b"innocent bytes\n")
    os.symlink(b"target-\xff\x1b", os.path.join(os.fsencode(folder), b"link-\xfe"))
    control = control_bytes("names")
    (folder / "control.txt").write_bytes(control)
    report = hostile_scan([folder], tmp_path / "case")
    for shown in HOSTILE_NAMES.values():
        locator = f"names > /{shown}"
        row = next(f for f in report["files"] if f["locator"] == locator)
        assert row["suspicious_name"] is True and row["name"] == shown
        warnings_about(report, locator, "control, bidirectional or undecodable")
    link = next(f for f in report["files"] if f["locator"] == "names > /link-\\xfe")
    assert link["link_target"] == "target-\\xff\\x1b"
    raw = (tmp_path / "case" / "report.json").read_bytes()
    for forbidden in ("\u202e".encode(), b"\x07", b"\x1b", b"\xff", b"two\nlines"):
        assert forbidden not in raw
    assert_control(report, "names > /control.txt", control)


# -- pictures ------------------------------------------------------------------------------------


def _jpeg_with_declared_size(width: int, height: int) -> bytes:
    """A valid tiny JPEG whose SOF0 header claims width x height."""
    data = bytearray(jpeg())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _exif_loop_jpeg() -> bytes:
    """JPEG with an APP1 Exif block whose IFD0 points to itself as the next
    IFD and as its Exif sub-IFD, with an entry declaring 2**32-1 values."""
    ifd_offset = 8
    entries = [
        (0x010F, 2, 0xFFFFFFFF, 0x1000),      # Make: ASCII, absurd count, offset past the end
        (0x8769, 4, 1, ifd_offset),           # ExifIFD pointer -> IFD0 itself
        (0x8825, 4, 1, ifd_offset),           # GPS IFD pointer -> IFD0 itself
    ]
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHII", tag, kind, count, value)
    body += struct.pack("<I", ifd_offset)     # next IFD -> IFD0 again
    tiff = b"II*\x00" + struct.pack("<I", ifd_offset) + body
    app1 = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    plain = jpeg()
    return plain[:2] + segment + plain[2:]


def test_jpeg_bomb_truncated_jpeg_and_exif_loops(tmp_path):
    folder = tmp_path / "DCIM"
    folder.mkdir()
    (folder / "bomb.jpg").write_bytes(_jpeg_with_declared_size(65000, 65000))
    whole = jpeg(size=(640, 480))
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "exif-loop.jpg").write_bytes(_exif_loop_jpeg())
    control = jpeg((200, 40, 40))
    (folder / "control.jpg").write_bytes(control)
    started = time.monotonic()
    report = hostile_scan([folder], tmp_path / "case")
    assert time.monotonic() - started < 30
    warnings_about(report, "DCIM > /bomb.jpg", "pixels")
    warnings_about(report, "DCIM > /truncated.jpg", "truncated")
    warnings_about(report, "DCIM > /exif-loop.jpg")
    assert_control(report, "DCIM > /control.jpg", control)
    perceptual = [f for f in report["findings"] if f["locator"] == "DCIM > /control.jpg"
                  and f["plugin"] == "perceptual"]
    assert perceptual, "the control picture got no perceptual hashes"


# -- disk images ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ext4_raw(tmp_path_factory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("ext4")
    control = control_bytes("disk image")
    filler = {f"filler/{n:03d}.bin": bytes([n]) * 20000 for n in range(60)}
    image = make_ext4(folder / "disk.raw", {"control.txt": control, **filler}, size_kib=8192)
    return image, control


def control_folder(tmp_path: Path, tag: str) -> tuple[Path, bytes]:
    folder = tmp_path / "beside"
    folder.mkdir(exist_ok=True)
    control = control_bytes(tag)
    (folder / "control.txt").write_bytes(control)
    return folder, control


def test_truncated_raw_image(tmp_path, ext4_raw):
    image, _ = ext4_raw
    cut = tmp_path / "cut.raw"
    cut.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    beside, control = control_folder(tmp_path, "truncated image")
    report = hostile_scan([cut, beside], tmp_path / "case")
    warnings_about(report, "cut.raw", "truncated image")
    assert_control(report, "beside > /control.txt", control)


def test_e01_with_corrupt_chunk_and_e01_with_missing_segment(tmp_path, ext4_raw):
    image, inner_control = ext4_raw
    corrupt_dir, split_dir = tmp_path / "corrupt", tmp_path / "split"
    corrupt_dir.mkdir(), split_dir.mkdir()
    corrupt = make_e01(image, corrupt_dir / "laptop", compression="none")
    data = bytearray(corrupt.read_bytes())
    chunk = data.find(bytes([30]) * 100)      # inside filler/030.bin's stored chunk
    assert chunk > 0
    data[chunk: chunk + 4096] = bytes(b ^ 0xFF for b in data[chunk: chunk + 4096])
    corrupt.write_bytes(bytes(data))
    split = make_e01(image, split_dir / "phone", segment_bytes=1 << 20, compression="none")
    segments = sorted(split_dir.glob("phone.E*"))
    assert len(segments) >= 3
    segments[1].unlink()
    beside, control = control_folder(tmp_path, "e01")
    report = hostile_scan([corrupt, split, beside], tmp_path / "case")
    warnings_about(report, "phone.E01", "segment", "missing")
    # libewf does not fail the read of a chunk whose checksum is wrong (pyewf
    # exposes no checksum-error list): the damage shows as a MISMATCH of the
    # acquisition hash stored in the E01, on the evidence item.
    warnings_about(report, "laptop.E01", "MISMATCH")
    assert_control(report, "laptop.E01 > /control.txt", inner_control)
    assert_control(report, "beside > /control.txt", control)


def _write_mbr(path: Path, partitions: list[tuple[int, int]]) -> None:
    with open(path, "r+b") as disk:
        table = bytearray(64)
        for index, (start, count) in enumerate(partitions):
            struct.pack_into("<B3sB3sII", table, index * 16, 0, b"\x00\x02\x00", 0x83, b"\xff\xff\xff",
                             start, count)
        disk.seek(446)
        disk.write(bytes(table) + b"\x55\xaa")


def test_mbr_with_overlapping_partitions(tmp_path, ext4_raw):
    image, inner_control = ext4_raw
    disk = tmp_path / "overlap.raw"
    make_partitioned_disk(disk, [image])
    sectors = image.stat().st_size // SECTOR
    # p1 and p2 both start inside the same file system; p2 overlaps p1's second half.
    _write_mbr(disk, [(2048, sectors), (2048 + sectors // 2, sectors)])
    beside, control = control_folder(tmp_path, "mbr")
    report = hostile_scan([disk, beside], tmp_path / "case")
    warnings_about(report, "overlap.raw", "overlap")
    assert_control(report, "overlap.raw > p1 > /control.txt", inner_control)
    assert_control(report, "beside > /control.txt", control)


def test_gpt_with_bad_header_crc(tmp_path, ext4_raw):
    image, inner_control = ext4_raw
    disk = tmp_path / "badcrc.raw"
    make_partitioned_disk(disk, [image], label="gpt")
    with open(disk, "r+b") as stream:
        stream.seek(SECTOR + 16)            # primary GPT header: HeaderCRC32
        crc = stream.read(4)
        stream.seek(SECTOR + 16)
        stream.write(bytes(b ^ 0xFF for b in crc))
    beside, control = control_folder(tmp_path, "gpt")
    report = hostile_scan([disk, beside], tmp_path / "case")
    warnings_about(report, "badcrc.raw", "crc")
    assert_control(report, "beside > /control.txt", control)


def _ntfs_with_cyclic_directory(path: Path, control: bytes) -> Path:
    """mkntfs, ntfscp a control file in, then rename the root's own "." index
    entry (MFT 5 -> MFT 5) to "x": the root now lists a directory "x" that is
    the root itself, a cycle no tool may follow for ever."""
    with open(path, "wb") as stream:
        stream.truncate(8 << 20)
    run("mkntfs", "-q", "-F", "-f", "-s", "512", "-c", "4096", str(path))
    source = path.with_name("control.txt")
    source.write_bytes(control)
    run("ntfscp", str(path), str(source), "control.txt")
    data = bytearray(path.read_bytes())
    root_ref = b"\x05\x00\x00\x00\x00\x00\x05\x00"       # MFT record 5, sequence 5
    hits, position = [], data.find(root_ref)
    while position >= 0:
        # index entry: file ref, 8 bytes of lengths/flags, then $FILE_NAME with
        # the parent ref, 64 bytes of times/sizes/flags, name length, namespace, name
        if data[position + 16: position + 24] == root_ref and data[position + 80] == 1 \
                and data[position + 82: position + 84] == b".\x00":
            hits.append(position + 82)
        position = data.find(root_ref, position + 1)
    assert len(hits) == 1 and hits[0] % 512 < 510, hits     # not a fix-up position
    data[hits[0]] = ord("x")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.skipif(not shutil.which("mkntfs") or not shutil.which("ntfscp"), reason="ntfs-3g not installed")
def test_ntfs_with_cyclic_directory(tmp_path):
    control = control_bytes("ntfs")
    image = _ntfs_with_cyclic_directory(tmp_path / "loop.img", control)
    listing = subprocess.run(["fls", "-r", str(image)], capture_output=True, text=True).stdout
    assert "d/d 5-144-3:\tx" in listing           # TSK itself sees the cycle
    started = time.monotonic()
    report = hostile_scan([image], tmp_path / "case")
    assert time.monotonic() - started < 30
    warnings_about(report, "loop.img > /x", "directory loop")
    assert_control(report, "loop.img > /control.txt", control)
    assert not [f for f in report["files"] if f["locator"].startswith("loop.img > /x/")]


# -- phone databases -----------------------------------------------------------------------------


def test_sqlite_with_corrupt_page_given_to_phone_plugin(tmp_path):
    folder = tmp_path / "phone" / "data" / "com.android.providers.telephony" / "databases"
    folder.mkdir(parents=True)
    database = folder / "mmssms.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, date INTEGER, "
                   "read INTEGER, type INTEGER, body TEXT)")
        db.executemany("INSERT INTO sms VALUES (?, 1, '+96550000000', ?, 1, 1, ?)",
                       [(n, 1714564800000 + n, f"synthetic message {n} " * 20) for n in range(1, 400)])
    db.close()
    data = bytearray(database.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page: 4 * page] = (b"\xde\xad\xbe\xef" * (page // 4))
    database.write_bytes(bytes(data))
    control = control_bytes("sqlite")
    (folder / "control.txt").write_bytes(control)
    empty = folder.parent.parent / "com.whatsapp" / "databases"
    empty.mkdir(parents=True)
    (empty / "msgstore.db").write_bytes(b"")
    report = hostile_scan([tmp_path / "phone"], tmp_path / "case")
    prefix = "phone > /data/com.android.providers.telephony/databases/"
    found = warnings_about(report, prefix + "mmssms.db", "android_mmssms")
    assert any("malformed" in w["message"] or "corrupt" in w["message"] or "not a database" in w["message"]
               for w in found), found
    warnings_about(report, "phone > /data/com.whatsapp/databases/msgstore.db", "whatsapp")
    assert_control(report, prefix + "control.txt", control)


def test_zero_byte_files(tmp_path):
    """A 0-byte evidence item cannot be opened (warned); a 0-byte file inside
    a folder is an ordinary, fully hashed file (the hashes of nothing)."""
    empty_item = tmp_path / "empty.E01"
    empty_item.write_bytes(b"")
    folder, control = control_folder(tmp_path, "zero bytes")
    (folder / "empty.txt").write_bytes(b"")
    report = hostile_scan([empty_item, folder], tmp_path / "case")
    warnings_about(report, "empty.E01", "empty", "0 bytes")
    assert_control(report, "beside > /empty.txt", b"")
    assert_control(report, "beside > /control.txt", control)


# -- a huge sparse file, hashed in bounded memory ------------------------------------------------

RSS_LIMIT = 400 << 20      # documented in docs/security.md


def _scan_in_subprocess_measuring_rss(evidence: list[Path], case: Path) -> tuple[int, int, float]:
    """Run evidence_builders.scan() in a fresh interpreter; return (exit code,
    peak RSS in bytes of the scan process or any of its workers, seconds).
    The interpreter's own peak is its VmHWM: getrusage's survives exec, and
    would be this test runner's peak (hundreds of MiB late in the suite)."""
    code = (
        "import resource, sys, time; sys.path.insert(0, sys.argv[1]);"
        "from evidence_builders import scan; from pathlib import Path;"
        "t = time.monotonic();"
        "r = scan([Path(p) for p in sys.argv[3:]], Path(sys.argv[2]), '--workers', '2');"
        "t = time.monotonic() - t;"
        "own = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'));"
        "peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "print(r.exit_code, peak * 1024, t)"
    )
    done = subprocess.run([str(PYTHON), "-c", code, str(REPO / "tests"), str(case), *map(str, evidence)],
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    exit_code, peak, seconds = done.stdout.split()[-3:]
    return int(exit_code), int(peak), float(seconds)


def _sparse_case(tmp_path: Path, size: int) -> None:
    folder = tmp_path / "sparse"
    folder.mkdir()
    with open(folder / "huge.img", "wb") as stream:
        stream.truncate(size)
    control = control_bytes("sparse")
    (folder / "control.txt").write_bytes(control)
    os.mkfifo(folder / "pipe")
    exit_code, peak, seconds = _scan_in_subprocess_measuring_rss([folder], tmp_path / "case")
    report = load_report(tmp_path / "case")
    huge = next(f for f in report["files"] if f["locator"] == "sparse > /huge.img")
    zeros = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        zeros.update(block)
    assert (huge["size"], huge["sha256"]) == (size, zeros.hexdigest())
    assert_control(report, "sparse > /control.txt", control)
    assert exit_code == 1          # the FIFO beside it is warned about
    print(f"sparse {size >> 20} MiB: peak RSS {peak >> 20} MiB, {seconds:.1f} s")
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB for a {size >> 30} GiB file"


def test_sparse_2gib_file_hashed_in_bounded_memory(tmp_path):
    _sparse_case(tmp_path, 2 << 30)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TRIAGE_SLOW"), reason="20 GiB of hashing (minutes): set TRIAGE_SLOW=1")
def test_sparse_20gib_file_hashed_in_bounded_memory(tmp_path):
    _sparse_case(tmp_path, 20 << 30)


def test_walk_that_breaks_midway_keeps_every_entry_found(tmp_path, monkeypatch):
    """A source that fails part-way (a corrupt directory deep in an image):
    the entries already walked but not yet sent to a worker are kept too."""
    from traffick_triage.sources.directory import DirectorySource

    folder = tmp_path / "walk"
    folder.mkdir()
    planted = {f"{n:02d}.txt": control_bytes(f"walk {n}") for n in range(5)}
    for name, data in planted.items():
        (folder / name).write_bytes(data)
    original = DirectorySource.entries

    def breaking_entries(self):
        for count, entry in enumerate(original(self)):
            if count == len(planted):
                raise OSError("synthetic corrupt directory")
            yield entry
        raise OSError("synthetic corrupt directory")

    monkeypatch.setattr(DirectorySource, "entries", breaking_entries)
    report = hostile_scan([folder], tmp_path / "case")
    warnings_about(report, "walk", "walk stopped early", "synthetic corrupt directory")
    for name, data in planted.items():
        assert_control(report, f"walk > /{name}", data)


def test_folder_walk_leaves_folder_access_times_alone(tmp_path):
    """Listing a folder by path updates its atime on a relatime mount (the
    first read after a change); the walk lists through an O_NOATIME
    descriptor, so the evidence's folder times stay as seized and a second
    scan records the same times as the first."""
    from traffick_triage.sources.directory import DirectorySource

    folder = tmp_path / "seized"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "sub" / "deeper" / "note.txt").write_bytes(b"x\n")
    for directory in (folder, folder / "sub", folder / "sub" / "deeper"):
        info = directory.stat()
        os.utime(directory, ns=(info.st_mtime_ns - 10**9, info.st_mtime_ns))   # atime before mtime
    before = {p: p.stat().st_atime_ns for p in (folder, folder / "sub", folder / "sub" / "deeper")}
    source = DirectorySource(str(folder), "seized")
    assert [e.path for e in source.entries()] == ["/sub", "/sub/deeper", "/sub/deeper/note.txt"]
    assert {p: p.stat().st_atime_ns for p in before} == before
