"""iTunes / Finder backups of iOS devices (iOS 10 and later): a folder with
Manifest.db, Manifest.plist, Info.plist and the backed-up files stored under
their SHA-1 "fileID" (``ab/abcdef...``). Each file is listed under its real
name, ``HomeDomain/Library/SMS/sms.db``, from Manifest.db's ``Files`` table
(fileID, domain, relativePath, flags, file); stored files the manifest does
not name are listed under their stored names with a note.

Manifest.db is read from a copy in a temporary folder, never in place (SQLite
may create -shm/-wal files beside a database it opens). Encrypted backups
(Manifest.plist IsEncrypted) are inventoried and hashed as stored, with a
warning: their contents, Manifest.db included, are encrypted and not read."""

from __future__ import annotations

import os
import plistlib
import re
import shutil
from pathlib import Path
from typing import IO, Any, Iterator

from ..scratch import temporary_folder
from ..sqlite_access import SQLITE_ERRORS, SqliteBounds, connect
from ..timeutil import from_unix_seconds, iso_or_none
from .base import DIRECTORY, FILE, OTHER, SYMLINK, Entry, EvidenceError, EvidenceSource
from .confine import ConfinementError, confined_file, open_confined

MANIFEST = "Manifest.db"
_STORED_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{40}$")
_FILE_ID = re.compile(r"[0-9a-f]{40}")     # SHA-1 of domain-relativePath: anything else is not followed
# Plugins' bounds: a 64 MiB value, a step budget, 5 M rows (real manifests: 10^4-10^6 rows).
MANIFEST_BOUNDS = SqliteBounds()
_NAMED_REFUSALS = 100                       # refused fileIDs named one by one; the rest counted
_FLAG_KINDS = {1: FILE, 2: DIRECTORY, 4: SYMLINK}
_INFO_KEYS = ("Device Name", "Display Name", "Product Type", "Product Version", "Build Version",
              "Serial Number", "Unique Identifier", "IMEI", "MEID", "Phone Number", "ICCID",
              "Last Backup Date", "Target Identifier", "iTunes Version")


class NotAnItunesBackup(EvidenceError):
    """The folder has a Manifest.db that is not an iOS backup manifest."""


class ManifestUnreadable(EvidenceError):
    """Manifest.db names the backup's files (a Files table with the backup's
    columns) but its rows cannot be read safely: a view or virtual table in
    place of the table, or a query stopped by the bounds. The backup is
    still one: its stored files are listed under their stored names."""


