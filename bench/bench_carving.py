#!/usr/bin/env python3
"""The carving stage (issue 17, item 2) beside PhotoRec alone, in one run.

    .venv/bin/python bench/bench_carving.py               # ~1 GB ext4 image
    .venv/bin/python bench/bench_carving.py --size-mb 256 # a quicker one

A raw ext4 image built once under bench/work/ (mke2fs -d, then debugfs rm):
random files filling about half of it, 400 generated JPEGs of which half are
deleted. Routes, warm cache, --repeat times interleaved, best kept:

  photorec alone   photorec on the raw image, its free space, the families
                   traffick-triage asks for (anchor)
  no carve         triage scan IMAGE --only perceptual --no-carve
  carve            triage scan IMAGE --only perceptual (PhotoRec on a sparse
                   copy of the volume, then hashing, typing and PDQ of what it carved)

The carving stage is "carve" minus "no carve"; the ratio that matters is the
carving stage over PhotoRec alone (the copy, reading back, hashing, typing
and PDQ are what the tool adds to the carver)."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402

sys.path.insert(0, str(B.REPO / "src"))
from traffick_triage.sources.photorec import command_line  # noqa: E402

PHOTOS = 400


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.new("RGB", (640, 480))
    image.putdata([((x + seed * 13) % 256, (y * 2 + rng.randrange(40)) % 256, (x * y + seed) % 256)
                   for y in range(480) for x in range(640)])
    out = BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def build_image(size_mb: int) -> tuple[Path, int]:
    """The bench image (reused when built) and how many JPEGs were deleted."""
    image = B.WORK / f"carving-ext4-{size_mb}mb.raw"
    deleted = PHOTOS // 2
    if image.exists():
        return image, deleted
    B.WORK.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=B.WORK, prefix="carving-staging-"))
    try:
        rng = random.Random(20261207)
        filler = size_mb * B.MB // 2
        for index in range(max(1, filler // (8 * B.MB))):
            (staging / f"blob{index:03d}.bin").write_bytes(rng.randbytes(8 * B.MB))
        for index in range(PHOTOS):
            (staging / f"photo{index:03d}.jpg").write_bytes(_jpeg(index))
        partial = image.with_suffix(".partial")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(staging), str(partial), f"{size_mb}M"],
                       check=True, capture_output=True)
        script = "".join(f"rm /photo{index:03d}.jpg\n" for index in range(0, PHOTOS, 2))
        subprocess.run(["debugfs", "-w", "-f", "-", str(partial)], input=script.encode(), check=True,
                       capture_output=True)
        os.replace(partial, image)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return image, deleted


def photorec_alone(image: Path) -> tuple[float, int]:
    work = Path(tempfile.mkdtemp(dir=B.WORK, prefix="carving-photorec-"))
    try:
        t0 = time.perf_counter()
        subprocess.run(["photorec", "/log", "/d", str(work / "recup"), "/cmd", str(image), command_line(True)],
                       cwd=work, check=True, stdin=subprocess.DEVNULL, capture_output=True)
        seconds = time.perf_counter() - t0
        carved = sum(1 for p in work.glob("recup.*/*") if p.name != "report.xml")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return seconds, carved


def scan(image: Path, case: Path, *options: str) -> float:
    B.fresh(case)
    m = B.run_measured([B.TRIAGE, "scan", str(image), "-o", str(case), "-q", "--only", "perceptual", *options])
    if m.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({m.returncode}): {m.stderr[-2000:]}")
    return m.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    image, deleted = build_image(args.size_mb)
    B.warm([image])
    case = B.WORK / "carving-case"
    runs: dict[str, list[float]] = {"photorec alone": [], "no carve": [], "carve": []}
    carved = 0
    for _ in range(args.repeat):
        seconds, carved = photorec_alone(image)
        runs["photorec alone"].append(seconds)
        runs["no carve"].append(scan(image, case, "--no-carve"))
        runs["carve"].append(scan(image, case))
    B.fresh(case)
    best = {name: min(values) for name, values in runs.items()}
    stage = best["carve"] - best["no carve"]
    rows = [[name, f"{seconds:.1f}", "anchor" if name == "photorec alone" else ""] for name, seconds in best.items()]
    rows.append(["carving stage (carve - no carve)", f"{stage:.1f}",
                 f"{stage / best['photorec alone']:.2f}x PhotoRec alone"])
    size = image.stat().st_size
    head = (f"### ext4 image of {size / B.MB:,.0f} MB, {PHOTOS} JPEGs of which {deleted} deleted "
            f"(PhotoRec alone carved {carved} files); {B.machine_line()}; best of {args.repeat}")
    block = "\n\n".join([head, B.table(["route", "seconds", ""], rows)])
    print(block, flush=True)
    if not args.no_write:
        command = "bench/bench_carving.py" + (f" --size-mb {args.size_mb}" if args.size_mb != 1024 else "")
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        B.write_section("bench_carving", f"## Carving vs PhotoRec alone (issue 17)\n\n"
                                         f"`.venv/bin/python {command}`, {started}\n\n{block}")


if __name__ == "__main__":
    main()
