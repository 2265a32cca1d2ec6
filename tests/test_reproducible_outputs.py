"""Same evidence, options and sets give byte-identical outputs: two scans of
the same evidence into two different case folders, a second apart, from two
different working folders, as two processes (so the command lines differ the
way an examiner's would: the case folder is on them).

Every output must be the same bytes, except these, which hold the run record
or the store by design (EXEMPT):

* manifest.json: the run record (command line, start and finish UTC,
  platform, case folder, peak memory, stage times) is kept here, apart;
* MANIFEST.sha256: lists manifest.json's hash;
* audit.jsonl: the custody log, one line per command with its time;
* case.sqlite: the case store, which records each run (and SQLite's page
  layout is not an output format).

Not made here, and not identical between two scans by design either:
manifest.json.sig (`--sign`: the signature of manifest.json), and a redacted
page (`triage report --redact`): its tokens are keyed by a random key made
per case folder and kept secret in its store, so two case folders mask the
same value differently (re-rendering one case gives the same page).

The oracle is the byte comparison itself (cmp), and what the run record
says: neither case folder's path nor either run's start time appears in any
compared output, and manifest.json does hold them."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from evidence_builders import evidence_files, tree_hashes

REPO = Path(__file__).resolve().parents[1]

EXEMPT = {"manifest.json", "MANIFEST.sha256", "audit.jsonl", "case.sqlite"}
# What must be there and compared (the formats the project calls reproducible).
REQUIRED = {"report.json", "report.html", "report.ar.html", "timeline.jsonl", "timeline.csv", "case.jsonld",
            "inventory.dfxml", "evidence.hashdeep", "csv/files.csv", "csv/providers.csv", "csv/identifiers.csv",
            "csv/hashset_matches.csv", "csv/exif_gps.csv", "locations.geojson", "locations.kml"}

BAD_MEMBER = b"benign stand-in for a known file\n"


def _triage(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "traffick_triage", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def two_cases(tmp_path_factory) -> tuple[Path, Path, Path, Path]:
    root = tmp_path_factory.mktemp("repro")
    evidence = root / "evidence"
    (evidence / "DCIM").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (29.0, 22.0, 30.0), 3: "E", 4: (47.0, 58.0, 40.0)}     # GPS IFD
    exif[0x0132] = "2023:04:05 06:07:08"
    Image.new("RGB", (48, 32), (30, 120, 200)).save(evidence / "DCIM" / "photo.jpg", exif=exif)
    (evidence / "notes.txt").write_text("call +965 2222 3333 or write to someone@gmail.com\n", encoding="utf-8")
    (evidence / "invoice.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))        # extension mismatch
    with zipfile.ZipFile(root / "phone.zip", "w") as archive:
        for name, data in (("sdcard/a.txt", b"one"), ("sdcard/known.bin", BAD_MEMBER)):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2021, 6, 1, 12, 0, 0)), data)
    hashset = root / "known.md5"
    hashset.write_text(hashlib.md5(BAD_MEMBER).hexdigest() + "\n", encoding="ascii")
    sources = [evidence, root / "phone.zip"]
    # The evidence's own times are set in the past, so none of them can fall
    # on a run's start time, which the outputs must not hold.
    for path in sorted(evidence.rglob("*"), reverse=True) + [evidence, root / "phone.zip"]:
        os.utime(path, (1622548800, 1622548800))
    before = tree_hashes(evidence_files(sources))

    cases = []
    for name, workdir in (("case-one", "a"), ("other-name", "b/c")):
        cwd = root / workdir
        cwd.mkdir(parents=True)
        case = cwd / name
        done = _triage(cwd, "scan", *map(str, sources), "-o", name, "--quiet", "--hashset", f"md5:{hashset}",
                       "--case-number", "C-7", "--examiner", "Examiner A")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        done = _triage(cwd, "report", name, "--lang", "ar")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        cases.append(case)
        time.sleep(1.1)         # the second run starts at another second (times are recorded to the second)
    assert tree_hashes(evidence_files(sources)) == before, "the scan changed the evidence"
    return cases[0], cases[1], evidence, hashset


def _outputs(case: Path) -> set[str]:
    return {str(p.relative_to(case)) for p in case.rglob("*") if p.is_file()}


def test_every_output_but_the_run_record_is_byte_identical(two_cases):
    one, two, _evidence, _hashset = two_cases
    names = _outputs(one)
    assert names == _outputs(two)
    assert REQUIRED <= names, sorted(REQUIRED - names)
    compared = sorted(names - EXEMPT)
    assert set(compared) >= REQUIRED
    differing = [name for name in compared
                 if subprocess.run(["cmp", "-s", str(one / name), str(two / name)]).returncode != 0]
    assert differing == []


def test_the_runs_differ_and_their_record_is_in_the_manifest_only(two_cases):
    """The runs really were different (else the comparison above proves
    nothing), the manifest keeps what differs, and no compared output holds it."""
    one, two, _evidence, _hashset = two_cases
    records = [json.loads((case / "manifest.json").read_text(encoding="utf-8")) for case in (one, two)]
    assert records[0]["started_utc"] != records[1]["started_utc"]
    for case, record in zip((one, two), records):
        assert record["case_dir"] == str(case.resolve())
        assert str(case.name) in record["command_line"] and record["platform"] and record["finished_utc"]
        for key in ("command_line", "started_utc", "finished_utc", "platform", "case_dir"):
            assert record[key], key
        run_values = [str(case.resolve()), record["started_utc"], record["finished_utc"], record["platform"],
                      record["rendered_by"]["utc"]]
        if len(socket.gethostname()) >= 6:      # a shorter host name could be any word of the outputs
            run_values.append(socket.gethostname())
        for name in sorted(_outputs(case) - EXEMPT):
            data = (case / name).read_bytes()
            for value in run_values:
                assert value.encode() not in data, f"{name} holds run metadata {value!r}"


def test_the_page_says_where_the_run_record_is(two_cases):
    one, _two, _evidence, _hashset = two_cases
    page = (one / "report.html").read_text(encoding="utf-8")
    assert 'id="run-record"' in page and "manifest.json" in page
    for gone in ("Scan run", "Command line", "Started (UTC)", "Finished (UTC)", "Case folder", "Scan (UTC)"):
        assert gone not in page
    arabic = (one / "report.ar.html").read_text(encoding="utf-8")
    assert 'id="run-record"' in arabic and "سجل التشغيل" in arabic


def test_verify_covers_every_output_of_both_cases(two_cases):
    for case in two_cases[:2]:
        done = _triage(case.parent, "verify", str(case))
        assert done.returncode == 0, done.stdout + done.stderr
        listed = json.loads((case / "manifest.json").read_text(encoding="utf-8"))["outputs"]
        assert set(listed) == _outputs(case) - {"manifest.json", "MANIFEST.sha256", "audit.jsonl"}
