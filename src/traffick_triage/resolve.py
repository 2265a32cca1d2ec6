"""From a printed locator back to the bytes: the case store keeps, beside
every locator, the evidence item and the source's own address of the entry."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from .expansion.walk import walk_base
from .sources.base import EvidenceError
from .sources.detect import open_source
from .store import CaseStore


class ResolveError(Exception):
    pass


class _ClosingStream:
    """The entry's stream, closing its evidence source when done."""

    def __init__(self, stream: IO[bytes], source) -> None:
        self._stream, self._source = stream, source

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def __enter__(self) -> "_ClosingStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()
        self._source.close()


def resolve_locator(case_dir: str | Path, locator: str) -> tuple[_ClosingStream, str | None]:
    """(stream over the entry's bytes, its inventory SHA-256)."""
    try:
        store = CaseStore(case_dir, readonly=True)
    except (FileNotFoundError, OSError) as error:
        raise ResolveError(f"no case store in {case_dir}: {error}") from error
    try:
        row = store.file_by_locator(locator)
        if row is None:
            raise ResolveError(f"no file with locator {locator!r} in this case")
        if row["kind"] != "file":
            raise ResolveError(f"{locator!r} is a {row['kind']}, not a file with content")
        evidence = {item["id"]: item for item in store.evidence()}[row["evidence_id"]]
    finally:
        store.close()
    try:
        source = open_source(evidence["path"], display_name=evidence["name"])
        if source.kind == "tar":
            for _ in walk_base(source).entries():   # a TAR is only walked forwards
                pass
        return _ClosingStream(source.open_address(row["address"]), source), row["sha256"]
    except (EvidenceError, OSError, KeyError, IndexError, StopIteration) as error:
        raise ResolveError(f"cannot read {locator!r} from {evidence['path']}: {error}") from error
