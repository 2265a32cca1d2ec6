"""Volume Shadow Copies of NTFS (issue 17, item 5) on plaso's vsstest.qcow2
(an NTFS volume with two stores), through both routes: the QCOW2 read by
dfVFS, and the same disk converted to raw by qemu-img, read by the TSK
source. Oracles no one here wrote:

- libvshadow-utils' ``vshadowinfo`` on the raw disk: the number of stores,
  their identifiers and creation times;
- The Sleuth Kit's ``fls -r -p`` / ``icat`` / ``fls -m`` on each store's
  bytes (exported with pyvshadow's store read into the test's folder) and on
  the live volume: a file of a store that is not on the live volume at the
  same path with the same bytes (SHA-256 of icat's output) must be listed,
  once, with route "shadow copy", that SHA-256 and the store's modification
  time; nothing else may be listed with that route.

The oracle compares by path; the scan by MFT entry and sequence number (so a
file only renamed since the snapshot is not listed again, docs/limits.md).
On this image no file was renamed with its bytes unchanged, so both agree;
an image where one was would show as a difference here, by design.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import load_report, tree_hashes
from traffick_triage.cli import app
from tsk_oracle import fls_regular_files, icat

pytest.importorskip("pyvshadow")
pytest.importorskip("dfvfs")
IMAGE = "plaso/vsstest.qcow2"
TOOLS = ("qemu-img", "vshadowinfo", "fls", "icat")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason=f"needs {', '.join(TOOLS)} (qemu-utils, libvshadow-utils, sleuthkit)")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}


@pytest.fixture(scope="module")
def disk(corpus, tmp_path_factory) -> dict:
    """The raw disk, each store's bytes as a raw volume, and vshadowinfo's stores."""
    folder = tmp_path_factory.mktemp("vss")
    raw = folder / "vsstest.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(corpus / IMAGE), str(raw)], check=True)
    stores = _vshadowinfo(raw)
    exported = []
    import pyvshadow

    volume = pyvshadow.volume()
    with open(raw, "rb") as stream:
        volume.open_file_object(stream)
        for index in range(volume.number_of_stores):
            exported.append(_export(volume.get_store(index), folder / f"store{index + 1}.raw"))
        volume.close()
    return {"raw": raw, "stores": stores, "exported": exported}


def _vshadowinfo(raw: Path) -> list[dict]:
    text = subprocess.run(["vshadowinfo", str(raw)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Number of stores:\s*(\d+)", text).group(1))
    stores = []
    for block in re.split(r"\n(?=Store: )", text)[1:]:
        number = int(re.match(r"Store: (\d+)", block).group(1))
        identifier = re.search(r"\tIdentifier\s*: (\S+)", block).group(1)
        month, day, year, clock = re.search(r"Creation time\s*: (\w+) (\d+), (\d+) ([\d:.]+) UTC", block).groups()
        whole, fraction = clock.split(".")
        moment = datetime.datetime(int(year), _MONTHS[month], int(day), *map(int, whole.split(":")),
                                   int(fraction[:6]), tzinfo=datetime.timezone.utc)
        stores.append({"store": f"vss{number}", "identifier": identifier, "created": moment})
    assert len(stores) == count
    return stores


def _export(store, target: Path) -> Path:
    """The store's view of the volume, written sparse (its zero blocks skipped)."""
    size, offset, chunk = store.volume_size, 0, 4 << 20
    with open(target, "wb") as out:
        while offset < size:
            data = store.read_buffer_at_offset(min(chunk, size - offset), offset)
            if data.count(0) != len(data):
                out.seek(offset)
                out.write(data)
            offset += len(data)
        out.truncate(size)
    return target


def _files(image: Path) -> dict[str, tuple[str, str]]:
    """Allocated regular files (streams too) as fls lists them: path -> (address, SHA-256 of icat's bytes)."""
    found = {}
    for path, address, deleted in fls_regular_files(str(image)):
        if not deleted:
            data = icat(str(image), address)
            found[path] = (address, hashlib.sha256(data).hexdigest() if data is not None else None)
    return found


def _modified(image: Path) -> dict[str, int]:
    """path -> mtime (whole seconds) from fls's body file (fls -m / -r)."""
    body = subprocess.run(["fls", "-r", "-m", "/", str(image)], capture_output=True, check=True).stdout
    times = {}
    for line in body.decode("utf-8", "surrogateescape").splitlines():
        fields = line.split("|")
        if len(fields) >= 11:
            times[fields[1]] = int(fields[8])
    return times


@pytest.fixture(scope="module")
def listings(disk) -> dict[str, dict[str, tuple[str, str]]]:
    """fls + icat on the live volume ("live") and on each store ("vss1"...)."""
    found = {"live": _files(disk["raw"])}
    for info, image in zip(disk["stores"], disk["exported"]):
        found[info["store"]] = _files(image)
    return found


