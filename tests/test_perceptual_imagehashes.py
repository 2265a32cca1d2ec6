"""imagehash values from imagehash's own test suite, reproduced exactly."""

from __future__ import annotations

import csv
from pathlib import Path

from traffick_triage.perceptual import decode_once, imagehashes_from_image

NAMES = {
    "average_hash": "ahash",
    "phash": "phash",
    "dhash": "dhash",
    "whash": "whash",
    "colorhash": "colorhash",
    "crop_resistant_hash(pillow>=7)": "crop_resistant",
}


def test_imagehash_constants(corpus: Path) -> None:
    base = corpus / "imagehash"
    with open(base / "expected_hashes.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    decoded = {}
    checked = 0
    for row in rows:
        algo = NAMES[row["algorithm"]]
        fname = row["file"]
        if fname not in decoded:
            # Decoded once, through the same path PDQ uses (RGBA -> RGB).
            decoded[fname] = decode_once(base / fname)
        got = imagehashes_from_image(decoded[fname], [algo])[algo]
        assert got == row["expected_hex"], (algo, fname)
        checked += 1
    assert checked == 6
