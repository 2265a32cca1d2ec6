"""NIST NSRL RDS v3 (SQLite) looked up in place, never imported or modified.

The RDS is opened read-only and immutable (`?mode=ro&immutable=1`), so SQLite
neither writes nor creates -journal/-wal/-shm files beside it. FILE's primary
key starts with sha256, so SHA-256 lookups use NIST's own index; MD5/SHA-1
have no index in the RDS, so the first such lookup builds a separate index
database `<rds name>.triage-index.sqlite` in `cache_dir` (one pass over
DISTINCT_HASH), reused while the RDS file is unchanged. Schema: FORMATS.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from pathlib import Path

from .categories import NSRL_CATEGORY
from .entry import HashEntry, normalize_hex
from .fileutil import file_sha256

_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
SIDECAR_SUFFIX = ".triage-index.sqlite"
SIDECAR_SCHEMA = 1

# The RDS v3 minimal schema as NIST publishes it (hashsets/FORMATS.md). The
# reader needs only FILE's hash columns; samples and tests build with this.
RDS3_MINIMAL_SCHEMA = """
CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
  crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
  package_id INTEGER NOT NULL,
  CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id));
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL,
  CONSTRAINT PK_MFG__MFG_ID PRIMARY KEY (manufacturer_id));
CREATE TABLE OS (operating_system_id INTEGER NOT NULL, name VARCHAR NOT NULL,
  version VARCHAR NOT NULL, manufacturer_id INTEGER NOT NULL,
  CONSTRAINT PK_OS__OS_ID PRIMARY KEY (operating_system_id, manufacturer_id));
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
  operating_system_id INTEGER NOT NULL, manufacturer_id INTEGER NOT NULL,
  language VARCHAR NOT NULL, application_type VARCHAR NOT NULL,
  CONSTRAINT PK_PGK__PKG_ID PRIMARY KEY (package_id, operating_system_id, manufacturer_id,
  language, application_type));
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
  build_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL, release_date TIMESTAMP NOT NULL,
  description VARCHAR NOT NULL, CONSTRAINT PK_VERSION__VERSION PRIMARY KEY (version));
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
"""


def readonly_uri(path: str | Path) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro&immutable=1"


def _header_fingerprint(path: Path) -> dict:
    """Cheap identity of the RDS file: size, mtime and SQLite change counter."""
    stat = path.stat()
    with open(path, "rb") as handle:
        header = handle.read(100)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "change_counter": int.from_bytes(header[24:28], "big") if len(header) >= 28 else 0}


class NsrlLookup:
    format_name = "nsrl-rds3"

    def __init__(self, path: str | Path, cache_dir: str | Path | None = None,
                 set_name: str | None = None, declared: str | None = None) -> None:
        self.path = Path(path)
        self.set_name = set_name or self.path.name
        self.declared = declared        # "nsrl" when the examiner declared it so
        # Default: beside the RDS. Reference folders are often read-only; then
        # lookups still work, only slower (see `problems`).
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.path.parent
        self.problems: list[str] = []
        self._con = sqlite3.connect(readonly_uri(self.path), uri=True)
        self._objects = {name: kind for name, kind in self._con.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table','view')")}
        if "FILE" not in self._objects:
            self._con.close()
            raise ValueError(f"{self.path}: no FILE table: not an NSRL RDS v3 database")
        self.indexed = self._indexed_columns()
        self._sidecar: sqlite3.Connection | None = None
        self._sidecar_failed = False
        self._sha256: str | None = None

    @property
    def sidecar_path(self) -> Path:
        return self.cache_dir / (self.path.name + SIDECAR_SUFFIX)

    def close(self) -> None:
        self._con.close()
        if self._sidecar is not None:
            self._sidecar.close()

    def __enter__(self) -> "NsrlLookup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- facts ---------------------------------------------------------------
    def _indexed_columns(self) -> set[str]:
        """Hash columns that lead some index on FILE (none when FILE is a view)."""
        if self._objects.get("FILE") != "table":
            return set()
        leading = set()
        for row in self._con.execute("PRAGMA index_list('FILE')").fetchall():
            info = self._con.execute(f"PRAGMA index_info('{row[1]}')").fetchall()
            if info:
                leading.add(str(info[0][2]).lower())
        return leading & set(_LENGTHS)

    def version(self) -> list[dict]:
        if "VERSION" not in self._objects:
            return []
        cursor = self._con.execute("SELECT * FROM VERSION")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def file_row_count(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM FILE").fetchone()[0])

    def sha256(self) -> str:
        """SHA-256 of the RDS file; computed once and kept in the sidecar meta."""
        if self._sha256 is None:
            cached = self._sidecar_meta().get("file_sha256") if self._open_sidecar(build=False) else None
            self._sha256 = cached or file_sha256(self.path)
            if not cached and self._sidecar is not None:
                self._sidecar.execute("INSERT OR REPLACE INTO meta VALUES ('file_sha256', ?)",
                                      (self._sha256,))
                self._sidecar.commit()
        return self._sha256

    def describe(self) -> list[dict]:
        versions = self.version()
        return [{"name": self.set_name, "format": self.format_name, "path": str(self.path),
                 "sha256": self.sha256(), "entry_count": None,
                 "version": versions[0].get("version") if versions else None,
                 "declared_type": self.declared, "hash_types": ["md5", "sha1", "sha256"],
                 "type_guessed": False}]

    # -- lookup --------------------------------------------------------------
    def pdq_entries(self):
        return iter(())  # the RDS carries no perceptual hashes

    def lookup(self, md5: str | None = None, sha1: str | None = None,
               sha256: str | None = None) -> list[HashEntry]:
        found: set[tuple[str, str, str]] = set()
        for column, value in (("sha256", sha256), ("sha1", sha1), ("md5", md5)):
            if value is None:
                continue
            digest = normalize_hex(value, _LENGTHS[column])
            if digest is None:
                raise ValueError(f"not a {column} hex value: {value!r}")
            found.update(self._find(column, digest))
        return sorted((self._entry(*triple) for triple in found), key=HashEntry.sort_key)

    def _find(self, column: str, digest: str) -> list[tuple[str, str, str]]:
        if column not in self.indexed and self._open_sidecar(build=True):
            rows = self._sidecar.execute(
                f"SELECT sha256, sha1, md5 FROM h WHERE {column} = ?", (digest,)).fetchall()
        else:
            # NIST publishes upper-case hex; accept either case without
            # defeating the index (COLLATE NOCASE would).
            rows = self._con.execute(
                f"SELECT DISTINCT sha256, sha1, md5 FROM FILE WHERE {column} IN (?, ?)",
                (digest.upper(), digest)).fetchall()
        return [tuple(str(v).lower() for v in row) for row in rows]

    def _entry(self, sha256: str, sha1: str, md5: str) -> HashEntry:
        return HashEntry(set_name=self.set_name, md5=normalize_hex(md5, 32),
                         sha1=normalize_hex(sha1, 40), sha256=normalize_hex(sha256, 64),
                         category=NSRL_CATEGORY, scheme="nsrl", known_good=True,
                         label=self._label(sha256))

    def _label(self, sha256: str) -> str | None:
        """First file name (and package) NIST recorded, if cheaply reachable."""
        if "sha256" not in self.indexed:
            return None
        row = self._con.execute(
            "SELECT file_name, package_id FROM FILE WHERE sha256 IN (?, ?) "
            "ORDER BY file_name, package_id LIMIT 1", (sha256.upper(), sha256)).fetchone()
        if row is None:
            return None
        name, package_id = row
        if self._objects.get("PKG") == "table":
            pkg = self._con.execute("SELECT name, version FROM PKG WHERE package_id = ? "
                                    "ORDER BY name, version LIMIT 1", (package_id,)).fetchone()
            if pkg:
                return f"{name} ({pkg[0]} {pkg[1]})".strip()
        return str(name)

    # -- sidecar index --------------------------------------------------------
    def _sidecar_meta(self) -> dict:
        return dict(self._sidecar.execute("SELECT key, value FROM meta").fetchall())

    def _open_sidecar(self, build: bool) -> bool:
        if self._sidecar is not None:
            return True
        if self._sidecar_failed:
            return False
        fingerprint = json.dumps(_header_fingerprint(self.path), sort_keys=True)
        path = self.sidecar_path
        try:
            if path.exists():
                con = sqlite3.connect(path)
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("source_fingerprint") == fingerprint and \
                        meta.get("schema") == str(SIDECAR_SCHEMA):
                    self._sidecar = con
                    return True
                con.close()
            if not build:
                return False
            self._build_sidecar(path, fingerprint)
            self._sidecar = sqlite3.connect(path)
            return True
        except (OSError, sqlite3.Error) as exc:
            self._sidecar_failed = True
            self.problems.append(f"index beside the NSRL not usable ({exc}); "
                                 "MD5/SHA-1 lookups scan the RDS instead (slow)")
            return False

    def _build_sidecar(self, path: Path, fingerprint: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Build under a temporary name, then rename: a crash or a concurrent
        # builder never leaves a half-built index that looks valid.
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            con = sqlite3.connect(tmp, uri=True)
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.execute("ATTACH DATABASE ? AS rds", (readonly_uri(self.path),))
            source = "rds.DISTINCT_HASH" if "DISTINCT_HASH" in self._objects else \
                "(SELECT DISTINCT sha256, sha1, md5 FROM rds.FILE)"
            con.executescript(f"""
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
                CREATE TABLE h(sha256 TEXT, sha1 TEXT, md5 TEXT);
                INSERT INTO h SELECT lower(sha256), lower(sha1), lower(md5) FROM {source};
                CREATE INDEX h_md5 ON h(md5);
                CREATE INDEX h_sha1 ON h(sha1);
                CREATE INDEX h_sha256 ON h(sha256);
            """)
            con.execute("DETACH DATABASE rds")
            con.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema", str(SIDECAR_SCHEMA)), ("source_name", self.path.name),
                ("source_fingerprint", fingerprint),
                ("built_utc", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))])
            con.commit()
            con.close()
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
