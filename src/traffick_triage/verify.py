"""``triage verify CASE_DIR``: re-check every output against the manifest,
and with ``evidence=True`` re-hash the evidence items themselves."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .audit import check_audit
from .hashing import hash_stream
from .signing import check_signature
from .report.manifest import MANIFEST_JSON, MANIFEST_SHA256, case_outputs, sha256_file
from .sources.directory import open_readonly


@dataclass
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_sha256_manifest(path: Path) -> dict[str, str]:
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64:
            raise ValueError(f"{MANIFEST_SHA256} line {number} is not '<sha256>  <name>'")
        entries[name] = digest
    return entries


def verify_case(case_dir: str | Path, evidence: bool = False, public_key: str | Path | None = None) -> VerifyResult:
    case = Path(case_dir)
    result = VerifyResult()
    sums_path, manifest_path = case / MANIFEST_SHA256, case / MANIFEST_JSON
    for required in (sums_path, manifest_path):
        if not required.is_file():
            result.problems.append(f"missing: {required.name} (not a finished case folder?)")
    if result.problems:
        return result
    try:
        listed = _read_sha256_manifest(sums_path)
    except (ValueError, UnicodeDecodeError) as error:
        result.problems.append(f"unreadable {MANIFEST_SHA256}: {error}")
        return result
    for name, expected in sorted(listed.items()):
        path = case / name
        if not path.is_file():
            result.problems.append(f"missing: {name}")
            continue
        result.checked += 1
        if sha256_file(path) != expected:
            result.problems.append(f"changed: {name} (SHA-256 differs from {MANIFEST_SHA256})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:   # a received folder is untrusted
        result.problems.append(f"unreadable {MANIFEST_JSON}: {error}"[:300])
        return result
    for name, entry in sorted(manifest.get("outputs", {}).items()):
        if listed.get(name) != entry.get("sha256"):
            result.problems.append(f"inconsistent: {name} differs between {MANIFEST_JSON} and {MANIFEST_SHA256}")
    for path in case_outputs(case):
        name = str(path.relative_to(case))
        if name not in listed:
            result.problems.append(f"not in the manifest: {name} (added after the case was written)")
    result.problems += check_audit(case, expected_head=manifest.get("audit"))
    if public_key:
        result.problems += check_signature(case, public_key)
    if evidence:
        _verify_evidence(case, result)
    return result


def _verify_evidence(case: Path, result: VerifyResult) -> None:
    from .store import CaseStore

    # The host files one at a time from the store (a folder item's are every file
    # in it), not report.json loaded whole (it lists every finding too).
    store = CaseStore(case, readonly=True)
    try:
        items = store.evidence_items()
        for item in items:
            _verify_host_files(store.host_files(item["id"]), result)
    finally:
        store.close()
    result.notes.append(f"evidence items in report: {len(items)}")


def _verify_host_files(hosts: Iterable[dict[str, Any]], result: VerifyResult) -> None:
    for host in hosts:
        path = host["path"]
        if not os.path.isfile(path):
            result.problems.append(f"evidence missing: {path}")
            continue
        with open_readonly(path) as stream:
            computed = hash_stream(stream)
        result.checked += 1
        if (computed.md5, computed.sha256, computed.size) != (host["md5"], host["sha256"], host["size"]):
            result.problems.append(f"evidence changed: {path} (hashes differ from the scan)")
