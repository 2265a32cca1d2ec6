"""PDQ against Meta's expected hashes (ThreatExchange corpus, read in place),
mode handling, EXIF orientation, dihedral variants and decompression bombs."""

from __future__ import annotations

import csv
import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from traffick_triage.perceptual import (
    EXIF_ORIENTATION_TO_DIHEDRAL,
    PDQ_WORKING_SIZE,
    ImageDecodeError,
    ImageTooLarge,
    decode_once,
    hamming_distance,
    imagehashes_from_image,
    pdq_dihedral,
    pdq_dihedral_from_image,
    pdq_from_image,
    pdq_hash,
)
from traffick_triage.perceptual.decode import reduced_size

TOLERANCE = 16  # the ThreatExchange reference tests' Hamming tolerance
# Referenced by the expected CSVs but absent from the corpus snapshot
# (SOURCES.md, "Notes"): skipped by name, nothing else.
KNOWN_MISSING = {"misc-images/b.jpg"}


def _expected(corpus: Path) -> list[tuple[str, str, str]]:
    """(source csv, relative path, expected hex) from the expected CSVs."""
    base = corpus / "threatexchange-pdq" / "expected"
    rows = []
    for name in ("python_pdq_test_expected.csv", "cpp_readme_expected.csv"):
        with open(base / name, newline="") as f:
            for h, rel in csv.reader(f):
                rows.append((name, rel, h))
    # The wasm test CSV (FilePath,Hash; also MD5s of two videos, not images).
    with open(base / "PDQMD5TestData.csv", newline="") as f:
        for rec in csv.DictReader(f):
            path = rec["FilePath"]
            if "/data/" in path and path.endswith((".jpg", ".png")):
                rows.append(("PDQMD5TestData.csv", path.split("/data/", 1)[1], rec["Hash"]))
    return rows


def test_pdq_matches_reference_hashes(corpus: Path) -> None:
    root = corpus / "threatexchange-pdq"
    checked = 0
    worst = {}
    for source, rel, expected in _expected(corpus):
        path = root / rel
        if not path.exists():
            assert rel in KNOWN_MISSING, f"{rel} listed in {source} but missing and not a known gap"
            continue
        for draft in (True, False):
            r = pdq_hash(path, draft=draft)
            d = hamming_distance(r.hash, expected)
            worst[(rel, draft)] = max(d, worst.get((rel, draft), 0))
            assert d <= TOLERANCE, f"{rel} (draft={draft}, {source}): {d} bits from {expected}"
            assert 0 <= r.quality <= 100
        checked += 1
    assert checked > 0
    assert checked >= 40  # 19 + 8 + 15 rows present in the snapshot
    # The expected CSVs give no quality values; the known flat images are
    # flagged not matchable, the photos are.
    assert not pdq_hash(root / "misc-images/small.jpg").matchable
    assert pdq_hash(root / "reg-test-input/dih/bridge-1-original.jpg").matchable


def test_exif_orientation_follows_the_reference(corpus: Path) -> None:
    # C++ pdq-photo-hasher output for this file, from ThreatExchange
    # pdq/sql/README.md (commit baefb4ed67b6): the reference hashes the stored
    # pixels and ignores the EXIF Orientation tag (6 here).
    path = corpus / "threatexchange-pdq/reg-test-input/exif-rotn/exif-rotn-6.jpg"
    expected = "e9782aad54ae0b6365315ac278592d68d4b5434a5fcd7471f7abcb594b481a94"
    dec = decode_once(path)
    assert dec.exif_orientation == 6 and not dec.orientation_applied
    r = pdq_from_image(dec)
    assert hamming_distance(r.hash, expected) <= TOLERANCE
    turned = pdq_hash(path, apply_exif_orientation=True)
    assert hamming_distance(turned.hash, expected) > 31
    # The dihedral variants give the displayed orientation without re-decoding.
    dih = pdq_dihedral_from_image(dec)
    assert dih.original == r.hash
    assert hamming_distance(dih.displayed(6), turned.hash) <= TOLERANCE


def test_orientation_table_matches_pillow_transposes(corpus: Path) -> None:
    im = decode_once(corpus / "threatexchange-pdq/bridge-mods/aaa-orig.jpg", draft=None).image
    dih = pdq_dihedral_from_image(im)
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }
    for orientation, m in method.items():
        h = pdq_from_image(im.transpose(m)).hash
        assert hamming_distance(h, dih.displayed(orientation)) <= TOLERANCE, orientation
    assert set(EXIF_ORIENTATION_TO_DIHEDRAL.values()) == set(dih.hashes)


