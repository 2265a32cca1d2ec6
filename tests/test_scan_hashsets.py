"""Hash sets given to a scan: known-bad hits with their category in the set's
own words, known-good (NSRL) files marked and kept out of review counts, every
set recorded by name, format, SHA-256 and entry count."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from evidence_builders import load_report, scan
from hashsets_synth import payload, write_icse, write_nsrl, write_plain, write_vics
from traffick_triage.cli import app


def test_scan_matches_every_format_and_marks_nsrl_known_good(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in (1, 2, 3):
        (evidence / f"file{i}.bin").write_bytes(payload(i))
    (evidence / "unrelated.txt").write_bytes(b"nothing known about this")
    sets = tmp_path / "sets"
    sets.mkdir()
    vics = write_vics(sets / "vics.json", [1, 2])
    icse = write_icse(sets / "icse.csv", [2])
    plain = write_plain(sets / "plain.txt", [2])
    nsrl = write_nsrl(sets / "nsrl.db", [3])
    nsrl_before = hashlib.sha256(nsrl.read_bytes()).hexdigest()
    options = [x for s in (vics, icse, plain, nsrl) for x in ("--hashset", str(s))]
    scan([evidence], tmp_path / "case", *options, "--no-plugins", expect_exit=0)
    report = load_report(tmp_path / "case")
    assert hashlib.sha256(nsrl.read_bytes()).hexdigest() == nsrl_before
    assert sorted(p.name for p in sets.iterdir()) == ["icse.csv", "nsrl.db", "plain.txt", "vics.json"]

    matches: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        assert finding["kind"] == "hashset.match" and finding["plugin"] == "hashset"
        matches.setdefault(finding["locator"].rsplit("/", 1)[-1], []).append(finding["data"])
    assert set(matches) == {"file1.bin", "file2.bin", "file3.bin"}
    assert {m["set_name"] for m in matches["file2.bin"]} == {"vics.json", "icse.csv", "plain.txt"}
    vics_hit = next(m for m in matches["file1.bin"] if m["set_name"] == "vics.json")
    expected = json.loads(vics.read_text())["value"][0]
    assert vics_hit["category_code"] == expected["Category"]
    assert vics_hit["series"] == expected.get("Series")
    assert vics_hit["known_good"] is False and vics_hit["category"]
    assert [m["known_good"] for m in matches["file3.bin"]] == [True]

    summary = report["summary"]
    assert summary["known_good_files"] == 1 and summary["known_bad_files"] == 2
    assert sum(summary["known_bad_by_category"].values()) >= 2
    recorded = {s["name"]: s for s in report["hashsets"]}
    assert set(recorded) == {"vics.json", "icse.csv", "plain.txt", "nsrl.db"}
    assert recorded["vics.json"]["sha256"] == hashlib.sha256(vics.read_bytes()).hexdigest()
    assert recorded["vics.json"]["entry_count"] == 2
    manifest = json.loads((tmp_path / "case" / "manifest.json").read_text())
    # The manifest records the sets as read; the report adds how many files each matched.
    assert manifest["hashsets"] == [{k: v for k, v in s.items() if k != "files_matched"} for s in report["hashsets"]]


def test_compiled_store_gives_the_same_matches(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "file2.bin").write_bytes(payload(2))
    vics = write_vics(tmp_path / "vics.json", [1, 2])
    store = tmp_path / "sets.triage"
    result = CliRunner().invoke(app, ["hashset", "import", str(vics), "-o", str(store)])
    assert result.exit_code == 0, result.output
    scan([evidence], tmp_path / "direct", "--hashset", str(vics), "--no-plugins")
    scan([evidence], tmp_path / "stored", "--hashset", str(store), "--no-plugins")
    direct = [f["data"] for f in load_report(tmp_path / "direct")["findings"]]
    stored = [f["data"] for f in load_report(tmp_path / "stored")["findings"]]
    assert direct and direct == stored


def test_missing_hashset_is_one_clear_error(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    result = scan([evidence], tmp_path / "case", "--hashset", str(tmp_path / "nope.txt"), expect_exit=2)
    assert "hash set not found" in result.output
