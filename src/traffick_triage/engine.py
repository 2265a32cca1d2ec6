"""The scan: walk each evidence item once, hash and sniff every file in one
read pass, dispatch the plugins that want it, and commit everything to the
case store in batches. A scan started again into the same CASE_DIR resumes:
committed files are not read again."""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import __version__
from . import locator as loc
from .filetype import extension_mismatch, sniff_mime
from .hashing import hash_stream
from .plugin_host import DEFAULT_PLUGIN_TIMEOUT, EvidenceFileView, run_plugin
from .registry import LoadedPlugin
from .sources.base import FILE, Entry, EvidenceError, EvidenceSource
from .sources.detect import open_source
from .store import CaseStore

KEEP_CONTENT_LIMIT = 16 << 20    # files up to this size are read once for hashes and plugins
COMMIT_EVERY_FILES = 500
COMMIT_EVERY_SECONDS = 5.0


class ScanRefused(Exception):
    """The scan must not start (bad options, output inside evidence...)."""


@dataclass
class EvidenceSpec:
    path: str
    evidence_id: str


@dataclass
class ScanConfig:
    evidence: list[EvidenceSpec]
    case_dir: str
    case: dict[str, str] = field(default_factory=dict)          # case number, examiner, agency
    plugin_options: dict[str, Any] = field(default_factory=dict)  # e.g. region
    source_options: dict[str, Any] = field(default_factory=dict)  # archive limits
    plugin_timeout: float = DEFAULT_PLUGIN_TIMEOUT
    hashset_paths: list[str] = field(default_factory=list)


@dataclass
class ScanProgress:
    """Callbacks for a progress display; all optional."""

    on_evidence: Callable[[str, int | None], None] = lambda name, total: None
    on_file: Callable[[int], None] = lambda size: None


@dataclass
class ScanOutcome:
    files: int = 0
    resumed_files: int = 0
    warnings: int = 0
    mismatches: list[str] = field(default_factory=list)


def refuse_output_inside_evidence(case_dir: str, evidence_paths: list[str]) -> None:
    """Writing the case into the evidence would change the evidence."""
    out = os.path.realpath(case_dir)
    for path in evidence_paths:
        real = os.path.realpath(path)
        if os.path.isdir(real) and (out == real or out.startswith(real.rstrip(os.sep) + os.sep)):
            raise ScanRefused(f"the output folder {case_dir} is inside the evidence folder {path}; "
                              "choose a CASE_DIR outside the evidence")
        if os.path.isfile(real) and out == real:
            raise ScanRefused(f"the output folder {case_dir} is the evidence file {path}")


