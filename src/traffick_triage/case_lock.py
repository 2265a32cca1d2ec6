"""One process at a time writes a case folder. A second `triage scan` (or
`triage report`) into a folder another process is writing would otherwise
meet SQLite's "database is locked" halfway through, or worse, interleave its
outputs with the other's.

The lock is an advisory flock on CASE_DIR/.scratch/scan.lock, which holds the
holder's PID and command: the kernel drops the lock when its holder dies, even
by SIGKILL, so a stale file never keeps a folder locked."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator

from .scratch import SCRATCH_NAME

LOCK_NAME = "scan.lock"


class CaseBusy(Exception):
    """Another process holds the case folder (one clear line for the user)."""


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"process {pid}" + (f" ({command})" if command else "")


@contextlib.contextmanager
def hold_case(case_dir: str | os.PathLike[str], command: str) -> Iterator[None]:
    """Hold the case folder for this process; CaseBusy if another holds it."""
    import fcntl

    area = Path(case_dir) / SCRATCH_NAME
    area.mkdir(parents=True, exist_ok=True)
    lock = area / LOCK_NAME
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                raise
            raise CaseBusy(f"the case folder {case_dir} is in use by {_holder(lock)}: wait for it to finish "
                           "(or stop it), then run this command again") from None
        # The holder before us may have removed the file between our open and
        # our lock: then we hold a lock nobody else can see; take the new file.
        with contextlib.suppress(OSError):
            if os.stat(lock).st_ino == os.fstat(descriptor).st_ino:
                break
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()} triage {command}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
            with contextlib.suppress(OSError):
                lock.unlink()
    finally:
        os.close(descriptor)
