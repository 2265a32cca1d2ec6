"""The workshop exercises (docs/workshop/{en,ar}/README.md): the exact
commands of each exercise and its expected answer, both made from the
case's answers.json, so the documents cannot drift from the case.

    python -m traffick_triage.demo.workshop examples/demo-case   # rewrite the blocks in both languages

rewrites, in each workshop document, the fenced blocks tagged
``sh exercise-N`` (commands) and ``text answer-N`` (expected answer) from
``examples/demo-case/answers.json`` (build it first with the default seed).
tests/test_workshop.py checks the blocks against a fresh build and runs every
command.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = "examples/demo-case"
CASE = f"{ROOT}/case"
TRIAGE = ".venv/bin/triage"
EXERCISES = range(1, 11)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "workshop"
LANGUAGES = ("en", "ar")
BLOCK = re.compile(r"```(sh exercise|text answer)-(\d+)\n(.*?)```", re.S)


def _csv(name: str) -> str:
    return f"{CASE}/csv/{name}"


def commands(number: int, a: dict) -> list[str]:
    """The shell commands of exercise ``number`` (run from the repository root)."""
    number_e164 = a["followed_number"]["e164"]
    victim = a["victims"][0]
    crop = next(loc for loc, m in a["perceptual_matches"].items() if m["variant"] == "cropped")
    crop_match = a["perceptual_matches"][crop]
    known_pdq = next(k["pdq"] for k in a["known_images"] if k["id"] == crop_match["known"])
    deleted = a["deleted_known_image"]
    known_name = next(k["file_name"] for k in a["known_images"] if k["id"] == deleted["known"])
    return {
        1: [f"{TRIAGE} demo run {ROOT}"],
        2: [f"{TRIAGE} info {ROOT}/evidence/laptop.E01",
            f"ewfverify -q {ROOT}/evidence/laptop.E01",
            f"md5sum {ROOT}/evidence/laptop.E01"],
        3: [f"cat {CASE}/audit.jsonl",
            f"sha256sum {ROOT}/evidence/laptop.E01 {ROOT}/evidence/phone.zip",
            f"hashdeep -a -k {CASE}/evidence.hashdeep {ROOT}/evidence/laptop.E01 {ROOT}/evidence/phone.zip",
            f"(cd {CASE} && sha256sum --quiet -c MANIFEST.sha256) && echo 'manifest: every output matches'"],
        4: [f"for f in {ROOT}/hashsets/*; do echo \"$f $({TRIAGE} hashset info \"$f\" | grep '\"format\"')\"; done",
            f"tail -n +2 {_csv('hashset_matches.csv')} | cut -d, -f2,13 | LC_ALL=C sort -u"],
        5: [f"tail -n +2 {_csv('files.csv')} | cut -d, -f2,7 | grep ',false$' | LC_ALL=C sort",
            f"tail -n +2 {_csv('files.csv')} | cut -d, -f2,12,13 | grep ',true$' | LC_ALL=C sort",
            f"mkdir -p {ROOT}/work && rm -f {ROOT}/work/IMG_0042.jpg",
            f"{TRIAGE} cat {CASE} \"{deleted['locator']}\" -o {ROOT}/work/IMG_0042.jpg",
            f"sha256sum {ROOT}/work/IMG_0042.jpg",
            f"grep {known_name} {ROOT}/hashsets/known-plain.txt"],
        6: [f"tail -n +2 {_csv('perceptual_matches.csv')} | cut -d, -f2,8,16,17 | LC_ALL=C sort -u",
            f".venv/bin/python -c \"print(bin(int('{crop_match['pdq']}', 16) ^ int('{known_pdq}', 16)).count('1'))\""],
        7: [f"grep -c '\"Point\"' {CASE}/locations.geojson",
            f"tail -n +2 {_csv('exif_gps.csv')} | cut -d, -f2,9,10 | LC_ALL=C sort"],
        8: [f"grep -F \"'{number_e164}\" {_csv('identifiers.csv')} | cut -d, -f1,2 | LC_ALL=C sort -u",
            f"grep -c -F \"{number_e164}\" {_csv('calls.csv')}",
            f"grep -c -F \"{number_e164}\" {_csv('messages.csv')}"],
        9: [f"{TRIAGE} report {CASE} --redact",
            f"grep -q -F -e '{victim['name']}' -e '{victim['e164']}' {CASE}/report.redacted.html "
            "&& echo 'victim data present' || echo 'victim data absent'",
            f"grep -q -F -e '{victim['name']}' -e '{victim['e164']}' {CASE}/report.html "
            "&& echo 'victim data present' || echo 'victim data absent'",
            f"{TRIAGE} report {CASE} --lang ar",
            f"grep -o 'dir=\"rtl\"' {CASE}/report.ar.html | head -n 1"],
        10: [f"rm -rf {ROOT}/colleague-case && cp -r {CASE} {ROOT}/colleague-case",
             f"{TRIAGE} verify {ROOT}/colleague-case",
             f"sed -i 's/Demo Examiner/A. Colleague/' {ROOT}/colleague-case/report.html",
             f"{TRIAGE} verify {ROOT}/colleague-case"],
    }[number]


def answer_lines(number: int, a: dict) -> list[str]:
    """The expected answer of exercise ``number``, from answers.json."""
    counts, laptop, phone = a["counts"], a["evidence"]["laptop.E01"], a["evidence"]["phone.zip"]
    if number == 1:
        return [f"{counts['files']} files ({counts['deleted_files']} deleted), ... findings, 0 warnings",
                f"report: {CASE}/report.json",
                f"({counts['planted_files']} planted files + {counts['volume_label_entries']} FAT volume-label "
                "entries, which The Sleuth Kit lists as files)"]
    if number == 2:
        return [f"stored MD5 (of the media): {laptop['stored_md5']}",
                f"stored SHA-1 (of the media): {laptop['stored_sha1']}",
                f"acquisition date: {laptop['acquisition_date']}",
                "partitions: " + ", ".join(f"{p['label']} {p['file_system']} ({p['volume_label']})"
                                           for p in laptop["partitions"]),
                "ewfverify: SUCCESS",
                f"md5sum of the E01 container: {laptop['file']['md5']} (not the media hash)"]
    if number == 3:
        return ["audit.jsonl: one line, command \"scan\"",
                f"{laptop['file']['sha256']}  {ROOT}/evidence/laptop.E01",
                f"{phone['file']['sha256']}  {ROOT}/evidence/phone.zip",
                "hashdeep: Audit passed",
                "manifest: every output matches"]
    if number == 4:
        lines = [f"{ROOT}/hashsets/{name}: {fmt}" for name, fmt in sorted(a["hashset_formats"].items())]
        rows = {f"{loc},{s}" for loc, m in a["exact_matches"].items() for s in m["sets"]}
        rows |= {f"{loc},nsrl-rds3-training.db" for loc in a["known_good_files"]}
        return lines + sorted(rows)
    if number == 5:
        deleted = a["deleted_known_image"]
        known_name = next(k["file_name"] for k in a["known_images"] if k["id"] == deleted["known"])
        return ([f"{loc},false" for loc in sorted(a["deleted_files"])]
                + [f"{loc},image/jpeg,true" for loc in sorted(a["renamed_images"])]
                + [f"{deleted['sha256']}  {ROOT}/work/IMG_0042.jpg",
                   f"{deleted['sha256']} {known_name}"])
    if number == 6:
        rows = sorted({f"{loc},{m['pdq_distance']},{s},{a['pdq_threshold']}"
                       for loc, m in a["perceptual_matches"].items() for s in m["sets"]})
        crop = next(m for m in a["perceptual_matches"].values() if m["variant"] == "cropped")
        return rows + [str(crop["pdq_distance"])]
    if number == 7:
        rows = sorted(f"{loc},{p['latitude']:.6f},{p['longitude']:.6f}"
                      for p in a["gps_points"] for loc in p["locators"])
        return [str(counts["geotagged_items"])] + rows
    if number == 8:
        number_info = a["followed_number"]
        ids = a["case"]["evidence_ids"]
        rows = sorted(f"{ids[loc.split(' > ', 1)[0]]},{loc}" for loc in number_info["locators"])
        return rows + [str(number_info["calls"]), str(number_info["messages"])]
    if number == 9:
        return ["re-rendered ... outputs in " + CASE, "victim data absent", "victim data present",
                "re-rendered ... outputs in " + CASE, 'dir="rtl"']
    if number == 10:
        return ["verified: ... files match the manifest",
                "FAILED  changed: report.html (SHA-256 differs from MANIFEST.sha256)",
                "verification failed: 1 problem(s)"]
    raise ValueError(number)


def render_blocks(text: str, answers: dict) -> str:
    """``text`` with every exercise/answer block rewritten from ``answers``."""
    def replace(match: re.Match) -> str:
        tag, number = match.group(1), int(match.group(2))
        lines = commands(number, answers) if tag == "sh exercise" else answer_lines(number, answers)
        return f"```{tag}-{number}\n" + "\n".join(lines) + "\n```"

    return BLOCK.sub(replace, text)


def parse_blocks(text: str) -> dict[tuple[str, int], list[str]]:
    return {(m.group(1), int(m.group(2))): m.group(3).rstrip("\n").split("\n") for m in BLOCK.finditer(text)}


def main(argv: list[str]) -> int:
    import json

    root = Path(argv[1] if len(argv) > 1 else ROOT)
    answers = json.loads((root / "answers.json").read_text(encoding="utf-8"))
    for language in LANGUAGES:
        path = DOCS / language / "README.md"
        path.write_text(render_blocks(path.read_text(encoding="utf-8"), answers), encoding="utf-8")
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
