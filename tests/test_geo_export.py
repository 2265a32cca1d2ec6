"""GeoJSON and KML geotag exports: structure, coordinates, escaping, determinism."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from traffick_triage.report.geo import write_geojson, write_kml

KML = "{http://www.opengis.net/kml/2.2}"

# The parts of RFC 7946 these files use: a FeatureCollection of Point
# Features, positions [longitude, latitude(, altitude)] in range.
POSITION = {"type": "array", "minItems": 2, "maxItems": 3,
            "prefixItems": [{"type": "number", "minimum": -180, "maximum": 180},
                            {"type": "number", "minimum": -90, "maximum": 90},
                            {"type": "number"}]}
FEATURE_COLLECTION = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {
            "type": "object", "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"const": "Feature"},
                "geometry": {"type": "object", "required": ["type", "coordinates"],
                             "properties": {"type": {"const": "Point"}, "coordinates": POSITION}},
                "properties": {"type": ["object", "null"]}}}}}}

HASHES = {"md5": "0" * 32, "sha1": "1" * 40, "sha256": "2" * 64}
POINTS = [
    {"locator": "phone.zip > DCIM/b <&> \"q\".jpg", "latitude": 43.46744833333334, "longitude": 11.885126666663888,
     "altitude": None, "time": "2008-10-23T14:27:07.240000+00:00", "kind": "exif.gps", **HASHES},
    {"locator": "phone.zip > DCIM/a.heic", "latitude": 39.05134444444444, "longitude": -94.28877222222222,
     "altitude": 260.56063829787234, "time": None, **HASHES},
    {"locator": "card.E01 > VID_\x01.mp4", "latitude": -33.8688, "longitude": 151.2093,
     "altitude": -12.5, "time": "2021-04-11T20:47:53+00:00", **HASHES},
]


def test_geojson_structure_and_values(tmp_path):
    path = tmp_path / "geotags.geojson"
    assert write_geojson(POINTS, path) == 3
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, FEATURE_COLLECTION)
    features = document["features"]
    assert [f["properties"]["locator"] for f in features] == sorted(p["locator"] for p in POINTS)
    by_locator = {f["properties"]["locator"]: f for f in features}
    for point in POINTS:
        feature = by_locator[point["locator"]]
        coordinates = feature["geometry"]["coordinates"]
        assert coordinates[0] == pytest.approx(point["longitude"], abs=1e-7)   # lon first (RFC 7946 §3.1.1)
        assert coordinates[1] == pytest.approx(point["latitude"], abs=1e-7)
        assert len(coordinates) == (2 if point["altitude"] is None else 3)
        assert feature["properties"]["sha256"] == point["sha256"]
        assert feature["properties"]["time"] == point["time"]
    assert by_locator[POINTS[0]["locator"]]["properties"]["kind"] == "exif.gps"   # extra property kept


def test_kml_structure_and_values(tmp_path):
    path = tmp_path / "geotags.kml"
    assert write_kml(POINTS, path) == 3
    root = ET.parse(path).getroot()
    assert root.tag == f"{KML}kml"
    placemarks = root.findall(f"{KML}Document/{KML}Placemark")
    assert len(placemarks) == 3
    names = [p.findtext(f"{KML}name") for p in placemarks]
    # Escaped on write, intact after parsing; the control character shown as an escape.
    assert names == sorted([POINTS[0]["locator"], POINTS[1]["locator"], "card.E01 > VID_\\x01.mp4"])
    for placemark in placemarks:
        name = placemark.findtext(f"{KML}name")
        point = next(p for p in POINTS if p["locator"] == name or p["locator"].replace("\x01", "\\x01") == name)
        values = placemark.findtext(f"{KML}Point/{KML}coordinates").split(",")
        assert float(values[0]) == pytest.approx(point["longitude"], abs=1e-7)
        assert float(values[1]) == pytest.approx(point["latitude"], abs=1e-7)
        if point["altitude"] is None:
            assert len(values) == 2
        else:
            assert float(values[2]) == pytest.approx(point["altitude"], abs=1e-3)
            assert placemark.findtext(f"{KML}Point/{KML}altitudeMode") == "absolute"
        assert placemark.findtext(f"{KML}TimeStamp/{KML}when") == point["time"]
        assert point["sha256"] in placemark.findtext(f"{KML}description")


def test_outputs_are_deterministic_and_atomic(tmp_path):
    for writer, name in ((write_geojson, "g.geojson"), (write_kml, "g.kml")):
        first, second = tmp_path / f"1{name}", tmp_path / f"2{name}"
        writer(POINTS, first)
        writer(list(reversed(POINTS)), second)
        assert first.read_bytes() == second.read_bytes()
        writer(POINTS[:1], first)   # replaces the old file whole
        assert first.read_bytes() != second.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["1g.geojson", "1g.kml", "2g.geojson", "2g.kml"]   # no temp files left


def test_empty_and_invalid_points(tmp_path):
    assert write_geojson([], tmp_path / "e.geojson") == 0
    jsonschema.validate(json.loads((tmp_path / "e.geojson").read_text()), FEATURE_COLLECTION)
    assert write_kml([], tmp_path / "e.kml") == 0
    for bad in ({"latitude": 91.0, "longitude": 0.0}, {"latitude": float("nan"), "longitude": 0.0},
                {"latitude": None, "longitude": 1.0}):
        with pytest.raises(ValueError):
            write_geojson([{"locator": "x", **bad}], tmp_path / "bad.geojson")
    assert not (tmp_path / "bad.geojson").exists()