def test_dihedral_variants_match_the_transformed_files(corpus: Path) -> None:
    root = corpus / "threatexchange-pdq"
    expected = {rel: h for src, rel, h in _expected(corpus) if src == "python_pdq_test_expected.csv"}
    original = root / "reg-test-input/dih/bridge-1-original.jpg"
    full = pdq_dihedral(original, draft=False)
    reduced = pdq_dihedral(original)  # at most 512 px a side, the default
    # At 512 px the variant of the original and the hash of the re-encoded
    # rotated file are 18 bits apart for rotate180 and flip_minus1 even with
    # the reference's own reduction (Pillow thumbnail((512, 512)) + the C++
    # hasher, measured); our reduction gives the same 18. At full
    # resolution all eight stay within 16.
    reduced_tolerance = {"rotate180": 18, "flip_minus1": 18}
    names = {
        "bridge-2-rotate-90.jpg": "rotate90",
        "bridge-3-rotate-180.jpg": "rotate180",
        "bridge-4-rotate-270.jpg": "rotate270",
        "bridge-5-flipx.jpg": "flipx",
        "bridge-6-flipy.jpg": "flipy",
        "bridge-7-flip-plus-1.jpg": "flip_plus1",
        "bridge-8-flip-minus-1.jpg": "flip_minus1",
    }
    for fname, variant in names.items():
        exp = expected[f"reg-test-input/dih/{fname}"]
        assert hamming_distance(full.hashes[variant], exp) <= TOLERANCE, fname
        limit = reduced_tolerance.get(variant, TOLERANCE)
        assert hamming_distance(reduced.hashes[variant], exp) <= limit, fname
    # The original itself is closer to the reference at the reference's size.
    exp_original = expected["reg-test-input/dih/bridge-1-original.jpg"]
    assert hamming_distance(reduced.original, exp_original) <= 2
    assert hamming_distance(full.original, exp_original) <= TOLERANCE


def test_modes_of_the_same_picture_agree(corpus: Path) -> None:
    # ThreatExchange misc-images/modes: the bridge picture saved in several
    # Pillow modes (1-bit PNG, CMYK JPEG, RGB JPEG).
    root = corpus / "threatexchange-pdq/misc-images/modes"
    orig = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"  # aaa-orig.jpg
    for name in ("1.png", "CMYK.jpg", "RGB.jpg"):
        assert hamming_distance(pdq_hash(root / name).hash, orig) <= TOLERANCE, name


