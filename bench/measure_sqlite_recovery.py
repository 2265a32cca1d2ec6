#!/usr/bin/env python3
"""Deleted SMS recovered from an mmssms.db (issue 17, item 4): ours against
the tools that could do it, on the fixtures of tests/test_sqlite_recovery.py
(60 SMS, 40 deleted with secure_delete off and no VACUUM; "rollback": the
rows lie in free-list pages and freeblocks; "wal": deleted in WAL frames not
yet checkpointed).

    PYTHONPATH=src:tests .venv/bin/python bench/measure_sqlite_recovery.py

Columns: how many of the 40 deleted messages (told apart by the number that
starts each body) each tool gives back:

* ours: recovered comms.message findings of the android_mmssms plugin;
* sqlite_dissect CLI: DC3's command line (``-c -f``, SQLite export), the
  test oracle;
* sqlite-carver: Mari DeGrazia's carver (PyPI ``sqlite-carver``, when on the
  PATH): prints the printable text of free areas, not records, so a message
  counts when its number appears in that text;
* sqlite3 .recover: SQLite's own recovery (the ``sqlite3`` shell), whose
  lost_and_found table gets the rows of free pages it can parse.

And the plugin's time on the file with and without the deleted-record search.
A measurement, not a test: nothing passes or fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from comms_testlib import run_untouched
from test_sqlite_recovery import _text, build_rollback, build_wal, dissect_cli
from traffick_triage import sqlite_recovery
from traffick_triage.plugins.android_mmssms import AndroidMmsSmsPlugin

DELETED = {n for n in range(1, 61) if n % 3}
NUMBER = re.compile(r"message (\d+):")


def numbers(texts) -> int:
    found = {int(m.group(1)) for text in texts for m in NUMBER.finditer(text or "")}
    return len(found & DELETED)


def carver(path: Path, out: Path) -> str:
    tool = shutil.which("sqlite-carver")
    if not tool:
        return "not installed"
    report = out / "carver.tsv"
    subprocess.run([tool, "-f", str(path), "-o", str(report)], capture_output=True, timeout=300, check=False)
    return str(numbers([report.read_text(errors="replace")])) if report.exists() else "failed"


def dot_recover(path: Path, out: Path) -> str:
    if not shutil.which("sqlite3"):
        return "not installed"
    copy = out / "recover.db"
    for suffix in ("", "-wal"):
        if Path(str(path) + suffix).exists():
            shutil.copyfile(str(path) + suffix, str(copy) + suffix)
    done = subprocess.run(["sqlite3", str(copy), ".recover"], capture_output=True, timeout=300, check=False)
    text = done.stdout.decode("utf-8", "replace")
    if "INSERT" not in text:
        return "failed: " + (done.stderr.decode("utf-8", "replace").strip() or text.strip())[:60]
    return str(numbers(line for line in text.splitlines() if line.startswith("INSERT")))


def timed(path: Path, search: bool) -> float:
    real = sqlite_recovery.run_worker
    if not search:
        sqlite_recovery.run_worker = lambda *_args: sqlite_recovery.RecoveryRun(())
    try:
        start = time.perf_counter()
        run_untouched(AndroidMmsSmsPlugin(), path)
        return time.perf_counter() - start
    finally:
        sqlite_recovery.run_worker = real


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sqlite-recovery-"))
    try:
        print("| fixture | deleted | ours | sqlite_dissect CLI | sqlite-carver | sqlite3 .recover "
              "| plugin s (with search / without) |")
        print("|---|---|---|---|---|---|---|")
        for name, build in (("rollback", build_rollback), ("wal", build_wal)):
            path = build(work / name / "evidence")
            run = run_untouched(AndroidMmsSmsPlugin(), path)
            ours = numbers(f.body for f in run.findings if f.recovered)
            oracle = numbers(_text(row["body"]) for row in dissect_cli(path, work / name / "dissect"))
            (work / name / "other").mkdir()
            print(f"| {name} | {len(DELETED)} | {ours} | {oracle} | {carver(path, work / name / 'other')} "
                  f"| {dot_recover(path, work / name / 'other')} "
                  f"| {timed(path, True):.2f} / {timed(path, False):.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
