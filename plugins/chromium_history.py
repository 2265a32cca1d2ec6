"""The Chromium family's History database: Chrome, Samsung Internet, Edge,
Brave, Opera and Chromium itself, on Android and on desktops. One SQLite
file per browser profile, named "History" ("Archived History" in older
versions: no downloads).

Schemas understood (History schema versions as the ``meta`` table names them):

* Visits (every version seen, Chrome 4 to 130): ``visits(id, url,
  visit_time, from_visit, transition)`` joined to ``urls(id, url, title,
  visit_count, typed_count)``; ``visits.visit_duration`` (microseconds) is
  read when present. ``transition & 0xFF`` is the core transition type.
* URLs whose visits have expired (a ``urls`` row no ``visits`` row names):
  one ``web.visit`` each at ``urls.last_visit_time``, record id "url:ID".
* Searches: ``keyword_search_terms(keyword_id, url_id, term)``; the time is
  the results page's ``urls.last_visit_time`` (the table keeps none of its own).
* Downloads, schema 24+ (Chrome 26 on): ``downloads(id, current_path,
  target_path, start_time, end_time, received_bytes, total_bytes, state)``
  with ``downloads_url_chains(id, chain_index, url)`` (the URL is the last
  of the redirect chain); ``mime_type`` and ``referrer`` when present.
* Downloads, schema up to 23 (Chrome 25 and older): ``downloads(id,
  full_path, url, start_time, received_bytes, total_bytes, state)``; here
  ``start_time`` is in Unix seconds, not WebKit time.

Times are WebKit time: microseconds since 1601-01-01 UTC. A History file is
recognised by its path in a known browser's profile, or anywhere by the
name "History" when its tables are Chromium's.
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_kit import (Download, QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, WebSearch, WebVisit,
                          clean, integer, unix_s_iso, webkit_iso)

# (path fragment, browser) checked in order against the lower-cased path.
BROWSERS = (
    ("com.android.chrome/", "Chrome"), ("com.chrome.beta/", "Chrome Beta"), ("com.chrome.dev/", "Chrome Dev"),
    ("com.sec.android.app.sbrowser", "Samsung Internet"), ("com.microsoft.emmx", "Edge"),
    ("com.brave.browser", "Brave"), ("com.opera.browser", "Opera"), ("bravesoftware/", "Brave"),
    ("microsoft/edge/", "Edge"), ("microsoft edge/", "Edge"), ("microsoft-edge/", "Edge"),
    ("google/chrome/", "Chrome"), ("google-chrome/", "Chrome"), ("chromium/", "Chromium"), ("opera", "Opera"),
)
UNKNOWN_BROWSER = "Chromium-based browser"
# ui::PageTransition core types (transition & 0xFF).
TRANSITIONS = ("link", "typed", "auto_bookmark", "auto_subframe", "manual_subframe", "generated",
               "auto_toplevel", "form_submit", "reload", "keyword", "keyword_generated")
DOWNLOAD_STATES = {0: "in_progress", 1: "complete", 2: "cancelled", 3: "interrupted", 4: "interrupted"}

VISITS = QueryVersion(
    "visits+urls (Chrome 4-130)",
    {"visits": ("id", "url", "visit_time", "from_visit", "transition"),
     "urls": ("id", "url", "title", "visit_count", "typed_count")},
    "SELECT visits.id, urls.url, urls.title, urls.visit_count, urls.typed_count, visits.visit_time, "
    "visits.from_visit, visits.transition, {optional} FROM visits LEFT JOIN urls ON urls.id = visits.url "
    "ORDER BY visits.id",
    optional={"visits": ("visit_duration",)})
# A URL whose visits have expired (Chrome keeps visits about 90 days) can
# stay in urls, with its last visit time and counts: one finding for it, so
# no URL of the file is lost.
URLS_ONLY = QueryVersion(
    "urls without a visit row (Chrome 4-130)",
    {"urls": ("id", "url", "title", "visit_count", "typed_count", "last_visit_time"), "visits": ("url",)},
    "SELECT urls.id, urls.url, urls.title, urls.visit_count, urls.typed_count, urls.last_visit_time FROM urls "
    "WHERE NOT EXISTS (SELECT 1 FROM visits WHERE visits.url = urls.id) ORDER BY urls.id")
SEARCHES = QueryVersion(
    "keyword_search_terms (Chrome 7-130)",
    {"keyword_search_terms": ("keyword_id", "url_id", "term"), "urls": ("id", "url", "last_visit_time")},
    "SELECT keyword_search_terms.rowid AS row_id, keyword_search_terms.keyword_id, keyword_search_terms.url_id, "
    "keyword_search_terms.term, urls.url, urls.last_visit_time FROM keyword_search_terms "
    "LEFT JOIN urls ON urls.id = keyword_search_terms.url_id ORDER BY keyword_search_terms.rowid")
DOWNLOADS_CHAINS = QueryVersion(
    "downloads+downloads_url_chains (schema 24+, Chrome 26-130)",
    {"downloads": ("id", "current_path", "target_path", "start_time", "end_time", "received_bytes",
                   "total_bytes", "state"),
     "downloads_url_chains": ("id", "chain_index", "url")},
    "SELECT downloads.id, downloads.target_path, downloads.current_path, downloads.start_time, "
    "downloads.end_time, downloads.received_bytes, downloads.total_bytes, downloads.state, {optional}, "
    "(SELECT url FROM downloads_url_chains AS chain WHERE chain.id = downloads.id "
    " ORDER BY chain.chain_index DESC LIMIT 1) AS url FROM downloads ORDER BY downloads.id",
    optional={"downloads": ("mime_type", "referrer")})
DOWNLOADS_OLD = QueryVersion(
    "downloads (schema up to 23, Chrome 25 and older; start_time in Unix seconds)",
    {"downloads": ("id", "full_path", "url", "start_time", "received_bytes", "total_bytes", "state")},
    "SELECT id, full_path, url, start_time, received_bytes, total_bytes, state FROM downloads ORDER BY id")


def browser_of(path: str) -> str:
    lowered = path.lower()
    return next((name for fragment, name in BROWSERS if fragment in lowered), UNKNOWN_BROWSER)


def profile_of(path: str) -> str | None:
    parts = path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-2] else None


def transition_name(value: object) -> str | None:
    code = integer(value)
    if code is None:
        return None
    core = code & 0xFF
    return TRANSITIONS[core] if core < len(TRANSITIONS) else f"type {core}"


class ChromiumHistoryPlugin(SqliteArtifactPlugin):
    """Visits, searches and downloads from a Chromium-family History file."""

    NAME = "chromium_history"
    VERSION = "1.0"
    DESCRIPTION = ("Chromium-family browser history (Chrome, Samsung Internet, Edge, Brave, Opera; Android "
                   "and desktop): visits, searches, downloads")
    PATHS = (
        "**/com.android.chrome/app_chrome/*/History", "**/com.chrome.beta/app_chrome/*/History",
        "**/com.chrome.dev/app_chrome/*/History", "**/com.sec.android.app.sbrowser/app_sbrowser/*/History",
        "**/com.microsoft.emmx/app_chrome/*/History", "**/com.brave.browser/app_chrome/*/History",
        "**/com.opera.browser/app_opera/History", "**/Google/Chrome/*/History", "**/google-chrome/*/History",
        "**/Microsoft/Edge/*/History", "**/Microsoft Edge/*/History", "**/microsoft-edge/*/History",
        "**/BraveSoftware/Brave-Browser/*/History", "**/chromium/*/History",
    )
    NAMES = ("History", "Archived History")
    QUERIES = (
        SqlQuery("web visits", "visit", (VISITS,)),
        SqlQuery("URLs without a visit", "url_only", (URLS_ONLY,), required=False),
        SqlQuery("web searches", "search", (SEARCHES,), required=False),
        SqlQuery("downloads", "download", (DOWNLOADS_CHAINS, DOWNLOADS_OLD), required=False),
    )

    def visit(self, row, source: RowSource) -> Iterator[WebVisit]:
        duration = integer(row["visit_duration"])
        yield WebVisit(
            url=clean(row["url"]), title=clean(row["title"]), visit_time=webkit_iso(row["visit_time"]),
            source_app=browser_of(source.file.path), visit_count=integer(row["visit_count"]),
            typed_count=integer(row["typed_count"]), transition=transition_name(row["transition"]),
            from_visit=str(integer(row["from_visit"])) if integer(row["from_visit"]) else None,
            duration_s=None if not duration else duration / 1e6,
            profile=profile_of(source.file.path), source_record_id=str(row["id"]))

    def url_only(self, row, source: RowSource) -> Iterator[WebVisit]:
        yield WebVisit(
            url=clean(row["url"]), title=clean(row["title"]), visit_time=webkit_iso(row["last_visit_time"]),
            source_app=browser_of(source.file.path), visit_count=integer(row["visit_count"]),
            typed_count=integer(row["typed_count"]), profile=profile_of(source.file.path),
            source_record_id=f"url:{row['id']}")

    def search(self, row, source: RowSource) -> Iterator[WebSearch]:
        yield WebSearch(
            term=clean(row["term"]), url=clean(row["url"]), search_time=webkit_iso(row["last_visit_time"]),
            source_app=browser_of(source.file.path), profile=profile_of(source.file.path),
            source_record_id=f"keyword_search_terms:{row['row_id']}")

    def download(self, row, source: RowSource) -> Iterator[Download]:
        old = source.version == DOWNLOADS_OLD.name
        state = integer(row["state"])
        yield Download(
            url=clean(row["url"]),
            target_path=clean(row["full_path"]) if old else (clean(row["target_path"]) or clean(row["current_path"])),
            start_time=unix_s_iso(row["start_time"]) if old else webkit_iso(row["start_time"]),
            end_time=None if old else webkit_iso(row["end_time"]),
            source_app=browser_of(source.file.path),
            received_bytes=integer(row["received_bytes"]), total_bytes=integer(row["total_bytes"]),
            mime_type=None if old else clean(row["mime_type"]),
            state=None if state is None else DOWNLOAD_STATES.get(state, f"state {state}"),
            referrer=None if old else clean(row["referrer"]),
            profile=profile_of(source.file.path), source_record_id=f"downloads:{row['id']}")
