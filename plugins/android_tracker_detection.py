"""AirGuard (de.seemoo.at_tracking_detection), the Android app that scans
for AirTags, Tile, Samsung SmartTags and other Bluetooth trackers: which
trackers it saw, when, where the phone was when it heard each beacon, and
whether it warned the user that one was following. In trafficking and
stalking cases, a tracker that travelled with a victim's phone.

Schema understood (``databases/attd_db``, Room, app versions 1.x-2.x):
``device(deviceId, address, firstDiscovery, lastSeen)`` with ``uniqueId``,
``name``, ``ignore``, ``connectable``, ``notificationSent``,
``lastNotificationSent``, ``deviceType`` when present;
``beacon(beaconId, receivedAt, rssi, deviceAddress, latitude, longitude)``
with ``serviceUUIDs`` when present; ``notification(notificationId,
deviceAddress, falseAlarm, createdAt)`` with ``dismissed``, ``clicked``
(read when present).

Times are the phone's wall-clock time as the app wrote it (ISO 8601
without offset: Java's LocalDateTime); the zone is not stored, so they are
kept as found (``*_local``) and put on the timeline as local times of
unknown zone, never shifted.

Positions: ``stored_latitude``/``stored_longitude`` are the columns as
found. ``latitude``/``longitude`` (what the map reads) are those values
read the right way round. The app has written the pair swapped (the real
database in the corpus stores every position that way: "latitude" -97.7,
-84.4, -78.9 and "longitude" 30.3, 33.8, 35.9, points in Texas, Georgia and
North Carolina). So the order is decided for the whole file: when some
stored latitude is beyond +-90 and no stored longitude is, every pair is
read swapped; otherwise a pair is read as stored, or swapped when only
that order is in range. ``position_note`` says when a pair was read swapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Sequence

from ..plugin_api import Finding, TimelineEvent
from ..plugin_kit import QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, flag, integer, number

APP = "AirGuard"
SWAPPED_FILE = ("read swapped: in this file stored latitudes run beyond +-90 and no stored longitude does, "
                "so the two columns hold each other's value")
SWAPPED = "read swapped: the stored latitude is out of range, the stored pair read the other way round is not"
OUT_OF_RANGE = "not a position: the stored pair is out of range either way round"


def _local(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) else None


def _events(finding: Finding, times: Sequence[tuple[str | None, str]], message: str) -> tuple[TimelineEvent, ...]:
    extra = {"source_app": APP, "source_record_id": getattr(finding, "source_record_id", None)}
    return tuple(TimelineEvent(None, desc, message, local_time=when, timezone="unknown", extra=extra)
                 for when, desc in times if when)


@dataclass(frozen=True)
class Tracker(Finding):
    """A Bluetooth tracker (or other device) the app saw near the phone."""

    KIND: ClassVar[str] = "device.tracker"

    address: str | None                    # Bluetooth address as found (trackers rotate it)
    device_type: str | None                # AIRTAG, TILE, SMART_TAG, APPLE, AIRPODS... as found
    first_seen_local: str | None
    last_seen_local: str | None
    source_app: str
    name: str | None = None
    unique_id: str | None = None
    ignored: bool | None = None            # the user chose to ignore it
    connectable: bool | None = None
    notified: bool | None = None           # the app warned the user about it
    last_notification_local: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.first_seen_local, "Tracker First Seen"), (self.last_seen_local, "Tracker Last Seen"),
                              (self.last_notification_local, "Tracker Alert Sent")],
                       f"{APP} {self.device_type or 'device'} {self.address or '?'}")


@dataclass(frozen=True)
class TrackerSighting(Finding):
    """One beacon of a tracker the phone heard, with where the phone was."""

    KIND: ClassVar[str] = "device.tracker_sighting"

    address: str | None
    device_type: str | None
    received_local: str | None
    rssi: int | None                       # signal strength, dBm (closer is higher)
    latitude: float | None
    longitude: float | None
    source_app: str
    stored_latitude: float | None = None
    stored_longitude: float | None = None
    position_note: str | None = None
    service_uuids: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        where = f" at {self.latitude}, {self.longitude}" if self.latitude is not None else ""
        return _events(self, [(self.received_local, "Tracker Beacon Received")],
                       f"{APP} beacon of {self.device_type or 'device'} {self.address or '?'}{where}")


@dataclass(frozen=True)
class TrackerAlert(Finding):
    """A warning the app showed that a tracker was following the phone."""

    KIND: ClassVar[str] = "device.tracker_alert"

    address: str | None
    created_local: str | None
    false_alarm: bool | None
    source_app: str
    dismissed: bool | None = None
    clicked: bool | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.created_local, "Tracker Alert")], f"{APP} alert: tracker {self.address or '?'}")


def _coordinate(value: Any) -> float | None:
    found = number(value)
    return float(found) if found is not None and math.isfinite(found) else None


def _valid(latitude: float, longitude: float) -> bool:
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


def position(latitude: Any, longitude: Any, file_swapped: bool) -> tuple[float | None, float | None, str | None]:
    """(latitude, longitude, note) from the stored pair; see the module doc."""
    lat, lon = _coordinate(latitude), _coordinate(longitude)
    if lat is None or lon is None:
        return None, None, None
    if file_swapped and _valid(lon, lat):
        return lon, lat, SWAPPED_FILE
    if _valid(lat, lon):
        return lat, lon, None
    if _valid(lon, lat):
        return lon, lat, SWAPPED
    return None, None, OUT_OF_RANGE


# Evaluated once per query (uncorrelated): how many stored latitudes / longitudes are out of range.
# (Compared as REAL, not through abs(): abs() of the smallest integer is an error.)
_SWAP = ("(SELECT COUNT(*) FROM beacon WHERE CAST(latitude AS REAL) NOT BETWEEN -90 AND 90) AS latitudes_out, "
         "(SELECT COUNT(*) FROM beacon WHERE CAST(longitude AS REAL) NOT BETWEEN -90 AND 90) AS longitudes_out")

DEVICES = QueryVersion(
    "device (Room, app 1.x-2.x)", {"device": ("deviceId", "address", "firstDiscovery", "lastSeen")},
    "SELECT device.deviceId, device.address, device.firstDiscovery, device.lastSeen, {optional} "
    "FROM device ORDER BY device.deviceId",
    optional={"device": ("uniqueId", "name", "ignore", "connectable", "notificationSent", "lastNotificationSent",
                         "deviceType")})
BEACONS = QueryVersion(
    "beacon (Room, app 1.x-2.x), device types from device",
    {"beacon": ("beaconId", "receivedAt", "rssi", "deviceAddress", "latitude", "longitude"),
     "device": ("address", "deviceType")},
    "SELECT beacon.beaconId, beacon.receivedAt, beacon.rssi, beacon.deviceAddress, beacon.latitude, "
    "beacon.longitude, {optional}, " + _SWAP + ", (SELECT device.deviceType FROM device "
    "WHERE device.address = beacon.deviceAddress LIMIT 1) AS device_type FROM beacon ORDER BY beacon.beaconId",
    optional={"beacon": ("serviceUUIDs",)})
BEACONS_WITHOUT_TYPES = QueryVersion(
    "beacon (Room, app 1.x-2.x), no device types",
    {"beacon": ("beaconId", "receivedAt", "rssi", "deviceAddress", "latitude", "longitude")},
    "SELECT beacon.beaconId, beacon.receivedAt, beacon.rssi, beacon.deviceAddress, beacon.latitude, "
    "beacon.longitude, {optional}, " + _SWAP + ", NULL AS device_type FROM beacon ORDER BY beacon.beaconId",
    optional={"beacon": ("serviceUUIDs",)})
ALERTS = QueryVersion(
    "notification (Room, app 1.x-2.x)", {"notification": ("notificationId", "deviceAddress", "falseAlarm", "createdAt")},
    "SELECT notification.notificationId, notification.deviceAddress, notification.falseAlarm, "
    "notification.createdAt, {optional} FROM notification ORDER BY notification.notificationId",
    optional={"notification": ("dismissed", "clicked")})


class AndroidTrackerDetectionPlugin(SqliteArtifactPlugin):
    """Trackers, beacons (with positions) and alerts from AirGuard's attd_db."""

    NAME = "android_tracker_detection"
    VERSION = "1.0"
    DESCRIPTION = "AirGuard tracker detection (de.seemoo.at_tracking_detection attd_db: device, beacon, notification)"
    PATHS = ("**/de.seemoo.at_tracking_detection*/databases/attd_db",)
    NAMES = ("attd_db",)
    QUERIES = (SqlQuery("trackers", "tracker", (DEVICES,)),
               SqlQuery("tracker beacons", "beacon", (BEACONS, BEACONS_WITHOUT_TYPES)),
               SqlQuery("tracker alerts", "alert", (ALERTS,), required=False))

    def tracker(self, row, source: RowSource) -> Iterator[Tracker]:
        yield Tracker(
            address=clean(row["address"]), device_type=clean(row["deviceType"]),
            first_seen_local=_local(row["firstDiscovery"]), last_seen_local=_local(row["lastSeen"]),
            source_app=APP, name=clean(row["name"]), unique_id=clean(row["uniqueId"]), ignored=flag(row["ignore"]),
            connectable=flag(row["connectable"]), notified=flag(row["notificationSent"]),
            last_notification_local=_local(row["lastNotificationSent"]), source_record_id=f"device:{row['deviceId']}")

    def beacon(self, row, source: RowSource) -> Iterator[TrackerSighting]:
        file_swapped = (integer(row["latitudes_out"]) or 0) > 0 and (integer(row["longitudes_out"]) or 0) == 0
        latitude, longitude, note = position(row["latitude"], row["longitude"], file_swapped)
        yield TrackerSighting(
            address=clean(row["deviceAddress"]), device_type=clean(row["device_type"]),
            received_local=_local(row["receivedAt"]), rssi=integer(row["rssi"]),
            latitude=latitude, longitude=longitude, source_app=APP,
            stored_latitude=_coordinate(row["latitude"]), stored_longitude=_coordinate(row["longitude"]),
            position_note=note, service_uuids=clean(row["serviceUUIDs"]), source_record_id=f"beacon:{row['beaconId']}")

    def alert(self, row, source: RowSource) -> Iterator[TrackerAlert]:
        yield TrackerAlert(
            address=clean(row["deviceAddress"]), created_local=_local(row["createdAt"]),
            false_alarm=flag(row["falseAlarm"]), source_app=APP, dismissed=flag(row["dismissed"]),
            clicked=flag(row["clicked"]), source_record_id=f"notification:{row['notificationId']}")
