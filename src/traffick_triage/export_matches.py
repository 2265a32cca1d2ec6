"""Copy the files that matched a known-bad hash set (exact hash or PDQ/pHash)
out of the evidence into one clearly named folder inside the case, for the
examiner who must hand them on (a victim-identification unit, a prosecutor).

Nothing is ever copied anywhere else, and nothing is copied unless asked:
a scan by itself never writes evidence bytes into the case folder. Each copy
is verified against the inventory's SHA-256 before it is kept; a copy that
does not match is deleted and reported. ``hashes.txt`` lists, per copy, its
SHA-256, MD5, file name in the folder and the locator it came from.

Copies are named ``NNNN-<sanitised name>``: a hostile name from evidence
(``../``, control or bidi characters) can neither leave the folder nor
disguise itself; the exact name stays in the locator. Every write is atomic
(temporary ``*.partial`` then rename), so an interrupted export never leaves
half a file under a final name.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from .atomic import write_text
from .resolve import ResolveError, resolve_locator

DEFAULT_DIR_NAME = "EXPORTED-MATCHES-handle-with-care"
HASHES_NAME = "hashes.txt"
_CHUNK = 1 << 20


class ExportError(Exception):
    """Some matched files could not be exported (the rest were)."""

    def __init__(self, problems: list[str], folder: Path) -> None:
        super().__init__(f"{len(problems)} matched file(s) not exported: " + "; ".join(problems))
        self.problems = problems
        self.folder = folder


def matched_locators(store: Any) -> list[str]:
    """Locators with a known-bad hash-set match or a perceptual match, sorted."""
    found = set()
    for finding in store.findings():
        if finding["kind"] in ("hashset.match", "perceptual.match") and not finding["data"].get("known_good"):
            found.add(finding["locator"])
    return sorted(found)


def _safe_name(locator: str) -> str:
    tail = locator.rsplit(" > ", 1)[-1].rsplit("/", 1)[-1]
    cleaned = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "_" for ch in tail)
    return cleaned.lstrip(".")[:80] or "file"


def export_matches(store: Any, case_dir: str | Path, out_dir_name: str = DEFAULT_DIR_NAME) -> Path:
    """Copy every matched file into ``case_dir/out_dir_name``; returns the folder.

    Raises :class:`ExportError` after copying all it could when a file could
    not be read or its copy does not match the inventory SHA-256."""
    case_dir = Path(case_dir)
    if not out_dir_name or "/" in out_dir_name or out_dir_name in (".", ".."):
        raise ValueError(f"not a folder name: {out_dir_name!r}")
    folder = case_dir / out_dir_name
    folder.mkdir(exist_ok=True)
    lines = ["# Files that matched known-bad hash sets, copied from the evidence and verified.",
             "# HANDLE WITH CARE. Columns: sha256  md5  file  locator", ""]
    problems: list[str] = []
    kept: set[str] = {HASHES_NAME}
    for number, locator in enumerate(matched_locators(store), start=1):
        name = f"{number:04d}-{_safe_name(locator)}"
        row = store.file_by_locator(locator)
        expected = row["sha256"] if row else None
        try:
            sha256, md5 = _copy_verified(case_dir, locator, folder / name, expected)
        except (ResolveError, OSError, ValueError) as error:
            problems.append(f"{locator}: {error}")
            continue
        kept.add(name)
        lines.append(f"{sha256}  {md5}  {name}  {locator}")
    for stale in folder.iterdir():          # an earlier export of the same case
        if stale.name not in kept and stale.is_file():
            stale.unlink()
    write_text(folder / HASHES_NAME, "\n".join(lines) + "\n")
    if problems:
        raise ExportError(problems, folder)
    return folder


def _copy_verified(case_dir: Path, locator: str, target: Path, expected_sha256: str | None) -> tuple[str, str]:
    if not expected_sha256:
        raise ValueError("the inventory holds no SHA-256 for it")
    temporary = target.with_name(f".{target.name}.partial")
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    stream, _ = resolve_locator(case_dir, locator)
    try:
        with stream, open(temporary, "wb") as sink:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                sha256.update(chunk)
                md5.update(chunk)
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        if sha256.hexdigest() != expected_sha256:
            raise ValueError(f"copy SHA-256 {sha256.hexdigest()} differs from the inventory {expected_sha256}")
        os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return sha256.hexdigest(), md5.hexdigest()


__all__ = ["export_matches", "matched_locators", "ExportError", "DEFAULT_DIR_NAME", "HASHES_NAME"]
