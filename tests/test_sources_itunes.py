"""iTunes/Finder iOS backups: files listed under their real domain paths from
Manifest.db, the ios_sms plugin finding its messages (and its -wal companion)
in a real scan, stored files the manifest does not name, encrypted backups."""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import sqlite3
from pathlib import Path

from evidence_builders import load_report, md5, regular_files, scan
from test_plugin_ios import SMS_SCHEMA

from traffick_triage.expansion.walk import walk_base
from traffick_triage.sources.detect import open_source
from traffick_triage.sources.itunes_backup import ItunesBackupSource

# The Files table exactly as iOS 10+ backups create it.
MANIFEST_SCHEMA = """
CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
CREATE INDEX FilesDomainIdx ON Files(domain);
CREATE INDEX FilesRelativePathIdx ON Files(relativePath);
CREATE INDEX FilesFlagsIdx ON Files(flags);
CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);
"""

COCOA_NS = 735000000 * 10**9          # 2024-04-16 in iOS 11+ nanoseconds


def file_id(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()


def mbfile_blob(size: int, relative: str, mode: int = 0o100644, mtime: int = 1713000000,
                target: str | None = None) -> bytes:
    """An MBFile NSKeyedArchiver plist as Files.file holds it."""
    mbfile = {"$class": plistlib.UID(3), "Size": size, "RelativePath": plistlib.UID(2), "Mode": mode,
              "LastModified": mtime, "Birth": mtime - 100, "LastStatusChange": mtime, "InodeNumber": 4242,
              "UserID": 501, "GroupID": 501, "ProtectionClass": 3, "Flags": 0}
    objects = ["$null", mbfile, relative, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]
    if target is not None:
        mbfile["Target"] = plistlib.UID(4)
        objects.append(target)
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)},
               "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def wal_sms_db(folder: Path) -> tuple[bytes, bytes]:
    """(sms.db, sms.db-wal) bytes: one message in the database, a second one
    only in the uncheckpointed write-ahead log."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sms.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.executescript(SMS_SCHEMA)
    connection.execute("INSERT INTO handle VALUES (1, '+15555550123', 'us', 'SMS', NULL, NULL)")
    connection.execute("INSERT INTO chat VALUES (1, 'SMS;-;+15555550123', 45, 3, NULL, '+15555550123', 'SMS', NULL, NULL)")
    connection.execute("INSERT INTO message VALUES (1, 'M1', 'meet at the usual place', 1, NULL, NULL, 'SMS', NULL, "
                       "?, 0, 0, 0, 0, 0)", (COCOA_NS,))
    connection.execute("INSERT INTO chat_message_join VALUES (1, 1, ?)", (COCOA_NS,))
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("INSERT INTO message VALUES (2, 'M2', 'only in the WAL', 1, NULL, NULL, 'SMS', NULL, "
                       "?, 0, 0, 1, 0, 0)", (COCOA_NS + 60 * 10**9,))
    connection.execute("INSERT INTO chat_message_join VALUES (1, 2, ?)", (COCOA_NS + 60 * 10**9,))
    connection.commit()
    # Read both files while the connection is open: closing would checkpoint the WAL.
    data, wal = path.read_bytes(), (folder / "sms.db-wal").read_bytes()
    connection.close()
    assert wal, "the WAL must hold the second message"
    return data, wal


def make_backup(root: Path, encrypted: bool = False) -> dict[str, bytes]:
    """A synthetic backup folder; returns {real domain path: content}."""
    root.mkdir(parents=True)
    sms, sms_wal = wal_sms_db(root.parent / "sms-build")
    files = {
        ("HomeDomain", "Library/SMS/sms.db"): sms,
        ("HomeDomain", "Library/SMS/sms.db-wal"): sms_wal,
        ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.HEIC"): b"not really a photo\n" * 10,
        ("AppDomain-net.whatsapp.WhatsApp", "Documents/notes.txt"): b"notes\n",
    }
    directories = [("HomeDomain", ""), ("HomeDomain", "Library"), ("HomeDomain", "Library/SMS"),
                   ("CameraRollDomain", "Media/DCIM/100APPLE")]
    connection = sqlite3.connect(root.parent / "Manifest.build.db")
    connection.executescript(MANIFEST_SCHEMA)
    for (domain, relative), data in files.items():
        fid = file_id(domain, relative)
        connection.execute("INSERT INTO Files VALUES (?, ?, ?, 1, ?)",
                           (fid, domain, relative, mbfile_blob(len(data), relative)))
        stored = root / fid[:2] / fid
        stored.parent.mkdir(exist_ok=True)
        stored.write_bytes(data)
    for domain, relative in directories:
        connection.execute("INSERT INTO Files VALUES (?, ?, ?, 2, ?)",
                           (file_id(domain, relative), domain, relative, mbfile_blob(0, relative, 0o40755)))
    connection.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/link', 4, ?)",
                       (file_id("HomeDomain", "Library/link"), mbfile_blob(0, "Library/link", 0o120755, target="SMS")))
    # Listed but not stored (it happens with interrupted backups).
    connection.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/missing.plist', 1, ?)",
                       (file_id("HomeDomain", "Library/missing.plist"), mbfile_blob(12, "Library/missing.plist")))
    connection.commit()
    connection.close()
    shutil.move(root.parent / "Manifest.build.db", root / "Manifest.db")
    # A stored file Manifest.db does not name.
    stray = "ff" + "0" * 38
    (root / "ff").mkdir()
    (root / "ff" / stray).write_bytes(b"orphan blob\n")
    (root / "Info.plist").write_bytes(plistlib.dumps({
        "Device Name": "Test iPhone", "Product Type": "iPhone14,2", "Product Version": "17.4",
        "Serial Number": "F00TESTSERIAL", "Unique Identifier": "0" * 40}))
    (root / "Manifest.plist").write_bytes(plistlib.dumps({
        "IsEncrypted": encrypted, "Version": "10.0", "Lockdown": {"ProductVersion": "17.4"}}))
    (root / "Status.plist").write_bytes(plistlib.dumps({"IsFullBackup": False, "Version": "3.3"}))
    return {f"{domain}/{relative}": data for (domain, relative), data in files.items()} | {
        f"ff/{stray}": b"orphan blob\n"}


def test_backup_entries_have_real_domain_paths_and_sms_plugin_reads_them(tmp_path):
    backup = tmp_path / "backup"
    planted = make_backup(backup)
    case = tmp_path / "case"

    scan([backup], case)

    report = load_report(case)
    evidence = report["evidence"][0]
    assert evidence["kind"] == "itunes-backup"
    assert evidence["description"]["device"]["Device Name"] == "Test iPhone"
    assert evidence["description"]["encrypted"] is False
    files = {f["path"]: f for f in report["files"]}
    for path, data in planted.items():
        assert (files[path]["size"], files[path]["md5"]) == (len(data), md5(data)), path
    sms = files["HomeDomain/Library/SMS/sms.db"]
    assert sms["locator"] == "backup > HomeDomain/Library/SMS/sms.db"
    assert sms["times"]["modified"] == "2024-04-13T09:20:00+00:00"
    assert files["HomeDomain/Library/SMS"]["kind"] == "dir"
    assert files["HomeDomain/Library/link"]["kind"] == "symlink"
    assert files["HomeDomain/Library/link"]["link_target"] == "SMS"
    assert any("not stored" in note for note in files["HomeDomain/Library/missing.plist"]["notes"])
    assert files["HomeDomain/Library/missing.plist"]["md5"] is None
    assert any("not listed in Manifest.db" in note for note in files["ff/ff" + "0" * 38]["notes"])
    assert {"Manifest.db", "Info.plist", "Manifest.plist", "Status.plist"} <= set(files)
    # No hashed name is listed twice (once real, once stored).
    hashed = [p for p in files if len(p) == 43 and p[2] == "/"]
    assert hashed == ["ff/ff" + "0" * 38]

    messages = [f for f in report["findings"] if f["kind"] == "comms.message"]
    assert sorted(m["data"]["body"] for m in messages) == ["meet at the usual place", "only in the WAL"]
    assert {m["locator"] for m in messages} == {"backup > HomeDomain/Library/SMS/sms.db"}
    assert any("not stored" in w["message"] for w in report["warnings"])
    # Manifest.db was read from a copy: nothing appeared beside it.
    assert sorted(p.name for p in backup.iterdir() if p.is_file()) == [
        "Info.plist", "Manifest.db", "Manifest.plist", "Status.plist"]


def test_find_sibling_uses_the_real_path(tmp_path):
    backup = tmp_path / "backup"
    make_backup(backup)
    source = open_source(str(backup))
    try:
        assert isinstance(walk_base(source), ItunesBackupSource)      # under the expansion walk
        sms = next(e for e in source.entries() if e.path == "HomeDomain/Library/SMS/sms.db")
        wal = source.find_sibling(sms, "sms.db-wal")
        assert wal is not None and wal.path == "HomeDomain/Library/SMS/sms.db-wal"
        with wal.opener() as stream:
            assert stream.read(4) == b"\x37\x7f\x06\x82"      # WAL magic
        assert source.find_sibling(sms, "sms.db-shm") is None
        with source.open_address(sms.address) as stream:
            assert stream.read(16) == b"SQLite format 3\x00"
    finally:
        source.close()


def test_encrypted_backup_is_inventoried_with_a_warning(tmp_path):
    backup = tmp_path / "backup"
    make_backup(backup, encrypted=True)
    # In a real encrypted backup Manifest.db is encrypted as well.
    manifest = backup / "Manifest.db"
    manifest.write_bytes(bytes(b ^ 0x5A for b in manifest.read_bytes()))
    case = tmp_path / "case"

    scan([backup], case, expect_exit=1)

    report = load_report(case)
    assert report["evidence"][0]["kind"] == "itunes-backup"
    assert report["evidence"][0]["description"]["encrypted"] is True
    assert any("encrypted backup" in w["message"] for w in report["warnings"])
    stored = [f for f in regular_files(report) if "/" in f["path"]]
    assert len(stored) == 5      # 4 manifest files + the stray one, under their stored names
    assert all(any("encrypted" in n for n in f["notes"]) for f in stored)
    assert not [f for f in report["findings"] if f["kind"] == "comms.message"]


def test_folder_with_an_unrelated_manifest_db_stays_a_folder(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    connection = sqlite3.connect(folder / "Manifest.db")
    connection.execute("CREATE TABLE other (x)")
    connection.commit()
    connection.close()
    source = open_source(str(folder))
    try:
        assert source.kind == "directory"
    finally:
        source.close()
