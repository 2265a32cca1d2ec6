"""Issue 16 item 13: a PDQ list of bare ``hash<TAB>label`` lines is SHA-256 or
PDQ and nothing in it says which. Declared (``--hashset pdq:FILE``) it is read
as PDQ and matches the planted variants; undeclared it is read as SHA-256, and
the terminal, report.json, the page and a counted warning all say it was a
guess. A declared set that is not of its type stops the scan before it starts.

Oracle: the PDQ hashes Meta's ThreatExchange computed for its own bridge
images (expected/PDQMD5TestData.csv); the images are scanned in place."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import load_report, scan
from hashsets_synth import payload
from traffick_triage.cli import app

_PDQ_DISTRACTORS = ("misc-images/c.png", "misc-images/small.jpg", "misc-images/wee.jpg")


def _expected_pdq(corpus: Path) -> dict[str, str]:
    """ThreatExchange's PDQ of each test image, keyed by its corpus path."""
    out = {}
    with open(corpus / "threatexchange-pdq/expected/PDQMD5TestData.csv", newline="") as stream:
        for row in csv.DictReader(stream):
            out[row["FilePath"].replace("../../../../data/", "")] = row["Hash"]
    return out


def _tab_list(corpus: Path, path: Path) -> Path:
    """The lab's list: the original bridge image and three unrelated images,
    ``hash<TAB>label`` only: no quality column, no ``# pdq`` comment."""
    expected = _expected_pdq(corpus)
    lines = [f"{expected['bridge-mods/aaa-orig.jpg']}\tbridge original (benign test image)"]
    lines += [f"{expected[name]}\t{name}" for name in _PDQ_DISTRACTORS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _hashsets_table(page: str) -> str:
    return page[page.index('<table class="data compact" id="hashsets">'):].split("</table>", 1)[0]


def test_declared_pdq_list_matches_the_variants_and_undeclared_is_reported_as_guessed(tmp_path, corpus):
    evidence = corpus / "threatexchange-pdq" / "bridge-mods"
    variants = sorted(p.name for p in evidence.iterdir() if p.suffix == ".jpg")
    assert len(variants) >= 10
    pdq_list = _tab_list(corpus, tmp_path / "lab-list.txt")

    declared = scan([evidence], tmp_path / "declared", "--only", "perceptual",
                    "--hashset", f"pdq:{pdq_list}", expect_exit=0)
    assert "hash set lab-list.txt: format pdq, hash type pdq, 4 entries (declared pdq)" in declared.output
    report = load_report(tmp_path / "declared")
    [described] = report["hashsets"]
    assert (described["declared_type"], described["format"], described["hash_types"], described["entry_count"],
            described["type_guessed"]) == ("pdq", "pdq", ["pdq"], 4, False)
    matches = {f["locator"].rsplit("/", 1)[-1]: f["data"] for f in report["findings"]
               if f["kind"] == "perceptual.match"}
    assert sorted(matches) == variants                  # every variant, nothing else
    assert {m["label"] for m in matches.values()} == {"bridge original (benign test image)"}
    assert all(m["algorithm"] == "pdq" and m["distance"] <= 31 for m in matches.values())
    assert described["files_matched"] == len(variants)
    assert not [w for w in report["warnings"] if w["source"] == "hashset"]
    table = _hashsets_table((tmp_path / "declared" / "report.html").read_text(encoding="utf-8"))
    assert "declared pdq" in table and f'<td class="num">{len(variants)}</td>' in table

    guessed = scan([evidence], tmp_path / "guessed", "--only", "perceptual", "--hashset", str(pdq_list),
                   expect_exit=1)
    assert "hash set lab-list.txt: format plain, hash type sha256, 4 entries (type GUESSED" in guessed.output
    report = load_report(tmp_path / "guessed")
    [described] = report["hashsets"]
    assert (described["declared_type"], described["hash_types"], described["type_guessed"],
            described["files_matched"]) == (None, ["sha256"], True, 0)
    assert not [f for f in report["findings"] if f["kind"] == "perceptual.match"]
    [warning] = [w for w in report["warnings"] if w["source"] == "hashset"]
    assert "lab-list.txt" in warning["message"] and "by guess" in warning["message"]
    assert report["summary"]["warnings"] >= 1
    table = _hashsets_table((tmp_path / "guessed" / "report.html").read_text(encoding="utf-8"))
    assert "type guessed (not declared)" in table


def test_declared_crypto_types_and_per_set_counts(tmp_path):
    import hashlib

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in (1, 2, 3):
        (evidence / f"file{i}.bin").write_bytes(payload(i))
    sha_list = tmp_path / "sha.txt"
    sha_list.write_text("".join(f"{hashlib.sha256(payload(i)).hexdigest()}\tknown {i}\n" for i in (1, 2)))
    md5_list = tmp_path / "md5.txt"
    md5_list.write_text(f"{hashlib.md5(payload(3)).hexdigest()}  file3\n")
    scan([evidence], tmp_path / "case", "--no-plugins", "--hashset", f"sha256:{sha_list}",
         "--hashset", f"md5:{md5_list}", expect_exit=0)
    report = load_report(tmp_path / "case")
    by_name = {h["name"]: h for h in report["hashsets"]}
    assert by_name["sha.txt"]["files_matched"] == 2 and by_name["md5.txt"]["files_matched"] == 1
    assert by_name["sha.txt"]["declared_type"] == "sha256" and not by_name["sha.txt"]["type_guessed"]
    assert report["warnings"] == []


@pytest.mark.parametrize("declared, content", [
    ("pdq", "d41d8cd98f00b204e9800998ecf8427e\tan MD5, not a PDQ\n"),
    ("md5", "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22\tnot an MD5\n"),
    ("nsrl", "d41d8cd98f00b204e9800998ecf8427e\n"),
    ("vics", "d41d8cd98f00b204e9800998ecf8427e\n"),
    ("pdq", ""),
])
def test_a_declared_set_of_another_type_stops_the_scan_before_it_starts(tmp_path, declared, content):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_text("a")
    wrong = tmp_path / "set.txt"
    wrong.write_text(content)
    result = scan([evidence], tmp_path / "case", "--no-plugins", "--hashset", f"{declared}:{wrong}", expect_exit=2)
    assert "set.txt" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "case").exists()                 # stopped before anything was made


