"""Known-file matching during the scan: every file's MD5/SHA-1/SHA-256
against all loaded hash sets. Known-bad hits carry set, category and series in
the set's own words; known-good (NSRL) hits mark the file so the plugins that
cannot matter for it are skipped and review counts leave it out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .hashsets import HashEntry, HashSetIndex
from .plugin_api import Finding

MATCHER_NAME = "hashset"
MATCHER_VERSION = "1.0.0"


class HashSetLoadError(Exception):
    pass


@dataclass(frozen=True)
class HashSetMatch(Finding):
    KIND: ClassVar[str] = "hashset.match"

    set_name: str
    hash_type: str              # which of the file's hashes matched: md5 / sha1 / sha256
    known_good: bool
    category: str | None
    category_code: int | None
    scheme: str
    series: str | None
    label: str | None
    victim_identified: bool | None
    is_distributed: bool | None


def default_cache_dir() -> Path:
    """Where one-time lookup indexes for big sets (NSRL) are built: the user's
    cache, never beside the set itself or inside a case."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "traffick-triage" / "hashset-index"


def load_hashsets(paths: list[str], cache_dir: Path | None = None) -> HashSetIndex:
    index = HashSetIndex()
    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if not os.path.isfile(path):
            raise HashSetLoadError(f"hash set not found: {path}")
        try:
            index.add_path(path, cache_dir=cache)
        except (OSError, ValueError) as error:
            raise HashSetLoadError(f"cannot read hash set {path}: {error}") from error
    return index


def describe_hashsets(index: HashSetIndex) -> list[dict[str, Any]]:
    """Name, format, SHA-256 and entry count of each set (for manifest and report).
    The host path is left out: the same set read from another folder is the same set."""
    return [{k: v for k, v in row.items() if k != "path"} for row in index.describe()]


def _matched_type(entry: HashEntry, md5: str, sha1: str, sha256: str) -> str:
    for kind, value in (("sha256", sha256), ("sha1", sha1), ("md5", md5)):
        if getattr(entry, kind) == value:
            return kind
    return "unknown"


def match_file(index: HashSetIndex, md5: str, sha1: str, sha256: str) -> list[HashSetMatch]:
    matches = {}
    for entry in index.lookup(md5=md5, sha1=sha1, sha256=sha256):
        match = HashSetMatch(
            set_name=entry.set_name, hash_type=_matched_type(entry, md5, sha1, sha256),
            known_good=entry.known_good, category=entry.category, category_code=entry.category_code,
            scheme=entry.scheme, series=entry.series, label=entry.label,
            victim_identified=entry.victim_identified, is_distributed=entry.is_distributed)
        matches[repr(match)] = match       # one finding per distinct hit
    return [matches[key] for key in sorted(matches)]


def only_known_good(matches: list[HashSetMatch]) -> bool:
    return bool(matches) and all(m.known_good for m in matches)