class Scanner:
    def __init__(self, config: ScanConfig, store: CaseStore, plugins: list[LoadedPlugin],
                 progress: ScanProgress | None = None, hashsets: Any = None) -> None:
        self.config = config
        self.store = store
        self.plugins = plugins
        self.hashsets = hashsets
        self.progress = progress or ScanProgress()
        self.outcome = ScanOutcome()

    # -- evidence items -----------------------------------------------------------------

    def run(self) -> ScanOutcome:
        for ordinal, spec in enumerate(self.config.evidence, start=1):
            self._scan_evidence(ordinal, spec)
        self.outcome.warnings = self.store.count("warnings")
        return self.outcome

    def _scan_evidence(self, ordinal: int, spec: EvidenceSpec) -> None:
        name = os.path.basename(os.path.normpath(spec.path))
        record = {"id": spec.evidence_id, "ordinal": ordinal, "path": os.path.abspath(spec.path),
                  "name": name, "kind": "unreadable", "description": {}}
        try:
            source = open_source(spec.path, self.config.source_options, display_name=name)
        except (EvidenceError, OSError) as error:
            self.store.upsert_evidence(record)
            message = getattr(error, "strerror", None) or str(error)
            self.store.add_warning(spec.evidence_id, name, "evidence", f"cannot open evidence: {message}")
            return
        try:
            record.update(kind=source.kind, description=source.describe())
            self.store.upsert_evidence(record)
            self._flush_source_warnings(source, spec.evidence_id)
            if self.store.evidence_complete(spec.evidence_id):
                self.outcome.resumed_files += self.store.count(
                    "files", f"evidence_id = '{spec.evidence_id}'")
                return
            self.progress.on_evidence(name, None)
            self._walk(source, spec.evidence_id)
            self._hash_evidence_item(source, spec.evidence_id)
            self.store.update_evidence(spec.evidence_id, complete=1)
        finally:
            source.close()

    def _walk(self, source: EvidenceSource, evidence_id: str) -> None:
        done = self.store.known_locators(evidence_id)
        self.outcome.resumed_files += len(done)
        seen: set[str] = set()
        seq = self.store.next_seq(evidence_id)
        batch_started, batch_files = time.monotonic(), 0
        self.store.begin()
        try:
            for entry in source.entries():
                locator = _unique_locator(source.locator(*entry.segments), seen)
                if locator in done:
                    continue
                self._record_entry(source, evidence_id, entry, locator, seq)
                seq += 1
                batch_files += 1
                if batch_files >= COMMIT_EVERY_FILES or time.monotonic() - batch_started > COMMIT_EVERY_SECONDS:
                    self._flush_source_warnings(source, evidence_id)
                    self.store.commit()
                    self.store.begin()
                    batch_started, batch_files = time.monotonic(), 0
            self._flush_source_warnings(source, evidence_id)
            self.store.commit()
        except (OSError, ValueError, EOFError, RuntimeError) as error:
            # The source itself broke mid-walk (a truncated image, a corrupt
            # directory): keep everything found so far and say where it stopped.
            self._flush_source_warnings(source, evidence_id)
            self.store.add_warning(evidence_id, source.display_name, "source",
                                   f"walk stopped early after {seq - 1} entries: {error}")
            self.store.commit()
        except BaseException:
            self.store.commit()   # keep what is complete; the open file row was never written
            raise

    def _flush_source_warnings(self, source: EvidenceSource, evidence_id: str) -> None:
        for warning in source.take_warnings():
            self.store.add_warning(evidence_id, warning.locator, "source", warning.message)

    # -- one entry --------------------------------------------------------------------------

    def _record_entry(self, source: EvidenceSource, evidence_id: str, entry: Entry,
                      locator: str, seq: int) -> None:
        row: dict[str, Any] = {
            "evidence_id": evidence_id, "seq": seq, "locator": locator, "path": loc.escape_segment(entry.path),
            "name": loc.escape_segment(entry.name), "kind": entry.kind, "size": entry.size,
            "allocated": entry.allocated, "inode": entry.inode, "times": entry.times,
            "address": entry.address, "link_target": entry.link_target, "notes": list(entry.notes),
            "suspicious_name": loc.is_suspicious_name(entry.name),
        }
        if row["suspicious_name"]:
            self.store.add_warning(evidence_id, locator, "inventory",
                                   "file name holds control, bidirectional or undecodable characters "
                                   "(shown escaped): possible disguised name")
        content = None
        if entry.kind == FILE and entry.opener is not None:
            try:
                with entry.opener() as stream:
                    result = hash_stream(stream, keep_limit=KEEP_CONTENT_LIMIT)
            except (OSError, ValueError, EOFError, RuntimeError) as error:
                reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
                self.store.add_warning(evidence_id, locator, "inventory", f"content not readable: {reason}")
                row["notes"].append(f"content not readable: {reason}")
            else:
                if result.size != entry.size:
                    row["notes"].append(f"read {result.size} bytes where the metadata says {entry.size}")
                    # NTFS metadata files ($BadClus:$Bad) are sparse by design: a note, not a warning.
                    if entry.allocated and not entry.path.startswith("/$"):
                        self.store.add_warning(evidence_id, locator, "inventory",
                                               f"read {result.size} bytes where the metadata says {entry.size}")
                    row["size"] = result.size
                mime = sniff_mime(result.head)
                row.update(md5=result.md5, sha1=result.sha1, sha256=result.sha256, mime=mime,
                           extension_mismatch=extension_mismatch(entry.name, mime))
                content = result.content
                self.progress.on_file(result.size)
        self.store.add_file(row)
        self.outcome.files += 1
        if not row.get("mime"):
            return
        if self.hashsets is not None and self._match_hashsets(evidence_id, row):
            return      # known-good (NSRL): no plugin can add anything an examiner needs
        self._run_plugins(source, evidence_id, entry, row, content)

    def _match_hashsets(self, evidence_id: str, row: dict[str, Any]) -> bool:
        """Record hash-set hits; True when the file is known-good only."""
        from .matching import MATCHER_NAME, MATCHER_VERSION, match_file, only_known_good

        matches = match_file(self.hashsets, row["md5"], row["sha1"], row["sha256"])
        for match in matches:
            self.store.add_finding(evidence_id, row["locator"], MATCHER_NAME, MATCHER_VERSION,
                                   match.KIND, match.to_dict(), [])
        return only_known_good(matches)

    def _run_plugins(self, source: EvidenceSource, evidence_id: str, entry: Entry,
                     row: dict[str, Any], content: bytes | None) -> None:
        wanted = [p for p in self.plugins
                  if p.plugin.SELECTOR.matches(entry.path, row["mime"], row["size"])]
        if not wanted:
            return
        opener = (lambda: io.BytesIO(content)) if content is not None else entry.opener
        view = EvidenceFileView(
            locator=row["locator"], path=entry.path, size=row["size"], mime=row["mime"],
            md5=row["md5"], sha1=row["sha1"], sha256=row["sha256"], opener=opener,
            allocated=entry.allocated,
            sibling_lookup=lambda name: _sibling_view(source, entry, name))
        for loaded in wanted:
            outcome = run_plugin(loaded.plugin, view, self.config.plugin_options, self.config.plugin_timeout)
            for finding in outcome.findings:
                events = [_event_dict(e) for e in finding.timeline_events()]
                self.store.add_finding(evidence_id, row["locator"], loaded.name, loaded.version,
                                       finding.KIND, finding.to_dict(), events)
            for message in outcome.warnings:
                self.store.add_warning(evidence_id, row["locator"], f"plugin:{loaded.name}", message)

    # -- the evidence item as a whole ---------------------------------------------------------

    def _hash_evidence_item(self, source: EvidenceSource, evidence_id: str) -> None:
        hashes: dict[str, Any] = {}
        for label, opener in source.evidence_streams():
            try:
                with opener() as stream:
                    result = hash_stream(stream)
            except (OSError, ValueError, RuntimeError) as error:
                self.store.add_warning(evidence_id, source.display_name, "evidence",
                                       f"{label} bytes not readable to the end: {error}")
                continue
            hashes = {"size": result.size, "md5": result.md5, "sha1": result.sha1, "sha256": result.sha256}
        stored = source.stored_hashes()
        verification = verify_stored_hashes(hashes, stored)
        if verification == "MISMATCH":
            message = ("MISMATCH: the image's bytes do not match the acquisition hashes stored in it "
                       f"(stored {stored}, computed md5 {hashes.get('md5')}, sha1 {hashes.get('sha1')})")
            self.store.add_warning(evidence_id, source.display_name, "evidence", message)
            self.outcome.mismatches.append(source.display_name)
        self.store.update_evidence(evidence_id, hashes=hashes, stored_hashes=stored,
                                   verification=verification, host_files=self._host_file_hashes(source))

    def _host_file_hashes(self, source: EvidenceSource) -> list[dict[str, Any]]:
        """size/md5/sha256 of each evidence file on the host, for evidence.hashdeep.
        A folder's files were hashed by the inventory already: reuse those."""
        out = []
        if source.kind == "directory":
            root = os.path.abspath(source.path)
            rows = self.store.db.execute(
                "SELECT address, size, md5, sha256 FROM files WHERE evidence_id = ? AND kind = 'file' "
                "AND md5 IS NOT NULL", (self._evidence_id_of(source),)).fetchall()
            import json

            for row in rows:
                relpath = json.loads(row["address"])["relpath"]
                out.append({"path": os.path.join(root, relpath), "size": row["size"],
                            "md5": row["md5"], "sha256": row["sha256"]})
            return sorted(out, key=lambda r: r["path"])
        for path in source.host_files():
            try:
                with open(path, "rb") as stream:
                    result = hash_stream(stream)
            except OSError as error:
                self.store.add_warning(None, path, "evidence", f"cannot hash evidence file: {error.strerror}")
                continue
            out.append({"path": os.path.abspath(path), "size": result.size, "md5": result.md5,
                        "sha256": result.sha256})
        return out

    def _evidence_id_of(self, source: EvidenceSource) -> str:
        for spec in self.config.evidence:
            if os.path.abspath(spec.path) == os.path.abspath(source.path):
                return spec.evidence_id
        raise KeyError(source.path)