@pytest.fixture(scope="module")
def expected(disk, listings) -> dict[tuple[str, str], tuple[str, int]]:
    """(vssN, path) -> (SHA-256, mtime) of every store file not on the live volume with the same bytes."""
    live = listings["live"]
    wanted = {}
    for info, image in zip(disk["stores"], disk["exported"]):
        times = _modified(image)
        for path, (_, digest) in listings[info["store"]].items():
            if digest is not None and (path not in live or live[path][1] != digest):
                wanted[(info["store"], path)] = (digest, times[path])
    return wanted


@pytest.fixture(scope="module")
def cases(corpus, disk, tmp_path_factory) -> dict:
    """Both routes scanned twice (reproducibility) and the QCOW2 once with
    --no-shadow-copies; the evidence hashed once before and once after all
    three (evidence_builders.scan would hash the 1 GiB raw disk around each)."""
    evidence = [corpus / IMAGE, disk["raw"]]
    before = tree_hashes(evidence)
    folder = tmp_path_factory.mktemp("cases")
    for name, items, options in (("a", evidence, ()), ("b", evidence, ()),
                                 ("off", evidence[:1], ("--no-shadow-copies",))):
        # --no-media-hash: the QCOW2's 1 GiB virtual disk is not hashed (the raw disk's hash still is).
        result = CliRunner().invoke(app, ["scan", *map(str, items), "-o", str(folder / name), "--quiet",
                                          "--no-plugins", "--no-media-hash", *options])
        assert result.exit_code == 0, result.output
    assert tree_hashes(evidence) == before, "the scan changed the evidence"
    return {name: folder / name for name in ("a", "b", "off")}


def _shadow_rows(case: Path, evidence_id: str) -> list[dict]:
    with sqlite3.connect(case / "case.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(
            "SELECT locator, path, sha256, times FROM files WHERE route = 'shadow copy' AND evidence_id = ? "
            "ORDER BY locator", (evidence_id,))]


def test_the_image_holds_what_the_test_expects(disk, expected):
    assert len(disk["stores"]) == 2
    assert ("vss1", "/syslog") in expected            # deleted from the live volume after the first snapshot
    assert len({store for store, _ in expected}) == 2


@pytest.mark.parametrize("evidence_id", ["E1", "E2"], ids=["qcow2-dfvfs", "raw-tsk"])
def test_stores_equal_vshadowinfo(cases, disk, evidence_id):
    report = load_report(cases["a"])
    item = next(e for e in report["evidence"] if e["id"] == evidence_id)
    described = item["description"]["volumes"][0]["shadow_copies"]
    assert [(s["store"], s["identifier"], datetime.datetime.fromisoformat(s["created"])) for s in described] == \
        [(s["store"], s["identifier"], s["created"]) for s in disk["stores"]]
    rows = _shadow_rows(cases["a"], evidence_id)
    for store in described:
        listed = sum(1 for row in rows if row["locator"].split(" > ")[1].startswith(store["store"] + " "))
        assert store["files_listed"] == listed
        assert f"{store['files_identical']} files identical to the live volume not listed" in store["summary"]


@pytest.mark.parametrize("evidence_id", ["E1", "E2"], ids=["qcow2-dfvfs", "raw-tsk"])
def test_differing_files_equal_fls_icat_on_each_store(cases, disk, expected, evidence_id):
    rows = _shadow_rows(cases["a"], evidence_id)
    created = {s["store"]: s["created"].strftime("%Y-%m-%dT%H:%M:%SZ") for s in disk["stores"]}
    ours = {}
    for row in rows:
        _, segment, path = row["locator"].split(" > ", 2)
        store = segment.split(" ")[0]
        assert segment == f"{store} ({created[store]})"
        assert path == row["path"]
        assert (store, path) not in ours, f"listed twice: {row['locator']}"
        modified = datetime.datetime.fromisoformat(json.loads(row["times"])["modified"])
        ours[(store, path)] = (row["sha256"], int(modified.timestamp()))
    assert ours == expected


def test_no_shadow_copies_lists_none(cases, disk):
    assert _shadow_rows(cases["off"], "E1") == []
    described = load_report(cases["off"])["evidence"][0]["description"]["volumes"][0]["shadow_copies"]
    assert [s["store"] for s in described] == [s["store"] for s in disk["stores"]]


def test_report_is_byte_identical_on_two_runs(cases):
    assert (cases["a"] / "report.json").read_bytes() == (cases["b"] / "report.json").read_bytes()


