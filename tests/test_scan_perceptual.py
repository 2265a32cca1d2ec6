"""A synthetic case: exact copies of "known" benign images match by hash with
the right category; re-encoded, resized, slightly cropped and brightened
variants do not match by hash but match by PDQ within the threshold;
unrelated images match nothing; the whole case has zero false positives."""

from __future__ import annotations

import hashlib
import io
import json

from PIL import Image, ImageEnhance

from evidence_builders import load_report, scan
from traffick_triage.demo.media import shapes
from traffick_triage.perceptual import pdq_hash


# The training case's generator: benign photo-like images, distinct per seed
# (PDQ distance > 100 between seeds, measured when this test was written).
photo = shapes


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def variants(image: Image.Image) -> dict[str, bytes]:
    width, height = image.size
    return {
        "reencoded": jpeg(image, quality=60),
        "resized": jpeg(image.resize((width // 2, height // 2), Image.LANCZOS)),
        "cropped": jpeg(image.crop((8, 6, width - 8, height - 6))),
        "brightened": jpeg(ImageEnhance.Brightness(image).enhance(1.15)),
    }


def test_exact_and_perceptual_matches_with_no_false_positive(tmp_path):
    known = {f"known{i}": photo(100 + i) for i in range(3)}
    unrelated = {f"other{i}": photo(900 + i) for i in range(6)}
    originals = {name: jpeg(image) for name, image in known.items()}
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    expected_exact, expected_perceptual = {}, {}
    for name, data in originals.items():
        (evidence / f"{name}-copy.jpg").write_bytes(data)
        expected_exact[f"/{name}-copy.jpg"] = name
        for kind, blob in variants(known[name]).items():
            (evidence / f"{name}-{kind}.jpg").write_bytes(blob)
            expected_perceptual[f"/{name}-{kind}.jpg"] = name
    for name, image in unrelated.items():
        (evidence / f"{name}.jpg").write_bytes(jpeg(image))

    media = []
    for number, (name, data) in enumerate(sorted(originals.items()), start=1):
        media.append({"MediaID": number, "MD5": hashlib.md5(data).hexdigest().upper(),
                      "SHA1": hashlib.sha1(data).hexdigest().upper(), "Category": 1, "Series": f"series-{name}",
                      "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq_hash(data).hash}]})
    vics = tmp_path / "known.json"
    vics.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
                                                  "Default/$metadata#Media", "value": media}))

    scan([evidence], tmp_path / "case", "--hashset", str(vics), "--only", "perceptual")
    report = load_report(tmp_path / "case")
    by_file: dict[str, dict[str, list[dict]]] = {}
    for finding in report["findings"]:
        by_file.setdefault(finding["data"] and finding["locator"].split(" > ", 1)[1], {}) \
            .setdefault(finding["kind"], []).append(finding["data"])

    exact = {path for path, kinds in by_file.items() if "hashset.match" in kinds}
    assert exact == set(expected_exact)
    for path, name in expected_exact.items():
        [hit] = by_file[path]["hashset.match"]
        assert hit["category_code"] == 1 and hit["series"] == f"series-{name}" and not hit["known_good"]

    perceptual = {path for path, kinds in by_file.items() if "perceptual.match" in kinds}
    assert perceptual == set(expected_exact) | set(expected_perceptual), "every variant, nothing else"
    for path, name in expected_perceptual.items():
        hits = by_file[path]["perceptual.match"]
        assert {h["series"] for h in hits} == {f"series-{name}"}, (path, hits)
        for hit in hits:
            assert hit["algorithm"] in ("pdq", "phash")
            assert 0 <= hit["distance"] <= hit["threshold"]
            if hit["algorithm"] == "pdq":
                assert hit["threshold"] == 31 and hit["library_version"].startswith("pdqhash")
    unrelated_paths = {f"/{name}.jpg" for name in unrelated}
    assert not any(kind in by_file.get(path, {}) for path in unrelated_paths
                   for kind in ("hashset.match", "perceptual.match"))
    assert report["summary"]["known_bad_files"] == len(expected_exact)


def test_unknown_near_duplicates_form_clusters(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    series = photo(7)
    for kind, blob in variants(series).items():
        (evidence / f"new-series-{kind}.jpg").write_bytes(blob)
    for seed in range(3):
        (evidence / f"lone{seed}.jpg").write_bytes(jpeg(photo(500 + seed)))
    scan([evidence], tmp_path / "case", "--only", "perceptual")
    clusters = [f for f in load_report(tmp_path / "case")["findings"] if f["kind"] == "perceptual.cluster"]
    assert {f["locator"].rsplit("/", 1)[-1] for f in clusters} == {f"new-series-{k}.jpg" for k in variants(series)}
    assert {f["data"]["cluster"] for f in clusters} == {"C0001"}
    assert all(f["data"]["size"] == 4 for f in clusters)


def test_low_quality_image_is_hashed_but_not_matched(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    flat = Image.new("RGB", (256, 256), (128, 128, 128))
    (evidence / "flat.png").write_bytes(_png(flat))
    flat_hash = pdq_hash(_png(flat)).hash
    hashes = tmp_path / "flat.pdq"
    hashes.write_text(f"{flat_hash} flat grey\n")
    # Declared PDQ: a bare 64-hex line would otherwise be read as SHA-256 (and match nothing anyway).
    scan([evidence], tmp_path / "case", "--only", "perceptual", "--hashset", f"pdq:{hashes}", expect_exit=0)
    report = load_report(tmp_path / "case")
    [hashed] = [f["data"] for f in report["findings"] if f["kind"] == "perceptual.hash"]
    assert hashed["matchable"] is False and hashed["pdq_quality"] < 50
    assert not [f for f in report["findings"] if f["kind"] == "perceptual.match"]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_generated_photos_are_deterministic():
    assert jpeg(photo(1)) == jpeg(photo(1)) != jpeg(photo(2))


def test_plugin_perceptual_hashes_agrees_with_threatexchange_reference(corpus):
    """The plugin module (plugins/perceptual_hashes.py) on Meta's own test images."""
    import csv as _csv

    from traffick_triage.perceptual import hamming_distance
    from traffick_triage.plugin_host import file_view_for_path, run_plugin
    from traffick_triage.plugins.perceptual_hashes import PerceptualHashes

    base = corpus / "threatexchange-pdq"
    checked = 0
    with open(base / "expected" / "python_pdq_test_expected.csv", newline="") as stream:
        for row in _csv.reader(stream):
            if not row or len(row[0]) != 64:
                continue
            image = base / row[1].strip()
            if not image.is_file():
                continue
            run = run_plugin(PerceptualHashes(), file_view_for_path(image))
            [finding] = run.findings
            assert hamming_distance(finding.pdq, row[0]) <= 16, image
            checked += 1
    assert checked >= 5


def test_video_frames_match_a_pdq_set_through_vpdq(tmp_path):
    """plugins/video_pdq.py: a video made of a known benign image's frames
    matches that image's PDQ entry; an unrelated video does not."""
    import av
    import pytest

    pytest.importorskip("vpdq")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for name, seed in (("known.mp4", 100), ("other.mp4", 901)):
        container = av.open(str(evidence / name), "w")
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for _ in range(25):
            for packet in stream.encode(av.VideoFrame.from_image(photo(seed))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        container.close()
    pdq_list = tmp_path / "known.pdq"
    pdq_list.write_text(f"# pdq\n{pdq_hash(jpeg(photo(100))).hash} known benign stand-in\n")
    scan([evidence], tmp_path / "case", "--only", "video_pdq", "--hashset", str(pdq_list), expect_exit=0)
    report = load_report(tmp_path / "case")
    frames = {f["locator"]: f["data"] for f in report["findings"] if f["kind"] == "perceptual.video"}
    assert set(frames) == {"evidence > /known.mp4", "evidence > /other.mp4"}
    assert all(len(data["frames"]) >= 2 for data in frames.values())
    matches = [f for f in report["findings"] if f["kind"] == "perceptual.match"]
    assert [(m["locator"], m["data"]["algorithm"]) for m in matches] == [("evidence > /known.mp4", "vpdq")]
    assert matches[0]["data"]["distance"] <= 31 and matches[0]["data"]["frames_matched"] >= 2