def looks_like_itunes_backup(path: str) -> bool:
    """Cheap pre-check for detect.py: a folder with a Manifest.db file."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, MANIFEST))


class ItunesBackupSource(EvidenceSource):
    kind = "itunes-backup"

    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name)
        self.root = os.path.abspath(path)
        self.info = _read_plist(os.path.join(self.root, "Info.plist"))
        self.manifest_plist = _read_plist(os.path.join(self.root, "Manifest.plist"))
        self.encrypted = bool((self.manifest_plist or {}).get("IsEncrypted"))
        self.rows: list[dict[str, Any]] = []
        self.manifest_error: str | None = None
        try:
            self.rows = _read_manifest(os.path.join(self.root, MANIFEST), self._manifest_warning)
        except ManifestUnreadable as error:
            self.manifest_error = str(error)
            self.warn(str(error), MANIFEST)
        except NotAnItunesBackup as error:
            if not self.encrypted:
                raise
            self.manifest_error = str(error)
        self._by_name = {(row["domain"], row["relative_path"]): row for row in self.rows}
        refused = [row for row in self.rows if row["stored"] is None and row["flags"] == 1]
        for row in refused[:_NAMED_REFUSALS]:
            self.warn(f"Manifest.db fileID {row['file_id'][:120]!r} is not a 40-hex SHA-1: the stored file "
                      "is not looked for (a name with '/', '..' or an absolute path would leave the backup)",
                      row["path"])
        if len(refused) > _NAMED_REFUSALS:
            self.warn(f"{len(refused) - _NAMED_REFUSALS} more Manifest.db fileIDs that are not 40-hex SHA-1s: "
                      "not looked for")
        if self.encrypted:
            self.warn("encrypted backup: files are inventoried and hashed as stored; their contents "
                      "(and real names, when Manifest.db is encrypted too) are not readable without the password")

    def _manifest_warning(self, message: str) -> None:
        # A bounded query of Manifest.db stopped part-way: the rows read stand.
        self.manifest_error = message
        self.warn(message, MANIFEST)

    # -- walking ------------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        stored = self._stored_files()
        listed: set[str] = set()
        for name in sorted(stored):
            if "/" not in name:          # Manifest.db, Info.plist, Status.plist...
                yield self._host_entry(name, note=None)
        missing = 0
        for row in self.rows:
            entry = self._manifest_entry(row, stored)
            if row["stored"] in stored:
                listed.add(row["stored"])
            elif entry.kind == FILE and entry.opener is None and row["stored"] is not None:
                missing += 1
            yield entry
        if missing:
            self.warn(f"{missing} file(s) listed in Manifest.db are not stored in the backup folder")
        note = ("stored file not listed in Manifest.db: real name unknown" if self.rows else
                "Manifest.db not readable: listed under its stored (hashed) name")
        for name in sorted(stored):
            if "/" in name and name not in listed:
                entry = self._host_entry(name, note=note if _STORED_NAME.match(name) else None)
                yield entry

    def _stored_files(self) -> set[str]:
        """Every regular file of the backup folder, relative, "/"-separated."""
        found = set()
        for folder, directories, files in os.walk(self.root):
            directories.sort()
            for name in files:
                host = os.path.join(folder, name)
                if os.path.islink(host) or not os.path.isfile(host):
                    continue
                found.add(os.path.relpath(host, self.root).replace(os.sep, "/"))
        return found

    def _host_entry(self, relative: str, note: str | None) -> Entry:
        host = os.path.join(self.root, relative)
        info = os.stat(host)
        entry = Entry(segments=(relative,), path=relative, kind=FILE, size=info.st_size,
                      inode=None, times={"modified": iso_or_none(from_unix_seconds(info.st_mtime_ns / 1e9))},
                      address={"stored": relative}, opener=lambda h=host: open_confined(h))
        if note:
            entry.notes.append(note)
        if self.encrypted and _STORED_NAME.match(relative):
            entry.notes.append("encrypted backup: content is encrypted")
        return entry

    def _manifest_entry(self, row: dict[str, Any], stored: set[str]) -> Entry:
        path = row["path"]
        kind = _FLAG_KINDS.get(row["flags"], OTHER)
        meta = row["meta"]
        entry = Entry(segments=(path,), path=path, kind=kind, size=0, inode=_text(meta.get("InodeNumber")),
                      times=_times(meta),
                      address={"stored": row["stored"], "domain": row["domain"],
                               "relative_path": row["relative_path"], "file_id": row["file_id"]})
        if kind == SYMLINK:
            entry.link_target = _text(meta.get("Target"))
        if kind != FILE:
            return entry
        declared = meta.get("Size")
        if row["stored"] is None:
            entry.size = declared if isinstance(declared, int) else 0
            entry.notes.append("Manifest.db fileID is not a SHA-1: stored file not looked for")
        elif row["stored"] in stored:
            host = os.path.join(self.root, row["stored"])
            entry.size = os.path.getsize(host)
            entry.opener = lambda h=host: open_confined(h)
            entry.notes.append(f"stored as {row['stored']}")
            if self.encrypted:
                entry.notes.append("encrypted backup: content is encrypted")
            elif isinstance(declared, int) and declared != entry.size:
                entry.notes.append(f"Manifest.db gives size {declared}, the stored file has {entry.size} bytes")
        else:
            entry.size = declared if isinstance(declared, int) else 0
            entry.notes.append(f"listed in Manifest.db but not stored in the backup (expected {row['stored']})")
        return entry

    # -- reading again -----------------------------------------------------------------------

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        stored = address.get("stored")
        if not isinstance(stored, str):
            raise ValueError("address has no stored name")
        try:
            return open_confined(confined_file(stored, self.root))
        except ConfinementError as error:
            raise ValueError(f"address outside the backup folder: {error}") from error

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        domain, relative = entry.address.get("domain"), entry.address.get("relative_path")
        if domain is None or relative is None or "/" in name:
            return None
        parent = relative.rsplit("/", 1)[0] if "/" in relative else ""
        row = self._by_name.get((domain, f"{parent}/{name}" if parent else name))
        if row is None or row["flags"] != 1 or row["stored"] is None:
            return None
        try:
            host = confined_file(row["stored"], self.root)
        except ConfinementError:
            return None
        return Entry(segments=(row["path"],), path=row["path"], kind=FILE, size=os.path.getsize(host),
                     address={"stored": row["stored"], "domain": domain, "relative_path": row["relative_path"],
                              "file_id": row["file_id"]},
                     opener=lambda: open_confined(host))

    # -- the backup as a whole ---------------------------------------------------------------

    def host_files(self) -> list[str]:
        return [os.path.join(self.root, relative) for relative in sorted(self._stored_files())]

    def describe(self) -> dict[str, Any]:
        info = self.info or {}
        manifest = self.manifest_plist or {}
        lockdown = manifest.get("Lockdown") if isinstance(manifest.get("Lockdown"), dict) else {}
        device = {key: _text(info[key]) for key in _INFO_KEYS if key in info}
        return {
            "format": "iTunes/Finder iOS backup",
            "encrypted": self.encrypted,
            "manifest_entries": len(self.rows),
            "manifest_readable": self.manifest_error is None,
            "backup_version": _text(manifest.get("Version")),
            "backup_date": _text(manifest.get("Date")),
            "device": device or {k: _text(v) for k, v in lockdown.items()
                                 if k in ("DeviceName", "ProductType", "ProductVersion", "SerialNumber",
                                          "UniqueDeviceID", "BuildVersion")},
        }


# -- Manifest.db ---------------------------------------------------------------------------------


def _read_manifest(path: str, warn: Any) -> list[dict[str, Any]]:
    """All rows of the Files table, read from a temporary copy, bounded as
    plugins' queries are (sqlite_access): a query that runs past the step
    budget, a value over the length limit or too many rows ends with one
    warning through ``warn``; the rows read so far stand."""
    try:
        with open_confined(confined_file(MANIFEST, os.path.dirname(path))) as stream:
            head = stream.read(16)
    except ConfinementError as error:
        raise NotAnItunesBackup(f"Manifest.db not read: {error}") from error
    except OSError as error:
        raise NotAnItunesBackup(f"Manifest.db not readable: {error.strerror}") from error
    if head != b"SQLite format 3\x00":
        raise NotAnItunesBackup("Manifest.db is not an SQLite database (encrypted or damaged)")
    workdir = temporary_folder("triage-manifest-")      # the case's scratch area during a scan
    try:
        copy = os.path.join(workdir, MANIFEST)
        with open_confined(path) as source, open(copy, "xb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        for suffix in ("-wal", "-shm"):     # an uncheckpointed journal belongs to the database
            try:
                companion = confined_file(MANIFEST + suffix, os.path.dirname(path))
            except ConfinementError:         # absent, or not a regular file of the backup
                continue
            with open_confined(companion) as source, open(copy + suffix, "xb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        rows = _manifest_rows(Path(copy), warn)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = []
    for file_id, domain, relative, flags, blob in rows:
        file_id = str(file_id or "").lower()
        domain = str(domain or "")
        relative = str(relative or "")
        out.append({"file_id": file_id, "domain": domain, "relative_path": relative,
                    "flags": flags if isinstance(flags, int) else 0,
                    "path": f"{domain}/{relative}" if relative else domain,
                    "stored": f"{file_id[:2]}/{file_id}" if _FILE_ID.fullmatch(file_id) else None,
                    "meta": _file_metadata(blob)})
    return out


def _manifest_rows(copy: Path, warn: Any) -> list[tuple[Any, ...]]:
    try:
        with connect(copy, MANIFEST, warn, MANIFEST_BOUNDS) as database:
            if not database.has("Files", "fileID", "domain", "relativePath", "flags"):
                raise NotAnItunesBackup("Manifest.db has no Files table (fileID, domain, relativePath, flags)")
            kinds = {name.lower(): kind for kind in ("table", "view") for name in database.names(kind)}
            if kinds.get("files") != "table" or database.is_virtual("Files"):
                what = "a virtual table" if database.is_virtual("Files") else f"a {kinds.get('files', 'schema object')}"
                # Every backup iTunes/Finder writes holds a plain table; a view
                # can run any query (an endless recursive one) when read.
                raise ManifestUnreadable(f"Manifest.db: Files is {what}, not a table as in every iOS backup: "
                                         "not read; stored files are listed under their stored names")
            blob = ", file" if database.has("Files", "file") else ", NULL"
            return [tuple(row) for row in database.rows(
                "SELECT fileID, domain, relativePath, flags" + blob
                + " FROM Files ORDER BY domain, relativePath, fileID", table="Files")]
    except SQLITE_ERRORS as error:
        raise NotAnItunesBackup(f"Manifest.db not readable as SQLite: {error}") from error


def _file_metadata(blob: Any) -> dict[str, Any]:
    """The MBFile object of a Files.file blob (an NSKeyedArchiver plist)."""
    if not isinstance(blob, (bytes, bytearray)) or not blob:
        return {}
    try:
        archive = plistlib.loads(bytes(blob))
        objects = archive["$objects"]
        top = archive["$top"]["root"]
        root = objects[top.data if isinstance(top, plistlib.UID) else int(top)]
    except (plistlib.InvalidFileException, KeyError, IndexError, TypeError, ValueError, AttributeError):
        return {}
    if not isinstance(root, dict):
        return {}
    meta = {}
    for key, value in root.items():
        if isinstance(value, plistlib.UID):
            try:
                value = objects[value.data]
            except IndexError:
                continue
            if value == "$null":
                continue
        meta[key] = value
    return meta


def _times(meta: dict[str, Any]) -> dict[str, str | None]:
    times = {}
    for key, field in (("created", "Birth"), ("modified", "LastModified"), ("changed", "LastStatusChange")):
        value = meta.get(field)
        if isinstance(value, (int, float)) and value > 0:
            text = iso_or_none(from_unix_seconds(value))
            if text:
                times[key] = text
    return times


def _read_plist(path: str) -> dict[str, Any] | None:
    try:
        with open_confined(confined_file(os.path.basename(path), os.path.dirname(path))) as stream:
            value = plistlib.load(stream)
    except (OSError, plistlib.InvalidFileException, ValueError, TypeError, KeyError, OverflowError):
        return None
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):      # plistlib gives naive datetimes in UTC
        return value.isoformat() + ("+00:00" if getattr(value, "tzinfo", 1) is None else "")
    return str(value)
