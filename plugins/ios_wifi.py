"""Wi-Fi networks an iPhone or iPad remembers, from its property lists.

Formats understood:

* ``com.apple.wifi.known-networks.plist`` (iOS 14 to 17, in
  /private/var/preferences): a dictionary keyed "wifi.network.ssid.NAME"
  (or ".bssid."/".hs20." for other kinds), each with ``SSID`` (bytes),
  ``AddedAt``, ``JoinedByUserAt``, ``JoinedBySystemAt``, ``UpdatedAt``,
  ``Hidden``, ``SupportedSecurityTypes`` and ``BSSList`` (the access points,
  each with ``BSSID``).
* ``com.apple.wifi.plist`` (iOS 5 to 13, in
  /private/var/preferences/SystemConfiguration): the list "List of known
  networks", each with ``SSID_STR``, ``BSSID``, ``lastJoined``,
  ``lastAutoJoined``, ``addedAt``, ``SecurityMode``, ``HIDDEN_NETWORK``.
  iOS 14+ keeps this file for settings only (no list): then it yields nothing.

Plist dates are UTC by the format's definition.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..plugin_kit import WifiNetwork, clean, plist_dictionary, plist_time_iso

APP = "iOS Wi-Fi"
MAX_NETWORKS = 100_000
LEGACY_LIST = "List of known networks"


def _text(value: Any) -> str | None:
    return clean(value) if isinstance(value, (str, bytes)) else None


def _latest(*values: Any) -> str | None:
    moments = [value for value in values if isinstance(value, datetime.datetime)]
    return plist_time_iso(max(moments)) if moments else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


class IosWifiPlugin(Plugin):
    """Known Wi-Fi networks from iOS's Wi-Fi property lists."""

    NAME = "ios_wifi"
    VERSION = "1.0"
    DESCRIPTION = "iOS known Wi-Fi networks (com.apple.wifi.known-networks.plist, com.apple.wifi.plist)"
    SELECTOR = Selector(globs=("**/preferences/com.apple.wifi.known-networks.plist",
                               "com.apple.wifi.known-networks.plist",
                               "**/preferences/SystemConfiguration/com.apple.wifi.plist", "com.apple.wifi.plist"))
    SCHEMAS = {"known-networks.plist": "iOS 14-17", "com.apple.wifi.plist List of known networks": "iOS 5-13"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        document = plist_dictionary(file, ctx, self.NAME, "Wi-Fi networks")
        if document is None:
            return
        if file.name.lower() == "com.apple.wifi.plist":
            yield from self._legacy(document.get(LEGACY_LIST), file, ctx)
        else:
            yield from self._known(document, file, ctx)

    def _known(self, document: dict[str, Any], file: FileView, ctx: Context) -> Iterator[WifiNetwork]:
        for count, key in enumerate(sorted(str(k) for k in document)):
            entry = document[key]
            if count >= MAX_NETWORKS:
                ctx.warn(f"{self.NAME}: {file.locator}: more than {MAX_NETWORKS} networks; rest not read")
                return
            if not isinstance(entry, dict):
                ctx.warn(f"{self.NAME}: {file.locator}: entry {key[:80]!r} is not a dictionary; skipped")
                continue
            bss = entry.get("BSSList")
            bssids = tuple(sorted({b for b in (_text(item.get("BSSID")) for item in bss if isinstance(item, dict))
                                   if b})) if isinstance(bss, list) else ()
            yield WifiNetwork(
                ssid=_text(entry.get("SSID")) or _text(entry.get("SSID_STR")),
                bssids=bssids,
                security=_text(entry.get("SupportedSecurityTypes")),
                source_app=APP,
                added_time=plist_time_iso(entry.get("AddedAt")),
                last_joined_time=_latest(entry.get("JoinedBySystemAt"), entry.get("JoinedByUserAt")),
                last_joined_by_user_time=plist_time_iso(entry.get("JoinedByUserAt")),
                updated_time=plist_time_iso(entry.get("UpdatedAt")),
                hidden=_bool(entry.get("Hidden")),
                source_record_id=key)

    def _legacy(self, networks: Any, file: FileView, ctx: Context) -> Iterator[WifiNetwork]:
        if networks is None:
            return          # iOS 14+: settings only
        if not isinstance(networks, list):
            ctx.warn(f"{self.NAME}: {file.locator}: {LEGACY_LIST!r} is not a list; no Wi-Fi networks read")
            return
        for index, entry in enumerate(networks[:MAX_NETWORKS]):
            if not isinstance(entry, dict):
                ctx.warn(f"{self.NAME}: {file.locator}: network {index} is not a dictionary; skipped")
                continue
            bssid = _text(entry.get("BSSID"))
            yield WifiNetwork(
                ssid=_text(entry.get("SSID_STR")) or _text(entry.get("SSID")),
                bssids=(bssid,) if bssid else (),
                security=_text(entry.get("SecurityMode")),
                source_app=APP,
                added_time=plist_time_iso(entry.get("addedAt")),
                last_joined_time=_latest(entry.get("lastJoined"), entry.get("lastAutoJoined")),
                last_joined_by_user_time=plist_time_iso(entry.get("lastJoined")),
                hidden=_bool(entry.get("HIDDEN_NETWORK")),
                source_record_id=f"{LEGACY_LIST}[{index}]")
        if len(networks) > MAX_NETWORKS:
            ctx.warn(f"{self.NAME}: {file.locator}: more than {MAX_NETWORKS} networks; rest not read")
