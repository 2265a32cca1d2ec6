"""Outputs of a scan: checked by hashdeep itself, re-verifiable, reproducible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from evidence_builders import load_report, make_zip, md5, scan
from traffick_triage.cli import app

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def evidence_folder(tmp_path) -> Path:
    folder = tmp_path / "evidence"
    (folder / "DCIM").mkdir(parents=True)
    (folder / "DCIM" / "a.txt").write_bytes(b"alpha\n")
    (folder / "notes.txt").write_bytes(b"beta\n" * 1000)
    (folder / "empty.bin").write_bytes(b"")
    (folder / "arabic-اسم.txt").write_text("مرحبا", encoding="utf-8")
    return folder


def test_hashdeep_audits_the_evidence_manifest(evidence_folder, tmp_path):
    case = tmp_path / "case"
    scan([evidence_folder], case, expect_exit=0)
    audit = subprocess.run(["hashdeep", "-a", "-k", str(case / "evidence.hashdeep"), "-r", str(evidence_folder)],
                           capture_output=True, text=True)
    assert audit.returncode == 0 and "Audit passed" in audit.stdout, audit.stdout + audit.stderr
    (evidence_folder / "notes.txt").write_bytes(b"changed")
    audit = subprocess.run(["hashdeep", "-a", "-k", str(case / "evidence.hashdeep"), "-r", str(evidence_folder)],
                           capture_output=True, text=True)
    assert audit.returncode != 0 and "Audit failed" in audit.stdout


def test_verify_passes_then_names_the_changed_file(evidence_folder, tmp_path):
    case = tmp_path / "case"
    scan([evidence_folder], case, expect_exit=0)
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(case)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["verify", str(case), "--evidence"])
    assert result.exit_code == 0, result.output
    # sha256sum, an oracle no one here wrote, agrees with MANIFEST.sha256.
    check = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=case, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("report.json", "timeline.jsonl", "case.sqlite"):
        target = case / name
        original = target.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        target.write_bytes(bytes(changed))
        result = runner.invoke(app, ["verify", str(case)])
        assert result.exit_code == 1 and f"changed: {name}" in result.output
        target.write_bytes(original)
    (evidence_folder / "DCIM" / "a.txt").write_bytes(b"tampered\n")
    result = runner.invoke(app, ["verify", str(case), "--evidence"])
    assert result.exit_code == 1 and "evidence changed" in result.output and "a.txt" in result.output


def test_verify_refuses_a_file_added_later(evidence_folder, tmp_path):
    case = tmp_path / "case"
    scan([evidence_folder], case, expect_exit=0)
    (case / "extra.txt").write_text("slipped in")
    result = CliRunner().invoke(app, ["verify", str(case)])
    assert result.exit_code == 1 and "not in the manifest: extra.txt" in result.output


def test_same_scan_gives_byte_identical_report(evidence_folder, tmp_path):
    phone = make_zip(tmp_path / "phone.zip", {"sdcard/a.txt": b"one", "../x": b"two"})
    scan([evidence_folder, phone], tmp_path / "one", "--case-number", "C-1")
    scan([evidence_folder, phone], tmp_path / "two", "--case-number", "C-1")
    first, second = (tmp_path / "one" / "report.json").read_bytes(), (tmp_path / "two" / "report.json").read_bytes()
    assert first == second
    for name in ("timeline.jsonl", "timeline.csv", "evidence.hashdeep"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["started_utc"].endswith("+00:00") and manifest["command_line"]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_run_record_peak_memory_is_the_scans_own_not_its_launchers(evidence_folder, tmp_path):
    """A lab's batch driver may be a large process: the scan it starts must not
    report the driver's peak (getrusage's survives exec; VmHWM does not)."""
    triage = Path(sys.executable).with_name("triage")
    launcher = ("import subprocess, sys; ballast = bytearray(600 << 20); ballast[::4096] = b'x' * len(ballast[::4096]);"
                "sys.exit(subprocess.run(sys.argv[1:]).returncode)")
    done = subprocess.run([sys.executable, "-c", launcher, str(triage), "scan", str(evidence_folder),
                           "-o", str(tmp_path / "case"), "--quiet", "--no-plugins", "--workers", "1"])
    assert done.returncode in (0, 1)
    manifest = json.loads((tmp_path / "case" / "manifest.json").read_text())
    assert 20 << 20 < manifest["peak_rss_bytes"] < 400 << 20


def test_run_record_times_each_stage_and_store_indexes_hashes(evidence_folder, tmp_path):
    scan([evidence_folder], tmp_path / "case")
    stages = json.loads((tmp_path / "case" / "manifest.json").read_text())["stages"]
    assert [s["stage"] for s in stages] == ["inventory", "perceptual_matching", "outputs"]   # default plugins
    assert all(s["wall_seconds"] >= 0 and s["cpu_seconds_main"] >= 0 and s["cpu_seconds_workers"] >= 0
               for s in stages)
    assert "stages" not in load_report(tmp_path / "case")      # run metadata stays out of report.json
    import sqlite3

    with sqlite3.connect(tmp_path / "case" / "case.sqlite") as db:
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT locator FROM files WHERE sha256 = 'x'"))
    assert {"files_md5", "files_sha1", "files_sha256"} <= indexes and "files_sha256" in plan


def test_folder_host_files_are_its_inventory_in_path_order(evidence_folder, tmp_path):
    import hashlib
    import os

    from traffick_triage.store import CaseStore

    os.makedirs(os.fsencode(evidence_folder) + b"/\xff", exist_ok=True)
    (Path(os.fsdecode(os.fsencode(evidence_folder) + b"/\xff")) / "z.bin").write_bytes(b"undecodable folder")
    scan([evidence_folder], tmp_path / "case")
    expected = []
    for folder, _dirs, names in os.walk(os.fsencode(evidence_folder)):
        for name in names:
            path = os.path.join(folder, name)
            data = open(path, "rb").read()
            expected.append((os.fsdecode(path), len(data), hashlib.md5(data).hexdigest(),
                             hashlib.sha256(data).hexdigest()))
    store = CaseStore(tmp_path / "case", readonly=True)
    try:
        hosts = list(store.host_files("E1"))
        stored = store.db.execute("SELECT host_files FROM evidence WHERE id = 'E1'").fetchone()[0]
    finally:
        store.close()
    assert [(h.get("path_bytes_hex") and os.fsdecode(bytes.fromhex(h["path_bytes_hex"])) or h["path"],
             h["size"], h["md5"], h["sha256"]) for h in hosts] == sorted(expected)
    assert stored == "[]"          # not stored twice: the files table holds them


def test_report_validates_against_its_schema(evidence_folder, tmp_path):
    scan([evidence_folder], tmp_path / "case")
    schema = json.loads((REPO / "docs" / "report.schema.json").read_text())
    report = load_report(tmp_path / "case")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report, schema)
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path["/DCIM/a.txt"]["md5"] == md5(b"alpha\n")
    assert by_path["/empty.bin"]["mime"] == "inode/x-empty"
    assert by_path["/arabic-اسم.txt"]["locator"] == "evidence > /arabic-اسم.txt"
    broken = dict(report, files=[dict(report["files"][0], md5=42)])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_scan_resumes_without_rehashing(evidence_folder, tmp_path):
    case = tmp_path / "case"
    scan([evidence_folder], case, expect_exit=0)
    first = (case / "report.json").read_bytes()
    scan([evidence_folder], case, expect_exit=0)
    assert (case / "report.json").read_bytes() == first
    for other in (["--case-number", "other"], ["--region", "KW"]):
        refused = scan([evidence_folder], case, *other, expect_exit=2)
        assert "already holds a scan" in refused.output
    assert (case / "report.json").read_bytes() == first


def test_cat_resolves_a_locator_back_to_its_bytes(evidence_folder, tmp_path):
    phone = make_zip(tmp_path / "phone.zip", {"sdcard/DCIM/1.txt": b"inside the zip"})
    case = tmp_path / "case"
    scan([evidence_folder, phone], case)
    runner = CliRunner()
    result = runner.invoke(app, ["cat", str(case), "phone.zip > sdcard/DCIM/1.txt"])
    assert result.exit_code == 0 and result.stdout_bytes == b"inside the zip"
    result = runner.invoke(app, ["cat", str(case), "evidence > /notes.txt"])
    assert result.stdout_bytes == b"beta\n" * 1000
    result = runner.invoke(app, ["cat", str(case), "phone.zip > nothing"])
    assert result.exit_code == 2 and "no file with locator" in result.output


def test_archive_inside_a_folder_item_and_scanned_on_its_own(evidence_folder, tmp_path):
    """The same host file belongs to two evidence items (a folder and the ZIP
    in it): every output is written, and case.jsonld holds it as one node."""
    make_zip(evidence_folder / "phone.zip", {"sdcard/a.txt": b"one"})
    case = tmp_path / "case"
    scan([evidence_folder, evidence_folder / "phone.zip"], case, "--no-plugins", expect_exit=0)
    graph = json.loads((case / "case.jsonld").read_text())["@graph"]
    host = str(evidence_folder / "phone.zip")
    assert sum(1 for node in graph if node.get("uco-observable:filePath") == host) == 1
    assert CliRunner().invoke(app, ["verify", str(case)]).exit_code == 0
