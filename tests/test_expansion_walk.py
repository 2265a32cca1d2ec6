"""Files inside files (issue 17, items 1 and 6): archives and documents found
in a folder are opened recursively; every planted JPEG is inventoried with the
SHA-256 of its planted bytes (hashlib is the oracle) and flagged by a plain
SHA-256 list, ``triage cat`` gives its bytes back from a nested locator,
``--no-expand`` finds none of them, and bombs or self-nesting archives end
with a warning, never a hang."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from evidence_builders import load_report, scan
from traffick_triage.cli import app


def _jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (24, 24), ((seed * 53) % 256, (seed * 97) % 256, 120))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(kind: str, media: dict[str, bytes]) -> bytes:
    parts = {"[Content_Types].xml": b"<?xml version='1.0'?><Types/>", "_rels/.rels": b"<Relationships/>",
             f"{kind}/document.xml": b"<document/>"}
    parts.update({f"{kind}/media/{name}": data for name, data in media.items()})
    return _zip(parts)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("expand")
    evidence = root / "evidence"
    (evidence / "docs").mkdir(parents=True)
    pictures = {f"{n:02d}.jpg": _jpeg(n) for n in range(1, 10)}
    where = {}
    (evidence / "stored.zip").write_bytes(_zip({"a/01.jpg": pictures["01.jpg"]}, zipfile.ZIP_STORED))
    where["01.jpg"] = "evidence > /stored.zip > a/01.jpg"
    (evidence / "deflated.zip").write_bytes(_zip({"02.jpg": pictures["02.jpg"]}))
    inner = _zip({"03.jpg": pictures["03.jpg"]})
    (evidence / "bundle.zip").write_bytes(_zip({"inner.zip": inner, "notes.txt": b"hello"}))
    where["03.jpg"] = "evidence > /bundle.zip > inner.zip > 03.jpg"
    import py7zr

    with py7zr.SevenZipFile(evidence / "photos.7z", "w") as archive:
        archive.writestr(pictures["04.jpg"], "04.jpg")
        archive.writestr(b"text", "readme.txt")
    with tarfile.open(evidence / "backup.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("home/05.jpg")
        info.size = len(pictures["05.jpg"])
        archive.addfile(info, io.BytesIO(pictures["05.jpg"]))
    (evidence / "06.jpg.gz").write_bytes(gzip.compress(pictures["06.jpg"], mtime=0))
    (evidence / "docs" / "letter.docx").write_bytes(_ooxml("word", {"image1.jpeg": pictures["07.jpg"]}))
    (evidence / "docs" / "sheet.xlsx").write_bytes(_ooxml("xl", {"image1.jpeg": pictures["08.jpg"]}))
    # An encrypted member (ZipCrypto flag set; its content is never read).
    encrypted = bytearray(_zip({"secret.jpg": pictures["09.jpg"]}, zipfile.ZIP_STORED))
    for signature in (b"PK\x03\x04", b"PK\x01\x02"):
        at = encrypted.find(signature)
        offset = at + (6 if signature == b"PK\x03\x04" else 8)
        encrypted[offset] |= 0x01
    (evidence / "locked.zip").write_bytes(bytes(encrypted))
    pictures["10.jpg"] = _jpeg(10)          # in no set: the one picture a thumbnail may show
    (evidence / "holiday.zip").write_bytes(_zip({"10.jpg": pictures["10.jpg"]}))
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in pictures.items()}
    known = root / "known.txt"
    known.write_text("".join(hashes[f"{n:02d}.jpg"] + "\n" for n in range(1, 9)))
    return {"root": root, "evidence": evidence, "pictures": pictures, "hashes": hashes, "known": known,
            "where": where}


def _scan(planted: dict, name: str, *options: str) -> dict:
    case = planted["root"] / name
    if not (case / "report.json").exists():
        scan([planted["evidence"]], case, "--hashset", f"sha256:{planted['known']}", "--no-plugins", *options)
    return load_report(case)


def _by_sha(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in report["files"]:
        if row.get("sha256"):
            found.setdefault(row["sha256"], []).append(row)
    return found


def test_every_planted_picture_is_found_with_its_exact_hash_and_flagged(planted):
    report = _scan(planted, "case1", "--workers", "1")
    found = _by_sha(report)
    for number in range(1, 9):
        digest = planted["hashes"][f"{number:02d}.jpg"]
        assert digest in found, f"{number:02d}.jpg not found"
        assert all(row["route"] == "inside a file" for row in found[digest])
    matched = {f["locator"] for f in report["findings"] if f["kind"] == "hashset.match"}
    for number in range(1, 9):
        locators = {row["locator"] for row in found[planted["hashes"][f"{number:02d}.jpg"]]}
        assert locators & matched
    for name, locator in planted["where"].items():
        assert any(row["locator"] == locator for row in found[planted["hashes"][name]])


def test_an_encrypted_member_is_listed_as_encrypted_and_never_read(planted):
    report = _scan(planted, "case1", "--workers", "1")
    row = next(r for r in report["files"] if r["locator"] == "evidence > /locked.zip > secret.jpg")
    assert row["sha256"] is None
    assert any("encrypted" in note for note in row["notes"])
    assert planted["hashes"]["09.jpg"] not in _by_sha(report)


def test_route_counts_per_evidence_item(planted):
    import json

    import jsonschema

    report = _scan(planted, "case1", "--workers", "1")
    jsonschema.validate(report, json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text()))
    assert {e["name"] for e in report["expanders"]} >= {"zip", "tar", "compressed", "7z", "rar"}
    assert report["summary"]["files_by_route"] == report["evidence"][0]["routes"]
    page = (planted["root"] / "case1" / "report.html").read_text(encoding="utf-8")
    assert "inside a file" in page and "Found as" in page
    # The timeline and files.csv say how each item was found too.
    case = planted["root"] / "case1"
    events = [json.loads(line) for line in (case / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    member = planted["where"]["03.jpg"]
    assert {e.get("route") for e in events if e["locator"] == member} == {"inside a file"}
    import csv

    with open(next(case.rglob("files.csv")), encoding="utf-8-sig", newline="") as stream:
        rows = {row["locator"]: row for row in csv.DictReader(stream)}
    assert rows[member]["route"] == "inside a file"
    inside = sum(1 for row in report["files"] if row["route"] == "inside a file" and row["kind"] == "file")
    counts = report["evidence"][0]["routes"]
    assert counts["inside a file"] == inside
    assert counts["live"] == sum(1 for row in report["files"] if row["route"] == "live" and row["kind"] == "file")


def test_no_matched_picture_is_shown_as_a_thumbnail_whatever_its_route(planted):
    from traffick_triage.report import html as report_html

    _scan(planted, "case1", "--workers", "1")
    case = planted["root"] / "case1"
    result = CliRunner().invoke(app, ["report", str(case), "--thumbnails"])
    assert result.exit_code == 0, result.output
    page = next(case.glob("*thumbnails*.html")).read_text(encoding="utf-8")
    report = load_report(case)
    matched = {f["locator"] for f in report["findings"] if f["kind"] == "hashset.match"}
    assert len(matched) >= 8
    for locator in matched:
        thumb = report_html._thumbnail(case, locator, set())
        assert thumb and thumb[len("data:image/jpeg;base64,"):] not in page
    # the unmatched picture inside an archive does get one (proves the check above can fail)
    assert report_html._thumbnail(case, "evidence > /holiday.zip > 10.jpg", set()) in page


def test_cat_of_a_nested_locator_gives_the_planted_bytes(planted, tmp_path):
    _scan(planted, "case1", "--workers", "1")
    out = tmp_path / "03.jpg"
    result = CliRunner().invoke(app, ["cat", str(planted["root"] / "case1"), planted["where"]["03.jpg"],
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == planted["pictures"]["03.jpg"]


def test_two_workers_find_the_same_and_the_report_is_reproducible(planted):
    one = (planted["root"] / "case1" / "report.json")
    _scan(planted, "case1", "--workers", "1")
    _scan(planted, "case2", "--workers", "2")
    _scan(planted, "case3", "--workers", "1")
    first = load_report(planted["root"] / "case1")
    second = load_report(planted["root"] / "case2")
    strip = lambda report: sorted((r["locator"], r["sha256"], r["route"]) for r in report["files"])  # noqa: E731
    assert strip(first) == strip(second)
    assert sorted(f["locator"] for f in first["findings"]) == sorted(f["locator"] for f in second["findings"])
    assert one.read_bytes() == (planted["root"] / "case3" / "report.json").read_bytes()


def test_no_expand_finds_none_of_them(planted):
    report = _scan(planted, "case-off", "--no-expand", "--workers", "1")
    found = _by_sha(report)
    assert not any(planted["hashes"][f"{n:02d}.jpg"] in found for n in range(1, 10))
    assert all(row["route"] == "live" for row in report["files"])
    assert report["options"]["source_options"]["expand"] is False


def _nest(depth: int) -> bytes:
    data = b"the innermost file"
    for level in range(depth):
        data = _zip({f"level{level}.zip" if level else "core.txt": data}, zipfile.ZIP_STORED)
    return data


def test_self_nesting_and_nested_bombs_end_with_a_warning_each(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "deep.zip").write_bytes(_nest(40))
    zeros = 150 << 20          # over the 100 MiB ratio floor, at over 1000:1
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.bin", "w", force_zip64=False) as member:
            block = bytes(1 << 20)
            for _ in range(zeros >> 20):
                member.write(block)
    (evidence / "nested-bomb.zip").write_bytes(_zip({f"part{n}.zip": bomb.getvalue() for n in range(3)},
                                                    zipfile.ZIP_STORED))
    started = time.monotonic()
    scan([evidence], tmp_path / "case", "--no-plugins", "--workers", "1", expect_exit=1)
    assert time.monotonic() - started < 60
    report = load_report(tmp_path / "case")
    messages = [w["message"] for w in report["warnings"]]
    assert sum("containers deep already" in m for m in messages) == 1
    assert sum("compression ratio" in m for m in messages) == 3


def test_a_phone_export_found_inside_a_folder_has_its_database_and_wal_read(tmp_path):
    import shutil
    import sqlite3

    from traffick_triage.demo.android import _sms_db

    built = tmp_path / "built"
    built.mkdir()
    database = built / "mmssms.db"
    _sms_db(database, [("+96550000001", 1_700_000_000_000, "first message", 1),
                       ("+96550000002", 1_700_000_100_000, "second message", 2)])
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO sms (_id, thread_id, address, date, type, body) "
                   "VALUES (3, 1, '+96550000001', 1700000200000, 1, 'only in the wal')")
    writer.commit()
    copies = tmp_path / "copies"
    copies.mkdir()
    for name in ("mmssms.db", "mmssms.db-wal"):
        shutil.copyfile(built / name, copies / name)
    writer.close()
    kept = {name: (copies / name).read_bytes() for name in ("mmssms.db", "mmssms.db-wal")}
    # The oracle: SQLite itself, reading the database with its WAL (a copy: it checkpoints on close).
    oracle = sqlite3.connect(copies / "mmssms.db")
    bodies = sorted(row[0] for row in oracle.execute("SELECT body FROM sms"))
    oracle.close()
    assert "only in the wal" in bodies
    folder = "data/data/com.android.providers.telephony/databases/"
    evidence = tmp_path / "evidence"
    (evidence / "exports").mkdir(parents=True)
    (evidence / "exports" / "phone.zip").write_bytes(_zip({
        folder + "mmssms.db": kept["mmssms.db"], folder + "mmssms.db-wal": kept["mmssms.db-wal"]}))
    scan([evidence], tmp_path / "case", "--only", "android_mmssms", "--workers", "2")
    report = load_report(tmp_path / "case")
    found = sorted(f["data"].get("body") for f in report["findings"] if f["plugin"] == "android_mmssms")
    assert found == bodies
    assert {f["locator"] for f in report["findings"] if f["plugin"] == "android_mmssms"} == {
        f"evidence > /exports/phone.zip > {folder}mmssms.db"}


@pytest.mark.parametrize("outer", ["zip", "tar"])
def test_members_of_an_archive_given_as_evidence_are_opened_again_from_their_address(tmp_path, outer):
    """A ZIP inside a ZIP (or TAR) given as evidence: its bytes come out of a
    decompressing stream, so the walk keeps them in the scratch area; a second
    opening of the source (a worker, `triage cat`) finds every member again
    from the stored address alone."""
    import json

    from traffick_triage.expansion.walk import walk_base
    from traffick_triage.sources.detect import open_source

    pictures = {f"{n}.jpg": _jpeg(40 + n) for n in range(3)}
    inner = _zip(pictures)
    evidence = tmp_path / f"export.{outer}"
    if outer == "zip":
        evidence.write_bytes(_zip({"sdcard/bundle.zip": inner}))
    else:
        with tarfile.open(evidence, "w") as archive:
            info = tarfile.TarInfo("sdcard/bundle.zip")
            info.size = len(inner)
            archive.addfile(info, io.BytesIO(inner))
    source = open_source(str(evidence))
    found = {}
    for entry in source.entries():
        if entry.kind == "file" and len(entry.segments) == 2:
            with entry.opener() as stream:
                found[entry.segments[1]] = (hashlib.sha256(stream.read()).hexdigest(),
                                            json.loads(json.dumps(entry.address)))
            assert entry.route == "inside a file" and entry.walk_only_opener
    source.close()
    assert {name: digest for name, (digest, _) in found.items()} == {
        name: hashlib.sha256(data).hexdigest() for name, data in pictures.items()}
    again = open_source(str(evidence))
    for _ in walk_base(again).entries():      # a TAR is listed forwards before a member is read
        pass
    for name, (digest, address) in sorted(found.items()):
        with again.open_address(address) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digest
    again.close()


def test_a_nested_bomb_of_many_refused_members_is_stopped_whole(tmp_path):
    """42.zip-like: many small containers whose members each declare more than
    the ratio allows; past the refusal cap, one warning and no more expansion."""
    from traffick_triage.sources.detect import open_source

    # A member declaring 200 MiB stored in a few hundred bytes (the central and local sizes lie).
    leaf = bytearray(_zip({"zeros.bin": bytes(1024)}))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = leaf.find(signature)
        leaf[at + size_at:at + size_at + 4] = (200 << 20).to_bytes(4, "little")
    level = _zip({f"leaf{n:02d}.zip": bytes(leaf) for n in range(16)})
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "bomb.zip").write_bytes(_zip({f"level{n:02d}.zip": level for n in range(16)}))
    started = time.monotonic()
    source = open_source(str(evidence), {"max_expand_refusals": 20})
    entries = list(source.entries())
    messages = [w.message for w in source.take_warnings()]
    source.close()
    assert time.monotonic() - started < 30
    assert sum("expansion stopped" in m for m in messages) == 1
    assert 20 <= sum("not read" in m for m in messages) <= 21
    assert len(entries) < 16 * 17


def _tar(members: dict[str, bytes], compression: str) -> bytes:
    """A TAR written by libarchive (the zstd filter included), compressed as asked."""
    import libarchive

    buffer = io.BytesIO()
    with libarchive.custom_writer(buffer.write, "ustar", filter_name=compression or None) as archive:
        for name, data in members.items():
            archive.add_file_from_memory(name, len(data), data)
    return buffer.getvalue()


def test_every_compression_and_a_file_system_image(tmp_path):
    """TAR with gzip, bzip2, xz and zstd, single .bz2 and .xz files, and a ZIP
    inside an ext4 image (read through The Sleuth Kit): every planted
    picture found with its planted bytes, in one and in two workers."""
    import bz2
    import lzma

    from evidence_builders import make_ext4

    pictures = {f"{n}.jpg": _jpeg(60 + n) for n in range(8)}
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for number, compression in enumerate(("gzip", "bzip2", "xz", "zstd")):
        (evidence / f"archive{number}.tar.{compression}").write_bytes(
            _tar({f"in/{number}.jpg": pictures[f"{number}.jpg"]}, compression))
    (evidence / "4.jpg.bz2").write_bytes(bz2.compress(pictures["4.jpg"]))
    (evidence / "5.jpg.xz").write_bytes(lzma.compress(pictures["5.jpg"]))
    image = make_ext4(tmp_path / "disk.img", {"home/a/Downloads/bundle.zip": _zip({
        "6.jpg": pictures["6.jpg"], "inner.zip": _zip({"7.jpg": pictures["7.jpg"]})})})
    found = {}
    for workers in ("1", "2"):
        case = tmp_path / f"case{workers}"
        scan([evidence, image], case, "--no-plugins", "--workers", workers, expect_exit=0)
        report = load_report(case)
        found[workers] = sorted((r["locator"], r["sha256"]) for r in report["files"] if r["route"] == "inside a file"
                                and r["kind"] == "file")
        hashes = {sha for _, sha in found[workers]}
        for name, data in pictures.items():
            assert hashlib.sha256(data).hexdigest() in hashes, name
    assert found["1"] == found["2"]
    assert ("disk.img > /home/a/Downloads/bundle.zip > inner.zip > 7.jpg",
            hashlib.sha256(pictures["7.jpg"]).hexdigest()) in found["1"]
    out = tmp_path / "7.jpg"
    result = CliRunner().invoke(app, ["cat", str(tmp_path / "case2"),
                                      "disk.img > /home/a/Downloads/bundle.zip > inner.zip > 7.jpg", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == pictures["7.jpg"]


def test_a_container_holding_its_own_bytes_is_not_opened_again(tmp_path):
    """A ZIP quine (r.zip holds r.zip) cannot be written by a library; an
    expander that gives a container's own bytes as its member stands in for
    it: the copy is listed, one warning names it, nothing loops."""
    from traffick_triage.expansion.api import Expander, Member
    from traffick_triage.sources.detect import open_source

    class Quine(Expander):
        NAME, VERSION = "quine-test", "1"

        def claims(self, probe):
            return probe.head.startswith(b"QUINE")

        def members(self, container, budget):
            yield Member(name="self.quine", key={}, size=container.seek(0, io.SEEK_END))

        def open_member(self, container, key, budget):
            container.seek(0)
            return io.BytesIO(container.read())

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "r.quine").write_bytes(b"QUINE" + bytes(100))
    source = open_source(str(evidence))
    source.expanders = (Quine(),)
    started = time.monotonic()
    entries = list(source.entries())
    warnings = [w.message for w in source.take_warnings()]
    source.close()
    assert time.monotonic() - started < 10
    assert [e.segments for e in entries] == [("/r.quine",), ("/r.quine", "self.quine")]
    assert sum("same bytes as a container it lies in" in m for m in warnings) == 1


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_past_the_expansion_budget_one_warning_and_nothing_more_is_read(tmp_path, kind):
    from traffick_triage.sources.detect import open_source

    members = {f"{n}.bin": bytes([n]) * 10_000 for n in range(5)}
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    if kind == "zip":
        (evidence / "a.zip").write_bytes(_zip(members))
    else:
        (evidence / "a.tar.gz").write_bytes(_tar(members, "gzip"))
    (evidence / "b.zip").write_bytes(_zip({"later.bin": b"x" * 100}))
    source = open_source(str(evidence), {"max_expansion_bytes": 25_000})
    entries = {e.segments: e for e in source.entries()}
    warnings = [w.message for w in source.take_warnings()]
    source.close()
    readable = sorted(s[-1] for s, e in entries.items() if len(s) == 2 and e.opener is not None)
    assert readable == ["0.bin", "1.bin"]
    assert ("/a." + kind, "2.bin") in entries          # listed, not read
    assert ("/b.zip", "later.bin") not in entries      # nothing more expanded
    assert sum("expansion stopped" in m for m in warnings) == 1
