"""evidence.hashdeep: the evidence files on the host in hashdeep's own
format, so ``hashdeep -a -k CASE_DIR/evidence.hashdeep -r EVIDENCE`` re-checks
them with a tool no one here wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..atomic import atomic_writer
from ..store import CaseStore
from ..external_sort import ExternalSort

HEADER = "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"


def write_evidence_hashdeep(store: CaseStore, case_dir: Path) -> Path:
    path = case_dir / "evidence.hashdeep"
    # Binary: a host name that is not valid UTF-8 is written as its own bytes,
    # which is what hashdeep itself writes and matches.
    with atomic_writer(path, "wb") as stream:
        stream.write(HEADER.encode())
        stream.write(b"## Written by traffick-triage: every evidence file on the host\n##\n")
        for file_path, size, md5, sha256 in _sorted_host_files(store):
            if "\n" in file_path or "\r" in file_path:
                continue   # hashdeep's line format cannot carry such a name; the inventory does
            stream.write(f"{size},{md5},{sha256},{file_path}\n".encode("utf-8", "surrogateescape"))
    return path


def _sorted_host_files(store: CaseStore) -> Iterator[tuple[str, int, str, str]]:
    """(path, size, md5, sha256) of every host file of every item, sorted, each
    once: sorted on disk, as a folder's host files are every file in it."""
    with ExternalSort(4, 4) as rows:
        for item in store.evidence_items():
            for host in store.host_files(item["id"]):
                row = (_raw_path(host), host["size"], host["md5"], host["sha256"])
                rows.add(row, (row[0].encode("utf-8", "surrogatepass"), *row[1:]))
        previous = None
        for raw_path, size, md5, sha256 in rows:
            row = (raw_path.decode("utf-8", "surrogatepass"), size, md5, sha256)
            if row != previous:
                yield row
            previous = row


def _raw_path(host: dict) -> str:
    """The host name as the file system has it (undecodable bytes as surrogates)."""
    if "path_bytes_hex" in host:
        return bytes.fromhex(host["path_bytes_hex"]).decode("utf-8", "surrogateescape")
    return host["path"]
