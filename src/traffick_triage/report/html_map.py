"""The HTML page's map: an equirectangular frame around the geotagged points,
a graticule, and the points clustered on a grid, each cluster listing its
items for the page's script.

The points are read one at a time (the page's points table, sorted on disk)
and kept by grid cell in a private temporary SQLite database: a cluster's
position is the mean of its points and its items are listed from there while
the page is written, so no list of every point is held. The means are Python's
``sum`` over the cluster's points in their order, as a list of them would give."""

from __future__ import annotations

import json
import pickle
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from .json_pieces import LazyList

WORLD_DATA = Path(__file__).resolve().parents[1] / "data" / "world-110m.json"
ITEM_KEYS = ("locator", "evidence_id", "time", "source", "camera", "lat", "lon")


def _world_path() -> tuple[str, int, str]:
    data = _world_data()
    return data["path"], int(data["scale"]), data["source"]


@lru_cache(maxsize=1)
def _world_data() -> dict[str, Any]:
    return json.loads(WORLD_DATA.read_text(encoding="utf-8"))


def _nice_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30):
        if span / step <= 8:
            return float(step)
    return 45.0


def _bytes(text: str) -> bytes:
    """Text as UTF-8 bytes: SQLite orders them as Python orders str."""
    return text.encode("utf-8", "surrogatepass")


class _PointsByCell:
    """Points by grid cell; within a cell by (locator, source, lat, lon), then
    in the order added, as Python's stable sort of the cell's list would."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")     # private, unlinked at once (as ExternalSort's)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("CREATE TABLE points (x INTEGER, y INTEGER, locator BLOB, source BLOB, lat REAL, "
                         "lon REAL, item BLOB)")
        self._order = "ORDER BY locator, source, lat, lon, rowid"

    def add(self, cell: tuple[int, int], point: dict[str, Any]) -> None:
        item = {key: point[key] for key in ITEM_KEYS}
        self._db.execute("INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (*cell, _bytes(point["locator"]), _bytes(point["source"]), point["lat"], point["lon"],
                          pickle.dumps(item, pickle.HIGHEST_PROTOCOL)))

    def cells(self) -> list[tuple[int, int, int]]:
        """(x, y, count) of every cell holding points, in (x, y) order: at most
        41 x 21 (the frame is 40 cells wide and half as high)."""
        return self._db.execute("SELECT x, y, COUNT(*) FROM points GROUP BY x, y ORDER BY x, y").fetchall()

    def values(self, cell: tuple[int, int], column: str) -> Iterator[float]:
        for (value,) in self._db.execute(f"SELECT {column} FROM points WHERE x = ? AND y = ? {self._order}", cell):
            yield value

    def items(self, cell: tuple[int, int]) -> Iterator[dict[str, Any]]:
        for (item,) in self._db.execute(f"SELECT item FROM points WHERE x = ? AND y = ? {self._order}", cell):
            yield pickle.loads(item)

    def close(self) -> None:
        self._db.close()


def build_map(points: Iterable[dict[str, Any]]) -> tuple[dict[str, Any] | None, _PointsByCell | None]:
    """Equirectangular map around the points: viewBox in the outline data's
    units (1/scale degree, y = -latitude), graticule, grid-clustered points
    (each cluster's "items" a LazyList). The points are read twice: for the
    frame, then into their cells. Also returns what the clusters' items are
    read from while the page is written (close it after), None without points."""
    bounds = None
    for point in points:
        lat, lon = point["lat"], point["lon"]
        bounds = (lat, lat, lon, lon) if bounds is None else (
            min(bounds[0], lat), max(bounds[1], lat), min(bounds[2], lon), max(bounds[3], lon))
    if bounds is None:
        return None, None
    min_lat, max_lat, min_lon, max_lon = bounds
    path, scale, source = _world_path()
    span_lon = max(max_lon - min_lon, 8.0) * 1.3
    span_lat = max(max_lat - min_lat, 4.0) * 1.3
    # 2:1 frame
    if span_lon < 2 * span_lat:
        span_lon = 2 * span_lat
    else:
        span_lat = span_lon / 2
    span_lon, span_lat = min(span_lon, 360.0), min(span_lat, 180.0)
    center_lon, center_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    west = min(max(center_lon - span_lon / 2, -180.0), 180.0 - span_lon)
    north = max(min(center_lat + span_lat / 2, 90.0), -90.0 + span_lat)
    east, south = west + span_lon, north - span_lat
    cell = span_lon / 40
    by_cell = _PointsByCell()
    for point in points:
        by_cell.add((int((point["lon"] - west) // cell), int((north - point["lat"]) // cell)), point)
    clusters = []
    for index, (x, y, count) in enumerate(by_cell.cells()):
        lat = sum(by_cell.values((x, y), "lat")) / count
        lon = sum(by_cell.values((x, y), "lon")) / count
        clusters.append({"lat": round(lat, 6), "lon": round(lon, 6), "count": count,
                         "x": round(lon * scale, 2), "y": round(-lat * scale, 2),
                         "items": LazyList(lambda cell=(x, y): by_cell.items(cell)), "id": index})
    step = _nice_step(span_lon)
    graticule = []
    value = (west // step) * step
    while value <= east:
        if value >= west:
            graticule.append({"kind": "lon", "value": value, "pos": round(value * scale, 2),
                              "label": f"{abs(value):g}°{'E' if value > 0 else 'W' if value < 0 else ''}"})
        value += step
    value = (south // step) * step
    while value <= north:
        if value >= south:
            graticule.append({"kind": "lat", "value": value, "pos": round(-value * scale, 2),
                              "label": f"{abs(value):g}°{'N' if value > 0 else 'S' if value < 0 else ''}"})
        value += step
    width = span_lon * scale
    return {"path": path, "source": source, "clusters": clusters, "graticule": graticule,
            "x": round(west * scale, 2), "y": round(-north * scale, 2),
            "w": round(width, 2), "h": round(span_lat * scale, 2),
            "r": round(width / 110, 2), "font": round(width / 65, 2),
            "x2": round(east * scale, 2), "y2": round(-south * scale, 2)}, by_cell