def _synthetic(seed: int = 3, size=(640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = 0.5 + 0.5 * np.sin(x / rng.uniform(20, 60) + rng.uniform(0, 6)) * np.cos(y / rng.uniform(20, 60))
    img = np.stack([a * 255, (x / w) * 255, (y / h) * 255], axis=-1)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def test_mode_conversions() -> None:
    rgb = _synthetic()
    base = pdq_from_image(rgb).hash
    grey = rgb.convert("L")
    grey_hash = pdq_from_image(grey).hash
    # 16-bit grey (I;16) must be rescaled, not clipped to white.
    a16 = (np.asarray(grey).astype(np.uint16) * 257)
    buf = io.BytesIO()
    Image.fromarray(a16).save(buf, "PNG")
    dec16 = decode_once(buf.getvalue())
    assert dec16.original_mode in ("I;16", "I")
    assert hamming_distance(pdq_from_image(dec16).hash, grey_hash) <= 2
    # Mode I with 8-bit range values, float F in 0..1.
    assert hamming_distance(pdq_from_image(grey.convert("I")).hash, grey_hash) <= 2
    f = Image.fromarray(np.asarray(grey).astype(np.float32) / 255.0)
    assert f.mode == "F"
    assert hamming_distance(pdq_from_image(f).hash, grey_hash) <= 2
    # Alpha dropped like the reference; palette; CMYK round trip.
    rgba = rgb.copy()
    rgba.putalpha(128)
    assert pdq_from_image(rgba).hash == base
    for m in ("P", "CMYK", "LA"):
        conv = rgb.convert(m)
        target = grey_hash if m == "LA" else base
        assert hamming_distance(pdq_from_image(conv).hash, target) <= TOLERANCE, m
    # P with a transparency index goes through RGBA quietly.
    p = rgb.convert("P")
    p.info["transparency"] = 0
    assert hamming_distance(pdq_from_image(p).hash, base) <= TOLERANCE


def test_decode_once_sources_agree(tmp_path: Path) -> None:
    img = _synthetic(5)
    path = tmp_path / "x.jpg"
    img.save(path, quality=90)
    data = path.read_bytes()
    by_path = pdq_hash(path)
    assert pdq_hash(data) == by_path
    assert pdq_hash(io.BytesIO(data)) == by_path
    dec = decode_once(data, reduce_to=PDQ_WORKING_SIZE)
    assert dec.format == "JPEG" and dec.image.mode == "RGB"
    # One decode feeds PDQ and the imagehash hashes.
    assert pdq_from_image(dec) == by_path
    hashes = imagehashes_from_image(dec)
    assert set(hashes) == {"phash", "dhash", "ahash", "whash"}


def test_low_quality_flagged() -> None:
    flat = Image.new("RGB", (300, 300), (120, 120, 120))
    r = pdq_from_image(flat)
    assert r.quality < 50 and not r.matchable
    assert len(r.hash) == 64


def _bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    idat = zlib.compress(b"\x00" * 1024, 9)  # a sliver of the declared data
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_quickly() -> None:
    data = _bomb_png(100_000, 100_000)  # 10 gigapixels declared
    assert len(data) < 200
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLarge) as info:
        pdq_hash(data)
    assert time.perf_counter() - t0 < 1.0
    assert "decompression bomb" in str(info.value)
    # Under Pillow's own hard limit, our own limit still applies.
    small = _bomb_png(12_000, 12_000)
    with pytest.raises(ImageTooLarge) as info:
        decode_once(small, max_pixels=10_000_000)
    assert (info.value.width, info.value.height) == (12_000, 12_000)
    assert isinstance(info.value, ImageDecodeError)


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(ImageDecodeError):
        pdq_hash(b"this is not an image")
    data = io.BytesIO()
    _synthetic(7).save(data, "JPEG")
    with pytest.raises(ImageDecodeError):
        pdq_hash(data.getvalue()[: len(data.getvalue()) // 3])


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024), (1600, 1004), (4032, 3024), (513, 100), (800, 600)])
def test_reduction_is_the_reference_thumbnail_size(size: tuple[int, int]) -> None:
    # Oracle: Pillow's thumbnail((512, 512)), which the PDQ Python reference
    # (pdqhashing PDQHasher.fromFile) applies before hashing.
    im = Image.new("RGB", size)
    im.thumbnail((512, 512))
    assert reduced_size(size, 512) == im.size
    buf = io.BytesIO()
    _synthetic(11, size).save(buf, "JPEG", quality=85)
    dec = decode_once(buf.getvalue(), reduce_to=PDQ_WORKING_SIZE)
    assert dec.size == im.size and dec.reduced and dec.original_size == size
    # libjpeg's DCT scaling was used whenever a 1/2 scale still fits.
    assert dec.drafted == (size[0] // 2 >= im.size[0] and size[1] // 2 >= im.size[1])


def test_small_and_png_images_are_not_scaled_up_and_png_is_reduced() -> None:
    small = _synthetic(12, (300, 200))
    dec = decode_once(small, reduce_to=PDQ_WORKING_SIZE)
    assert dec.size == (300, 200) and not dec.reduced and not dec.drafted
    buf = io.BytesIO()
    _synthetic(13, (1000, 700)).save(buf, "PNG")
    dec = decode_once(buf.getvalue(), reduce_to=PDQ_WORKING_SIZE)
    assert dec.size == (512, 358) and dec.reduced and not dec.drafted


def test_reduced_hash_drift_from_full_resolution_is_within_tolerance() -> None:
    # Drift of the default (at most 512 px a side) hash from the
    # full-resolution hash. Measured (docs/performance.md): synthetic 0.8 MP
    # photos median 4, max 8 bits; 12 MP median 8, max 10; the ThreatExchange
    # corpus median 4, max 14. The tolerance is the reference one (16).
    drifts = []
    for seed in range(6):
        buf = io.BytesIO()
        _synthetic(100 + seed, (1024, 768)).save(buf, "JPEG", quality=85)
        data = buf.getvalue()
        drifts.append(hamming_distance(pdq_hash(data).hash, pdq_hash(data, draft=False).hash))
    assert max(drifts) <= TOLERANCE, drifts
