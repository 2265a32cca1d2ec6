#!/usr/bin/env python3
"""PDQ images/s: hashing reduced to at most N px a side vs a naive full decode, and the drift.

    python bench/bench_pdq_decode.py [--photos 12] [--small-photos 24] [--corpus ../shared/corpus]

"naive" = Image.open + convert("RGB") + pdqhash.compute on the full image.
"reduced N" = traffick_triage.perceptual.pdq_hash(draft=N): decoded at most
N px a side (JPEG: libjpeg DCT scaling, then an area average; 512 is the
default, the size the PDQ Python reference thumbnails to).
"Pillow thumbnail" = what the Python reference does (thumbnail((512, 512)),
bicubic) then pdqhash: the reference's own drift from a full decode.
"plugin path" = what the perceptual plugin does per image: one reduced decode
feeding PDQ, pHash and dHash; its drift columns are PDQ's, and pHash/dHash
drift (of 64 bits) from their full-decode values is printed below the table.
Inputs: generated photo-like JPEGs (gradients + noise + shapes, seeded;
nothing real) of 12 MP (4000x3000) and 0.8 MP (1024x768), and every image of
the ThreatExchange PDQ corpus. Drift = Hamming distance to the full-decode
hash; for the corpus also the worst distance to the expected reference
hashes (tolerance 16). One process: images/s is per core.
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
from traffick_triage.perceptual import PDQ_WORKING_SIZE, decode_once, imagehashes_from_image, pdq_from_image  # noqa: E402
from traffick_triage.perceptual.imagehashes import hex_hamming  # noqa: E402
from traffick_triage.perceptual.pdq import bits_to_hex, hamming_distance, pdq_hash  # noqa: E402

DRAFTS = (1024, 512, 256)     # reduced to at most N px a side


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


def thumbnail_reference(path: Path) -> str:
    with Image.open(path) as im:
        im.thumbnail((512, 512))
        arr = np.asarray(im.convert("RGB"))
    bits, _ = pdqhash.compute(arr)
    return bits_to_hex(bits)


def plugin_path(path: Path) -> tuple[str, str, str]:
    decoded = decode_once(path, reduce_to=PDQ_WORKING_SIZE)
    hashes = imagehashes_from_image(decoded, ("phash", "dhash"))
    return pdq_from_image(decoded).hash, hashes["phash"], hashes["dhash"]


def full_imagehashes(path: Path) -> tuple[str, str]:
    hashes = imagehashes_from_image(decode_once(path), ("phash", "dhash"))
    return hashes["phash"], hashes["dhash"]


def report(label: str, paths: list[Path], exp: dict[Path, list[str]] | None) -> None:
    full, full_rate = timed(naive, paths)
    print(f"\n### {label}: {len(paths)} images\n")
    head = "| route | images/s (one core) | PDQ drift vs full: median | max |"
    sep = "|---|---|---|---|"
    if exp is not None:
        head += " worst vs expected reference |"
        sep += "---|"
    print(head)
    print(sep)

    def row(name: str, hashes: list[str], rate: float) -> None:
        drift = [hamming_distance(a, b) for a, b in zip(full, hashes)]
        line = f"| {name} | {rate:.1f} | {statistics.median(drift):g} | {max(drift)} |"
        if exp is not None:
            worst = max((hamming_distance(h, e) for p, h in zip(paths, hashes) for e in exp.get(p, [])), default=0)
            line += f" {worst} |"
        print(line)

    row("naive full decode", full, full_rate)
    thumbs, rate = timed(thumbnail_reference, paths)
    row("Pillow thumbnail((512, 512)) as the Python reference", thumbs, rate)
    for d in DRAFTS:
        res, rate = timed(lambda p: pdq_hash(p, draft=d).hash, paths)
        row(f"reduced {d}", res, rate)
    plugin, rate = timed(plugin_path, paths)
    row("plugin path (reduced 512; PDQ + pHash + dHash)", [h[0] for h in plugin], rate)
    fulls = [full_imagehashes(p) for p in paths]
    for index, name in ((1, "pHash"), (2, "dHash")):
        drift = [hex_hamming(h[index], f[index - 1]) for h, f in zip(plugin, fulls)]
        print(f"\n{name} drift (of 64 bits) of the plugin path from a full decode: "
              f"median {statistics.median(drift):g}, max {max(drift)}", end="")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=12, help="12 MP photos")
    ap.add_argument("--small-photos", type=int, default=24, help="0.8 MP (1024x768) photos")
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
        small = []
        for s in range(a.small_photos):
            p = Path(tmp) / f"small{s:02d}.jpg"
            photo(2000 + s, 1024, 768).save(p, "JPEG", quality=int(80 + s % 3 * 5))
            small.append(p)
        report("synthetic 0.8 MP (1024x768) JPEG photos", small, None)
    corpus = Path(a.corpus)
    root = corpus / "threatexchange-pdq"
    if root.is_dir():
        exp_rel = expected_hashes(corpus)
        cpaths = sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png"))
        exp = {p: exp_rel.get(str(p.relative_to(root)), []) for p in cpaths}
        report("ThreatExchange PDQ corpus (all images)", cpaths, exp)


if __name__ == "__main__":
    main()
