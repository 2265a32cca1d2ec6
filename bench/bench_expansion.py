#!/usr/bin/env python3
"""Files inside files (issue 17): a 10,000-member ZIP found inside a folder,
inventoried by the scan's expansion walk, against its anchor in the same run:
``unzip`` into a scratch folder followed by ``hashdeep -c md5,sha1,sha256 -r``
over the extracted files (what an examiner does by hand to get the same hashes).

    .venv/bin/python bench/bench_expansion.py              # 10,000 members, ~100 MB
    .venv/bin/python bench/bench_expansion.py --members 2000

Routes, warm cache (the archive is read once before timing), best of --repeat:

  unzip+hashdeep      unzip -q -d TMP ARCHIVE; hashdeep -c md5,sha1,sha256 -r TMP
  triage              triage scan FOLDER -o CASE --no-plugins --workers W (expansion on, the default)
  triage --no-expand  the same scan without expansion: the folder's own file only
  triage extracted    triage scan of the folder unzip made (the same files, given as files)

Ratios are to unzip+hashdeep. The archive (seeded) is built under bench/work/.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "expansion"


def build(members: int, seed: int = 17) -> Path:
    folder = WORK / f"folder-{members}"
    archive = folder / "export.zip"
    if archive.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(4096)) for _ in range(64)]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for index in range(members):
            size = rng.randrange(2 << 10, 18 << 10)
            body = b"".join(rng.choice(words) for _ in range(size // 4096 + 1))[:size // 2] + rng.randbytes(size // 2)
            out.writestr(f"sdcard/dir{index % 100:02d}/file{index:05d}.bin", body)
    return folder


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    folder = build(args.members)
    archive = folder / "export.zip"
    archive.read_bytes()
    triage = [sys.executable, "-m", "traffick_triage", "scan", str(folder), "--no-plugins", "--quiet",
              "--workers", str(args.workers)]
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        scratch = Path(tempfile.mkdtemp(prefix="bench-expansion-"))
        try:
            started = time.perf_counter()
            subprocess.run(["unzip", "-q", "-d", str(scratch / "x"), str(archive)], check=True)
            subprocess.run(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(scratch / "x")], check=True,
                           stdout=subprocess.DEVNULL)
            elapsed = time.perf_counter() - started
            best["unzip+hashdeep"] = min(best.get("unzip+hashdeep", elapsed), elapsed)
            for label, extra in (("triage", []), ("triage --no-expand", ["--no-expand"])):
                case = scratch / label.replace(" ", "_")
                elapsed = timed(triage + ["-o", str(case)] + extra)
                best[label] = min(best.get(label, elapsed), elapsed)
            extracted = [sys.executable, "-m", "traffick_triage", "scan", str(scratch / "x"), "--no-plugins",
                         "--quiet", "--workers", str(args.workers), "-o", str(scratch / "case-extracted")]
            elapsed = timed(extracted)
            best["triage extracted"] = min(best.get("triage extracted", elapsed), elapsed)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    anchor = best["unzip+hashdeep"]
    print(f"{args.members} members, {archive.stat().st_size / 1e6:.1f} MB archive, workers {args.workers}")
    for label, seconds in best.items():
        print(f"  {label:20s} {seconds:7.2f} s   {seconds / anchor:5.2f}x unzip+hashdeep")


if __name__ == "__main__":
    main()
