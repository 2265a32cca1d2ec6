"""What happens to one entry: one read pass for MD5+SHA-1+SHA-256, the
content sniff and (for small files) the bytes the plugins get; hash-set
matching; the plugins that want it. A pure function of the entry, so it runs
the same in the scanning process or in a worker process; the result is plain
data that only the scanning process writes to the case store."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Callable, IO

from . import locator as loc
from .expansion.api import ROUTE_DELETED, ROUTE_LIVE
from .filetype import extension_mismatch, sniff_mime
from .finding_spool import FindingSpool
from .hashing import hash_stream
from .plugin_host import EvidenceFileView, run_plugin
from .sources.base import FILE, Entry, EvidenceSource

KEEP_CONTENT_LIMIT = 16 << 20    # files up to this size are read once for hashes and plugins


@dataclass
class EntryTask:
    """An entry as it travels to a worker: plain, picklable data."""

    evidence_id: str
    locator: str
    seq: int
    segments: tuple[str, ...]
    path: str
    kind: str
    size: int
    allocated: bool
    inode: str | None
    times: dict[str, Any]
    address: dict[str, Any]
    link_target: str | None
    notes: list[str]
    readable: bool                 # the source gave an opener
    plugin_options: dict[str, Any] = field(default_factory=dict)   # this evidence item's own options
    route: str = ""

    @classmethod
    def from_entry(cls, evidence_id: str, locator: str, seq: int, entry: Entry,
                   plugin_options: dict[str, Any] | None = None) -> "EntryTask":
        return cls(evidence_id, locator, seq, tuple(entry.segments), entry.path, entry.kind, entry.size,
                   entry.allocated, entry.inode, dict(entry.times), dict(entry.address), entry.link_target,
                   list(entry.notes), entry.opener is not None, dict(plugin_options or {}), entry.route)

    def as_entry(self) -> Entry:
        return Entry(segments=self.segments, path=self.path, kind=self.kind, size=self.size,
                     allocated=self.allocated, inode=self.inode, times=self.times, address=self.address,
                     link_target=self.link_target, notes=list(self.notes), route=self.route)


@dataclass
class EntryResult:
    row: dict[str, Any]
    # (plugin, version, kind, data, timeline) of each finding, spooled: one file's
    # findings need not all be in memory (finding_spool).
    findings: FindingSpool = field(default_factory=FindingSpool)
    warnings: list[tuple[str, str]] = field(default_factory=list)      # (source, message)
    bytes_read: int = 0


@dataclass
class Processing:
    """What every entry is processed with (the same in every worker)."""

    plugins: list[Any]
    hashsets: Any
    plugin_options: dict[str, Any]
    plugin_timeout: float
    spool_dir: str | None = None     # where one file's many findings wait for the store (finding_spool)


def process_entry(task: EntryTask, source: EvidenceSource, processing: Processing,
                  opener: Callable[[], IO[bytes]] | None = None) -> EntryResult:
    entry = task.as_entry()
    name = entry.name
    row: dict[str, Any] = {
        "evidence_id": task.evidence_id, "seq": task.seq, "locator": task.locator,
        "path": loc.escape_segment(task.path), "name": loc.escape_segment(name), "kind": task.kind,
        "size": task.size, "allocated": task.allocated, "inode": task.inode, "times": task.times,
        "address": task.address, "link_target": None if task.link_target is None else loc.escape_segment(task.link_target), "notes": list(task.notes),
        "suspicious_name": loc.is_suspicious_name(name),
        "route": task.route or (ROUTE_LIVE if task.allocated else ROUTE_DELETED),
    }
    result = EntryResult(row=row, findings=FindingSpool(processing.spool_dir))
    if row["suspicious_name"]:
        result.warnings.append(("inventory", "file name holds control, bidirectional or undecodable characters "
                                             "(shown escaped): possible disguised name"))
    if task.kind != FILE or not task.readable:
        return result
    if opener is None:
        opener = lambda: source.open_address(task.address)  # noqa: E731
    try:
        with opener() as stream:
            # Keeping the bytes costs a copy of every small file: only when a plugin may want them.
            hashed = hash_stream(stream, keep_limit=KEEP_CONTENT_LIMIT if processing.plugins else 0)
    except (OSError, ValueError, EOFError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        result.warnings.append(("inventory", f"content not readable: {reason}"))
        row["notes"].append(f"content not readable: {reason}")
        return result
    result.bytes_read = hashed.size
    if hashed.size != task.size:
        row["notes"].append(f"read {hashed.size} bytes where the metadata says {task.size}")
        # NTFS metadata files ($BadClus:$Bad) are sparse by design: a note, not a warning.
        if task.allocated and not task.path.startswith("/$"):
            result.warnings.append(("inventory", f"read {hashed.size} bytes where the metadata says {task.size}"))
        row["size"] = hashed.size
    mime = sniff_mime(hashed.head)
    row.update(md5=hashed.md5, sha1=hashed.sha1, sha256=hashed.sha256, mime=mime,
               extension_mismatch=extension_mismatch(name, mime))
    if processing.hashsets is not None and _match_hashsets(processing.hashsets, row, result):
        return result       # known-good (NSRL): no plugin can add anything an examiner needs
    _run_plugins(source, entry, row, hashed.content, opener, processing, result,
                 {**processing.plugin_options, **task.plugin_options})
    return result


def _match_hashsets(index: Any, row: dict[str, Any], result: EntryResult) -> bool:
    from .matching import MATCHER_NAME, MATCHER_VERSION, match_file, only_known_good

    matches = match_file(index, row["md5"], row["sha1"], row["sha256"])
    for match in matches:
        result.findings.append((MATCHER_NAME, MATCHER_VERSION, match.KIND, match.to_dict(), []))
    return only_known_good(matches)


def _run_plugins(source: EvidenceSource, entry: Entry, row: dict[str, Any], content: bytes | None,
                 opener: Callable[[], IO[bytes]], processing: Processing, result: EntryResult,
                 options: dict[str, Any]) -> None:
    wanted = [p for p in processing.plugins if p.plugin.SELECTOR.matches(entry.path, row["mime"], row["size"])]
    if not wanted:
        return
    view = EvidenceFileView(
        locator=row["locator"], path=entry.path, size=row["size"], mime=row["mime"],
        md5=row["md5"], sha1=row["sha1"], sha256=row["sha256"],
        opener=(lambda: io.BytesIO(content)) if content is not None else opener,
        allocated=entry.allocated, sibling_lookup=lambda name: _sibling_view(source, entry, name, result.warnings))
    for loaded in wanted:
        spooled = _Spooler(result.findings, loaded.name, loaded.version)
        outcome = run_plugin(loaded.plugin, view, options, processing.plugin_timeout, on_finding=spooled)
        spooled.raise_if_failed()
        for message in outcome.warnings:
            result.warnings.append((f"plugin:{loaded.name}", message))


class _Spooler:
    """Turns each finding a plugin yields into the stored tuple and appends it
    to the entry's spool, as it comes. A spool that cannot be written (a full
    disk) must fail the scan, not pass for the plugin's own error (run_plugin
    turns those into a warning and goes on): the error is kept and raised
    again once the plugin has returned."""

    def __init__(self, spool: Any, name: str, version: str) -> None:
        self.spool, self.name, self.version = spool, name, version
        self.error: OSError | None = None

    def __call__(self, finding: Any) -> None:
        events = [_event_dict(e) for e in finding.timeline_events()]
        try:
            self.spool.append((self.name, self.version, finding.KIND, finding.to_dict(), events))
        except OSError as error:
            self.error = error
            raise

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


def _sibling_view(source: EvidenceSource, entry: Entry, name: str,
                  warnings: list[tuple[str, str]]) -> EvidenceFileView | None:
    # A companion (-wal, -shm, -journal) that cannot be looked up costs the
    # rows it holds, never the plugin: the sources return None for what they
    # expect; anything else they raise is named here and the plugin goes on.
    try:
        sibling = source.find_sibling(entry, name)
    except Exception as error:   # noqa: BLE001 - evidence is hostile; one warning, the plugin goes on
        warnings.append(("inventory", f"companion file {loc.escape_segment(name)} not looked up: "
                                      f"{type(error).__name__}: {error}"))
        return None
    if sibling is None or sibling.opener is None:
        return None
    return EvidenceFileView(locator=source.locator(*sibling.segments), path=sibling.path, size=sibling.size,
                            mime="", md5="", sha1="", sha256="", opener=sibling.opener,
                            allocated=sibling.allocated)


def _event_dict(event: Any) -> dict[str, Any]:
    return {"datetime": event.datetime, "timestamp_desc": event.timestamp_desc, "message": event.message,
            "local_time": event.local_time, "timezone": event.timezone, "extra": dict(event.extra)}
