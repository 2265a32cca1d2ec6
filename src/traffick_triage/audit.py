"""CASE_DIR/audit.jsonl: an append-only, hash-chained log of the commands run
on a case.

Each command appends one line of canonical JSON (sorted keys, UTF-8)::

    {"argv": [...], "command": "scan", "host": "...", "prev_sha256": "<64 hex>",
     "seq": 3, "time_utc": "2024-05-01T12:00:00.123456+00:00",
     "tool": "traffick-triage", "tool_version": "0.1.0", "user": "..."}

``prev_sha256`` is the SHA-256 of the previous line's bytes exactly as stored
(without its newline); the first line has 64 zeros. ``seq`` counts from 1.
Editing, removing, inserting or reordering any line breaks the chain at the
next line, and ``check_audit`` reports it. The chain alone cannot notice the
LAST lines being cut off, nor a log rewritten from scratch with a fresh
chain: for that the log's head is pinned elsewhere (below).

How the log relates to the manifest and to ``triage verify``
------------------------------------------------------------
The log is written after the manifest by later commands (verify, export,
report...), so its bytes change after manifest.json was written and it cannot
be hashed as an ordinary output. The rule is:

1. The manifest does not list audit.jsonl as an output (``case_outputs``
   skips it, like MANIFEST.sha256 and manifest.json.sig).
2. Instead, when the manifest is written it records the log's head as it was
   at that moment: ``audit_head(case_dir)`` -> ``{"lines": n,
   "last_line_sha256": h}`` goes into the manifest record under ``"audit"``.
   The command appends its own audit line BEFORE writing the manifest, so the
   manifest (and a signature over it) covers every line up to and including
   the command that wrote it.
3. ``triage verify`` calls ``check_audit(case_dir, expected_head=manifest["audit"])``:
   the whole chain must hold, and line n must still hash to h. Because each
   line carries the hash of the one before, pinning line n pins lines 1..n,
   so the lines the manifest covers cannot be changed, removed or truncated
   without verify failing; lines after n (commands run since) are checked by
   the chain only, and are covered again by the next manifest/signature.

Appends are serialised with an exclusive ``flock`` on the log and fsynced.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Sequence

from . import __version__

AUDIT_NAME = "audit.jsonl"
GENESIS = "0" * 64
REQUIRED = ("seq", "time_utc", "user", "host", "command", "argv", "tool_version", "prev_sha256")


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _lines(data: bytes) -> list[bytes]:
    """Lines of the log without their newline; a final line with no newline
    (an interrupted append) is kept so the check can report it."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


def _last_line(path: Path) -> tuple[int, bytes | None]:
    if not path.is_file():
        return 0, None
    lines = _lines(path.read_bytes())
    return len(lines), (lines[-1] if lines else None)


def append_audit(case_dir: str | Path, command: str, argv: Sequence[str],
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append one line for `command` to CASE_DIR/audit.jsonl; return the record."""
    path = Path(case_dir) / AUDIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        try:
            import fcntl
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        with open(path, "rb") as stream:
            data = stream.read()
        if data and not data.endswith(b"\n"):
            # An interrupted append left half a line: end it so this record
            # stays a line of its own; check_audit reports the broken one.
            os.write(descriptor, b"\n")
            data += b"\n"
        lines = _lines(data)
        record: dict[str, Any] = {
            "seq": len(lines) + 1,
            "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "user": _user(),
            "host": socket.gethostname(),
            "command": command,
            "argv": [str(a) for a in argv],
            "tool": "traffick-triage",
            "tool_version": __version__,
            "prev_sha256": hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS,
        }
        if extra:
            record["extra"] = extra
        os.write(descriptor, _canonical(record) + b"\n")
        os.fsync(descriptor)
        return record
    finally:
        os.close(descriptor)


def audit_head(case_dir: str | Path) -> dict[str, Any] | None:
    """{"lines": n, "last_line_sha256": h} of the log now (None when there is
    no log): what a manifest records to pin the lines it covers."""
    count, last = _last_line(Path(case_dir) / AUDIT_NAME)
    if last is None:
        return None
    return {"lines": count, "last_line_sha256": hashlib.sha256(last).hexdigest()}


def check_audit(case_dir: str | Path, expected_head: dict[str, Any] | None = None) -> list[str]:
    """Problems with CASE_DIR/audit.jsonl ([] = the chain holds, and the head
    recorded by the manifest, when given, is still in place)."""
    path = Path(case_dir) / AUDIT_NAME
    if not path.is_file():
        return [f"missing: {AUDIT_NAME} (the manifest recorded {expected_head['lines']} audit lines)"] \
            if expected_head else []
    data = path.read_bytes()
    problems: list[str] = []
    if data and not data.endswith(b"\n"):
        problems.append(f"{AUDIT_NAME}: last line is incomplete (interrupted write or truncation)")
    lines = _lines(data)
    previous = GENESIS
    for number, line in enumerate(lines, start=1):
        where = f"{AUDIT_NAME} line {number}"
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            problems.append(f"{where}: not a JSON object ({error})"[:200])
            previous = hashlib.sha256(line).hexdigest()
            continue
        missing = [key for key in REQUIRED if key not in record]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if record.get("seq") != number:
            problems.append(f"{where}: seq is {record.get('seq')!r}, expected {number} "
                            "(a line was removed, inserted or moved)")
        if record.get("prev_sha256") != previous:
            problems.append(f"{where}: prev_sha256 does not match line {number - 1} "
                            "(an earlier line was changed, removed or reordered)" if number > 1 else
                            f"{where}: first line must have prev_sha256 of 64 zeros")
        previous = hashlib.sha256(line).hexdigest()
    if expected_head:
        count = int(expected_head.get("lines", 0))
        if len(lines) < count:
            problems.append(f"{AUDIT_NAME}: {len(lines)} lines, but the manifest recorded {count} "
                            "(lines were removed)")
        elif count and hashlib.sha256(lines[count - 1]).hexdigest() != expected_head.get("last_line_sha256"):
            problems.append(f"{AUDIT_NAME} line {count} differs from the one the manifest recorded "
                            "(the log was changed or rewritten)")
    return problems
