"""An evidence item's own hashes: its media (the image's bytes, checked later
against the hashes an E01 stores) and each of its files on the host (for
evidence.hashdeep).

Taken in threads of the scanning process while the walk runs, where the
source allows it (``hash_beside_walk``): file reads, libewf and hashlib all
release the GIL, and the scanning process mostly waits for its workers, so the
image is read beside the walk instead of once more after it. The media and the
host files (an E01's segments) have a thread each: what is left of them when
the walk ends then takes both cores. A raw image's media bytes are its host
files' bytes, so one read gives both."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

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
    media_skipped: bool = False     # not asked for, and not free from the host files' read


class _Digests:
    """MD5, SHA-1 and SHA-256 of the media; a host file needs no SHA-1.

    MD5 cannot be split and is the slowest of the three, so it runs in a
    helper thread of its own while the calling thread does the others (hashlib
    releases the GIL on large updates): the image's hash, which no worker
    shares, then goes at MD5's speed instead of at the three's sum (a 2.5 GB
    raw image: 7.3 -> 5.0 s with a core free). A context manager: the helper
    thread must be gone before the scan forks its output processes."""

    def __init__(self, sha1: bool = True) -> None:
        self.size = 0
        self._md5, self._sha256 = hashlib.md5(), hashlib.sha256()
        self._sha1 = hashlib.sha1() if sha1 else None
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-md5")

    def __enter__(self) -> _Digests:
        return self

    def __exit__(self, *exc: object) -> None:
        self._helper.shutdown(wait=True)

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        md5 = self._helper.submit(self._md5.update, chunk)
        if self._sha1 is not None:
            self._sha1.update(chunk)
        self._sha256.update(chunk)
        md5.result()

    def media(self) -> dict[str, Any]:
        assert self._sha1 is not None
        return {"size": self.size, "md5": self._md5.hexdigest(), "sha1": self._sha1.hexdigest(),
                "sha256": self._sha256.hexdigest()}

    def host_file(self, path: str) -> dict[str, Any]:
        return {"path": os.path.abspath(path), "size": self.size, "md5": self._md5.hexdigest(),
                "sha256": self._sha256.hexdigest()}


class ItemHashing:
    """Hashes one item's media and, when ``host_files``, its host files.
    start(), then result() (waits) or cancel(). The source is only asked for
    its streams and file names here, in the calling thread."""

    def __init__(self, source: EvidenceSource, host_files: bool, media: bool = True) -> None:
        self._streams = source.evidence_streams()
        self._host_paths = source.host_files() if host_files else []
        self._taken = ItemHashes()        # each job fills fields of its own
        media_files = source.media_host_files()
        if len(self._streams) == 1 and media_files and media_files == self._host_paths:
            self._jobs = [self._hash_fused]     # a raw image: its media hash costs nothing more
        else:
            # Without ``media`` (--no-media-hash) an E01 or a VMDK is not
            # inflated a second time beside the walk; its segment files still are hashed.
            self._jobs = [job for job, wanted in ((self._hash_media, self._streams and media),
                                                  (self._hash_host_files, self._host_paths)) if wanted]
            self._taken.media_skipped = bool(self._streams) and not media
        self._beside_walk = source.hash_beside_walk
        self._errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._beside_walk:
            # Daemons: a scan stopped by Ctrl-C does not wait for the rest of the image.
            self._threads = [threading.Thread(target=self._run, args=(job,), name="evidence-hashes", daemon=True)
                             for job in self._jobs]
            for thread in self._threads:
                thread.start()

    def cancel(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def result(self) -> ItemHashes:
        if self._beside_walk:
            for thread in self._threads:
                thread.join()
        else:
            for job in self._jobs:
                self._run(job)
        if self._errors:
            raise self._errors[0]
        return self._taken

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Cancelled:
            pass
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread by result()
            self._errors.append(error)

    def _hash_fused(self) -> None:
        """Media and host files in one read of the files. When a read fails,
        the separate passes run instead and word the warnings as they always have."""
        hosts = []
        try:
            with _Digests() as whole:
                for path in self._host_paths:
                    # A split raw image: each segment's own hash besides the whole's.
                    segment = _Digests(sha1=False) if len(self._host_paths) > 1 else nullcontext(whole)
                    with segment as own, open_readonly(path) as stream:
                        for chunk in self._chunks(stream):
                            whole.update(chunk)
                            if own is not whole:
                                own.update(chunk)
                    hosts.append(own.host_file(path))
        except OSError:
            self._hash_media()
            self._hash_host_files()
            return
        self._taken.media, self._taken.host_files = whole.media(), hosts

    def _hash_media(self) -> None:
        for label, opener in self._streams:
            try:
                with opener() as stream, _Digests() as digests:
                    self._taken.media = self._digest(stream, digests).media()
            except (OSError, ValueError, RuntimeError) as error:
                self._taken.media_warnings.append(f"{label} bytes not readable to the end: {error}")

    def _hash_host_files(self) -> None:
        for path in self._host_paths:
            try:
                with open_readonly(path) as stream, _Digests(sha1=False) as digests:
                    self._taken.host_files.append(self._digest(stream, digests).host_file(path))
            except OSError as error:
                self._taken.host_warnings.append((path, f"cannot hash evidence file: {error.strerror}"))

    def _digest(self, stream: IO[bytes], digests: _Digests) -> _Digests:
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
