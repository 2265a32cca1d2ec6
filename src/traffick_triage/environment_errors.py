"""Failures of the examiner's machine, not of the tool: a full disk, a case
folder another process is writing. Each becomes one line saying what to do
(exit 2), not "internal error ... this is a bug". The case store commits in
transactions, so what was committed before the failure is kept and the same
command resumes from there."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from .case_lock import LOCK_NAME, CaseBusy
from .scratch import SCRATCH_NAME

_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _free_space(case_dir: str | os.PathLike[str] | None) -> str:
    if case_dir is None:
        return ""
    folder = Path(case_dir)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f" ({free / (1 << 20):.1f} MiB free there now)"


def _holder(case_dir: str | os.PathLike[str] | None) -> str:
    if case_dir is None:
        return "another process"
    try:
        text = (Path(case_dir) / SCRATCH_NAME / LOCK_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "another process"
    pid, _, command = text.strip()[:200].partition(" ")
    return f"process {pid} ({command})" if pid.isdigit() else "another process"


def describe(error: BaseException, case_dir: str | os.PathLike[str] | None = None) -> str | None:
    """One line for an environment failure anywhere in ``error``'s chain; None otherwise."""
    where = f"the disk holding {case_dir}" if case_dir is not None else "the disk holding the case folder"
    for cause in _causes(error):
        if isinstance(cause, CaseBusy):
            return str(cause)
        text = str(cause).lower()
        full = (isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))) \
            or any(marker in text for marker in _FULL)
        if full:
            return (f"{where} is full{_free_space(case_dir)}: free space on it, then run the same command "
                    "again; it resumes where it stopped and nothing committed so far is lost")
        if isinstance(cause, sqlite3.OperationalError) and "database is locked" in text:
            return (f"the case store in {case_dir or 'the case folder'} is locked by {_holder(case_dir)}: "
                    "wait for it to finish (or stop it), then run this command again")
    return None
