"""Geotag exports: GeoJSON (RFC 7946) and KML 2.2, for a map or Google Earth.

A point is a dict with ``locator``, ``latitude``, ``longitude``, ``altitude``
(metres or None), ``time`` (UTC ISO 8601 or None), ``md5``, ``sha1``,
``sha256``; any other keys are carried as extra properties. Output is
deterministic (points sorted, fixed float precision, sorted keys) so two runs
on the same case give identical files, and is written atomically.

Points are sorted on disk (ExternalSort) and written one at a time: each file
is exactly the one-shot encoding of the whole document (json.dumps with
indent 2; ElementTree indented, with its XML declaration), without holding
the document, as a phone's photos can be tens of thousands.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..atomic import atomic_writer
from ..external_sort import ExternalSort

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
STANDARD_KEYS = ("locator", "latitude", "longitude", "altitude", "time", "md5", "sha1", "sha256")
COORDINATE_DIGITS = 7   # 1e-7 degree is about 1 cm: beyond any phone's GPS accuracy
ALTITUDE_DIGITS = 3

# Characters XML 1.0 cannot carry (controls, lone surrogates from undecodable file names).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_geojson(points: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write a GeoJSON FeatureCollection of Point features; returns the count."""
    count = 0
    with atomic_writer(Path(path)) as stream:
        stream.write('{\n  "features": ')
        for point in _normalised(points):
            coordinates = [point["longitude"], point["latitude"]]
            if point["altitude"] is not None:
                coordinates.append(point["altitude"])
            properties = {key: value for key, value in point.items() if key not in ("latitude", "longitude")}
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
                       "properties": properties}
            # ensure_ascii keeps undecodable names (lone surrogates) writable and the bytes stable.
            text = json.dumps(feature, indent=2, sort_keys=True, ensure_ascii=True, allow_nan=False)
            stream.write(("[" if count == 0 else ",") + "\n    " + text.replace("\n", "\n    "))
            count += 1
        stream.write("[]" if count == 0 else "\n  ]")
        stream.write(',\n  "type": "FeatureCollection"\n}\n')
    return count


def write_kml(points: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write a KML 2.2 document with one Placemark per point; returns the count."""
    count = 0
    with atomic_writer(Path(path), "wb") as stream:
        stream.write(_KML_HEAD.encode("utf-8"))
        for point in _normalised(points):
            count += 1
            # Each Placemark is serialised on its own, indented as deep as it sits
            # in the document; its tags need no namespace (the document's default).
            placemark = _placemark(point)
            ET.indent(placemark, level=_PLACEMARK_LEVEL)
            stream.write(("\n" + "  " * _PLACEMARK_LEVEL + ET.tostring(placemark, encoding="unicode"))
                         .encode("utf-8", "xmlcharrefreplace"))
        stream.write(_KML_TAIL.encode("utf-8"))
    return count


# ElementTree's indented document, around its Placemarks (kml > Document > Placemark).
_PLACEMARK_LEVEL = 2
_KML_HEAD = ("<?xml version='1.0' encoding='UTF-8'?>\n"
             f'<kml xmlns="{KML_NAMESPACE}">\n  <Document>\n    <name>traffick-triage geotags</name>')
_KML_TAIL = "\n  </Document>\n</kml>\n"


def _placemark(point: dict[str, Any]) -> ET.Element:
    def element(parent: ET.Element | None, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        child = ET.Element(tag, attributes) if parent is None else ET.SubElement(parent, tag, attributes)
        if text is not None:
            child.text = _xml_text(text)   # ElementTree escapes &, < and >
        return child

    placemark = element(None, "Placemark")
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
    return placemark


def _normalised(points: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Checked, rounded copies, sorted by locator (then time and position) so
    the order never depends on scan order. Every point is checked before the
    first is given, so a bad one stops a writer before it writes any."""
    with ExternalSort(key_width=4, payload_width=1) as in_order:
        for point in points:
            entry = _normalised_point(point)
            in_order.add((entry["locator"], entry["time"] or "", entry["latitude"], entry["longitude"]),
                         (pickle.dumps(entry, pickle.HIGHEST_PROTOCOL),))
        for (payload,) in in_order:
            yield pickle.loads(payload)


def _normalised_point(point: Mapping[str, Any]) -> dict[str, Any]:
    """A checked, rounded copy of one point."""
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
    return entry


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


