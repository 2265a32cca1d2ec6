"""Gigabytes from kilobytes (issue 16, item 5): a small input that would make
the tool build something huge is bounded, named, and costs < 1 GB RSS.

Each command runs as a subprocess of a fresh interpreter that reports the
peak RSS of everything it waited for (RUSAGE_CHILDREN: the triage process and
its workers), so the runner's own memory is not counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
RSS_LIMIT = 1 << 30

_MEASURED = (
    "import resource, subprocess, sys;"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=900);"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024;"
    "sys.stderr.write(done.stderr); sys.stdout.write(done.stdout);"
    "print(); print('PEAK', done.returncode, peak)"
)


def triage_measured(tmp_path: Path, *args: str) -> tuple[int, int, str, str]:
    """(exit code, peak RSS in bytes, stdout, stderr) of `triage ARGS`."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TMPDIR": str(tmp_path)}
    done = subprocess.run([str(PYTHON), "-c", _MEASURED, str(PYTHON), "-m", "traffick_triage", *args],
                          env=env, capture_output=True, text=True, timeout=1000, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out, _, tail = done.stdout.rpartition("PEAK ")
    code, peak = tail.split()
    return int(code), int(peak), out, done.stderr


# -- a VICS JSON nested 50,000 deep -------------------------------------------------------------


def _deep_vics(path: Path, depth: int = 50_000) -> Path:
    # 100 KB. A VICS reader takes it for VICS ("value"); ijson's C parser kept
    # the prefix of every open level, "value.item.item...": 6 GB.
    path.write_text('{"odata.metadata": "x", "value": [' + "[" * depth + "]" * depth + "]}", encoding="ascii")
    return path


def _one_error_line(stderr: str, *words: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


def test_deeply_nested_vics_is_refused_by_hashset_info(tmp_path):
    deep = _deep_vics(tmp_path / "deep.json")

    code, peak, _, stderr = triage_measured(tmp_path, "hashset", "info", str(deep))

    print(f"hashset info, 50,000-deep VICS: peak RSS {peak >> 20} MiB")
    assert code == 2, stderr
    _one_error_line(stderr, "deep.json", "nested deeper than 64 levels")
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


def test_deeply_nested_vics_given_to_scan_stops_it_before_it_starts(tmp_path):
    deep = _deep_vics(tmp_path / "deep.json")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "control.txt").write_bytes(b"control\n")
    case = tmp_path / "case"

    code, peak, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                            "--workers", "1", "--hashset", str(deep))

    print(f"scan --hashset, 50,000-deep VICS: peak RSS {peak >> 20} MiB")
    assert code == 2, stderr
    _one_error_line(stderr, "deep.json", "nested deeper than 64 levels")
    assert not (case / "report.json").exists()
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


def test_vics_at_the_depth_limit_is_still_read(tmp_path):
    # The bound refuses nesting, not VICS: a Media object whose extra field
    # nests to exactly 64 levels in all is read, and its hash is the file's.
    md5 = hashlib.md5(b"benign").hexdigest()
    nested: object = "leaf"
    for _ in range(64 - 3):          # the root object, "value" and the Media object make 3
        nested = [nested]
    document = {"odata.metadata": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/$metadata",
                "value": [{"MediaID": 1, "Category": 1, "MD5": md5, "Extra": nested}]}
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    code, _, stdout, stderr = triage_measured(tmp_path, "hashset", "info", str(path))

    assert code == 0, stderr
    info = json.loads(stdout)
    assert (info["format"], info["entry_count"], info["hashes"].get("md5")) == ("vics-json", 1, 1)
    # One level more is refused.
    document["value"][0]["Extra"] = [nested]
    path.write_text(json.dumps(document), encoding="utf-8")
    code, _, _, stderr = triage_measured(tmp_path, "hashset", "info", str(path))
    assert code == 2, stderr
    _one_error_line(stderr, "ok.json", "nested deeper than 64 levels")


def test_deeply_nested_yaml_case_file_is_one_line(tmp_path):
    # PyYAML composes nested nodes recursively: RecursionError was an
    # "internal error ... this is a bug" (memory stays small).
    case_file = tmp_path / "case.yaml"
    case_file.write_text("evidence:\n  - path: x\nextra: " + "[" * 5000 + "]" * 5000 + "\n", encoding="ascii")

    code, peak, _, stderr = triage_measured(tmp_path, "batch", str(case_file))

    assert code == 2, stderr
    _one_error_line(stderr, "case.yaml", "nested too deep")
    assert peak < RSS_LIMIT


def test_deeply_nested_yaml_keyword_file_is_a_keyword_file_error(tmp_path):
    from traffick_triage.identifiers.keywords import KeywordFileError, load_keyword_file

    path = tmp_path / "deep.yaml"
    path.write_text("[" * 5000 + "]" * 5000, encoding="ascii")
    try:
        load_keyword_file(path)
    except KeywordFileError as error:
        assert "nested too deep" in str(error) and "deep.yaml" in str(error)
    else:
        raise AssertionError("a 5,000-deep keyword file was accepted")


def test_verify_of_a_case_folder_with_deeply_nested_json_names_it(tmp_path):
    # A case folder passed between agencies is untrusted input to `triage
    # verify`: json.loads raised RecursionError ("internal error").
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "control.txt").write_bytes(b"control\n")
    case = tmp_path / "case"
    code, _, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                         "--workers", "1", "--no-plugins")
    assert code == 0, stderr
    deep = "[" * 100_000 + "]" * 100_000
    (case / "manifest.json").write_text(deep, encoding="ascii")

    code, peak, stdout, stderr = triage_measured(tmp_path, "verify", str(case))

    assert code == 1, stdout + stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "unreadable manifest.json" in stdout
    assert peak < RSS_LIMIT
