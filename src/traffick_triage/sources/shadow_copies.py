"""Volume Shadow Copies of an NTFS volume (issue 17, item 5): the files of
older snapshots that differ from the live volume, read through libvshadow's
Python binding (pyvshadow) and The Sleuth Kit (pytsk3) over each store's
bytes, so a snapshot's file system is walked exactly as a raw image's is.

A file of a snapshot is listed (route "shadow copy") unless it is the same
file as on the live volume with the same content:

- the same file: the live volume's MFT entry of the same number is allocated
  and has the same sequence number (NTFS bumps it whenever the entry is
  reused), and holds the same data stream (default or named);
- the same content: the same size and the same SHA-256 of the bytes (a
  stream with no cluster allocated on either side, $BadClus:$Bad as large
  as the volume, reads as zeros on both and is not read).

So a file deleted since the snapshot, replaced (a new MFT entry or sequence)
or rewritten is listed with the snapshot's bytes and times; a file only
renamed or moved since, with unchanged bytes, is not (its bytes are in the
inventory under its live name). Directories, links and the snapshot's own
deleted entries are not listed. Nothing here keeps a map of the live volume:
each snapshot file is looked up in the live file system by its MFT entry
number (O(1) memory per file), so a volume of a million files costs what
its walk costs, one directory stack and the set of walked directories.

Bounds: at most MAX_STORES stores per volume, MAX_FILES_PER_STORE files
examined per store (each with a warning when reached); reading a store is
bounded by its volume size, which libvshadow takes from the store header."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

import pytsk3

from .. import locator as loc
from ..expansion.api import ROUTE_SHADOW
from ..timeutil import from_filetime, iso_or_none
from .base import FILE, Entry, EvidenceSource, SourceWarning
from .disk import DiskImageSource, _data_streams, _ImageReader, _TskImage, _tsk_reason

MAX_STORES = 64                  # Windows keeps at most 64 shadow copies of a volume
MAX_FILES_PER_STORE = 2_000_000  # files examined in one snapshot; the rest not compared, with a warning
_HASH_CHUNK = 1 << 20
ADDRESS_KEY = "shadow_store"     # marks an address as a shadow copy's: its store index (0-based)
OPTION = "shadow_copies"         # source option: False skips shadow copies (--no-shadow-copies)


def enabled(options: dict[str, Any] | None) -> bool:
    return bool((options or {}).get(OPTION, True))


class _VolumeFile(io.RawIOBase):
    """The file-like object pyvshadow reads a volume's bytes from."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int) -> None:
        self._read_at, self._size, self._position = read_at, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def get_size(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._position
        size = max(0, min(size, self._size - self._position))
        data = self._read_at(self._position, size) if size else b""
        self._position += len(data)
        return data


class _StoreReader(_ImageReader):
    """One store's view of the volume: the bytes as they were at its creation."""

    def __init__(self, store: Any, label: str) -> None:
        self._store, self._label = store, label
        self.size = int(store.volume_size)

    def read(self, offset: int, length: int) -> bytes:
        try:
            return self._store.read_buffer_at_offset(length, offset) or b""
        except (OSError, IOError, RuntimeError, ValueError) as error:
            raise OSError(f"libvshadow cannot read {self._label} at offset {offset}: {_reason(error)}") from error


@dataclass
class StoreInfo:
    index: int                   # libvshadow's store index, 0-based; vshadowinfo numbers it index + 1
    identifier: str
    created: str | None          # ISO 8601 UTC
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"vss{self.index + 1}"

    @property
    def segment(self) -> str:
        """The locator segment naming the snapshot: "vss2 (2013-12-03T06:37:48Z)"."""
        return f"{self.label} ({self.created[:19]}Z)" if self.created else self.label

    def describe(self, read: bool = True) -> dict[str, Any]:
        info: dict[str, Any] = {"store": self.label, "identifier": self.identifier, "created": self.created}
        if not read:
            info["summary"] = "not read (--no-shadow-copies)"
        elif self.counts:
            info.update(self.counts)
            info["summary"] = (f"{self.counts['files_listed']} file(s) differing from the live volume listed; "
                               f"{self.counts['files_identical']} files identical to the live volume not listed")
        return info


class ShadowCopies:
    """The shadow copies of one NTFS volume, opened once per source.

    ``read_at(offset, length)`` reads the live volume's bytes (offset 0 is
    the volume's first byte), ``live_fs`` is the live file system as pytsk3
    opened it, ``prefix`` the volume's locator segments, ``address_base``
    what every address of this volume carries (its key or offset)."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int, live_fs: Any, display_name: str,
                 prefix: tuple[str, ...], address_base: dict[str, Any], local_times: bool = False) -> None:
        import pyvshadow

        self._file = _VolumeFile(read_at, size)
        self._volume = pyvshadow.volume()
        self._volume.open_file_object(self._file)     # raises OSError when the volume has no VSS header
        self.live_fs = live_fs
        self.display_name = display_name
        self.prefix = prefix
        self.address_base = dict(address_base)
        self.local_times = local_times
        self.warnings: list[SourceWarning] = []
        count = int(self._volume.number_of_stores)
        if count > MAX_STORES:
            self._warn(f"{count} shadow copy stores declared; only the first {MAX_STORES} are read")
        self.stores: list[StoreInfo] = []
        self._readers: dict[int, _StoreVolume] = {}
        for index in range(min(count, MAX_STORES)):
            try:
                store = self._volume.get_store(index)
                created = iso_or_none(from_filetime(store.get_creation_time_as_integer()))
                self.stores.append(StoreInfo(index, str(store.identifier), created))
            except (OSError, IOError, RuntimeError, ValueError) as error:
                self._warn(f"shadow copy store vss{index + 1} not readable: {_reason(error)}")

    def _store_volume(self, info: StoreInfo) -> "_StoreVolume":
        if info.index not in self._readers:
            reader = _StoreReader(self._volume.get_store(info.index), info.label)
            self._readers[info.index] = _StoreVolume(reader, self, info)
        return self._readers[info.index]

    def entries(self) -> Iterator[Entry]:
        """Every file of every snapshot that differs from the live volume, store by store."""
        for info in self.stores:
            try:
                volume = self._store_volume(info)
            except OSError as error:
                self._warn(f"shadow copy not read: {error}", info.segment)
                continue
            yield from volume.differing_entries()
            self.warnings.extend(volume.take_warnings())

    def _warn(self, message: str, *segments: str) -> None:
        self.warnings.append(SourceWarning(loc.join([self.display_name, *self.prefix, *segments]), message))

    def take_warnings(self) -> list[SourceWarning]:
        taken, self.warnings = self.warnings, []
        return taken

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        index = int(address[ADDRESS_KEY])
        info = next((s for s in self.stores if s.index == index), None)
        if info is None:
            raise OSError(f"no readable shadow copy store vss{index + 1} on this volume")
        return self._store_volume(info).open_address(address)

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        info = next((s for s in self.stores if s.index == entry.address.get(ADDRESS_KEY)), None)
        return self._store_volume(info).find_sibling(entry, name) if info is not None else None

    def describe(self, read: bool = True) -> list[dict[str, Any]]:
        """Each store: vssN, identifier, creation time, and once walked the
        files listed and the files identical to the live volume (not listed)."""
        return [info.describe(read) for info in self.stores]

    def close(self) -> None:
        try:
            self._volume.close()
        except (OSError, IOError):
            pass


class _StoreVolume(DiskImageSource):
    """One snapshot's file system, opened by pytsk3 over the store's bytes
    and walked as a raw image's; entries are compared with the live volume."""

    def __init__(self, reader: _StoreReader, copies: ShadowCopies, info: StoreInfo) -> None:
        EvidenceSource.__init__(self, "", copies.display_name)
        self.reader = reader
        self._image = _TskImage(reader)
        self._copies, self._info = copies, info
        self._prefix = copies.prefix + (info.segment,)
        try:
            fs = pytsk3.FS_Info(self._image, offset=0)
        except (OSError, IOError, RuntimeError) as error:
            raise OSError(f"The Sleuth Kit cannot open the snapshot's file system: {_tsk_reason(error)}") from error
        self.volumes = [{"offset": 0, "fs": fs, "local_times": copies.local_times}]

    def _fs_offset(self, volume: dict[str, Any]) -> int:
        return 0

    def _volume_prefix(self, volume: dict[str, Any]) -> tuple[str, ...]:
        return self._prefix

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        """The companion in the same snapshot (a snapshot's database with the
        snapshot's -wal, which may be unlisted, being identical to the live one)."""
        local = Entry(segments=entry.segments, path=entry.path, kind=entry.kind, size=entry.size,
                      address={"volume_offset": 0, "inode": entry.address.get("inode")})
        sibling = super().find_sibling(local, name)
        if sibling is not None:
            sibling.address = {**sibling.address, **self._copies.address_base, ADDRESS_KEY: self._info.index,
                               "mft_sequence": None, "data_stream": None}
            sibling.route = ROUTE_SHADOW
        return sibling

    def differing_entries(self) -> Iterator[Entry]:
        fs = self.volumes[0]["fs"]
        try:
            root = fs.open_dir(path="/")
        except (OSError, IOError, RuntimeError) as error:
            self.warn(f"The Sleuth Kit cannot open the snapshot's root directory: {_tsk_reason(error)}",
                      *self._prefix)
            return
        listed = identical = examined = 0
        for entry in self._walk(fs, self.volumes[0], root, self._prefix):
            if entry.kind != FILE or not entry.allocated or entry.opener is None:
                continue
            examined += 1
            if examined > MAX_FILES_PER_STORE:
                self.warn(f"more than {MAX_FILES_PER_STORE} files in this snapshot: the rest are not compared "
                          "with the live volume nor listed", *self._prefix)
                break
            try:
                same = self._same_as_live(entry)
            except OSError as error:
                same = False
                entry.notes.append(f"not compared with the live volume: {error}")
            if same:
                identical += 1
                continue
            listed += 1
            entry.route = ROUTE_SHADOW
            entry.notes.append(f"from shadow copy {self._info.label}, created {self._info.created}")
            yield entry
        self._info.counts = {"files_listed": listed, "files_identical": identical}

    def _entries_for(self, child: Any, volume: dict[str, Any], prefix: tuple[str, ...], path: str,
                     kind: str, allocated: bool, inode: int, meta: Any) -> Iterator[Entry]:
        sequence = int(meta.seq) if meta is not None else None
        for entry in super()._entries_for(child, volume, prefix, path, kind, allocated, inode, meta):
            stream = entry.path[len(path) + 1:] or None
            entry.address = {**entry.address, **self._copies.address_base, ADDRESS_KEY: self._info.index,
                             "mft_sequence": sequence, "data_stream": stream}
            yield entry

    def _same_as_live(self, entry: Entry) -> bool:
        """Whether the live volume holds this file (same MFT entry and
        sequence number, same stream) with the same size and SHA-256."""
        address = entry.address
        try:
            live = self._copies.live_fs.open_meta(inode=int(address["inode"]))
        except (OSError, IOError, RuntimeError):
            return False
        meta = live.info.meta
        if meta is None or not meta.flags & pytsk3.TSK_FS_META_FLAG_ALLOC or int(meta.seq) != address["mft_sequence"]:
            return False
        if address.get("attr_type") is None:
            live_stream, live_size = None, int(meta.size)
        else:
            match = next((s for s in _data_streams(live) if s[0] == address["data_stream"]
                          and s[1] == address["attr_type"]), None)
            if match is None:
                return False
            live_stream, live_size = (match[1], match[2]), int(match[3])
        if live_size != int(address["size"]):
            return False
        if live_stream is not None and _reads_as_zeros(live, live_stream) and _reads_as_zeros(
                self.volumes[0]["fs"].open_meta(inode=int(address["inode"])),
                (address["attr_type"], address["attr_id"])):
            return True      # $BadClus:$Bad, as large as the volume, holds no cluster on either side
        return _sha256(self.open_address(address)) == _sha256(_live_stream(live, live_stream, live_size))

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        try:
            tsk_file = self.volumes[0]["fs"].open_meta(inode=int(address["inode"]))
        except (OSError, IOError, RuntimeError) as error:
            raise OSError(f"The Sleuth Kit cannot open inode {address.get('inode')} in shadow copy "
                          f"{self._info.label}: {_tsk_reason(error)}") from error
        return self._open_tsk_file(tsk_file, address)


def _reads_as_zeros(tsk_file: Any, stream: tuple[int, int]) -> bool:
    """Whether an NTFS stream is non-resident with no cluster allocated to it
    (every run sparse, or none): The Sleuth Kit reads it as zeros, whatever
    its size, so two such streams of one size are the same bytes unread."""
    _sparse = pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE | pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER
    try:
        for attribute in tsk_file:
            info = attribute.info
            if (int(info.type), int(info.id)) == (int(stream[0]), int(stream[1])):
                return bool(info.flags & pytsk3.TSK_FS_ATTR_NONRES) and all(
                    run.flags & _sparse for run in attribute)
    except (OSError, IOError, RuntimeError):
        return False
    return False


def _live_stream(tsk_file: Any, stream: tuple[int, int] | None, size: int) -> IO[bytes]:
    from .base import RandomAccessReader

    def read_at(offset: int, length: int) -> bytes:
        try:
            if stream is None:
                return tsk_file.read_random(offset, length)
            return tsk_file.read_random(offset, length, stream[0], stream[1])
        except (OSError, IOError, RuntimeError) as error:
            raise OSError(f"The Sleuth Kit cannot read the live file at offset {offset}: "
                          f"{_tsk_reason(error)}") from error

    return RandomAccessReader(size, read_at)


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    with stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(error: BaseException) -> str:
    """libyal's error stack ("function: what. function: what.") cut to its
    first specific cause ("invalid offset value out of bounds")."""
    causes = [part.split(": ", 1)[-1].strip(" .") for part in _tsk_reason(error).split(". ") if part.strip(" .")]
    specific = [cause for cause in causes if not cause.lower().startswith("unable to")]
    return ((specific or causes or ["unknown reason"])[0])[:300]


def open_for_volume(read_at: Callable[[int, int], bytes], size: int, live_fs: Any, display_name: str,
                    prefix: tuple[str, ...], address_base: dict[str, Any], local_times: bool = False,
                    warn: Callable[..., None] | None = None) -> ShadowCopies | None:
    """The shadow copies of a live NTFS volume, or None: not NTFS, no VSS
    header, or a header libvshadow cannot read (one warning through ``warn``)."""
    try:
        if live_fs is None or live_fs.info.ftype != pytsk3.TSK_FS_TYPE_NTFS:
            return None
    except AttributeError:
        return None
    try:
        present = bool(size) and has_shadow_copies(read_at, size)
    except ImportError:
        if warn is not None and _header_present(read_at):
            warn("volume shadow copies present but not read: libvshadow's Python binding (pyvshadow, "
                 "pip package libvshadow-python) is not installed", *prefix)
        return None
    if not present:
        return None
    try:
        return ShadowCopies(read_at, size, live_fs, display_name, prefix, address_base, local_times)
    except (OSError, IOError, RuntimeError, ValueError) as error:
        if warn is not None:
            warn(f"volume shadow copies present but not readable by libvshadow: {_reason(error)}", *prefix)
        return None


# The VSS volume header's identifier, at 0x1e00 of an NTFS volume (libvshadow's
# documentation of the format): checked only when pyvshadow is missing, to say so.
_VSS_HEADER_OFFSET = 0x1E00
_VSS_IDENTIFIER = bytes.fromhex("6b87083876c1484eb7ae04046e6cc752")


def has_shadow_copies(read_at: Callable[[int, int], bytes], size: int) -> bool:
    """Whether the volume carries a VSS header (libvshadow's own check)."""
    import pyvshadow

    try:
        return bool(pyvshadow.check_volume_signature_file_object(_VolumeFile(read_at, size)))
    except (OSError, IOError, RuntimeError, ValueError):
        return False


def _header_present(read_at: Callable[[int, int], bytes]) -> bool:
    try:
        return read_at(_VSS_HEADER_OFFSET, len(_VSS_IDENTIFIER)) == _VSS_IDENTIFIER
    except OSError:
        return False