@pytest.mark.parametrize("evidence_id", ["E1", "E2"], ids=["qcow2-dfvfs", "raw-tsk"])
def test_triage_cat_reads_the_snapshot_bytes(cases, expected, evidence_id, tmp_path):
    for row in _shadow_rows(cases["a"], evidence_id):
        if not row["locator"].endswith("/syslog"):
            continue
        target = tmp_path / f"{evidence_id}.bin"
        result = CliRunner().invoke(app, ["cat", str(cases["a"]), row["locator"], "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert hashlib.sha256(target.read_bytes()).hexdigest() == expected[("vss1", "/syslog")][0]
        return
    pytest.fail("no /syslog from a shadow copy")


def test_a_damaged_vss_header_is_one_warning_and_the_live_volume_is_still_listed(disk, tmp_path):
    """The catalog offset of the VSS header (0x1e30) pointed past any volume:
    libvshadow refuses it; one warning names it; the live files are listed as
    without shadow copies (fls on the same bytes)."""
    from traffick_triage.sources.detect import open_source

    damaged = tmp_path / "damaged.raw"
    subprocess.run(["cp", "--sparse=always", str(disk["raw"]), str(damaged)], check=True)
    with open(damaged, "r+b") as stream:
        stream.seek(0x1E30)
        stream.write(b"\xff" * 7 + b"\x7f")
    source = open_source(str(damaged))
    try:
        entries = [e for e in source.entries() if e.kind == "file"]
        warnings = source.take_warnings()
    finally:
        source.close()
    assert not any(e.route == "shadow copy" for e in entries)
    live = {path for path, _, deleted in fls_regular_files(str(disk["raw"])) if not deleted}
    assert {e.path for e in entries if e.allocated and e.route in ("", "live")} == live
    assert [w.message for w in warnings] == [
        "volume shadow copies present but not readable by libvshadow: invalid offset value out of bounds"]


@pytest.mark.parametrize("which", ["qcow2", "raw"])
def test_companion_of_a_snapshot_file_comes_from_the_same_snapshot(corpus, disk, listings, which):
    """find_sibling (SQLite -wal/-journal) of a file of vss1 gives vss1's
    companion, whose bytes are icat's on the store, not the live file's."""
    from traffick_triage.sources.detect import open_source

    source = open_source(str(corpus / IMAGE if which == "qcow2" else disk["raw"]))
    try:
        entry = next(e for e in source.entries() if e.route == "shadow copy" and e.path == "/$MFT"
                     and e.segments[-2].startswith("vss1 "))
        sibling = source.find_sibling(entry, "$LogFile")
        with sibling.opener() as stream:
            ours = hashlib.sha256(stream.read()).hexdigest()
    finally:
        source.close()
    assert ours == listings["vss1"]["/$LogFile"][1] != listings["live"]["/$LogFile"][1]
    assert sibling.segments[-2] == entry.segments[-2] and sibling.route == "shadow copy"


def test_store_and_file_bounds_are_warnings(disk, expected, monkeypatch):
    """Past MAX_STORES stores or MAX_FILES_PER_STORE files in a store, the
    rest is not read, with one warning each; what was read is still listed."""
    from traffick_triage.sources import shadow_copies
    from traffick_triage.sources.detect import open_source

    monkeypatch.setattr(shadow_copies, "MAX_STORES", 1)
    monkeypatch.setattr(shadow_copies, "MAX_FILES_PER_STORE", 5)
    source = open_source(str(disk["raw"]))
    try:
        listed = [e for e in source.entries() if e.route == "shadow copy"]
        warnings = [w.message for w in source.take_warnings()]
    finally:
        source.close()
    assert warnings == ["2 shadow copy stores declared; only the first 1 are read",
                        "more than 5 files in this snapshot: the rest are not compared with the live volume "
                        "nor listed"]
    assert listed and all(e.segments[0].startswith("vss1 ") for e in listed)
    assert {("vss1", e.path) for e in listed} <= set(expected)


def test_dfxml_puts_snapshot_files_at_top_level(cases, expected):
    """inventory.dfxml: a snapshot's files are top-level fileobjects whose id
    names the snapshot, never inside the live volume beside the live file;
    the file keeps the DFXML schema's order and types."""
    import xml.etree.ElementTree as ET

    from test_exchange_formats import DF, dfxml_structural_problems

    path = cases["a"] / "inventory.dfxml"
    assert dfxml_structural_problems(path) == []
    root = ET.parse(path).getroot()
    in_volumes = {f.findtext(DF + "id") for v in root.findall(DF + "volume") for f in v.iter(DF + "fileobject")}
    top = {f.findtext(DF + "id") for f in root.findall(DF + "fileobject")}
    assert not any(" > vss" in locator for locator in in_volumes)
    shadow = {locator for locator in top if " > vss" in locator}
    assert len(shadow) == 2 * len(expected)          # both evidence items (routes)


@pytest.mark.skipif(shutil.which("ewfacquire") is None, reason="ewfacquire (ewf-tools) is not installed")
def test_e01_of_the_disk_lists_the_same_snapshot_files(disk, expected, tmp_path):
    """The raw disk as an E01 (ewfacquire): the TSK source over libewf lists
    the same (store, path) with the same bytes, read back by open_address."""
    from evidence_builders import make_e01
    from traffick_triage.sources.detect import open_source

    e01 = make_e01(disk["raw"], tmp_path / "vsstest")
    source = open_source(str(e01))
    try:
        found = {}
        for entry in source.entries():
            if entry.route == "shadow copy":
                address = json.loads(json.dumps(entry.address))      # as the case store keeps it
                with source.open_address(address) as stream:
                    found[(entry.segments[-2].split(" ")[0], entry.path)] = hashlib.sha256(stream.read()).hexdigest()
    finally:
        source.close()
    assert found == {key: digest for key, (digest, _) in expected.items()}
