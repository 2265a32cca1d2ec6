"""SQLite companions (-wal, -shm, -journal) looked up beside a database where
the container matrix (test_container_matrix.py) does not reach: names that
are not UTF-8 inside a disk image (pytsk3 takes paths as str and encodes
them as UTF-8), the same inside a container dfVFS reads (whose TSK back-end
skips such names: The Sleuth Kit lists them, tsk_over_media.py), a deleted
database (no live companion is its own), and a lookup that fails: the
plugin still reads the database, with one warning naming the companion."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from evidence_builders import load_report, make_ext4, scan
from traffick_triage.sources.detect import open_source

NOT_UTF8 = "databases-\udce9"        # the byte 0xE9 alone, kept as a surrogate (locator.decode_name)
FILES = {f"{NOT_UTF8}/sms.db": b"database bytes", f"{NOT_UTF8}/sms.db-wal": b"wal bytes",
         f"{NOT_UTF8}/sms.db-journal": b"journal bytes",
         "gone/sms.db": b"deleted database", "gone/sms.db-wal": b"the live wal of another database"}


@pytest.fixture(scope="module")
def ext4_image(tmp_path_factory) -> Path:
    return make_ext4(tmp_path_factory.mktemp("siblings") / "phone.raw", FILES, delete=["gone/sms.db"])


def _entries(source) -> dict[tuple[str, bool], object]:
    return {(e.path, e.allocated): e for e in source.entries() if e.kind == "file"}


def _check_siblings(source, prefix: tuple[str, ...]) -> None:
    entries = _entries(source)
    database = entries[(f"/{NOT_UTF8}/sms.db", True)]
    for suffix, data in (("-wal", b"wal bytes"), ("-journal", b"journal bytes")):
        sibling = source.find_sibling(database, "sms.db" + suffix)
        assert sibling is not None and sibling.path == f"/{NOT_UTF8}/sms.db{suffix}"
        assert sibling.segments == prefix + (sibling.path,)
        with sibling.opener() as stream:
            assert stream.read() == data
    assert source.find_sibling(database, "sms.db-shm") is None
    assert source.find_sibling(database, "../gone/sms.db-wal") is None
    assert source.find_sibling(database, "sms.db\x00-wal") is None
    deleted = entries[("/gone/sms.db", False)]
    assert source.find_sibling(deleted, "sms.db-wal") is None, "a deleted database's companion by name is another's"


def test_tsk_finds_companions_under_a_name_that_is_not_utf8(ext4_image):
    source = open_source(str(ext4_image))
    try:
        _check_siblings(source, ())
    finally:
        source.close()


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) is not installed")
def test_dfvfs_container_finds_companions_tsk_lists(ext4_image, tmp_path):
    pytest.importorskip("dfvfs")
    image = tmp_path / "phone.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(ext4_image), str(image)], check=True,
                   capture_output=True)
    source = open_source(str(image))
    try:
        assert source.kind == "qcow"
        _check_siblings(source, ())
        database = _entries(source)[(f"/{NOT_UTF8}/sms.db", True)]
        assert database.address.get("reader") == "pytsk3"      # dfVFS itself skips the name
        sibling = source.find_sibling(database, "sms.db-wal")
        with source.open_address(sibling.address) as stream:     # the address reopens it too
            assert stream.read() == b"wal bytes"
    finally:
        source.close()


def test_a_failing_companion_lookup_is_a_warning_and_the_plugin_goes_on(corpus, tmp_path, monkeypatch):
    from traffick_triage.sources.directory import DirectorySource

    def broken(self, entry, name):
        raise RuntimeError("lookup exploded")

    monkeypatch.setattr(DirectorySource, "find_sibling", broken)
    phone = tmp_path / "phone" / "data/data/com.android.providers.telephony/databases"
    phone.mkdir(parents=True)
    shutil.copyfile(corpus / "plaso/android/mmssms.db", phone / "mmssms.db")
    scan([tmp_path / "phone"], tmp_path / "case", "--workers", "1", "--only", "android_mmssms")
    report = load_report(tmp_path / "case")
    assert len([f for f in report["findings"] if f["plugin"] == "android_mmssms"]) == 9
    messages = [w["message"] for w in report["warnings"]]
    assert any("companion file mmssms.db-wal not looked up: RuntimeError: lookup exploded" in m for m in messages)
    assert not any("plugin android_mmssms" in m for m in messages), "the plugin itself must not fail"


def test_temp_copy_brings_every_companion_a_plugin_asks_for(tmp_path):
    """-journal travels like -wal and -shm when a plugin names it; an absent
    companion is simply not there, and the copies are read-only."""
    from traffick_triage.plugin_host import PluginContext, file_view_for_path

    (tmp_path / "notes.db").write_bytes(b"database bytes")
    (tmp_path / "notes.db-journal").write_bytes(b"journal bytes")
    (tmp_path / "notes.db-wal").write_bytes(b"wal bytes")
    context = PluginContext(options={})
    try:
        copy = context.temp_copy(file_view_for_path(tmp_path / "notes.db"), companions=("-wal", "-shm", "-journal"))
        assert copy.read_bytes() == b"database bytes"
        assert Path(f"{copy}-journal").read_bytes() == b"journal bytes"
        assert Path(f"{copy}-wal").read_bytes() == b"wal bytes"
        assert not Path(f"{copy}-shm").exists()
        assert not Path(f"{copy}-journal").stat().st_mode & 0o222
    finally:
        context.cleanup()


def test_an_itunes_companion_is_only_a_stored_file_of_the_backup(tmp_path):
    """Manifest.db is evidence: a companion row whose fileID leads out of the
    backup folder ("../") names no file the tool reads."""
    import sqlite3

    from container_matrix import make_itunes_backup

    backup = make_itunes_backup(tmp_path / "case-1" / "backup",
                                {"private/var/mobile/Library/SMS/sms.db": b"database bytes"})
    (tmp_path / "outside").write_bytes(b"an examiner's own file")
    connection = sqlite3.connect(backup / "Manifest.db")
    # stored name = fileID[:2] + "/" + fileID: "../../outside" from the backup folder, tmp_path/outside
    connection.execute("INSERT INTO Files VALUES ('../outside', 'HomeDomain', 'Library/SMS/sms.db-wal', 1, NULL)")
    connection.commit()
    connection.close()
    assert (backup / "../../outside").resolve() == (tmp_path / "outside").resolve()
    source = open_source(str(backup))
    try:
        database = next(e for e in source.entries() if e.path == "HomeDomain/Library/SMS/sms.db")
        assert source.find_sibling(database, "sms.db-wal") is None
    finally:
        source.close()


def test_tar_gz_companions_do_not_send_the_archive_back_to_its_start(tmp_path, monkeypatch):
    """A compressed TAR seeks back only by decompressing again from its start.
    Companions looked up as the engine does (after each database, -wal before
    the -shm stored ahead of it, an absent -journal) must not cost that per
    database: the old lookup on the walk's own handle rewound about once per
    database (13 rewinds here); now the count does not grow with them."""
    import _compression
    import io
    import os
    import tarfile

    databases = 12
    members = {}
    for index in range(databases):
        for suffix in ("", "-shm", "-wal"):
            members[f"app{index:02d}/x.db{suffix}"] = f"{index}{suffix}".encode() * 100
        members[f"app{index:02d}/media.bin"] = os.urandom(200_000)      # something to decompress between
    archive = tmp_path / "phone.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    rewinds = []
    original = _compression.DecompressReader._rewind
    monkeypatch.setattr(_compression.DecompressReader, "_rewind",
                        lambda self: (rewinds.append(1), original(self))[1])
    source = open_source(str(archive))
    try:
        for entry in source.entries():
            with entry.opener() as stream:
                assert stream.read() == members[entry.path]
            if not entry.path.endswith(".db"):
                continue
            for suffix in ("-wal", "-shm", "-journal"):
                sibling = source.find_sibling(entry, entry.name + suffix)
                if suffix == "-journal":
                    assert sibling is None
                    continue
                with sibling.opener() as stream:
                    assert stream.read() == members[entry.path + suffix]
    finally:
        source.close()
    assert len(rewinds) <= 2, f"{len(rewinds)} rewinds for {databases} databases"


def test_a_pytsk3_that_refuses_the_path_type_still_finds_the_companion(ext4_image):
    """pytsk3 releases disagree on str or bytes paths (the one here raises
    TypeError on bytes): whatever FS_Info.open refuses, the lookup walks the
    directories by raw name instead."""
    import pytsk3

    from traffick_triage.sources.disk import _open_path

    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(ext4_image)))
    with pytest.raises(TypeError):
        fs.open(path=b"/gone/sms.db-wal")

    class RefusesStr:
        def open(self, path):
            raise TypeError("argument 1 must be bytes, not str")

        def open_dir(self, path):
            return fs.open_dir(path=path)

    found = _open_path(RefusesStr(), f"/{NOT_UTF8}/sms.db-wal")
    assert found is not None and found.read_random(0, 100) == b"wal bytes"
    assert _open_path(RefusesStr(), f"/{NOT_UTF8}/absent") is None
