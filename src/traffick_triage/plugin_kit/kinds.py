"""Finding kinds shared by artifact plugins beyond communications: what a
browser, the system and the apps on a device record about the person using
it. Every kind names the app that holds the record (``source_app``, e.g.
"Chrome", "Samsung Internet", "iOS Accounts") and the record's own id in
its store (``source_record_id``), so an examiner can find the row again.

Times are UTC ISO 8601 strings (None when the store has none); values are
kept as the store has them (a URL is not normalised, a user name not
lower-cased). Each kind yields its own timeline events so the timeline says
what happened ("Chrome visit: https://..."), not only that a field held a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

from ..plugin_api import Finding, TimelineEvent


def _events(finding: Finding, times: Sequence[tuple[str | None, str]], message: str) -> tuple[TimelineEvent, ...]:
    extra = {"source_app": getattr(finding, "source_app", ""),
             "source_record_id": getattr(finding, "source_record_id", None)}
    return tuple(TimelineEvent(when, desc, message, extra=extra) for when, desc in times if when)


@dataclass(frozen=True)
class WebVisit(Finding):
    """One visit to a URL (a browser's history row)."""

    KIND: ClassVar[str] = "web.visit"

    url: str | None
    title: str | None
    visit_time: str | None
    source_app: str
    visit_count: int | None = None         # the URL's visit count as the browser keeps it
    typed_count: int | None = None
    transition: str | None = None          # how the visit started (link, typed, reload...), as found
    from_visit: str | None = None          # record id of the referring visit
    duration_s: float | None = None
    profile: str | None = None             # browser profile folder, e.g. "Default"
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.visit_time, "Web Visit")],
                       f"{self.source_app} visit: {self.url or '?'}" + (f" ({self.title})" if self.title else ""))


@dataclass(frozen=True)
class WebSearch(Finding):
    """A term typed into a search engine or the address bar."""

    KIND: ClassVar[str] = "web.search"

    term: str | None
    url: str | None                        # the results page the term led to
    search_time: str | None
    source_app: str
    profile: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.search_time, "Web Search")], f"{self.source_app} search: {self.term or '?'}")


@dataclass(frozen=True)
class Download(Finding):
    """A file fetched by a browser or the system download manager."""

    KIND: ClassVar[str] = "web.download"

    url: str | None
    target_path: str | None                # where the device wrote it, as found
    start_time: str | None
    source_app: str
    end_time: str | None = None
    modified_time: str | None = None       # the store's last change of the record (Android's lastmod)
    received_bytes: int | None = None
    total_bytes: int | None = None
    mime_type: str | None = None
    state: str | None = None               # the store's state, named when known ("complete"), else as found
    referrer: str | None = None
    requested_by: str | None = None        # the app that asked for it (Android's download manager)
    deleted: bool | None = None            # the store's own "deleted" flag
    profile: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        what = f"{self.source_app} download: {self.url or '?'} -> {self.target_path or '?'}"
        return _events(self, [(self.start_time, "Download Started"), (self.end_time, "Download Finished"),
                              (self.modified_time, "Download Record Modified")], what)


@dataclass(frozen=True)
class Bookmark(Finding):
    """A saved URL."""

    KIND: ClassVar[str] = "web.bookmark"

    url: str | None
    title: str | None
    added_time: str | None
    source_app: str
    folder: str | None = None
    profile: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.added_time, "Bookmark Added")], f"{self.source_app} bookmark: {self.url or '?'}")


@dataclass(frozen=True)
class Account(Finding):
    """An account the device or an app is signed in to: the identifiers a
    preservation request to the provider needs."""

    KIND: ClassVar[str] = "device.account"

    account_type: str | None               # e.g. "Apple ID", "com.google"
    username: str | None                   # user name / e-mail / phone number, as found
    identifier: str | None                 # the store's id of the account (a UUID, a numeric id)
    source_app: str
    description: str | None = None
    provider: str | None = None            # the service that holds the records, e.g. "com.apple.account.AppleIDAuthentication"
    owning_app: str | None = None          # the app or daemon that created the account
    created: str | None = None
    active: bool | None = None
    authenticated: bool | None = None
    parent_identifier: str | None = None   # the parent account's identifier, when a child account
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.created, "Account Added")],
                       f"{self.source_app} account added: {self.account_type or '?'} {self.username or ''}".rstrip())


@dataclass(frozen=True)
class WifiNetwork(Finding):
    """A Wi-Fi network the device remembers."""

    KIND: ClassVar[str] = "device.wifi_network"

    ssid: str | None
    bssids: tuple[str, ...]                # access points seen for it, as found
    security: str | None
    source_app: str
    added_time: str | None = None
    last_joined_time: str | None = None    # the latest join the store records (by the user or the system)
    last_joined_by_user_time: str | None = None
    updated_time: str | None = None
    hidden: bool | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.added_time, "Wi-Fi Network Added"),
                              (self.last_joined_by_user_time, "Wi-Fi Joined By User"),
                              (self.last_joined_time, "Wi-Fi Last Joined")],
                       f"{self.source_app} Wi-Fi network {self.ssid or '?'}")


@dataclass(frozen=True)
class DeviceIdentifier(Finding):
    """An identifier of the device or its subscription (IMEI, IMSI, ICCID,
    serial number, phone number, advertising id), as the store holds it."""

    KIND: ClassVar[str] = "device.identifier"

    identifier_type: str                   # "IMEI", "IMSI", "ICCID", "phone_number", "serial_number"...
    value: str
    source_app: str
    seen_time: str | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.seen_time, "Identifier Seen")],
                       f"{self.source_app} {self.identifier_type}: {self.value}")


@dataclass(frozen=True)
class Note(Finding):
    """A note written on the device (Notes, a notes app)."""

    KIND: ClassVar[str] = "content.note"

    title: str | None
    snippet: str | None                    # the text the app shows in its list; the full body may be longer
    created: str | None
    modified: str | None
    source_app: str
    folder: str | None = None
    locked: bool | None = None             # password-protected: the body is encrypted
    deleted: bool | None = None            # the store's own "deleted"/"marked for deletion" flag
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.created, "Note Created"), (self.modified, "Note Modified")],
                       f"{self.source_app} note: {self.title or '?'}")


@dataclass(frozen=True)
class InstalledApp(Finding):
    """An app installed (or once installed) on the device."""

    KIND: ClassVar[str] = "device.installed_app"

    app_id: str                            # package name / bundle id
    name: str | None
    version: str | None
    installed_time: str | None
    source_app: str
    updated_time: str | None = None
    installer: str | None = None           # the store or app that installed it
    uninstalled: bool | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        return _events(self, [(self.installed_time, "App Installed"), (self.updated_time, "App Updated")],
                       f"{self.source_app} app {self.app_id}")
