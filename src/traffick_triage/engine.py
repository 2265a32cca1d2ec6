"""The scan: walk each evidence item once, hash and sniff every file in one
read pass, dispatch the plugins that want it, and commit everything to the
case store in batches. A scan started again into the same CASE_DIR resumes:
committed files are not read again."""

from __future__ import annotations

import collections
import contextlib
import os
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import __version__
from .carved_duplicates import record_carving
from .entry_processing import EntryResult, EntryTask, Processing, process_entry
from .evidence_hashing import ItemHashes, ItemHashing
from .executors import DaskPool, LocalPool
from .finding_spool import remove_leftovers
from .perceptual_matching import PerceptualSettings
from .plugin_host import DEFAULT_PLUGIN_TIMEOUT
from .registry import LoadedPlugin
from .sources.base import FILE, EvidenceError, EvidenceSource
from .sources.detect import open_source
from .store import CaseStore

COMMIT_EVERY_FILES = 500
COMMIT_EVERY_SECONDS = 5.0
BATCH_FILES = 64                 # entries sent to a worker at once...
BATCH_BYTES = 64 << 20           # ...or this much content, whichever comes first

class ScanRefused(Exception):
    """The scan must not start (bad options, output inside evidence...)."""


@dataclass
class EvidenceSpec:
    path: str
    evidence_id: str
    plugin_options: dict[str, Any] = field(default_factory=dict)   # overrides for this item (e.g. region)


@dataclass
class ScanConfig:
    evidence: list[EvidenceSpec]
    case_dir: str
    case: dict[str, str] = field(default_factory=dict)          # case number, examiner, agency
    plugin_options: dict[str, Any] = field(default_factory=dict)  # e.g. region
    source_options: dict[str, Any] = field(default_factory=dict)  # archive limits
    plugin_timeout: float = DEFAULT_PLUGIN_TIMEOUT
    hashset_paths: list[str] = field(default_factory=list)
    workers: int = 1                 # processes hashing and running plugins (the CLI defaults to all cores)
    scheduler: str | None = None     # a Dask scheduler address: process batches on that cluster instead
    plugin_selection: dict[str, Any] = field(default_factory=lambda: {"dirs": [], "only": [], "skip": [],
                                                                       "none": False})
    perceptual: PerceptualSettings = field(default_factory=PerceptualSettings)
    # False: an image's media is not read to its end for its own hash, so an
    # E01 is not checked against its stored acquisition hashes (--no-media-hash).
    media_hash: bool = True


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


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _chain(path: str) -> list[tuple[str, tuple[int, int]]]:
    """(path, (device, inode)) of ``path``'s nearest existing folder or file and
    of every folder above it, by real path. Device and inode, not path strings:
    a bind mount or a symlink of a folder shows the same pair under another name."""
    current = os.path.abspath(path)
    while not os.path.lexists(current) and os.path.dirname(current) != current:
        current = os.path.dirname(current)
    current = os.path.realpath(current)
    chain = []
    while True:
        identity = _identity(current)
        if identity is not None:
            chain.append((current, identity))
        parent = os.path.dirname(current)
        if parent == current:
            return chain
        current = parent


def refuse_output_inside_evidence(case_dir: str, evidence_paths: list[str]) -> None:
    """Writing the case into the evidence would change the evidence: refuse an
    output that is an evidence item, lies inside one, or contains one, however
    it is reached (symlink, bind mount, ``..``)."""
    output_chain = _chain(case_dir)
    output_ids = {identity for _, identity in output_chain}
    output_exists = os.path.lexists(case_dir)
    output_id = _identity(case_dir) if output_exists else None
    for path in evidence_paths:
        evidence_id = _identity(path)
        if evidence_id is None:
            continue
        if output_id == evidence_id:
            raise ScanRefused(f"the output {case_dir} is the evidence item {path}; choose a CASE_DIR outside the evidence")
        if evidence_id in output_ids:
            raise ScanRefused(f"the output folder {case_dir} is inside the evidence folder {path} (compared by "
                              "device and inode, so also through a symlink or bind mount); "
                              "choose a CASE_DIR outside the evidence")
        if output_id is not None and output_id in {identity for _, identity in _chain(path)}:
            raise ScanRefused(f"the evidence item {path} is inside the output folder {case_dir}: writing the case "
                              "could overwrite it; choose a CASE_DIR that holds no evidence")


