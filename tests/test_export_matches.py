"""Matched files leave the evidence only on request, only into one clearly
named folder inside the case, and only as verified copies."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

from evidence_builders import load_report, scan
from traffick_triage.export_matches import DEFAULT_DIR_NAME, ExportError, export_matches
from traffick_triage.store import CaseStore

PLANTED = b"benign synthetic bytes standing in for a known file\n" * 50
PLANTED_IN_ZIP = b"another benign synthetic known file, inside an archive\n" * 30


def _case(tmp_path):
    folder = tmp_path / "usb"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "known.bin").write_bytes(PLANTED)
    (folder / "holiday-\u202egpj.exe").write_bytes(PLANTED)          # hostile name, same bytes
    (folder / "other.txt").write_bytes(b"not in any hash set\n")
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("sdcard/../../known-in-zip.dat", PLANTED_IN_ZIP)
        handle.writestr("sdcard/plain.txt", b"nothing to see\n")
    hashset = tmp_path / "known.txt"
    hashset.write_text(hashlib.md5(PLANTED).hexdigest() + "\n" + hashlib.md5(PLANTED_IN_ZIP).hexdigest() + "\n")
    case = tmp_path / "case"
    scan([folder, archive], case, "--hashset", str(hashset), "--no-plugins")
    return folder, archive, case


def test_export_copies_exactly_the_matched_files_verified(tmp_path):
    folder, archive, case = _case(tmp_path)
    report = load_report(case)
    assert report["summary"]["known_bad_files"] == 3
    assert not (case / DEFAULT_DIR_NAME).exists()        # a scan alone copies nothing out
    store = CaseStore(case, readonly=True)
    try:
        out = export_matches(store, case)
    finally:
        store.close()
    assert out == case / DEFAULT_DIR_NAME
    copies = sorted(p.name for p in out.iterdir() if p.name != "hashes.txt")
    assert len(copies) == 3 and all(name[:4].isdigit() and name[4] == "-" for name in copies)
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    for name in copies:
        assert "\u202e" not in name and "/" not in name and not name.startswith(".")
    lines = [line for line in (out / "hashes.txt").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    by_locator = {}
    for line in lines:
        sha256, md5, name, locator = line.split("  ", 3)
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256 and hashlib.md5(data).hexdigest() == md5
        by_locator[locator] = data
    assert by_locator == {
        "usb > /holiday-\\u202egpj.exe": PLANTED,
        "usb > /sub/known.bin": PLANTED,
        "phone.zip > sdcard/../../known-in-zip.dat": PLANTED_IN_ZIP,
    }
    # Nothing was written outside the case folder by the traversal name.
    assert not (tmp_path / "known-in-zip.dat").exists()
    # Exporting again gives the same folder (idempotent).
    store = CaseStore(case, readonly=True)
    try:
        again = export_matches(store, case)
    finally:
        store.close()
    assert sorted(p.name for p in again.iterdir() if p.name != "hashes.txt") == copies


def test_export_refuses_a_copy_that_does_not_match_the_inventory(tmp_path):
    folder, archive, case = _case(tmp_path)
    target = folder / "sub" / "known.bin"
    target.write_bytes(b"changed after the scan\n")              # the evidence no longer matches
    store = CaseStore(case, readonly=True)
    try:
        with pytest.raises(ExportError) as caught:
            export_matches(store, case)
    finally:
        store.close()
    assert "usb > /sub/known.bin" in str(caught.value) and "differs from the inventory" in str(caught.value)
    out = case / DEFAULT_DIR_NAME
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and "hashes.txt" in names             # the two good copies and the list
    assert "known.bin" not in (out / "hashes.txt").read_text(encoding="utf-8")
    assert not [name for name in names if name.endswith(".partial")]


def test_export_folder_name_cannot_leave_the_case(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    for bad in ("../outside", "a/b", "..", ""):
        with pytest.raises(ValueError):
            export_matches(None, case, bad)
    assert os.listdir(case) == []


def test_scan_option_export_matches_only_when_asked(tmp_path):
    """`triage scan --export-matches`: the copies appear only with the option,
    and the manifest covers them."""
    from evidence_builders import scan as scan_cli

    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "known.bin").write_bytes(b"benign stand-in for a known file")
    (folder / "other.bin").write_bytes(b"not listed")
    listed = tmp_path / "known.txt"
    import hashlib as _hashlib

    listed.write_text(_hashlib.sha256(b"benign stand-in for a known file").hexdigest() + " stand-in\n")
    scan_cli([folder], tmp_path / "plain", "--hashset", f"sha256:{listed}", "--no-plugins", expect_exit=0)
    assert not list((tmp_path / "plain").glob("EXPORTED*"))
    scan_cli([folder], tmp_path / "exported", "--hashset", f"sha256:{listed}", "--no-plugins", "--export-matches",
             expect_exit=0)
    [exported] = list((tmp_path / "exported").glob("EXPORTED*"))
    copies = [p for p in exported.iterdir() if p.name != "hashes.txt"]
    assert [p.read_bytes() for p in copies] == [b"benign stand-in for a known file"]
    sums = (tmp_path / "exported" / "MANIFEST.sha256").read_text()
    assert f"{exported.name}/{copies[0].name}" in sums