def test_unknown_type_prefix_and_missing_file_are_usage_errors(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_text("a")
    (tmp_path / "x.txt").write_text("d41d8cd98f00b204e9800998ecf8427e\n")
    result = scan([evidence], tmp_path / "case", "--hashset", f"sha512:{tmp_path / 'x.txt'}", expect_exit=2)
    assert "'sha512' is not a hash-set type" in result.output


def test_case_file_declares_set_types(tmp_path):
    from traffick_triage.batch import CaseFileError, load_case_file
    from traffick_triage.engine import worker_spec

    (tmp_path / "ev").mkdir()
    case = tmp_path / "case.yaml"
    case.write_text("output: out\nhashsets: [pdq:lists/a.txt, {path: lists/b.txt, type: sha256}, lists/c.txt]\n"
                    "evidence: [{id: E1, path: ev}]\n")
    config = load_case_file(case)
    assert config.hashset_paths == [f"pdq:{tmp_path}/lists/a.txt", f"sha256:{tmp_path}/lists/b.txt",
                                    f"{tmp_path}/lists/c.txt"]
    spec = worker_spec(config, {"E1": str(tmp_path / "ev")})
    assert spec["hashset_paths"] == config.hashset_paths     # the declared type travels to the workers
    case.write_text("output: out\nhashsets: [{path: a.txt, type: sha512}]\nevidence: [{id: E1, path: ev}]\n")
    with pytest.raises(CaseFileError, match="sha512|TYPE"):
        load_case_file(case)


def test_batch_run_with_a_declared_pdq_set(tmp_path, corpus):
    pdq_list = _tab_list(corpus, tmp_path / "lab-list.txt")
    evidence = corpus / "threatexchange-pdq" / "bridge-mods"
    case = tmp_path / "case.yaml"
    case.write_text(json.dumps({"output": str(tmp_path / "out"), "workers": 1,
                                "plugins": {"only": ["perceptual"]},
                                "hashsets": [{"path": str(pdq_list), "type": "pdq"}],
                                "evidence": [{"id": "BRIDGE", "path": str(evidence)}]}))
    result = CliRunner().invoke(app, ["batch", str(case), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "(declared pdq)" in result.output
    report = load_report(tmp_path / "out")
    assert report["hashsets"][0]["files_matched"] == len(list(evidence.glob("*.jpg")))


def test_page_cites_no_stale_manifest_hash_and_rerendering_is_byte_identical(tmp_path):
    """Issue 16 item 14: the page is written before manifest.json, so it may
    not cite its hash; `triage report` twice gives the same page (cmp)."""
    import subprocess

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in (1, 2):
        (evidence / f"file{i}.bin").write_bytes(payload(i))
    case = tmp_path / "case"
    scan([evidence], case, "--no-plugins", expect_exit=0)
    manifests = [subprocess.run(["sha256sum", str(case / "manifest.json")], capture_output=True, text=True,
                                check=True).stdout.split()[0]]
    pages = []
    for run in range(2):
        result = CliRunner().invoke(app, ["report", str(case)])
        assert result.exit_code == 0, result.output
        manifests.append(subprocess.run(["sha256sum", str(case / "manifest.json")], capture_output=True,
                                        text=True, check=True).stdout.split()[0])
        pages.append(tmp_path / f"report-{run}.html")
        pages[-1].write_bytes((case / "report.html").read_bytes())
    assert subprocess.run(["cmp", str(pages[0]), str(pages[1])]).returncode == 0
    page = pages[1].read_text(encoding="utf-8")
    cited = set(re.findall(r"[0-9a-f]{64}", page))
    # Any manifest hash the page shows must be the manifest beside it; none of
    # the manifests of this case (before or after any render) is cited.
    assert not cited & set(manifests)
    assert "SHA-256 of manifest.json" not in page
    assert "manifest.json, written after this page" in page


def test_a_store_keeps_the_declared_type(tmp_path, corpus):
    """`triage hashset import pdq:FILE`: the compiled store holds PDQ entries,
    and a scan with the store says the type was declared (not guessed)."""
    pdq_list = _tab_list(corpus, tmp_path / "lab-list.txt")
    runner = CliRunner()
    result = runner.invoke(app, ["hashset", "import", f"pdq:{pdq_list}", "-o", str(tmp_path / "store.sqlite")])
    assert result.exit_code == 0, result.output
    guessed = runner.invoke(app, ["hashset", "import", str(pdq_list), "-o", str(tmp_path / "guessed.sqlite")])
    assert guessed.exit_code == 0, guessed.output
    refused = runner.invoke(app, ["hashset", "import", f"md5:{pdq_list}", "-o", str(tmp_path / "refused.sqlite")])
    assert refused.exit_code == 2 and "declared md5" in refused.output
    import sqlite3

    db = sqlite3.connect(tmp_path / "refused.sqlite")
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone() == (0,)     # nothing of it imported
    db.close()

    evidence = corpus / "threatexchange-pdq" / "bridge-mods"
    scan([evidence], tmp_path / "case", "--only", "perceptual", "--hashset", str(tmp_path / "store.sqlite"),
         "--hashset", str(tmp_path / "guessed.sqlite"), expect_exit=1)
    report = load_report(tmp_path / "case")
    by_store = {Path(h["store"]).name: h for h in report["hashsets"]}
    declared, undeclared = by_store["store.sqlite"], by_store["guessed.sqlite"]
    assert (declared["declared_type"], declared["hash_types"], declared["type_guessed"]) == ("pdq", ["pdq"], False)
    assert (undeclared["hash_types"], undeclared["type_guessed"]) == (["sha256"], True)
    assert declared["files_matched"] == len(list(evidence.glob("*.jpg")))


def test_two_sets_of_one_file_name_keep_their_own_counts(tmp_path):
    import hashlib

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in (1, 2, 3):
        (evidence / f"file{i}.bin").write_bytes(payload(i))
    for folder, items in (("lab-a", (1,)), ("lab-b", (2, 3))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "known.txt").write_text("".join(f"{hashlib.md5(payload(i)).hexdigest()}\n" for i in items))
    scan([evidence], tmp_path / "case", "--no-plugins", "--hashset", str(tmp_path / "lab-a" / "known.txt"),
         "--hashset", str(tmp_path / "lab-b" / "known.txt"), expect_exit=0)
    report = load_report(tmp_path / "case")
    assert [(h["name"], h["files_matched"]) for h in report["hashsets"]] == [("known.txt", 1), ("known.txt (2)", 2)]