class Scanner:
    def __init__(self, config: ScanConfig, store: CaseStore, plugins: list[LoadedPlugin],
                 progress: ScanProgress | None = None, hashsets: Any = None) -> None:
        self.config = config
        self.store = store
        self.progress = progress or ScanProgress()
        self.outcome = ScanOutcome()
        # One file's findings beyond a few wait in the case folder, not in memory (finding_spool).
        self.processing = Processing(plugins=plugins, hashsets=hashsets,
                                     plugin_options=config.plugin_options, plugin_timeout=config.plugin_timeout,
                                     spool_dir=config.case_dir)
        self.workers = max(1, config.workers)
        self.pool: Any = None
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        self._item_options = {s.evidence_id: s.plugin_options for s in config.evidence}

    # -- evidence items -----------------------------------------------------------------

    def run(self) -> ScanOutcome:
        remove_leftovers(self.config.case_dir)      # spooled findings of a killed scan: redone on resume
        paths = {s.evidence_id: os.path.abspath(s.path) for s in self.config.evidence}
        if self.config.scheduler:
            self.pool = DaskPool(self.config.scheduler, worker_spec(self.config, paths))
        elif self.workers > 1:
            self.pool = LocalPool(self.workers, self.processing, paths, self.config.source_options)
        try:
            for ordinal, spec in enumerate(self.config.evidence, start=1):
                self._scan_evidence(ordinal, spec)
        finally:
            if self.pool is not None:
                self.pool.close()
                self.pool = None
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
            complete = self.store.evidence_complete(spec.evidence_id)
            # A finished item keeps its description: what the walk added to it (describe_after_walk) stays.
            stored = next((item["description"] for item in self.store.evidence_items()
                           if item["id"] == spec.evidence_id), None) if complete else None
            record.update(kind=source.kind, description=stored if stored else source.describe())
            self.store.upsert_evidence(record)
            self._flush_source_warnings(source, spec.evidence_id)
            if complete:
                self.outcome.resumed_files += self.store.count("files", "evidence_id = ?", (spec.evidence_id,))
                return
            self.progress.on_evidence(name, source.content_bytes_estimate())
            with self._hash_evidence_item(source, spec.evidence_id):
                self._walk(source, spec.evidence_id)
            later = source.describe_after_walk()
            if later is not None:
                self.store.update_evidence(spec.evidence_id, description=later)
                record_carving(self.store, spec.evidence_id, later)
            self.store.update_evidence(spec.evidence_id, complete=1)
        finally:
            source.close()

    def _walk(self, source: EvidenceSource, evidence_id: str) -> None:
        done = self.store.known_locators(evidence_id)
        self.outcome.resumed_files += len(done)
        seen: set[str] = set()
        seq = self.store.next_seq(evidence_id)
        # A TAR is only read forwards, so its members are hashed as the walk reaches them.
        parallel = self.pool is not None and source.kind != "tar"
        batch: list[EntryTask] = []
        batch_bytes = 0
        in_flight: collections.deque[Future] = collections.deque()
        self.store.begin()
        self._last_commit = time.monotonic()
        try:
            for entry in source.entries():
                locator = _unique_locator(source.locator(*entry.segments), seen)
                if locator in done:
                    continue
                task = EntryTask.from_entry(evidence_id, locator, seq, entry, self._item_options.get(evidence_id))
                seq += 1
                if not parallel or entry.kind != FILE or entry.opener is None or entry.walk_only_opener:
                    self._write(process_entry(task, source, self.processing, opener=entry.opener))
                else:
                    batch.append(task)
                    batch_bytes += max(entry.size, 4096)
                    if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                        in_flight.append(self.pool.submit(batch))
                        batch, batch_bytes = [], 0
                while in_flight and (in_flight[0].done() or len(in_flight) > self.pool.capacity):
                    self._write_all(in_flight.popleft().result())
                self._flush_source_warnings(source, evidence_id)
                self._maybe_commit()
            if batch:
                in_flight.append(self.pool.submit(batch))
            while in_flight:
                self._write_all(in_flight.popleft().result())
            self._flush_source_warnings(source, evidence_id)
            self.store.commit()
        except (OSError, ValueError, EOFError, RuntimeError) as error:
            # The source itself broke mid-walk (a truncated image, a corrupt
            # directory): keep everything found so far and say where it stopped.
            if batch:
                in_flight.append(self.pool.submit(batch))
            while in_flight:
                self._write_all(in_flight.popleft().result())
            self._flush_source_warnings(source, evidence_id)
            self.store.add_warning(evidence_id, source.display_name, "source",
                                   f"walk stopped early after {seq - 1} entries: {error}")
            self.store.commit()
        except BaseException:
            self.store.commit()   # keep what is complete; entries in flight are redone on resume
            raise

    def _write_all(self, results: list[EntryResult]) -> None:
        for result in results:
            self._write(result)

    def _write(self, result: EntryResult) -> None:
        """Only the scanning process writes the store: one writer, no locks."""
        row = result.row
        self.store.add_file(row)
        for plugin, version, kind, data, timeline in result.findings.drain():
            self.store.add_finding(row["evidence_id"], row["locator"], plugin, version, kind, data, timeline)
        for source_name, message in result.warnings:
            self.store.add_warning(row["evidence_id"], row["locator"], source_name, message)
        self.outcome.files += 1
        if result.bytes_read or row.get("md5"):
            self.progress.on_file(result.bytes_read)
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        self._uncommitted += 1
        if self._uncommitted >= COMMIT_EVERY_FILES or time.monotonic() - self._last_commit > COMMIT_EVERY_SECONDS:
            self.store.commit()
            self.store.begin()
            self._uncommitted, self._last_commit = 0, time.monotonic()

    def _flush_source_warnings(self, source: EvidenceSource, evidence_id: str) -> None:
        for warning in source.take_warnings():
            self.store.add_warning(evidence_id, warning.locator, "source", warning.message)

    # -- the evidence item as a whole ---------------------------------------------------------

    @contextlib.contextmanager
    def _hash_evidence_item(self, source: EvidenceSource, evidence_id: str) -> Iterator[None]:
        """The item's own hashes (media, host files), taken while the walk in
        the with-block runs (evidence_hashing) and recorded after it."""
        hashing = ItemHashing(source, host_files=source.kind != "directory", media=self.config.media_hash)
        hashing.start()
        try:
            yield
        except BaseException:
            hashing.cancel()
            raise
        taken = hashing.result()
        for message in taken.media_warnings:
            self.store.add_warning(evidence_id, source.display_name, "evidence", message)
        hashes = taken.media
        stored = source.stored_hashes()
        if taken.media_skipped and stored:
            verification = NOT_CHECKED      # the examiner's choice, recorded, not a warning
        else:
            verification = verify_stored_hashes(hashes, stored)
        if verification == "MISMATCH":
            message = ("MISMATCH: the image's bytes do not match the acquisition hashes stored in it "
                       f"(stored {stored}, computed md5 {hashes.get('md5')}, sha1 {hashes.get('sha1')})")
            self.store.add_warning(evidence_id, source.display_name, "evidence", message)
            self.outcome.mismatches.append(source.display_name)
        self.store.update_evidence(evidence_id, hashes=hashes, stored_hashes=stored,
                                   verification=verification, host_files=self._host_file_hashes(source, taken))

    def _host_file_hashes(self, source: EvidenceSource, taken: ItemHashes) -> list[dict[str, Any]]:
        """size/md5/sha256 of each evidence file on the host, for evidence.hashdeep.
        A folder's are its inventory's files: the store gives them from there
        (CaseStore.host_files), so none are stored here."""
        if source.kind == "directory":
            return []
        for path, message in taken.host_warnings:
            self.store.add_warning(None, path, "evidence", message)
        return taken.host_files


