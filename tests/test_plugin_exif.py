"""The EXIF plugin against exiftool as the oracle, on the shared corpus read in
place, plus synthetic malformed inputs that must give warnings, not crashes."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import piexif
import pytest
from PIL import Image

from traffick_triage.plugin_host import bytes_file_view, file_view_for_path, run_plugin
from traffick_triage.plugins.exif_metadata import ExifGps, ExifMetadata, ExifPlugin

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is the oracle")

CRASH_MARK = "plugin exif 1.0.0 on"   # the host's prefix for an exception that escaped


def corpus_files(corpus: Path) -> list[Path]:
    roots = [corpus / "exif-samples", corpus / "threatexchange-pdq" / "reg-test-input" / "exif-rotn"]
    files = sorted(p for root in roots for p in root.rglob("*") if p.is_file())
    assert files, "corpus is empty"
    return files


def exiftool(paths: list[Path]) -> dict[str, dict]:
    """``exiftool -j -n -G`` for all files at once, keyed by absolute path."""
    output = subprocess.run(["exiftool", "-j", "-n", "-G", *map(str, paths)],
                            check=False, capture_output=True, text=True).stdout
    return {str(Path(entry["SourceFile"]).resolve()): entry for entry in json.loads(output)}


def run(path: Path):
    view = file_view_for_path(path)
    assert ExifPlugin.SELECTOR.matches(view.path, view.mime, view.size), (path, view.mime)
    result = run_plugin(ExifPlugin(), view)
    assert not [w for w in result.warnings if CRASH_MARK in w], (path, result.warnings)
    return result


def only(findings, kind):
    matches = [f for f in findings if isinstance(f, kind)]
    assert len(matches) <= 1
    return matches[0] if matches else None


@pytest.fixture(scope="module")
def corpus_runs(corpus):
    files = corpus_files(corpus)
    oracle = exiftool(files)
    return [(path, oracle[str(path.resolve())], run(path)) for path in files]


def test_corpus_agrees_with_exiftool(corpus_runs):
    counts = {"gps": 0, "DateTimeOriginal": 0, "Make": 0, "Model": 0}
    for path, truth, result in corpus_runs:
        metadata = only(result.findings, ExifMetadata)
        gps = only(result.findings, ExifGps)
        if "EXIF:GPSLatitude" in truth and "EXIF:GPSLongitude" in truth:
            # Composite:GPSLatitude is EXIF GPSLatitude signed by GPSLatitudeRef.
            assert gps is not None and gps.latitude is not None, path
            assert gps.latitude == pytest.approx(truth["Composite:GPSLatitude"], abs=1e-6), path
            assert gps.longitude == pytest.approx(truth["Composite:GPSLongitude"], abs=1e-6), path
            assert isinstance(gps.latitude, float) and isinstance(gps.longitude, float)
            if "Composite:GPSAltitude" in truth:
                assert gps.altitude == pytest.approx(truth["Composite:GPSAltitude"], abs=1e-6), path
            counts["gps"] += 1
        else:
            assert gps is None or gps.latitude is None, path
        for tag, field in (("DateTimeOriginal", "date_time_original"), ("Make", "make"), ("Model", "model")):
            if f"EXIF:{tag}" in truth:
                assert metadata is not None, path
                assert getattr(metadata, field) == str(truth[f"EXIF:{tag}"]), (path, tag)
                counts[tag] += 1
            else:
                assert metadata is None or getattr(metadata, field) is None, (path, tag)
    assert all(count > 0 for count in counts.values()), counts
    assert counts["gps"] >= 8, counts   # gps/*, Kodak, 67-0_length_string, HEIC, exif-rotn-6


def test_timeline_one_event_per_capture_time(corpus_runs):
    captured = gps_times = 0
    for path, truth, result in corpus_runs:
        metadata = only(result.findings, ExifMetadata)
        events = [e for f in result.findings for e in f.timeline_events()]
        capture_events = [e for e in events if e.timestamp_desc == "Image Captured"]
        original = truth.get("EXIF:DateTimeOriginal")
        if original is None:
            assert not capture_events, path
            continue
        assert len(capture_events) == 1, path
        event = capture_events[0]
        local = dt.datetime.strptime(original, "%Y:%m:%d %H:%M:%S")
        assert event.local_time == local.isoformat()
        offset = truth.get("EXIF:OffsetTimeOriginal")
        if offset:
            zone = dt.datetime.strptime(offset, "%z").tzinfo
            expected = local.replace(tzinfo=zone).astimezone(dt.timezone.utc)
            assert dt.datetime.fromisoformat(event.datetime) == expected, path
            assert metadata.capture_time_utc == event.datetime
        else:
            assert event.datetime is None and event.timezone == "unknown", path
            assert metadata.capture_time_utc is None and metadata.timezone == "unknown"
        captured += 1
        gps_events = [e for e in events if e.timestamp_desc == "GPS Time"]
        if "Composite:GPSDateTime" in truth:
            assert len(gps_events) == 1, path
            expected = dt.datetime.strptime(truth["Composite:GPSDateTime"].rstrip("Z"), "%Y:%m:%d %H:%M:%S"
                                            + (".%f" if "." in truth["Composite:GPSDateTime"] else ""))
            assert dt.datetime.fromisoformat(gps_events[0].datetime) == expected.replace(tzinfo=dt.timezone.utc)
            gps_times += 1
        else:
            assert not gps_events, path
    assert captured > 0 and gps_times > 0
    # The HEIC states its offset: the only sample with a known UTC capture time.
    assert any(e.datetime for _, _, r in corpus_runs for f in r.findings for e in f.timeline_events()
               if e.timestamp_desc == "Image Captured")


def test_geotag_contract(corpus_runs):
    for _, _, result in corpus_runs:
        for finding in result.findings:
            data = finding.to_dict()
            json.dumps(data)
            if isinstance(finding, ExifGps) and finding.latitude is not None:
                assert isinstance(data["latitude"], float) and isinstance(data["longitude"], float)


def test_invalid_corpus_samples_do_not_crash(corpus):
    # These files broke older exifread; exiftool finds no EXIF in them (their
    # APP1 is XMP), so no camera or time may be invented either.
    invalid = sorted((corpus / "exif-samples" / "jpg" / "invalid").iterdir())
    assert invalid
    for path in invalid:
        result = run(path)
        metadata = only(result.findings, ExifMetadata)
        assert metadata is None or (metadata.make, metadata.date_time_original) == (None, None)
        assert only(result.findings, ExifGps) is None
        # Truncated inside the header, the same files must warn, not crash.
        data = path.read_bytes()
        cut = run_plugin(ExifPlugin(), bytes_file_view(data[:200], path.name, "image/jpeg"))
        assert cut.warnings and not [w for w in cut.warnings if CRASH_MARK in w], cut.warnings


def test_truncated_exif_segment_warns_and_salvages(corpus):
    data = (corpus / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg").read_bytes()
    start = data.index(b"Exif\x00\x00")
    length = int.from_bytes(data[start - 2:start], "big")
    result = run_plugin(ExifPlugin(), bytes_file_view(data[:start + length // 2], "cut.jpg", "image/jpeg"))
    assert result.warnings and not [w for w in result.warnings if CRASH_MARK in w]
    assert only(result.findings, ExifMetadata).make == "NIKON"


# ---------------------------------------------------------------- synthetic

def jpeg_with(exif: dict) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=piexif.dump(exif))
    return buffer.getvalue()


def run_bytes(data: bytes, mime: str = "image/jpeg"):
    result = run_plugin(ExifPlugin(), bytes_file_view(data, "synthetic", mime))
    assert not [w for w in result.warnings if CRASH_MARK in w], result.warnings
    return result


GPS, EXIF, IFD0 = piexif.GPSIFD, piexif.ExifIFD, piexif.ImageIFD
EAST_1 = {GPS.GPSLongitudeRef: b"E", GPS.GPSLongitude: ((1, 1), (0, 1), (0, 1))}


@pytest.mark.parametrize("gps, reason", [
    ({GPS.GPSLatitudeRef: b"N", GPS.GPSLatitude: ((10, 0), (0, 1), (0, 1)), **EAST_1}, "finite rationals"),
    ({GPS.GPSLatitudeRef: b"X", GPS.GPSLatitude: ((10, 1), (0, 1), (0, 1)), **EAST_1}, "not N or S"),
    ({GPS.GPSLatitudeRef: b"N", GPS.GPSLatitude: ((95, 1), (0, 1), (0, 1)), **EAST_1}, "beyond"),
])
def test_malformed_gps_warns_and_reports_no_position(gps, reason):
    result = run_bytes(jpeg_with({"GPS": gps}))
    assert any(reason in w for w in result.warnings), result.warnings
    assert all(getattr(f, "latitude", None) is None for f in result.findings)


def test_gps_values_signs_and_time():
    gps = {GPS.GPSLatitudeRef: b"S", GPS.GPSLatitude: ((33, 1), (52, 1), (753, 100)),
           GPS.GPSLongitudeRef: b"W", GPS.GPSLongitude: ((70, 1), (30, 1), (0, 1)),
           GPS.GPSAltitudeRef: 1, GPS.GPSAltitude: (25, 2),
           GPS.GPSDateStamp: b"2023:02:28", GPS.GPSTimeStamp: ((23, 1), (59, 1), (30, 1))}
    result = run_bytes(jpeg_with({"GPS": gps}))
    fix = only(result.findings, ExifGps)
    assert fix.latitude == pytest.approx(-(33 + 52 / 60 + 7.53 / 3600), abs=1e-9)
    assert fix.longitude == pytest.approx(-70.5, abs=1e-9)
    assert fix.altitude == -12.5                     # AltitudeRef 1: below sea level
    assert fix.gps_time_utc == "2023-02-28T23:59:30+00:00"
    assert not result.warnings


def test_bad_dates_and_offsets_warn():
    exif = {"0th": {IFD0.Make: b"Acme"}, "Exif": {EXIF.DateTimeOriginal: b"garbage", 0x9011: b"+99:99"}}
    result = run_bytes(jpeg_with(exif))
    assert any("DateTimeOriginal 'garbage'" in w for w in result.warnings)
    assert any("'+99:99'" in w for w in result.warnings)
    metadata = only(result.findings, ExifMetadata)
    assert metadata.date_time_original == "garbage" and metadata.capture_time_utc is None
    assert metadata.timeline_events() == ()


def test_known_offset_gives_utc_capture_time():
    exif = {"0th": {IFD0.Make: b"Acme  "}, "Exif": {EXIF.DateTimeOriginal: b"2020:01:02 03:04:05",
                                                    0x9011: b"+05:30"}}
    metadata = only(run_bytes(jpeg_with(exif)).findings, ExifMetadata)
    assert metadata.make == "Acme"
    assert metadata.capture_time_utc == "2020-01-01T21:34:05+00:00" and metadata.timezone == "+05:30"
    (event,) = metadata.timeline_events()
    assert event.datetime == "2020-01-01T21:34:05+00:00" and event.local_time == "2020-01-02T03:04:05"


def test_decompression_bomb_is_not_opened_but_tags_are_read():
    """A PNG claiming 10^10 pixels: Pillow refuses it, exifread still reads the eXIf chunk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    tiff = piexif.dump({"0th": {IFD0.Make: b"Acme"}, "Exif": {EXIF.DateTimeOriginal: b"2020:01:02 03:04:05"}})[6:]
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
           + chunk(b"eXIf", tiff) + chunk(b"IEND", b""))
    result = run_bytes(png, "image/png")
    assert any("decompression bomb" in w for w in result.warnings), result.warnings
    metadata = only(result.findings, ExifMetadata)
    assert (metadata.make, metadata.date_time_original) == ("Acme", "2020:01:02 03:04:05")


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff"])
def test_garbage_never_crashes(data):
    result = run_bytes(data)
    assert result.findings == [] and result.warnings
