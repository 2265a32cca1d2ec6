"""Android's system download manager: ``downloads.db`` of
com.android.providers.downloads (every app's DownloadManager requests,
browsers' and messengers' included).

Schema understood (DownloadProvider, database versions 100 to 114, Android
4 to 14): ``downloads(_id, uri, _data, mimetype, status, lastmod,
total_bytes, current_bytes)``; read when present: ``hint`` (the file name
the requesting app asked for, a file:// URI), ``title``,
``notificationpackage`` (the requesting app), ``referer``, ``deleted``.
``lastmod`` is Unix milliseconds of the row's last change (the store keeps
no start time); ``status`` is an HTTP-like code: 200 success, 190 pending,
192 running, 193-196 paused, 490 cancelled, other 4xx/5xx failed.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_kit import (Download, QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, flag, integer,
                          unix_ms_iso)

STATES = {190: "pending", 192: "running", 193: "paused", 194: "paused", 195: "paused", 196: "paused",
          200: "complete", 490: "cancelled"}

DOWNLOADS = QueryVersion(
    "downloads (DownloadProvider 100-114, Android 4-14)",
    {"downloads": ("_id", "uri", "_data", "mimetype", "status", "lastmod", "total_bytes", "current_bytes")},
    "SELECT downloads._id, downloads.uri, downloads._data, downloads.mimetype, downloads.status, "
    "downloads.lastmod, downloads.total_bytes, downloads.current_bytes, {optional} FROM downloads "
    "ORDER BY downloads._id",
    optional={"downloads": ("hint", "title", "notificationpackage", "referer", "deleted")})


def state_name(value: object) -> str | None:
    code = integer(value)
    if code is None:
        return None
    if code in STATES:
        return STATES[code]
    return f"failed ({code})" if code >= 400 else f"status {code}"


class AndroidDownloadsPlugin(SqliteArtifactPlugin):
    """Downloads from Android's DownloadProvider database."""

    NAME = "android_downloads"
    VERSION = "1.0"
    DESCRIPTION = "Android system downloads (com.android.providers.downloads downloads.db)"
    PATHS = ("**/com.android.providers.downloads/databases/downloads.db", "downloads.db")
    QUERIES = (SqlQuery("downloads", "download", (DOWNLOADS,)),)

    def download(self, row, source: RowSource) -> Iterator[Download]:
        total, current = integer(row["total_bytes"]), integer(row["current_bytes"])
        yield Download(
            url=clean(row["uri"]),
            target_path=clean(row["_data"]) or clean(row["hint"]),
            start_time=None,
            modified_time=unix_ms_iso(row["lastmod"]),
            source_app="Android Download Manager",
            # -1 is the store's "unknown size".
            total_bytes=None if total is None or total < 0 else total,
            received_bytes=None if current is None or current < 0 else current,
            mime_type=clean(row["mimetype"]),
            state=state_name(row["status"]),
            referrer=clean(row["referer"]),
            requested_by=clean(row["notificationpackage"]),
            deleted=flag(row["deleted"]),
            source_record_id=str(row["_id"]))