def worker_spec(config: ScanConfig, paths: dict[str, str]) -> dict[str, Any]:
    """Everything a remote worker needs to process entries exactly as this
    process would: plain data, rebuilt on the worker."""
    from .hashsets.declared import absolute_spec     # a set's declared type (pdq:FILE) travels with it

    selection = config.plugin_selection
    return {"paths": paths, "source_options": config.source_options,
            "plugin_dirs": [os.path.abspath(d) for d in selection.get("dirs", [])],
            "only": list(selection.get("only") or []), "skip": list(selection.get("skip") or []),
            "no_plugins": bool(selection.get("none")), "plugin_options": config.plugin_options,
            "plugin_timeout": config.plugin_timeout,
            "hashset_paths": [absolute_spec(p) for p in config.hashset_paths]}


NOT_CHECKED = "not checked"     # --no-media-hash: the media was not read to its end


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


def tool_identity() -> dict[str, str]:
    return {"name": "traffick-triage", "version": __version__}


def iter_evidence_specs(paths: list[str], ids: list[str] | None) -> Iterator[EvidenceSpec]:
    if ids and len(ids) != len(paths):
        raise ScanRefused(f"{len(ids)} --evidence-id values for {len(paths)} evidence items")
    for index, path in enumerate(paths):
        yield EvidenceSpec(path=path, evidence_id=ids[index] if ids else f"E{index + 1}")