def verify_stored_hashes(computed: dict[str, Any], stored: dict[str, str]) -> str | None:
    """"verified", "MISMATCH", or None when the evidence stores no hash."""
    common = [key for key in ("md5", "sha1", "sha256") if key in stored and key in computed]
    if not common:
        return None
    return "verified" if all(stored[k] == computed[k] for k in common) else "MISMATCH"


def _unique_locator(locator: str, seen: set[str]) -> str:
    """Two entries may print alike (a ZIP may hold a name twice); the second
    gets a stable counter so every locator names exactly one entry."""
    candidate, number = locator, 1
    while candidate in seen:
        number += 1
        candidate = f"{locator} (#{number})"
    seen.add(candidate)
    return candidate


def _sibling_view(source: EvidenceSource, entry: Entry, name: str) -> EvidenceFileView | None:
    sibling = source.find_sibling(entry, name)
    if sibling is None or sibling.opener is None:
        return None
    return EvidenceFileView(locator=source.locator(*sibling.segments), path=sibling.path, size=sibling.size,
                            mime="", md5="", sha1="", sha256="", opener=sibling.opener,
                            allocated=sibling.allocated)


def _event_dict(event: Any) -> dict[str, Any]:
    return {"datetime": event.datetime, "timestamp_desc": event.timestamp_desc, "message": event.message,
            "local_time": event.local_time, "timezone": event.timezone, "extra": dict(event.extra)}


def tool_identity() -> dict[str, str]:
    return {"name": "traffick-triage", "version": __version__}


def iter_evidence_specs(paths: list[str], ids: list[str] | None) -> Iterator[EvidenceSpec]:
    if ids and len(ids) != len(paths):
        raise ScanRefused(f"{len(ids)} --evidence-id values for {len(paths)} evidence items")
    for index, path in enumerate(paths):
        yield EvidenceSpec(path=path, evidence_id=ids[index] if ids else f"E{index + 1}")
