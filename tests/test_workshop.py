"""The training case and the workshop (docs/workshop/): the case is the same
bytes for the same seed (E01 included) and another case for another seed;
every exercise command in the workshop documents is run as written and its
result compared with answers.json; the answer blocks in both languages are
the ones answers.json gives; the README's first command scans the case and
prints where a TRAINING report is."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from traffick_triage.demo import build_demo, workshop

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
DOCS = {language: REPO / "docs" / "workshop" / language / "README.md" for language in workshop.LANGUAGES}


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


# -- determinism ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    roots = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        roots[name] = tmp_path_factory.mktemp(f"build-{name}")
        build_demo(roots[name], seed)
    return roots


def test_same_seed_gives_byte_identical_case(builds):
    first, second = tree_hashes(builds["a"]), tree_hashes(builds["b"])
    assert {"evidence/laptop.E01", "evidence/phone.zip", "answers.json", "hashsets/known-vics.json",
            "hashsets/known-plain.txt", "hashsets/known.hashdeep", "hashsets/known-pdq.txt",
            "hashsets/nsrl-rds3-training.db"} <= set(first)
    assert first == second


def test_other_seed_gives_another_case(builds):
    first, other = tree_hashes(builds["a"]), tree_hashes(builds["c"])
    for name in ("evidence/laptop.E01", "evidence/phone.zip", "answers.json", "hashsets/known-vics.json"):
        assert first[name] != other[name], name
    a = json.loads((builds["a"] / "answers.json").read_text(encoding="utf-8"))
    c = json.loads((builds["c"] / "answers.json").read_text(encoding="utf-8"))
    assert a["followed_number"]["e164"] != c["followed_number"]["e164"]
    assert a["evidence"]["laptop.E01"]["stored_md5"] != c["evidence"]["laptop.E01"]["stored_md5"]


def test_answer_key_matches_the_planted_files(builds):
    """The key's hashes are those of the evidence as written (no scan involved)."""
    root = builds["a"]
    answers = json.loads((root / "answers.json").read_text(encoding="utf-8"))
    for name in ("laptop.E01", "phone.zip"):
        assert answers["evidence"][name]["file"]["sha256"] == hashlib.sha256(
            (root / "evidence" / name).read_bytes()).hexdigest()
    for name, digest in answers["hashsets"].items():
        assert hashlib.sha256((root / "hashsets" / name).read_bytes()).hexdigest() == digest
    ewfinfo = subprocess.run(["ewfinfo", str(root / "evidence" / "laptop.E01")], capture_output=True, text=True)
    assert "Wed May  1 12:00:00 2024" in ewfinfo.stdout           # the frozen acquisition date
    for text in (root / "hashsets" / "known-plain.txt", root / "hashsets" / "known-pdq.txt",
                 root / "hashsets" / "known.hashdeep", root / "hashsets" / "known-vics.json"):
        assert "benign generated images" in text.read_text(encoding="utf-8"), text


# -- the workshop -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workshop_run(tmp_path_factory) -> dict:
    """Every exercise of the English document run in order, from a folder laid
    out like the repository (.venv, examples/demo-case)."""
    if not (VENV / "bin" / "triage").exists():
        pytest.skip("needs the project's .venv (make setup)")
    cwd = tmp_path_factory.mktemp("workshop")
    os.symlink(VENV, cwd / ".venv")
    blocks = workshop.parse_blocks(DOCS["en"].read_text(encoding="utf-8"))
    results: dict[int, list[dict]] = {}
    for number in workshop.EXERCISES:
        results[number] = []
        for command in blocks[("sh exercise", number)]:
            done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=600,
                                  env={**os.environ, "LC_ALL": "C.UTF-8"})
            results[number].append({"command": command, "rc": done.returncode, "stdout": done.stdout,
                                    "stderr": done.stderr})
    answers = json.loads((cwd / "examples" / "demo-case" / "answers.json").read_text(encoding="utf-8"))
    return {"cwd": cwd, "results": results, "answers": answers, "blocks": blocks}


@pytest.mark.parametrize("language", workshop.LANGUAGES)
def test_documents_hold_the_commands_and_answers_of_the_key(workshop_run, language):
    answers = workshop_run["answers"]
    assert answers["seed"] == 7, "the documents are written for the default seed"
    blocks = workshop.parse_blocks(DOCS[language].read_text(encoding="utf-8"))
    assert {n for _tag, n in blocks} == set(workshop.EXERCISES)
    for number in workshop.EXERCISES:
        assert blocks[("sh exercise", number)] == workshop.commands(number, answers), (language, number)
        assert blocks[("text answer", number)] == workshop.answer_lines(number, answers), (language, number)


def _lines(run: dict) -> list[str]:
    return [line for line in (run["stdout"] + run["stderr"]).splitlines() if line.strip()]


def _all_lines(runs: list[dict]) -> list[str]:
    return [line for run in runs for line in _lines(run)]


def _pattern(expected: str) -> re.Pattern:
    return re.compile(re.escape(expected).replace(re.escape("..."), ".+?") + r"\Z")


def _assert_in_order(expected: list[str], actual: list[str]) -> None:
    position = 0
    for line in expected:
        pattern = _pattern(line)
        while position < len(actual) and not pattern.match(actual[position]):
            position += 1
        assert position < len(actual), f"expected {line!r} in order in:\n" + "\n".join(actual)
        position += 1


