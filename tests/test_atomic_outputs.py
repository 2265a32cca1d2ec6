"""Atomic outputs: a scan killed (SIGKILL, no clean-up possible) at any point
leaves either the previous complete outputs or a folder `triage verify`
refuses, never a half-written report that verify accepts; the same command
run again finishes with a report.json byte-identical to an uninterrupted run."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path


from evidence_builders import evidence_files, tree_hashes
from traffick_triage.verify import verify_case

REPO = Path(__file__).resolve().parents[1]
TRIAGE = Path(sys.executable).with_name("triage")   # the interpreter running the tests, as make test's .venv


def _evidence(root: Path) -> Path:
    from PIL import Image

    rng = random.Random(11)
    folder = root / "usb"
    for number in range(200):
        target = folder / f"d{number % 9}" / f"f{number:03d}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f"note {number} call +9655000{number:04d}\n".encode() * rng.randint(1, 400))
    for number in range(12):
        buffer = io.BytesIO()
        Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(
            buffer, "JPEG", quality=85)
        (folder / "DCIM" / f"IMG_{number:04d}.jpg").parent.mkdir(exist_ok=True)
        (folder / "DCIM" / f"IMG_{number:04d}.jpg").write_bytes(buffer.getvalue())
    (folder / "big.bin").write_bytes(rng.randbytes(8 << 20))
    return folder


def _command(evidence: Path, case: Path) -> list[str]:
    return [str(TRIAGE), "scan", str(evidence), "-o", str(case), "--quiet", "--workers", "2", "--region", "KW"]


def _run(evidence: Path, case: Path) -> tuple[int, float]:
    started = time.monotonic()
    done = subprocess.run(_command(evidence, case), capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return done.returncode, time.monotonic() - started


def _kill_when(evidence: Path, case: Path, ready, delay: float = 0.0) -> bool:
    """Start the scan, SIGKILL it (and its workers, no clean-up possible) as
    soon as ``ready(case)`` holds (plus ``delay`` seconds); False when the
    scan finished before that."""
    process = subprocess.Popen(_command(evidence, case), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        try:
            hit = ready(case)
        except OSError:
            hit = False
        if hit:
            time.sleep(delay)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def _exists(name: str):
    return lambda case: (case / name).exists()


def _writing(case: Path) -> bool:
    """An output is being written right now (its temporary file exists)."""
    return any(p.name.endswith(".partial") for p in case.iterdir()) if case.is_dir() else False


def _check_after_kill(case: Path, reference: bytes, previous: bytes | None) -> str:
    """What the killed folder holds; fails on a half-written output verify accepts."""
    if not case.exists():
        return "nothing written yet"
    report = case / "report.json"
    if report.exists():
        json.loads(report.read_text(encoding="utf-8"))      # atomic: never half a file under the final name
    result = verify_case(case)
    if result.ok:
        # verify accepts only complete outputs: the previous ones, or this run's finished ones
        assert report.read_bytes() in {reference, previous}, "verify accepted a report of an unfinished run"
        return "verify accepts (complete outputs)"
    return "verify refuses: " + result.problems[0]


def test_kill_at_any_point_then_resume_gives_the_same_report(tmp_path):
    evidence = _evidence(tmp_path)
    before = tree_hashes(evidence_files([evidence]))
    reference_code, duration = _run(evidence, tmp_path / "reference")
    reference = (tmp_path / "reference" / "report.json").read_bytes()
    kill_points = {
        "store created": (_exists("case.sqlite"), 0.0),
        "mid-walk": (_exists("case.sqlite"), duration * 0.4),
        "first output being written": (_writing, 0.0),
        "report.json in place": (_exists("report.json"), 0.0),
        "manifest.json in place": (_exists("manifest.json"), 0.0),
    }
    outcomes = {}
    for index, (label, (ready, delay)) in enumerate(kill_points.items()):
        case = tmp_path / f"killed-{index}"
        killed = _kill_when(evidence, case, ready, delay)
        outcomes[label] = _check_after_kill(case, reference, None) if killed else "finished first"
        code, _ = _run(evidence, case)
        assert code == reference_code
        assert (case / "report.json").read_bytes() == reference, f"resumed after a kill at {label}: report differs"
        assert verify_case(case).ok
    # A complete case re-run with the same command and killed while it
    # rewrites its outputs keeps the previous complete outputs (or is refused
    # by verify), never a mix that verify accepts.
    case = tmp_path / "killed-0"
    for label, ready in (("re-run: output being written", _writing),
                         ("re-run: manifest being written", lambda c: (c / "MANIFEST.sha256").stat().st_mtime
                          > (c / "report.json").stat().st_mtime and _writing(c))):
        killed = _kill_when(evidence, case, ready)
        outcomes[label] = _check_after_kill(case, reference, reference) if killed else "finished first"
    _run(evidence, case)
    assert (case / "report.json").read_bytes() == reference and verify_case(case).ok
    assert tree_hashes(evidence_files([evidence])) == before
    print(f"uninterrupted scan {duration:.1f} s; after each kill: {json.dumps(outcomes, indent=1)}")
