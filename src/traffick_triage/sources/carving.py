"""Carving of a disk image's unallocated space (issue 17, item 2): after the
source's own walk, PhotoRec searches each volume (its free space where it
knows the file system, the whole volume otherwise) and every file it carves
becomes an inventory entry of route ``carved``, ``allocated: false``.

A carved entry's address holds the volume's place on the disk and the file's
byte runs in it, so its bytes are read again from the evidence through the
source (``triage cat`` and worker processes), never from PhotoRec's output.
Its locator says where it lies:
``disk.E01 > p1 > carved > f0001879 (offset 962048, 40787 bytes).jpg``
(offset within the volume; the name's number is that offset in 512-byte sectors).

PhotoRec reads a raw file of the volume that this module writes into the
case's scratch area (sparse: runs of zeros are holes), through the source's
reader: Debian's PhotoRec reads no E01, VMDK or split raw image, and reading
the evidence itself would change its access time, which the tool never does
(docs/security.md). The file and PhotoRec's work folder are removed when the
volume is done. A volume whose copy and PhotoRec's output might not fit in
the free space left is not carved (a warning says so)."""

from __future__ import annotations

import os
import shutil
from typing import IO, Any, Iterator

from .. import scratch
from ..expansion.api import ROUTE_CARVED
from . import photorec
from .base import FILE, CarvableVolume, Entry, EvidenceSource, RandomAccessReader

CARVED_SEGMENT = "carved"
ADDRESS_KEY = "carved_runs"          # marks a carved entry's address
EXPORT_CHUNK = 4 << 20
MAX_CARVED_VOLUMES = 64              # a table of 1,000 partitions is not carved 1,000 times


def with_carving(source: EvidenceSource, options: dict[str, Any]) -> EvidenceSource:
    """``source`` wrapped to carve after its walk when it is a disk image;
    itself otherwise, and with ``carve: False`` (--no-carve, `triage info`).
    Carving runs only in entries(): a source opened by a worker or by
    `triage cat` only reads carved addresses back."""
    if options.get("carve", True) is False:
        return source
    try:
        volumes = source.carvable_volumes()
    except (OSError, RuntimeError):
        volumes = []
    if not volumes:
        return source
    return CarvingSource(source, volumes, options)