def test_exercise_1_readme_first_command_scans_and_prints_the_report(workshop_run):
    [run] = workshop_run["results"][1]
    answers = workshop_run["answers"]
    assert run["rc"] == 0, run["stderr"]
    expected = [line for line in workshop.answer_lines(1, answers) if not line.startswith("(")]
    _assert_in_order(expected[:1], _lines(run))
    _assert_in_order(expected[1:], _lines(run))
    printed = re.search(r"^report: (.+)$", run["stdout"], re.M).group(1)
    report = workshop_run["cwd"] / printed
    assert report.is_file()
    html = (report.parent / "report.html").read_text(encoding="utf-8")
    assert "TRAINING: synthetic data" in html
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"]["files"] == answers["counts"]["files"]
    assert data["summary"]["deleted_files"] == answers["counts"]["deleted_files"]
    assert data["summary"]["known_bad_files"] == answers["counts"]["known_bad_files"]
    assert data["summary"]["known_good_files"] == answers["counts"]["known_good_files"]
    assert data["options"]["plugin_options"] == {"region": "KW", "training": True}
    assert [e["verification"] for e in data["evidence"] if e["name"] == "laptop.E01"] == ["verified"]


def test_exercise_2_e01(workshop_run):
    info_run, verify_run, md5_run = workshop_run["results"][2]
    laptop = workshop_run["answers"]["evidence"]["laptop.E01"]
    info = json.loads(info_run["stdout"])
    assert info["stored_hashes"] == {"md5": laptop["stored_md5"], "sha1": laptop["stored_sha1"]}
    assert info["acquisition_headers"]["acquiry_date"] == laptop["acquisition_date"]
    assert [(v["label"], v["file_system"], v["offset"]) for v in info["volumes"]] == [
        (p["label"], p["file_system"], p["offset"]) for p in laptop["partitions"]]
    assert info["counts"]["deleted_files"] == workshop_run["answers"]["counts"]["laptop_deleted_files"]
    assert info["counts"]["files"] == workshop_run["answers"]["counts"]["laptop_files"]
    assert verify_run["rc"] == 0 and "ewfverify: SUCCESS" in verify_run["stdout"]
    assert verify_run["stdout"].count(laptop["stored_md5"]) == 2
    assert md5_run["stdout"].split()[0] == laptop["file"]["md5"] != laptop["stored_md5"]


def test_exercise_3_chain_of_custody(workshop_run):
    runs = workshop_run["results"][3]
    audit = [json.loads(line) for line in runs[0]["stdout"].splitlines()]
    assert [entry["command"] for entry in audit] == ["scan"]
    expected = workshop.answer_lines(3, workshop_run["answers"])[1:]
    _assert_in_order(expected, _all_lines(runs[1:]))
    assert all(run["rc"] == 0 for run in runs)


@pytest.mark.parametrize("number", [4, 5, 6, 8, 9, 10])
def test_exercise_output_is_the_expected_answer(workshop_run, number):
    answers = workshop_run["answers"]
    expected = workshop.answer_lines(number, answers)
    actual = _all_lines(workshop_run["results"][number])
    if number == 4:        # "FILE   \"format\": \"plain\"," printed; the answer says "FILE: plain"
        actual = [re.sub(r'\s+"format": "([^"]+)",$', r": \1", line) for line in actual]
    _assert_in_order(expected, actual)
    if number in (4, 6, 8):
        # the listings are complete: nothing beyond the key
        listing = [line for line in actual if " > " in line]
        assert sorted(listing) == sorted(line for line in expected if " > " in line)


def test_exercise_7_map(workshop_run):
    count_run, listing_run = workshop_run["results"][7]
    answers = workshop_run["answers"]
    assert int(count_run["stdout"]) == answers["counts"]["geotagged_items"]
    found = {}
    for line in _lines(listing_run):
        locator, latitude, longitude = line.rsplit(",", 2)
        found[locator] = (float(latitude), float(longitude))
    expected = {loc: (p["latitude"], p["longitude"]) for p in answers["gps_points"] for loc in p["locators"]}
    assert set(found) == set(expected)
    for locator, (latitude, longitude) in expected.items():
        assert found[locator] == pytest.approx((latitude, longitude), abs=1e-6), locator


def test_report_holds_the_planted_identifiers(workshop_run):
    answers = workshop_run["answers"]
    report = json.loads((workshop_run["cwd"] / "examples/demo-case/case/report.json").read_text(encoding="utf-8"))
    identifiers = [f for f in report["findings"] if f["kind"] == "identifier"]
    wallets = {f["data"]["value"] for f in identifiers if f["data"]["kind"] == "wallet"}
    assert wallets == set(answers["wallets"]["valid"])
    assert not wallets & set(answers["wallets"]["broken"])
    emails = {f["data"]["value"] for f in identifiers if f["data"]["kind"] == "email"}
    assert emails == set(answers["emails"])
    matched = {f["locator"]: f["data"]["distance"] for f in report["findings"] if f["kind"] == "perceptual.match"}
    assert matched == {loc: m["pdq_distance"] for loc, m in answers["perceptual_matches"].items()}
    assert all(0 <= d <= answers["pdq_threshold"] for d in matched.values())
    contacts = {f["data"]["name"] for f in report["findings"] if f["kind"] == "comms.contact"}
    assert {v["name"] for v in answers["victims"]} <= contacts
    assert answers["followed_number"]["contact_name"] in contacts


def test_redacted_copy_hides_every_victim_name_and_number(workshop_run):
    case = workshop_run["cwd"] / "examples/demo-case/case"
    redacted = (case / "report.redacted.html").read_text(encoding="utf-8")
    plain = (case / "report.html").read_text(encoding="utf-8")
    for victim in workshop_run["answers"]["victims"]:
        assert victim["name"] in plain and victim["e164"] in plain          # planted, and shown unredacted
        for value in (victim["name"], victim["e164"], victim["national"], victim["email"]):
            assert value not in redacted, value
    assert "TRAINING" in redacted or "تدريب" in redacted
