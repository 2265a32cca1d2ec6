"""JSON API responses that iOS apps keep in their URL cache (NSURLCache),
shared by the app plugins that have no database of their own (Discord,
Burner on iOS).

An app's ``Library/Caches/<bundle id>/`` holds ``Cache.db`` (SQLite):
``cfurl_cache_response(entry_ID, request_key, time_stamp)`` names each
cached URL, and ``cfurl_cache_receiver_data(entry_ID, isDataOnFS,
receiver_data)`` holds the response body inline, or, when ``isDataOnFS`` is
1, the name of a file in ``fsCachedData/`` beside it that holds the body.
A plugin reads the inline bodies from Cache.db and the ``fsCachedData``
files as files of their own, each recognised by its content, so no file
refers the plugin to another (the engine hands each file to the plugin).

Bounds: a body is parsed only when it starts like JSON and is at most
``MAX_JSON_BYTES``; nesting deeper than Python's recursion limit, bad UTF-8
or bad JSON give None (the caller decides whether that deserves a warning).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

from ..sqlite_access import Database, SchemaVersion

MAX_JSON_BYTES = 32 << 20
CACHE = SchemaVersion("nsurlcache", {
    "cfurl_cache_response": ("entry_ID", "request_key"),
    "cfurl_cache_receiver_data": ("entry_ID", "isDataOnFS", "receiver_data")})


@dataclass(frozen=True)
class CachedResponse:
    """One inline response body of Cache.db and the URL it answered."""

    entry_id: int
    url: str
    path: str               # the URL's path, e.g. "/api/v9/channels/1/messages"
    body: Any               # parsed JSON


def looks_like_json(data: bytes) -> bool:
    return data.lstrip()[:1] in (b"[", b"{")


def parse_json(data: bytes | bytearray | memoryview | str | None) -> Any | None:
    """Parsed JSON, or None when ``data`` is not JSON (or is too big)."""
    if data is None:
        return None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = bytes(data)
    if len(data) > MAX_JSON_BYTES or not looks_like_json(data):
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def records(body: Any, keys: Sequence[str]) -> list[dict]:
    """The objects of a response that have every key in ``keys``: the body
    itself when it is one such object, or the such objects of a list."""
    items = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, dict) and all(key in item for key in keys)]


def inline_responses(db: Database, path_pattern: re.Pattern[str]) -> Iterator[CachedResponse]:
    """Inline JSON bodies of Cache.db whose URL path matches ``path_pattern``
    (``fullmatch``), in entry order. Bodies stored in fsCachedData are left
    to the plugin's run on that file."""
    query = ("SELECT r.entry_ID, r.request_key, d.receiver_data FROM cfurl_cache_response AS r "
             "JOIN cfurl_cache_receiver_data AS d ON d.entry_ID = r.entry_ID "
             "WHERE d.isDataOnFS = 0 ORDER BY r.entry_ID")
    for row in db.rows(query, table="cfurl_cache_receiver_data"):
        url = row["request_key"]
        if not isinstance(url, str):
            continue
        try:
            path = urlsplit(url).path
        except ValueError:
            continue
        if not path_pattern.fullmatch(path):
            continue
        body = parse_json(row["receiver_data"])
        if body is not None:
            yield CachedResponse(int(row["entry_ID"]), url, path, body)