class CarvingSource(EvidenceSource):
    """A disk-image source whose walk ends with the files PhotoRec carves."""

    def __init__(self, inner: EvidenceSource, volumes: list[CarvableVolume], options: dict[str, Any]) -> None:
        super().__init__(inner.path, inner.display_name)
        self.inner = inner
        self.kind = inner.kind
        self.hash_beside_walk = inner.hash_beside_walk
        self._volumes = volumes
        self._timeout = float(options.get("carve_timeout") or 0)
        self._summary: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        # What the core does not ask every source for (volumes, reader...) is the inner source's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # -- the walk -----------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        yield from self.inner.entries()
        self._summary = []
        if photorec.photorec_path() is None:
            self.warn("carving skipped: photorec is not installed (Debian package testdisk); files in "
                      "unallocated space are not recovered (--no-carve silences this)")
            self._summary.append({"volume": "(all)", "status": "skipped: photorec not installed"})
            return
        distinct: list[CarvableVolume] = []
        extents: set[tuple[int, int]] = set()
        for volume in self._volumes:      # partitions listed twice over one extent: carved once
            if (volume.offset, volume.length) not in extents:
                extents.add((volume.offset, volume.length))
                distinct.append(volume)
        if len(distinct) > MAX_CARVED_VOLUMES:
            self.warn(f"{len(distinct)} volumes and unpartitioned ranges: only the first {MAX_CARVED_VOLUMES} "
                      "are carved")
        for volume in distinct[:MAX_CARVED_VOLUMES]:
            yield from self._carve(volume)

    def _carve(self, volume: CarvableVolume) -> Iterator[Entry]:
        free_only = volume.file_system in photorec.FREE_SPACE_FILE_SYSTEMS
        space = "free space" if free_only else "whole volume"
        record: dict[str, Any] = {"volume": " > ".join(volume.segments) or "(whole image)",
                                  "file_system": volume.file_system, "space": space, "carved": 0}
        self._summary.append(record)
        timeout = self._timeout or photorec.default_timeout(volume.length)
        work = scratch.temporary_folder("carve-")
        try:
            needed = 2 * volume.length        # the volume's copy, and at most as much carved output
            free = shutil.disk_usage(work).free
            if free < needed:
                record["status"] = "skipped: not enough free space"
                self.warn(f"volume not carved: its raw copy and PhotoRec's output may need {needed} bytes "
                          f"and the case folder's disk has {free} free", *volume.segments)
                return
            image = os.path.join(work, "volume.raw")
            try:
                self._export(volume, image)
                report = photorec.run_photorec(image, work, free_only, timeout)
                result = photorec.read_report(report, volume.length)
            except photorec.CarveError as error:
                record["status"] = f"failed: {error}"
                self.warn(f"carving ({space}) failed: {error}", *volume.segments)
                return
            except OSError as error:
                record["status"] = f"failed: {error}"
                self.warn(f"carving ({space}) stopped: {error}", *volume.segments)
                return
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for problem in result.problems:
            self.warn(problem, *volume.segments, CARVED_SEGMENT)
        record.update(status="done", carved=len(result.files))
        for carved in result.files:
            yield self._entry(volume, carved, space)

    def _export(self, volume: CarvableVolume, target: str) -> None:
        """The volume's bytes into ``target``; all-zero chunks are left as holes."""
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            position = 0
            while position < volume.length:
                wanted = min(EXPORT_CHUNK, volume.length - position)
                data = self.inner.read_media(volume.offset + position, wanted)
                if len(data) != wanted:
                    raise OSError(f"the image ends {position + len(data)} bytes into the volume")
                if data.count(0) == len(data):
                    stream.seek(wanted, os.SEEK_CUR)
                else:
                    stream.write(data)
                position += wanted
            stream.truncate(volume.length)

    def _entry(self, volume: CarvableVolume, carved: photorec.CarvedFile, space: str) -> Entry:
        name = f"f{carved.offset // 512:07d} (offset {carved.offset}, {carved.size} bytes).{carved.extension}"
        address = {ADDRESS_KEY: [list(run) for run in carved.runs], "volume_offset": volume.offset,
                   "volume_length": volume.length, "size": carved.size}
        entry = Entry(segments=volume.segments + (CARVED_SEGMENT, name), path=f"{CARVED_SEGMENT}/{name}",
                      kind=FILE, size=carved.size, allocated=False, address=address, route=ROUTE_CARVED)
        runs = "" if len(carved.runs) == 1 else f" in {len(carved.runs)} pieces"
        entry.notes.append(f"carved by PhotoRec from the volume's {space}{runs}: file-system name and "
                           "times unknown")
        entry.opener = lambda: self.open_address(address)
        return entry

    # -- reading back -------------------------------------------------------------------

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        if ADDRESS_KEY not in address:
            return self.inner.open_address(address)
        return _runs_reader(self.inner, address)

    # -- the rest is the inner source's ----------------------------------------------

    def take_warnings(self) -> list:
        return self.inner.take_warnings() + super().take_warnings()

    def describe(self) -> dict[str, Any]:
        return self._with_carving(self.inner.describe())

    def describe_after_walk(self) -> dict[str, Any] | None:
        """What the walk added (the inner source's, e.g. shadow-copy counts) and what carving did."""
        later = self.inner.describe_after_walk()
        return self._with_carving(later if later is not None else self.inner.describe())

    def _with_carving(self, description: dict[str, Any]) -> dict[str, Any]:
        info = dict(description)
        info["carving"] = {"enabled": True, "tool": photorec.photorec_version() or "photorec (not installed)",
                           "families": list(photorec.FILE_FAMILIES), "volumes": list(self._summary)}
        return info

    def content_bytes_estimate(self) -> int | None:
        return self.inner.content_bytes_estimate()

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        return None if entry.route == ROUTE_CARVED else self.inner.find_sibling(entry, name)

    def evidence_streams(self):
        return self.inner.evidence_streams()

    def media_host_files(self) -> list[str]:
        return self.inner.media_host_files()

    def stored_hashes(self) -> dict[str, str]:
        return self.inner.stored_hashes()

    def host_files(self) -> list[str]:
        return self.inner.host_files()

    def carvable_volumes(self) -> list[CarvableVolume]:
        return list(self._volumes)

    def read_media(self, offset: int, length: int) -> bytes:
        return self.inner.read_media(offset, length)

    def close(self) -> None:
        self.inner.close()


def _runs_reader(source: EvidenceSource, address: dict[str, Any]) -> IO[bytes]:
    """A stream over a carved file's byte runs, each checked against the
    volume it was carved from (a stored address is re-checked too)."""
    base, length, size = int(address["volume_offset"]), int(address["volume_length"]), int(address["size"])
    runs = [(int(offset), int(count)) for offset, count in address[ADDRESS_KEY]]
    if any(offset < 0 or count <= 0 or offset + count > length for offset, count in runs) \
            or sum(count for _, count in runs) != size:
        raise OSError("carved file's byte runs lie outside its volume")
    starts, total = [], 0
    for _, count in runs:
        starts.append(total)
        total += count

    def read_at(position: int, wanted: int) -> bytes:
        parts = []
        for start, (offset, count) in zip(starts, runs):
            if wanted <= 0:
                break
            if position >= start + count or position < start:
                continue
            take = min(wanted, start + count - position)
            data = source.read_media(base + offset + position - start, take)
            parts.append(data)
            if len(data) < take:
                break
            position += take
            wanted -= take
        return b"".join(parts)

    return RandomAccessReader(size, read_at)
