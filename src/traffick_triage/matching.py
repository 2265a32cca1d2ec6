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
from .hashsets.declared import DECLARED_TYPES, format_for, parse_hashset_spec
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
    """Every set of ``paths`` (each ``PATH`` or ``TYPE:PATH``, see
    hashsets/declared.py). A set that cannot be read, or a declared set that
    holds no entry of its type, is a HashSetLoadError: the scan must not start."""
    index = HashSetIndex()
    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for text in paths:
        spec = parse_hashset_spec(text)
        path = spec.path
        if not os.path.isfile(path):
            head = path.partition(":")[0]
            hint = (f" ({head!r} is not a hash-set type; known: {', '.join(DECLARED_TYPES)})"
                    if spec.declared is None and ":" in path and head.isalnum() else "")
            raise HashSetLoadError(f"hash set not found: {path}{hint}")
        try:
            fmt = format_for(spec)
            # A set is named by its file; two files of one name get distinct names, so
            # each set's matches (and its files_matched) stay its own. A store's sets keep
            # the names they were imported with.
            name = None if fmt == "triage-store" else _unique_name(os.path.basename(path), used)
            backend = index.add_path(path, fmt, cache_dir=cache, declared=spec.declared, set_name=name)
        except (OSError, ValueError) as error:    # DeclaredTypeError is a ValueError
            raise HashSetLoadError(f"cannot read hash set {path}: {error}") from error
        used.update(row["name"] for row in backend.describe())
        if spec.declared is not None:
            _check_declared(spec.declared, path, backend)
    return index


def _unique_name(name: str, used: set[str]) -> str:
    candidate, number = name, 1
    while candidate in used:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def _check_declared(declared: str, path: str, backend: Any) -> None:
    """A declared set must hold entries of its type, and more of them than
    lines refused: else it is most likely not that type, and matching it would
    silently find nothing."""
    entries = getattr(backend, "entry_count", None)
    refused = getattr(backend, "problem_count", 0)
    if entries is None:             # a database: its format was checked when it was opened
        return
    if entries == 0 or refused > entries:
        first = f" (first: {backend.problems[0]})" if getattr(backend, "problems", None) else ""
        raise HashSetLoadError(f"hash set {path} is declared {declared} but {entries} entries were read "
                               f"and {refused} lines refused{first}")


def hashset_warnings(described: list[dict[str, Any]]) -> list[str]:
    """One line per set whose 64-hex values were typed by guess, and per set
    with lines that were not read: both are counted in the case's warnings."""
    lines = []
    for row in described:
        if row.get("type_guessed"):
            read_as = "PDQ" if "pdq" in row.get("hash_types", []) else "SHA-256"
            lines.append(f"hash set {row.get('name')}: 64-hex values read as {read_as} by guess "
                         f"(format {row.get('format')}); declare the type, e.g. --hashset pdq:FILE "
                         "or --hashset sha256:FILE")
        if row.get("problem_count"):
            lines.append(f"hash set {row.get('name')}: {row['problem_count']} lines not read")
    return lines


def how_read(row: dict[str, Any]) -> str:
    """One line: how a set was read (for the terminal)."""
    types = ", ".join(row.get("hash_types") or []) or "none"
    entries = row.get("entry_count")
    if row.get("declared_type"):
        source = f"declared {row['declared_type']}"
    elif row.get("type_guessed"):
        source = "type GUESSED from 64-hex values"
    else:
        source = "format detected"
    return (f"hash set {row.get('name')}: format {row.get('format')}, hash type {types}, "
            f"{'?' if entries is None else entries} entries ({source})")


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
