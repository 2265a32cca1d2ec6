#!/usr/bin/env python3
"""PDQ images/s: JPEG draft decoding vs naive full decode, and the drift.

    python bench/bench_pdq_decode.py [--photos 12] [--corpus ../shared/corpus]

"naive" = Image.open + convert("RGB") + pdqhash.compute on the full image.
"draft N" = traffick_triage.perceptual.pdq_hash(draft=N) (libjpeg DCT
scaling so both sides stay >= N px). Inputs: generated photo-like 12 MP
JPEGs (gradients + noise + shapes, seeded; nothing real) and every image of
the ThreatExchange PDQ corpus. Drift = Hamming distance of the draft hash to
the full-decode hash (and, for the corpus, the worst distance to the
expected reference hashes).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from traffick_triage.perceptual.pdq import bits_to_hex, hamming_distance, pdq_hash  # noqa: E402

DRAFTS = (1024, 512, 256)


def photo(seed: int, w: int = 4000, h: int = 3000) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(40, 600, 2).astype(np.float32).tolist() + [float(rng.uniform(0, 6))]
        img[..., c] = 110 + 70 * np.sin(x / fx + ph) * np.cos(y / fy) + 40 * (x / w) - 20 * (y / h)
    for _ in range(25):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(40, 700)
        x0, x1 = int(max(cx - r, 0)), int(min(cx + r, w))
        y0, y1 = int(max(cy - r, 0)), int(min(cy + r, h))
        if rng.random() < 0.5:
            m = (x[y0:y1, x0:x1] - cx) ** 2 + (y[y0:y1, x0:x1] - cy) ** 2 < r * r
            img[y0:y1, x0:x1][m] = rng.uniform(0, 255, 3)
        else:
            img[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 8, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def naive(path: Path) -> str:
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    bits, _ = pdqhash.compute(arr)
    return bits_to_hex(bits)


def timed(fn, paths):
    t0 = time.perf_counter()
    out = [fn(p) for p in paths]
    return out, len(paths) / (time.perf_counter() - t0)


def expected_hashes(corpus: Path) -> dict[str, list[str]]:
    exp: dict[str, list[str]] = {}
    base = corpus / "threatexchange-pdq/expected"
    for name in ("python_pdq_test_expected.csv", "cpp_readme_expected.csv"):
        for h, rel in csv.reader(open(base / name)):
            exp.setdefault(rel, []).append(h)
    for rec in csv.DictReader(open(base / "PDQMD5TestData.csv")):
        if "/data/" in rec["FilePath"] and rec["FilePath"].endswith((".jpg", ".png")):
            exp.setdefault(rec["FilePath"].split("/data/", 1)[1], []).append(rec["Hash"])
    return exp


def report(label: str, paths: list[Path], exp: dict[Path, list[str]] | None) -> None:
    full, full_rate = timed(naive, paths)
    print(f"\n### {label}: {len(paths)} images\n")
    head = "| decode | images/s | drift vs full: median | max |"
    sep = "|---|---|---|---|"
    if exp is not None:
        head += " worst vs expected reference |"
        sep += "---|"
    print(head)
    print(sep)
    row = f"| naive full decode | {full_rate:.1f} | 0 | 0 |"
    if exp is not None:
        worst = max((hamming_distance(h, e) for p, h in zip(paths, full) for e in exp.get(p, [])), default=0)
        row += f" {worst} |"
    print(row)
    for d in DRAFTS:
        res, rate = timed(lambda p: pdq_hash(p, draft=d).hash, paths)
        drift = [hamming_distance(a, b) for a, b in zip(full, res)]
        row = f"| draft {d} | {rate:.1f} | {statistics.median(drift):g} | {max(drift)} |"
        if exp is not None:
            worst = max((hamming_distance(h, e) for p, h in zip(paths, res) for e in exp.get(p, [])), default=0)
            row += f" {worst} |"
        print(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdqdecode-") as tmp:
        paths = []
        t0 = time.perf_counter()
        for s in range(a.photos):
            p = Path(tmp) / f"photo{s:02d}.jpg"
            photo(1000 + s).save(p, "JPEG", quality=int(80 + s % 3 * 5))
            paths.append(p)
        print(f"generated {a.photos} synthetic 4000x3000 JPEGs in {time.perf_counter() - t0:.1f} s")
        report("synthetic 12 MP JPEG photos", paths, None)
    corpus = Path(a.corpus)
    root = corpus / "threatexchange-pdq"
    if root.is_dir():
        exp_rel = expected_hashes(corpus)
        cpaths = sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png"))
        exp = {p: exp_rel.get(str(p.relative_to(root)), []) for p in cpaths}
        report("ThreatExchange PDQ corpus (all images)", cpaths, exp)


if __name__ == "__main__":
    main()
