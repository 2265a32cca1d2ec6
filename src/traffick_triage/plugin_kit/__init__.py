"""The public plugin kit: what an artifact plugin needs beyond the contract
in ``traffick_triage.plugin_api`` (which re-exports every name here).

* :class:`SqliteArtifactPlugin` with :class:`SqlQuery` / :class:`QueryVersion`:
  a SQLite artifact declared as paths, queries and schema versions.
* Readers for plists (binary, XML, NSKeyedArchiver), JSON and XML, bounded
  and raising :class:`DocumentError` only.
* The shared finding kinds, each with ``source_app``: message, call,
  contact, chat event, web visit, web search, download, bookmark, account,
  Wi-Fi network, device identifier, note, installed app.
* Value helpers: stored text and numbers as found, epochs to UTC ISO 8601.
"""

from .comms import (ANSWERED_EXTERNALLY, BLOCKED, DRAFT, INCOMING, MISSED, OUTGOING, REJECTED, UNKNOWN, VOICEMAIL,
                    AppMessage, Call, ChatEvent, Contact, Message)
from .documents import (DocumentError, is_keyed_archive, load_json, load_plist, load_xml, plist_dictionary,
                        read_document, unarchive)
from .kinds import (Account, Bookmark, DeviceIdentifier, Download, InstalledApp, Note, WebSearch, WebVisit,
                    WifiNetwork)
from .sqlite_artifact import QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin
from .values import (as_text, clean, cocoa_iso, flag, integer, number, plist_time_iso, unique, unix_ms_iso, unix_s_iso,
                     webkit_iso)

__all__ = [
    "ANSWERED_EXTERNALLY", "BLOCKED", "DRAFT", "INCOMING", "MISSED", "OUTGOING", "REJECTED", "UNKNOWN", "VOICEMAIL",
    "Account", "AppMessage", "Bookmark", "Call", "ChatEvent", "Contact", "DeviceIdentifier", "DocumentError", "Download",
    "InstalledApp", "Message", "Note", "QueryVersion", "RowSource", "SqlQuery", "SqliteArtifactPlugin",
    "WebSearch", "WebVisit", "WifiNetwork", "as_text", "clean", "cocoa_iso", "flag", "integer", "is_keyed_archive", "load_json",
    "load_plist", "load_xml", "number", "plist_dictionary", "plist_time_iso", "read_document", "unarchive", "unique", "unix_ms_iso",
    "unix_s_iso", "webkit_iso",
]
