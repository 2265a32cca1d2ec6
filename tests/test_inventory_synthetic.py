"""Synthetic evidence built in the test gives exactly the planted inventory."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from evidence_builders import (load_report, make_e01, make_ext4, make_fat32, make_partitioned_disk, make_tar,
                               make_zip, md5, regular_files, scan)



def _photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (40, 120, 200)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


PHOTO = _photo()
FILES = {
    "a.txt": b"hello evidence\n",
    "DCIM/IMG_0001.jpg": PHOTO,
    "docs/ledger.csv": b"date;amount\n2024-05-01;300\n",
    "big.bin": bytes(range(256)) * 2048,
}
DELETED = {"gone.txt": b"deleted but listed\n"}


def _by_path(files: list[dict]) -> dict[str, dict]:
    return {f["path"]: f for f in files}


@pytest.fixture(scope="module")
def ext4_image(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ext4")
    return make_ext4(folder / "disk.raw", {**FILES, **DELETED}, delete=DELETED)


@pytest.fixture(scope="module")
def fat32_image(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fat32")
    return make_fat32(folder / "fat.raw", {**FILES, **DELETED}, delete=DELETED)


def _assert_planted(files: list[dict], deleted_names: set[str], volume: str = "") -> None:
    by_path = _by_path(files)
    for relative, data in FILES.items():
        record = by_path["/" + relative]
        assert (record["size"], record["md5"], record["allocated"]) == (len(data), md5(data), True)
    for name in deleted_names:
        record = by_path["/" + name]
        assert record["allocated"] is False


def test_ext4_with_deleted_file(ext4_image, tmp_path):
    scan([ext4_image], tmp_path / "case")
    files = regular_files(load_report(tmp_path / "case"))
    _assert_planted(files, {"gone.txt"})
    planted = {"/" + p for p in list(FILES) + list(DELETED)}
    assert {f["path"] for f in files} == planted
    jpeg = _by_path(files)["/DCIM/IMG_0001.jpg"]
    assert jpeg["mime"] == "image/jpeg" and jpeg["locator"] == "disk.raw > /DCIM/IMG_0001.jpg"
    assert all(f["times"].get("modified", "").endswith("+00:00") for f in files if f["allocated"])


def test_fat32_with_mdel_deleted_file(fat32_image, tmp_path):
    scan([fat32_image], tmp_path / "case")
    files = regular_files(load_report(tmp_path / "case"))
    by_path = _by_path(files)
    for relative, data in FILES.items():
        upper = by_path.get("/" + relative) or by_path["/" + relative.upper()]
        assert (upper["size"], upper["md5"], upper["allocated"]) == (len(data), md5(data), True)
    deleted = [f for f in files if not f["allocated"]]
    # FAT overwrites the first character of a deleted name: TSK shows "_ONE.TXT".
    assert len(deleted) == 1 and deleted[0]["path"].lower().endswith("one.txt")
    # FAT keeps local time without a zone: never presented as UTC.
    times = by_path["/a.txt"]["times"]
    assert times["timezone"] == "unknown" and "modified" not in times and "modified_local" in times


def test_mbr_disk_with_ext4_and_fat32(ext4_image, fat32_image, tmp_path):
    disk = tmp_path / "mbr.dd"
    make_partitioned_disk(disk, [ext4_image, fat32_image], "dos")
    scan([disk], tmp_path / "case")
    report = load_report(tmp_path / "case")
    volumes = report["evidence"][0]["description"]["volumes"]
    assert [(v["label"], v["file_system"]) for v in volumes] == [("p1", "ext4"), ("p2", "FAT32")]
    assert report["evidence"][0]["description"]["partition_scheme"] == "MBR"
    files = regular_files(report)
    p1 = [f for f in files if f["locator"].startswith("mbr.dd > p1 > ")]
    p2 = [f for f in files if f["locator"].startswith("mbr.dd > p2 > ")]
    _assert_planted(p1, {"gone.txt"})
    assert {f["md5"] for f in p2 if f["allocated"]} >= {md5(d) for d in FILES.values()}


def test_gpt_disk(ext4_image, tmp_path):
    disk = tmp_path / "gpt.dd"
    make_partitioned_disk(disk, [ext4_image, ext4_image], "gpt")
    scan([disk], tmp_path / "case")
    report = load_report(tmp_path / "case")
    assert report["evidence"][0]["description"]["partition_scheme"] == "GPT"
    files = regular_files(report)
    for label in ("p1", "p2"):
        _assert_planted([f for f in files if f["locator"].startswith(f"gpt.dd > {label} > ")], {"gone.txt"})


def test_e01_and_split_e01_verify_stored_hashes(ext4_image, tmp_path):
    single = make_e01(ext4_image, tmp_path / "single")
    split_dir = tmp_path / "split"
    split_dir.mkdir()
    split = make_e01(ext4_image, split_dir / "laptop", segment_bytes=1 << 20, compression="none")
    assert len(list(split_dir.glob("laptop.E0*"))) >= 3, "ewfacquire should have split the image"
    scan([single, split], tmp_path / "case", expect_exit=0)
    report = load_report(tmp_path / "case")
    raw_md5 = md5(ext4_image.read_bytes())
    for item in report["evidence"]:
        assert item["verification"] == "verified"
        assert item["stored_hashes"]["md5"] == raw_md5 == item["hashes"]["md5"]
        assert item["description"]["acquisition_headers"]["examiner_name"] == "Test Examiner"
    for evidence_id, name in (("E1", "single.E01"), ("E2", "laptop.E01")):
        files = regular_files(report, evidence_id)
        assert all(f["locator"].startswith(name + " > /") for f in files)
        _assert_planted(files, {"gone.txt"})


def test_e01_with_corrupted_media_is_a_loud_mismatch(ext4_image, tmp_path):
    e01 = make_e01(ext4_image, tmp_path / "bad", compression="none")
    data = bytearray(e01.read_bytes())
    position = data.find(b"hello evidence")
    assert position > 0
    data[position] ^= 0xFF
    e01.write_bytes(bytes(data))
    result = scan([e01], tmp_path / "case", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert report["evidence"][0]["verification"] == "MISMATCH"
    assert any("MISMATCH" in w["message"] for w in report["warnings"])
    assert "MISMATCH" in result.output


def test_no_media_hash_leaves_an_e01_not_checked_but_still_hashes_its_files_and_segments(ext4_image, tmp_path):
    intact = make_e01(ext4_image, tmp_path / "intact")
    damaged = make_e01(ext4_image, tmp_path / "damaged", compression="none")
    data = bytearray(damaged.read_bytes())
    data[data.find(b"hello evidence")] ^= 0xFF
    damaged.write_bytes(bytes(data))
    raw = tmp_path / "disk.raw"
    shutil.copyfile(ext4_image, raw)
    scan([intact, damaged, raw], tmp_path / "case", "--no-media-hash", expect_exit=0)
    report = load_report(tmp_path / "case")
    e01s, raw_item = report["evidence"][:2], report["evidence"][2]
    for item in e01s:
        # The media was not read to its end: nothing to compare the stored hashes with.
        assert item["verification"] == "not checked"
        assert item["hashes"] == {}
        assert item["stored_hashes"]["md5"] == md5(ext4_image.read_bytes())
    _assert_planted(regular_files(report, "E1"), {"gone.txt"})
    # A raw image's hash comes with the read of its file on the host: still taken.
    assert raw_item["hashes"]["md5"] == md5(ext4_image.read_bytes()) and raw_item["verification"] is None
    manifest = (tmp_path / "case" / "evidence.hashdeep").read_text()
    for path in (intact, damaged, raw):
        assert f"{md5(path.read_bytes())}," in manifest and str(path) in manifest
    assert report["options"]["media_hash"] is False
    jsonschema.validate(report, json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text()))
    html = (tmp_path / "case" / "report.html").read_text()
    assert "its acquisition hash was not checked" in html
    # The same damaged image without the option: the check runs and says so.
    scan([damaged], tmp_path / "checked", expect_exit=1)
    assert load_report(tmp_path / "checked")["evidence"][0]["verification"] == "MISMATCH"
    # A case folder holds one scan: the other setting is another scan.
    refused = scan([intact, damaged, raw], tmp_path / "case")
    assert refused.exit_code == 2 and "already holds a scan" in refused.output


def test_e01_with_missing_segment_is_a_warning_not_a_crash(ext4_image, tmp_path):
    split = make_e01(ext4_image, tmp_path / "set", segment_bytes=1 << 20, compression="none")
    (tmp_path / "set.E02").unlink()
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_bytes(b"still scanned")
    scan([split, other], tmp_path / "case", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert any(w["evidence_id"] == "E1" for w in report["warnings"])
    assert [f["md5"] for f in regular_files(report, "E2")] == [md5(b"still scanned")]


def test_split_raw_image(ext4_image, tmp_path):
    data = ext4_image.read_bytes()
    third = len(data) // 3
    for index, chunk in enumerate((data[:third], data[third:2 * third], data[2 * third:]), start=1):
        (tmp_path / f"image.{index:03d}").write_bytes(chunk)
    scan([tmp_path / "image.001"], tmp_path / "case")
    report = load_report(tmp_path / "case")
    assert report["evidence"][0]["kind"] == "split-raw"
    assert report["evidence"][0]["hashes"]["md5"] == md5(data)
    _assert_planted(regular_files(report), {"gone.txt"})


def test_zip_and_tar_exports_with_traversal_names(tmp_path):
    members = {"sdcard/DCIM/1.jpg": PHOTO, "../../etc/evil.txt": b"escape", "/abs/path.txt": b"absolute",
               "data/data/com.example/notes.txt": b"notes"}
    phone_zip = make_zip(tmp_path / "phone.zip", members)
    phone_tar = make_tar(tmp_path / "phone.tar.gz", members)
    disguised = tmp_path / "export.bin"          # detected by content, not by name
    shutil.copy(phone_zip, disguised)
    scan([phone_zip, phone_tar, disguised], tmp_path / "case", expect_exit=1)
    report = load_report(tmp_path / "case")
    assert [e["kind"] for e in report["evidence"]] == ["zip", "tar", "zip"]
    for evidence_id, name in (("E1", "phone.zip"), ("E2", "phone.tar.gz")):
        files = {f["path"]: f for f in regular_files(report, evidence_id)}
        assert {p: f["md5"] for p, f in files.items()} == {p: md5(d) for p, d in members.items()}
        assert files["sdcard/DCIM/1.jpg"]["locator"] == f"{name} > sdcard/DCIM/1.jpg"
        flagged = {w["locator"] for w in report["warnings"] if w["evidence_id"] == evidence_id}
        assert flagged == {f"{name} > ../../etc/evil.txt", f"{name} > /abs/path.txt"}
    # Nothing was extracted anywhere near the evidence.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "export.bin", "phone.tar.gz", "phone.zip"]
    assert not (tmp_path.parent / "etc" / "evil.txt").exists()


def test_folder_records_symlinks_without_following_them(tmp_path):
    evidence = tmp_path / "evidence"
    (evidence / "sub").mkdir(parents=True)
    (evidence / "sub" / "photo.dll").write_bytes(PHOTO)          # a JPEG hiding as a DLL
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not evidence")
    os.symlink(outside, evidence / "link-out")
    os.symlink("sub", evidence / "loop")
    scan([evidence], tmp_path / "case", expect_exit=0)
    report = load_report(tmp_path / "case")
    entries = {f["path"]: f for f in report["files"]}
    assert entries["/link-out"]["kind"] == "symlink" and entries["/link-out"]["link_target"] == str(outside)
    assert entries["/loop"]["kind"] == "symlink"
    assert [f["path"] for f in regular_files(report)] == ["/sub/photo.dll"]
    assert entries["/sub/photo.dll"]["extension_mismatch"] is True
    assert md5(b"not evidence") not in {f["md5"] for f in report["files"]}


def test_output_inside_evidence_is_refused(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_bytes(b"x")
    result = scan([evidence], evidence / "case", expect_exit=2)
    assert "inside the evidence folder" in result.output
    assert not (evidence / "case").exists()
