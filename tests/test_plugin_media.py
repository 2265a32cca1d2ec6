"""The video metadata plugin on small MP4/MOV/3GP files written here with PyAV,
checked against ``exiftool -j -n`` on the same files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

from traffick_triage.plugin_host import bytes_file_view, file_view_for_path, run_plugin  # noqa: E402
from traffick_triage.plugins.media_metadata import (  # noqa: E402
    MediaLocation, MediaMetadata, MediaMetadataPlugin, parse_iso6709)

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is the oracle")

CREATED = "2021-04-11T20:47:53.000000Z"

# (file name, muxer, muxer options, metadata, tolerance in degrees).
# FFmpeg writes "location" as a udta ©xyz string in MOV, as a binary 3GPP
# 'loci' box (16.16 fixed point, read back rounded to 1e-4) in MP4/3GP, and
# use_metadata_tags writes Apple mdta keys.
CASES = [
    ("udta_xyz.mov", "mov", {}, {"creation_time": CREATED, "location": "+39.0513-094.2888+260.561/",
                                  "make": "Apple", "model": "iPhone 11 Pro Max"}, 1e-6),
    ("mdta_keys.mp4", "mp4", {"movflags": "use_metadata_tags"},
     {"creation_time": CREATED, "com.apple.quicktime.location.ISO6709": "-33.8688+151.2093+012.5/",
      "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 12",
      "com.apple.quicktime.creationdate": "2021-04-11T15:47:53-0500"}, 1e-6),
    ("loci.mp4", "mp4", {}, {"creation_time": CREATED, "location": "+51.50722-000.12750/"}, 1e-4),
    ("loci.3gp", "3gp", {}, {"creation_time": CREATED, "location": "-01.28333+036.81667/"}, 1e-4),
    ("plain.mp4", "mp4", {}, {"creation_time": CREATED}, None),
]


def write_video(path: Path, muxer: str, options: dict, metadata: dict) -> None:
    container = av.open(str(path), "w", format=muxer, options=options)
    container.metadata.update(metadata)
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
    for index in range(10):
        frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index * 20, np.uint8), format="rgb24")
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
    container.close()


def exiftool(path: Path) -> dict:
    output = subprocess.run(["exiftool", "-j", "-n", "-G", str(path)], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output)[0]


def findings(path: Path):
    result = run_plugin(MediaMetadataPlugin(), file_view_for_path(path))
    assert not result.warnings, result.warnings
    metadata = [f for f in result.findings if isinstance(f, MediaMetadata)]
    locations = [f for f in result.findings if isinstance(f, MediaLocation)]
    assert len(metadata) == 1 and len(locations) <= 1
    return metadata[0], (locations[0] if locations else None)


@pytest.mark.parametrize("name, muxer, options, metadata, tolerance", CASES, ids=[c[0] for c in CASES])
def test_video_agrees_with_exiftool(tmp_path, name, muxer, options, metadata, tolerance):
    path = tmp_path / name
    write_video(path, muxer, options, metadata)
    view = file_view_for_path(path)
    assert MediaMetadataPlugin.SELECTOR.matches(view.path, view.mime, view.size), view.mime
    truth = exiftool(path)
    meta, location = findings(path)

    # mvhd CreateDate is UTC by spec; exiftool prints it as stored.
    created = dt.datetime.strptime(truth["QuickTime:CreateDate"], "%Y:%m:%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert dt.datetime.fromisoformat(meta.creation_time_utc) == created
    assert meta.duration_seconds == pytest.approx(truth["QuickTime:Duration"], abs=0.05)
    for tag, field in (("Make", "make"), ("Model", "model")):
        assert getattr(meta, field) == truth.get(f"QuickTime:{tag}")

    events = meta.timeline_events()
    assert [e.datetime for e in events if e.timestamp_desc == "Media Created"] == [created.isoformat()]
    if "QuickTime:CreationDate" in truth:   # Apple's local time with offset, e.g. 2021:04:11 15:47:53-05:00
        local = dt.datetime.strptime(truth["QuickTime:CreationDate"], "%Y:%m:%d %H:%M:%S%z")
        (recorded,) = [e for e in events if e.timestamp_desc == "Video Recorded"]
        assert dt.datetime.fromisoformat(recorded.datetime) == local
        assert recorded.timezone == "-05:00"

    if tolerance is None:
        assert location is None and "Composite:GPSLatitude" not in truth
        return
    assert location is not None
    data = location.to_dict()
    assert isinstance(data["latitude"], float) and isinstance(data["longitude"], float)
    assert location.latitude == pytest.approx(truth["Composite:GPSLatitude"], abs=tolerance)
    assert location.longitude == pytest.approx(truth["Composite:GPSLongitude"], abs=tolerance)
    if location.altitude is not None:
        assert location.altitude == pytest.approx(truth["Composite:GPSAltitude"], abs=1e-3)


@pytest.mark.parametrize("text, expected", [
    ("+40.20361-075.00417/", (40.20361, -75.00417, None)),            # decimal degrees
    ("+4012.2166-07500.2502/", (40.20361, -75.00417, None)),          # degrees, decimal minutes
    ("+401213.0-0750015.0+2.5CRSWGS_84/", (40.20361, -75.00417, 2.5)),  # DMS, altitude, CRS
])
def test_iso6709_forms(text, expected):
    latitude, longitude, altitude = parse_iso6709(text)
    assert latitude == pytest.approx(expected[0], abs=1e-4)
    assert longitude == pytest.approx(expected[1], abs=1e-4)
    assert altitude == expected[2]


@pytest.mark.parametrize("text", ["", "junk", "+91.0+000.0/", "+10.0+181.0/", "+1261-0750015/"])
def test_iso6709_rejects(text):
    assert parse_iso6709(text) is None


@pytest.mark.parametrize("data", [b"", b"garbage" * 100, b"\x00\x00\x00\x18ftypisom" + b"\xff" * 64])
def test_garbage_warns_not_crashes(data):
    result = run_plugin(MediaMetadataPlugin(), bytes_file_view(data, "x.mp4", "video/mp4"))
    assert result.findings == []
    assert result.warnings and all(w.startswith("media:") for w in result.warnings), result.warnings


def test_metadata_bytes_not_utf8_read_as_replacement_characters(tmp_path):
    """A tag whose bytes are not UTF-8 reads with U+FFFD for them, whichever
    PyAV decodes it (before 19: metadata_errors="replace"; 19: always
    "surrogateescape", whose lone surrogates no UTF-8 output can hold)."""
    path = tmp_path / "make.mov"
    write_video(path, "mov", {}, {"creation_time": CREATED, "make": "Apple", "model": "Phone"})
    data = path.read_bytes()
    assert data.count(b"Apple") == 1
    path.write_bytes(data.replace(b"Apple", b"Ap\xffle"))
    meta, _ = findings(path)
    assert meta.make == "Ap\ufffdle" and meta.model == "Phone"
    assert json.dumps(meta.to_dict(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("raw, expected", [
    (None, None),
    ("2021-04-11T20:47:53.000000Z", "2021-04-11T20:47:53.000000Z"),
    # FFmpeg 9: mvhd's creation time and the metadata key "creation_time", joined.
    ("2021-04-11T20:47:53.000000Z;2021-04-11T20:47:53.000000Z", "2021-04-11T20:47:53.000000Z"),
    # Two different values stay joined: the warning then names both.
    ("2021-04-11T20:47:53.000000Z;2020-01-01T00:00:00.000000Z",
     "2021-04-11T20:47:53.000000Z;2020-01-01T00:00:00.000000Z"),
])
def test_a_key_held_twice_reads_once(raw, expected):
    from traffick_triage.plugins.media_metadata import _one_value
    assert _one_value(raw) == expected
