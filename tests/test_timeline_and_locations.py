"""A disk image with geotagged photos made in the test yields exactly the
planted points in locations.geojson and locations.kml, and the timeline holds
exactly one line per timestamped fact."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import piexif
from PIL import Image

from evidence_builders import load_report, make_ext4, scan

KML = "{http://www.opengis.net/kml/2.2}"
PLANTED = {  # name: (latitude, longitude, local capture time, offset, GPS UTC date/time)
    "kuwait.jpg": (29.375859, 47.977405, "2024:03:01 09:15:00", "+03:00", ("2024:03:01", (6, 15, 0))),
    "cairo.jpg": (30.044420, 31.235712, "2024:03:04 18:40:10", "+02:00", ("2024:03:04", (16, 40, 10))),
    "lima.jpg": (-12.046374, -77.042793, "2024:03:09 07:00:00", "-05:00", ("2024:03:09", (12, 0, 0))),
}


def _rational(value: float, denominator: int = 1_000_000) -> tuple[int, int]:
    fraction = Fraction(value).limit_denominator(denominator)
    return fraction.numerator, fraction.denominator


def _dms(value: float):
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return ((degrees, 1), (minutes, 1), _rational(seconds, 100000))


def geotagged_jpeg(latitude, longitude, local, offset, gps) -> bytes:
    exif = {
        "0th": {piexif.ImageIFD.Make: b"TestCam", piexif.ImageIFD.Model: b"T-1"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: local.encode(), piexif.ExifIFD.OffsetTimeOriginal: offset.encode()},
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N" if latitude >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: _dms(latitude),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if longitude >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: _dms(longitude),
            piexif.GPSIFD.GPSDateStamp: gps[0].encode(),
            piexif.GPSIFD.GPSTimeStamp: tuple((v, 1) for v in gps[1]),
        },
    }
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (90, 140, 60)).save(buffer, "JPEG", exif=piexif.dump(exif))
    return buffer.getvalue()


def test_planted_points_timeline_and_exports(tmp_path):
    files = {f"DCIM/{name}": geotagged_jpeg(*values) for name, values in PLANTED.items()}
    files["notes.txt"] = b"no location here"
    image = make_ext4(tmp_path / "card.raw", files)
    case = tmp_path / "case"
    scan([image], case, "--only", "exif", expect_exit=0)

    geojson = json.loads((case / "locations.geojson").read_text())
    assert geojson["type"] == "FeatureCollection"
    points = {f["properties"]["locator"].rsplit("/", 1)[-1]: f for f in geojson["features"]}
    assert set(points) == set(PLANTED)
    for name, (latitude, longitude, *_rest) in PLANTED.items():
        feature = points[name]
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"][:2]
        assert abs(lat - latitude) < 1e-6 and abs(lon - longitude) < 1e-6
        assert feature["properties"]["sha256"] and feature["properties"]["md5"]

    root = ET.parse(case / "locations.kml").getroot()
    assert root.tag == KML + "kml"
    placemarks = root.findall(f".//{KML}Placemark")
    assert len(placemarks) == len(PLANTED)
    for placemark in placemarks:
        lon, lat = map(float, placemark.find(f".//{KML}coordinates").text.strip().split(",")[:2])
        assert any(abs(lat - v[0]) < 1e-6 and abs(lon - v[1]) < 1e-6 for v in PLANTED.values())

    report = load_report(case)
    lines = (case / "timeline.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    for event in events:
        assert event["message"] and event["datetime"] and event["timestamp_desc"]
    fs_facts = sum(1 for f in report["files"] for key in f["times"] if key != "timezone")
    planted_facts = 2 * len(PLANTED)             # capture time + GPS time per photo
    assert len(events) == fs_facts + planted_facts
    captured = {e["locator"].rsplit("/", 1)[-1]: e["datetime"] for e in events if e["timestamp_desc"] == "Image Captured"}
    assert captured == {"kuwait.jpg": "2024-03-01T06:15:00+00:00", "cairo.jpg": "2024-03-04T16:40:10+00:00",
                        "lima.jpg": "2024-03-09T12:00:00+00:00"}
    with open(case / "timeline.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(events) and rows[0]["datetime"] <= rows[-1]["datetime"]
