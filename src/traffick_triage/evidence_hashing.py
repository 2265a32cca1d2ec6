"""An evidence item's own hashes: its media (the image's bytes, checked later
against the hashes an E01 stores) and each of its files on the host (for
evidence.hashdeep).

Taken in a thread of the scanning process while the walk runs, where the
source allows it (``hash_beside_walk``): file reads, libewf and hashlib all
release the GIL, and the scanning process mostly waits for its workers, so the
image is read beside the walk instead of once more after it. A raw image's
media bytes are its host files' bytes, so one read gives both."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import IO, Any, Iterator

from .sources.base import READ_CHUNK, EvidenceSource
from .sources.directory import open_readonly


class Cancelled(Exception):
    """The walk failed: the item's hashes are not wanted any more."""


@dataclass
class ItemHashes:
    media: dict[str, Any] = field(default_factory=dict)     # size, md5, sha1, sha256; {} if unreadable
    media_warnings: list[str] = field(default_factory=list)
    host_files: list[dict[str, Any]] = field(default_factory=list)   # path, size, md5, sha256
    host_warnings: list[tuple[str, str]] = field(default_factory=list)   # (path, message)


class _Digests:
    def __init__(self) -> None:
        self.size = 0
        self._md5, self._sha1, self._sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)

    def media(self) -> dict[str, Any]:
        return {"size": self.size, "md5": self._md5.hexdigest(), "sha1": self._sha1.hexdigest(),
                "sha256": self._sha256.hexdigest()}

    def host_file(self, path: str) -> dict[str, Any]:
        return {"path": os.path.abspath(path), "size": self.size, "md5": self._md5.hexdigest(),
                "sha256": self._sha256.hexdigest()}


class ItemHashing:
    """Hashes one item's media and, when ``host_files``, its host files.
    start(), then result() (waits) or cancel(). The source is only asked for
    its streams and file names here, in the calling thread."""

    def __init__(self, source: EvidenceSource, host_files: bool) -> None:
        self._streams = source.evidence_streams()
        self._host_paths = source.host_files() if host_files else []
        media_files = source.media_host_files()
        self._fused = (len(self._streams) == 1 and bool(media_files) and media_files == self._host_paths)
        self._beside_walk = source.hash_beside_walk
        self._stop = threading.Event()
        self._outcome: ItemHashes | BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._beside_walk:
            # A daemon: a scan stopped by Ctrl-C does not wait for the rest of the image.
            self._thread = threading.Thread(target=self._run, name="evidence-hashes", daemon=True)
            self._thread.start()

    def cancel(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def result(self) -> ItemHashes:
        if self._thread is None:
            self._run()
        else:
            self._thread.join()
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        assert self._outcome is not None
        return self._outcome

    def _run(self) -> None:
        try:
            self._outcome = (self._fused and self._hash_fused()) or self._hash_separately()
        except Cancelled:
            self._outcome = ItemHashes()
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread by result()
            self._outcome = error

    def _hash_fused(self) -> ItemHashes | None:
        """Media and host files in one read of the files; None when any read
        fails, so the separate passes word the warnings as they always have."""
        whole = _Digests()
        hosts = []
        try:
            for path in self._host_paths:
                own = _Digests() if len(self._host_paths) > 1 else whole
                with open_readonly(path) as stream:
                    for chunk in self._chunks(stream):
                        whole.update(chunk)
                        if own is not whole:
                            own.update(chunk)
                hosts.append(own.host_file(path))
        except OSError:
            return None
        return ItemHashes(media=whole.media(), host_files=hosts)

    def _hash_separately(self) -> ItemHashes:
        out = ItemHashes()
        for label, opener in self._streams:
            try:
                with opener() as stream:
                    out.media = self._digest(stream).media()
            except (OSError, ValueError, RuntimeError) as error:
                out.media_warnings.append(f"{label} bytes not readable to the end: {error}")
        for path in self._host_paths:
            try:
                with open_readonly(path) as stream:
                    out.host_files.append(self._digest(stream).host_file(path))
            except OSError as error:
                out.host_warnings.append((path, f"cannot hash evidence file: {error.strerror}"))
        return out

    def _digest(self, stream: IO[bytes]) -> _Digests:
        digests = _Digests()
        for chunk in self._chunks(stream):
            digests.update(chunk)
        return digests

    def _chunks(self, stream: IO[bytes]) -> Iterator[bytes]:
        # The entries' read size: an unreadable offset is then worded as before.
        while True:
            if self._stop.is_set():
                raise Cancelled()
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                return
            yield chunk
