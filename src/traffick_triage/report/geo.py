"""Geotag exports: GeoJSON (RFC 7946) and KML 2.2, for a map or Google Earth.

A point is a dict with ``locator``, ``latitude``, ``longitude``, ``altitude``
(metres or None), ``time`` (UTC ISO 8601 or None), ``md5``, ``sha1``,
``sha256``; any other keys are carried as extra properties. Output is
deterministic (points sorted, fixed float precision, sorted keys) so two runs
on the same case give identical files, and is written atomically.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..atomic import write_bytes

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
STANDARD_KEYS = ("locator", "latitude", "longitude", "altitude", "time", "md5", "sha1", "sha256")
COORDINATE_DIGITS = 7   # 1e-7 degree is about 1 cm: beyond any phone's GPS accuracy
ALTITUDE_DIGITS = 3

# Characters XML 1.0 cannot carry (controls, lone surrogates from undecodable file names).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_geojson(points: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write a GeoJSON FeatureCollection of Point features; returns the count."""
    features = []
    for point in _normalised(points):
        coordinates = [point["longitude"], point["latitude"]]
        if point["altitude"] is not None:
            coordinates.append(point["altitude"])
        properties = {key: value for key, value in point.items() if key not in ("latitude", "longitude")}
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": coordinates},
                         "properties": properties})
    document = {"type": "FeatureCollection", "features": features}
    # ensure_ascii keeps undecodable names (lone surrogates) writable and the bytes stable.
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n"
    write_bytes(Path(path), text.encode("ascii"))
    return len(features)


def write_kml(points: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write a KML 2.2 document with one Placemark per point; returns the count."""
    ET.register_namespace("", KML_NAMESPACE)

    def element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{KML_NAMESPACE}}}{tag}", attributes)
        if text is not None:
            child.text = _xml_text(text)   # ElementTree escapes &, < and >
        return child

    root = ET.Element(f"{{{KML_NAMESPACE}}}kml")
    document = element(root, "Document")
    element(document, "name", "traffick-triage geotags")
    count = 0
    for point in _normalised(points):
        count += 1
        placemark = element(document, "Placemark")
        element(placemark, "name", point["locator"])
        lines = [f"{key}: {_scalar_text(point[key])}" for key in ("time", "md5", "sha1", "sha256")
                 if point[key] is not None]
        lines += [f"{key}: {_scalar_text(value)}" for key, value in sorted(point.items())
                  if key not in STANDARD_KEYS and value is not None]
        element(placemark, "description", "\n".join(lines))
        if point["time"]:
            element(element(placemark, "TimeStamp"), "when", point["time"])
        extended = element(placemark, "ExtendedData")
        for key, value in sorted(point.items()):
            if key not in ("locator", "latitude", "longitude") and value is not None:
                element(element(extended, "Data", name=_xml_text(key)), "value", _scalar_text(value))
        geometry = element(placemark, "Point")
        coordinates = f"{point['longitude']:.{COORDINATE_DIGITS}f},{point['latitude']:.{COORDINATE_DIGITS}f}"
        if point["altitude"] is not None:
            # Without altitudeMode KML clamps to the ground and ignores the altitude.
            element(geometry, "altitudeMode", "absolute")
            coordinates += f",{point['altitude']:.{ALTITUDE_DIGITS}f}"
        element(geometry, "coordinates", coordinates)
    ET.indent(root)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="UTF-8", xml_declaration=True)
    write_bytes(Path(path), buffer.getvalue() + b"\n")
    return count


def _normalised(points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Checked, rounded copies, sorted by locator (then time and position) so
    the order never depends on scan order."""
    result = []
    for point in points:
        latitude = _finite(point.get("latitude"), "latitude", point)
        longitude = _finite(point.get("longitude"), "longitude", point)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError(f"coordinates out of range for {point.get('locator')!r}: {latitude}, {longitude}")
        altitude = point.get("altitude")
        entry = {key: value for key, value in point.items() if key not in STANDARD_KEYS}
        entry.update({
            "locator": str(point.get("locator") or ""),
            "latitude": round(latitude, COORDINATE_DIGITS) + 0.0,   # + 0.0 turns -0.0 into 0.0
            "longitude": round(longitude, COORDINATE_DIGITS) + 0.0,
            "altitude": None if altitude is None else round(_finite(altitude, "altitude", point), ALTITUDE_DIGITS) + 0.0,
            "time": point.get("time") or None,
            "md5": point.get("md5"), "sha1": point.get("sha1"), "sha256": point.get("sha256"),
        })
        result.append(entry)
    result.sort(key=lambda p: (p["locator"], p["time"] or "", p["latitude"], p["longitude"]))
    return result


def _finite(value: Any, name: str, point: Mapping[str, Any]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} of {point.get('locator')!r} is not a finite number: {value!r}")
    return float(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _xml_text(text: str) -> str:
    """Characters XML cannot hold are shown as escapes rather than dropped."""
    return _NOT_XML.sub(lambda match: match.group().encode("unicode_escape", "backslashreplace").decode("ascii"),
                        text)


