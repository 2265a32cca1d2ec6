"""Files by Google (com.google.android.apps.nbu.files): the app indexes
the phone's shared storage in ``files_master_database``: path, size, type,
modification time of each file, and for pictures and videos the capture
time, camera and position it read from them. A file deleted since is still
listed until the app's next scan, so the index can name files no longer
on the device.

Schema understood: ``files_master_table(id, root_path,
root_relative_file_path, file_name, size, file_date_modified_ms,
mime_type, uri)`` with ``media_store_id``, ``media_type``, ``is_hidden``,
``title``, ``parent_folder_name`` when present, left-joined to
``files_metadata_table(file_id, latitude, longitude, taken_date_ms,
device_description, width_px, height_px, duration_px, file_hash)`` when
the table is there, and the latest ``file_open_info_table`` time (when
the file was opened in the app). Times are Unix milliseconds (UTC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Sequence

from ..plugin_api import Finding, TimelineEvent
from ..plugin_kit import (QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, flag, integer, number,
                          unix_ms_iso)

APP = "Files by Google"


@dataclass(frozen=True)
class FileRecord(Finding):
    """A file an app's index names (it may no longer be on the device)."""

    KIND: ClassVar[str] = "content.file_record"

    path: str | None                       # the full path the index names
    size: int | None
    modified_time: str | None
    mime_type: str | None
    source_app: str
    uri: str | None = None                 # the content:// URI (MediaStore id inside)
    hidden: bool | None = None
    capture_time_utc: str | None = None    # taken time the app read from the picture or video
    latitude: float | None = None          # position the app read from the file (the map shows it)
    longitude: float | None = None
    camera: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    file_hash: str | None = None           # as the app stores it
    last_opened_time: str | None = None    # the latest time the file was opened in the app
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        extra = {"source_app": self.source_app, "source_record_id": self.source_record_id}
        times = [(self.modified_time, "File Modified (app index)"), (self.capture_time_utc, "Picture/Video Taken"),
                 (self.last_opened_time, "File Opened")]
        return tuple(TimelineEvent(when, desc, f"{self.source_app}: {self.path or '?'}", extra=extra)
                     for when, desc in times if when)


MASTER = ("id", "root_path", "root_relative_file_path", "file_name", "size", "file_date_modified_ms", "mime_type",
          "uri")
MASTER_OPTIONAL = ("media_store_id", "is_hidden")
METADATA = ("file_id", "latitude", "longitude", "taken_date_ms", "device_description", "width_px", "height_px",
            "duration_px", "file_hash")
_MASTER_SQL = ", ".join(f"files_master_table.{column}" for column in MASTER)

WITH_METADATA = QueryVersion(
    "files_master_table+files_metadata_table (Files by Google 1.0.3xx+)",
    {"files_master_table": MASTER, "files_metadata_table": METADATA},
    f"SELECT {_MASTER_SQL}, {{optional}}, m.latitude, m.longitude, m.taken_date_ms, m.device_description, "
    "m.width_px, m.height_px, m.duration_px, m.file_hash, {opened} AS last_opened FROM files_master_table "
    "LEFT JOIN files_metadata_table AS m ON m.file_id = files_master_table.id ORDER BY files_master_table.id",
    optional={"files_master_table": MASTER_OPTIONAL})
MASTER_ONLY = QueryVersion(
    "files_master_table",
    {"files_master_table": MASTER},
    f"SELECT {_MASTER_SQL}, {{optional}}, NULL AS latitude, NULL AS longitude, NULL AS taken_date_ms, "
    "NULL AS device_description, NULL AS width_px, NULL AS height_px, NULL AS duration_px, NULL AS file_hash, "
    "{opened} AS last_opened FROM files_master_table ORDER BY files_master_table.id",
    optional={"files_master_table": MASTER_OPTIONAL})


class _OpenedAware(QueryVersion):
    """The latest open time, from file_open_info_table when the file has one."""

    def render(self, db: Any) -> str:
        opened = "NULL"
        if db.has("file_open_info_table", "file_id", "file_open_time_stamp_ms"):
            opened = ("(SELECT MAX(o.file_open_time_stamp_ms) FROM file_open_info_table AS o "
                      "WHERE o.file_id = files_master_table.id)")
        return super().render(db).replace("{opened}", opened)


VERSIONS = tuple(_OpenedAware(v.name, v.tables, v.sql, v.optional) for v in (WITH_METADATA, MASTER_ONLY))


def _coordinate(value: Any) -> float | None:
    found = number(value)
    return float(found) if found is not None and math.isfinite(found) else None


def _join(root: Any, relative: Any, name: Any) -> str | None:
    root, relative = clean(root), clean(relative)
    if relative:
        return f"{root.rstrip('/')}/{relative}" if root else relative
    return clean(name)


class AndroidFilesGoPlugin(SqliteArtifactPlugin):
    """The file index of Files by Google."""

    NAME = "android_files_go"
    VERSION = "1.0"
    DESCRIPTION = "Files by Google file index (com.google.android.apps.nbu.files files_master_database)"
    PATHS = ("**/com.google.android.apps.nbu.files/databases/files_master_database",)
    NAMES = ("files_master_database",)
    QUERIES = (SqlQuery("file records", "record", VERSIONS),)

    def record(self, row, source: RowSource) -> Iterator[FileRecord]:
        latitude, longitude = _coordinate(row["latitude"]), _coordinate(row["longitude"])
        if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            latitude = longitude = None
        size = integer(row["size"])
        yield FileRecord(
            path=_join(row["root_path"], row["root_relative_file_path"], row["file_name"]),
            size=None if size is None or size < 0 else size,
            modified_time=unix_ms_iso(row["file_date_modified_ms"]),
            mime_type=clean(row["mime_type"]), source_app=APP, uri=clean(row["uri"]), hidden=flag(row["is_hidden"]),
            capture_time_utc=unix_ms_iso(row["taken_date_ms"]), latitude=latitude, longitude=longitude,
            camera=clean(row["device_description"]), width=integer(row["width_px"]), height=integer(row["height_px"]),
            duration_ms=integer(row["duration_px"]), file_hash=clean(row["file_hash"]),
            last_opened_time=unix_ms_iso(row["last_opened"]), source_record_id=f"files_master_table:{row['id']}")
