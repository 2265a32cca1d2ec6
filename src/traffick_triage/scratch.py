"""The case folder's scratch area, CASE_DIR/.scratch: where temporary copies
of evidence go (a plugin's copy of a database for SQLite, the copy of an
iTunes Manifest.db), never the system temporary folder, which other users
and programs read and which a killed scan would leave copies of evidence in.

``use_case_scratch`` is called by a scan once it holds the case folder's lock
(scan_lock): it removes what a killed scan left there and makes the area the
place ``temporary_folder`` creates folders in, for this process and the
worker processes it forks later. ``release_case_scratch`` removes the area
when the scan ends. Outside a scan (``triage info``, a plugin run by hand)
the system temporary folder is used, and each folder is still removed after use."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

SCRATCH_NAME = ".scratch"
_area: str | None = None


def scratch_path(case_dir: str | os.PathLike[str]) -> Path:
    return Path(case_dir) / SCRATCH_NAME


def use_case_scratch(case_dir: str | os.PathLike[str]) -> Path:
    """Empty the case's scratch area (leftovers of a killed scan) and use it."""
    global _area
    area = scratch_path(case_dir)
    area.mkdir(exist_ok=True)
    remove_leftovers(area)
    _area = str(area)
    return area


def release_case_scratch(case_dir: str | os.PathLike[str]) -> None:
    """Remove the scratch area's contents (the lock file excepted: its holder
    removes it) and stop using it."""
    global _area
    area = scratch_path(case_dir)
    if _area == str(area):
        _area = None
    remove_leftovers(area)


def remove_leftovers(area: Path, keep: tuple[str, ...] = ("scan.lock",)) -> None:
    if not area.is_dir():
        return
    for child in area.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, onerror=_force_remove)
        else:
            with contextlib.suppress(OSError):
                child.unlink()


def temporary_folder(prefix: str) -> str:
    """A new private folder in the scratch area (or the system temporary
    folder outside a scan); the caller removes it."""
    return tempfile.mkdtemp(prefix=prefix, dir=_area)


def _force_remove(function, path, exc_info) -> None:  # noqa: ANN001 - shutil's onerror signature
    """Read-only copies in a folder whose mode was changed: make writable, retry."""
    with contextlib.suppress(OSError):
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        function(path)
