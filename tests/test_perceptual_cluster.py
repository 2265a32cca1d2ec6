"""Clustering groups near-duplicates of generated benign images and keeps
unrelated images apart."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageEnhance

from traffick_triage.perceptual import cluster_hashes, decode_once, pdq_from_image


def _scene(seed: int, size=(800, 600)) -> Image.Image:
    """A benign synthetic 'photo': gradients, blobs, stripes and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(5, 90), rng.uniform(5, 90), rng.uniform(0, 6.3)
        img[..., c] = 127 + 90 * np.sin(x / fx + ph) * np.cos(y / fy - ph)
    for _ in range(10):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, 160)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 5, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _variants(img: Image.Image) -> list[bytes]:
    return [
        _jpeg(img, 92),
        _jpeg(img, 40),  # re-encoded hard
        _jpeg(img.resize((img.width // 2, img.height // 2)), 85),  # resized
        _jpeg(ImageEnhance.Brightness(img).enhance(1.25), 85),  # brightened
        _jpeg(img.resize((img.width * 5 // 4, img.height * 5 // 4)), 75),  # upscaled
    ]


def test_clusters_group_variants_and_separate_unrelated() -> None:
    series_a = _variants(_scene(1))
    series_b = _variants(_scene(2))
    loners = [_jpeg(_scene(s), 85) for s in range(10, 16)]
    files = {f"a{i}": d for i, d in enumerate(series_a)}
    files.update({f"b{i}": d for i, d in enumerate(series_b)})
    files.update({f"z{i}": d for i, d in enumerate(loners)})
    keys = sorted(files)
    results = [pdq_from_image(decode_once(files[k])) for k in keys]
    assert all(r.matchable for r in results)
    clusters = cluster_hashes([r.hash for r in results], keys=keys, qualities=[r.quality for r in results])
    groups = sorted(c.keys for c in clusters)
    assert groups == [tuple(f"a{i}" for i in range(5)), tuple(f"b{i}" for i in range(5))]
    assert all(c.max_distance <= 62 for c in clusters)
    assert [c.cluster_id for c in clusters] == ["pdq-c00001", "pdq-c00002"]
    assert clusters[0].keys[0] == "a0"  # same size: ordered by first key

    # Deterministic whatever the input order.
    order = np.random.default_rng(0).permutation(len(keys))
    shuffled = cluster_hashes(
        [results[i].hash for i in order],
        keys=[keys[i] for i in order],
        qualities=[results[i].quality for i in order],
    )
    assert [(c.cluster_id, c.keys) for c in shuffled] == [(c.cluster_id, c.keys) for c in clusters]


def test_low_quality_hashes_are_not_clustered() -> None:
    flat = [Image.new("RGB", (200, 200), (v, v, v)) for v in (10, 200, 90)]
    res = [pdq_from_image(im) for im in flat]
    assert all(not r.matchable for r in res)
    assert cluster_hashes([r.hash for r in res], qualities=[r.quality for r in res]) == []


def test_singletons_on_request() -> None:
    hashes = ["0" * 64, "0" * 63 + "1", "f" * 64]
    cl = cluster_hashes(hashes, min_size=1)
    assert [c.members for c in cl] == [(0, 1), (2,)]
    assert cl[0].max_distance == 1 and cl[1].max_distance == 0
