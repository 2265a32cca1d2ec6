"""manifest.json (the run record: hash of every output, tool, Python and
library versions, options, command line, UTC start/end) and MANIFEST.sha256
(``sha256sum -c`` compatible). ``triage verify`` re-checks both."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..atomic import write_text
from .json_report import canonical_json

MANIFEST_JSON = "manifest.json"
MANIFEST_SHA256 = "MANIFEST.sha256"
MANIFEST_VERSION = 1
# Not hashed by the manifest: the signature is of the manifest itself, and the
# audit log grows after it; the manifest records the log's head instead
# (traffick_triage.audit), and verify checks the log's hash chain against it.
SIGNATURE = "manifest.json.sig"
AUDIT_LOG = "audit.jsonl"

# Outputs of a case folder; anything else found there is reported as extra.
NOT_COVERED = {MANIFEST_SHA256}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def case_outputs(case_dir: Path) -> list[Path]:
    """Every regular file of the case folder except the manifests themselves,
    temporary files of an interrupted write, and the scratch area (the lock of
    the process writing the case, temporary copies: scratch.py)."""
    return sorted(p for p in case_dir.rglob("*")
                  if p.is_file() and p.name not in (MANIFEST_JSON, MANIFEST_SHA256, SIGNATURE, AUDIT_LOG)
                  and p.relative_to(case_dir).parts[0] != ".scratch"
                  and not p.name.endswith(".partial") and not p.name.endswith(("-wal", "-shm", "-journal")))


def write_manifests(case_dir: Path, record: dict[str, Any]) -> None:
    outputs = {str(p.relative_to(case_dir)): {"sha256": sha256_file(p), "size": p.stat().st_size}
               for p in case_outputs(case_dir)}
    manifest = {"manifest_version": MANIFEST_VERSION, **record, "outputs": outputs}
    write_text(case_dir / MANIFEST_JSON, canonical_json(manifest) + "\n")
    lines = [f"{entry['sha256']}  {name}" for name, entry in sorted(outputs.items())]
    lines.append(f"{sha256_file(case_dir / MANIFEST_JSON)}  {MANIFEST_JSON}")
    write_text(case_dir / MANIFEST_SHA256, "\n".join(sorted(lines, key=lambda l: l.split('  ', 1)[1])) + "\n")
