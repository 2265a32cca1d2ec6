"""Images The Sleuth Kit cannot open by itself, read through dfVFS: the
container formats VMDK, QCOW, VHD/VHDX and DMG (UDIF, through libmodi), the
partitions inside them (GPT, APM, MBR), APFS containers and their volumes
(libfsapfs), and LVM. Inside a container, file systems TSK reads (NTFS, FAT,
exFAT, ext, HFS+, ISO 9660) go through dfVFS's TSK back-end, which lists more
than the libyal ones there (HFS+ system files, exFAT); APFS and XFS through
libyal. dfVFS lists allocated entries only (see FIELD-NOTES.md): on each
volume TSK reads, pytsk3 walks the same volume bytes (tsk_over_media.py) and
adds what dfVFS left out, deleted and orphan entries above all, as the raw
image source lists them. APFS and XFS volumes list no deleted entries.

Entries carry their address as (volume key, path-spec attributes, data
stream), never a host path, so a case stays valid when the evidence moves."""

from __future__ import annotations

import os
from typing import IO, Any, Callable, Iterator

import pytsk3
from dfvfs.analyzer import analyzer
from dfvfs.lib import definitions as dfvfs_definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import context as resolver_context
from dfvfs.resolver import resolver

from ..timeutil import from_unix_seconds, iso_or_none
from .base import (DIRECTORY, FILE, OTHER, SYMLINK, CarvableVolume, Entry, EvidenceError, EvidenceSource,
                   RandomAccessReader, with_unpartitioned_space)
from . import shadow_copies, tree_walk
from .confine import ConfinementError, confined_file, open_confined
from . import volume_checks as checks
from .disk import _TskImage, _tsk_reason, _vs_name
from .tsk_over_media import READER as TSK_READER
from .tsk_over_media import TskVolume, identity

# Everything dfVFS and the libyal/TSK bindings raise for bad or unreadable input.
DFVFS_ERRORS = (dfvfs_errors.Error, OSError, IOError, RuntimeError, ValueError, KeyError, TypeError)

_I = dfvfs_definitions
_MEDIA_TYPES = {"vmdk": _I.TYPE_INDICATOR_VMDK, "qcow": _I.TYPE_INDICATOR_QCOW, "vhd": _I.TYPE_INDICATOR_VHDI,
                "dmg": _I.TYPE_INDICATOR_MODI, "raw": _I.TYPE_INDICATOR_RAW, "ewf": _I.TYPE_INDICATOR_EWF}
_FORMAT_NAMES = {"vmdk": "VMDK", "qcow": "QCOW", "vhd": "VHD/VHDX", "dmg": "DMG (UDIF)", "raw": "raw",
                 "ewf": "E01 (EWF)"}
_LIBRARIES = {"vmdk": "libvmdk", "qcow": "libqcow", "vhd": "libvhdi", "dmg": "libmodi", "raw": "libsmraw",
              "ewf": "libewf"}
# Partition schemes dfVFS's analyzer reports, most specific first (a GPT disk
# also has a protective MBR). It reports no MBR: _add_tsk_partitions reads those.
_SCHEMES = ((_I.TYPE_INDICATOR_GPT, "GPT"), (_I.TYPE_INDICATOR_APM, "APM"))
_LIBYAL_FS_NAMES = {_I.TYPE_INDICATOR_APFS: "APFS", _I.TYPE_INDICATOR_EXT: "ext", _I.TYPE_INDICATOR_FAT: "FAT",
                    _I.TYPE_INDICATOR_HFS: "HFS+", _I.TYPE_INDICATOR_NTFS: "NTFS", _I.TYPE_INDICATOR_XFS: "XFS"}
_TSK_NATIVE = {_I.TYPE_INDICATOR_EXT, _I.TYPE_INDICATOR_FAT, _I.TYPE_INDICATOR_HFS, _I.TYPE_INDICATOR_NTFS}
_LOCAL_TIME_FS = {"FAT", "FAT12", "FAT16", "FAT32", "exFAT"}
_ENCRYPTED = {_I.TYPE_INDICATOR_BDE: "BitLocker", _I.TYPE_INDICATOR_LUKSDE: "LUKS",
              _I.TYPE_INDICATOR_CS: "Core Storage"}
_TIME_ATTRIBUTES = (("created", "creation_time"), ("modified", "modification_time"),
                    ("accessed", "access_time"), ("changed", "change_time"), ("added", "added_time"))
# Path-spec attributes that find a file entry again inside its file system.
_SPEC_KEYS = ("location", "inode", "identifier", "mft_entry", "mft_attribute", "data_stream")


def _reason(error: BaseException) -> str:
    """One line of the library's own words, without pytsk3's source-file prefixes."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.rsplit("with error: ", 1)[-1]
    # libyal errors are a stack, "function: what. function: what."; the first
    # specific cause says most ("unsupported signature").
    causes = [part.split(": ", 1)[-1].strip(" .") for part in text.split(". ") if part.strip(" .")]
    specific = [cause for cause in causes if not cause.lower().startswith("unable to")]
    if len(causes) > 1:
        text = (specific or causes)[0]
    return text[:300]


def _new_spec(type_indicator: str, **kwargs: Any) -> Any:
    return path_spec_factory.Factory.NewPathSpec(type_indicator, **kwargs)


class _MediaReader:
    """Random access over a dfVFS file object (the virtual disk, a file's data)."""

    def __init__(self, file_object: Any, what: str, tsk: bool = False) -> None:
        self._file_object = file_object
        self._what = what
        self._tsk = tsk           # a file's content read by TSK: its errors worded as the raw image source's
        self.size = int(file_object.get_size())

    def read(self, offset: int, length: int) -> bytes:
        try:
            self._file_object.seek(offset, os.SEEK_SET)
            return self._file_object.read(length) or b""
        except DFVFS_ERRORS as error:
            if self._tsk:
                raise OSError(f"The Sleuth Kit cannot read the {self._what} at offset {offset}: "
                              f"{_tsk_reason(error)}") from error
            raise OSError(f"{self._what} not readable at offset {offset}: {_reason(error)}") from error

    def stream(self) -> IO[bytes]:
        return RandomAccessReader(self.size, self.read)


class DfvfsSource(EvidenceSource):
    """A VMDK/QCOW/VHD/DMG container or a raw image holding APFS, via dfVFS."""

    def __init__(self, path: str, display_name: str, kind: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name)
        if kind not in _MEDIA_TYPES:
            raise EvidenceError(f"dfVFS source: unknown container kind {kind!r}")
        self.kind = kind
        self.options = options or {}
        # The files dfVFS will open besides this one (VMDK extents, QCOW/VHD
        # parents, split raw segments), checked before dfVFS opens any of them.
        self._referenced = _checked_references(os.path.abspath(path), kind)
        self._context = resolver_context.Context()
        self._os_spec = _new_spec(_I.TYPE_INDICATOR_OS, location=os.path.abspath(path))
        self._media_spec = _new_spec(_MEDIA_TYPES[kind], parent=self._os_spec)
        try:
            media = resolver.Resolver.OpenFileObject(self._media_spec, resolver_context=self._context)
            # The virtual disk's bytes, for the checks disk.py makes on a raw disk (volume_checks).
            # The walk's cached file object is shared safely: every read seeks first.
            self._media = _MediaReader(media, f"{_FORMAT_NAMES[kind]} media")
            self.media_size = self._media.size
        except DFVFS_ERRORS as error:
            raise EvidenceError(f"{_LIBRARIES[kind]} (through dfVFS) cannot open this "
                                f"{_FORMAT_NAMES[kind]} image: {_reason(error)}") from error
        if self.media_size == 0:
            raise EvidenceError(f"{_LIBRARIES[kind]} (through dfVFS) opened this {_FORMAT_NAMES[kind]} "
                                "image but it holds no media data (0 bytes)")
        self.scheme: str | None = None
        self.volumes: list[dict[str, Any]] = []
        # The partition table's entries (label, offset, length), for volume_checks.partition_table.
        self._partitions: list[dict[str, Any]] = []
        self._tsk_volumes: dict[str, TskVolume | None] = {}
        self._shadow_copies: dict[str, Any] = {}      # volume key -> shadow_copies.ShadowCopies or None
        # (locator, message) of the links, loops and cut-offs dfVFS's walk warned about.
        self._tree_warnings: set[tuple[str, str]] = set()
        try:
            self._find_volumes()
        except DFVFS_ERRORS as error:
            self.warn(f"volume scan stopped early: {_reason(error)}")

    # -- volumes and file systems ---------------------------------------------------------

    def _find_volumes(self) -> None:
        indicators = self._volume_system_indicators(self._media_spec)
        scheme = next(((indicator, name) for indicator, name in _SCHEMES if indicator in indicators), None)
        block_size = None
        if scheme is not None:
            indicator, name = scheme
            root = self._open_entry(_new_spec(indicator, location="/", parent=self._media_spec))
            if root is not None:
                self.scheme = name
                if name == "GPT":
                    block_size = self._add_gpt_partitions(root)
                else:
                    for number, partition in enumerate(root.sub_file_entries, start=1):
                        offset, length = _partition_extent(partition)
                        self._add_partition(f"p{number}", partition.path_spec, offset, length,
                                            f"{self.scheme} partition "
                                            f"{getattr(partition.path_spec, 'location', number)}")
            else:
                # libvsgpt refuses a GPT whose backup header is gone (a truncated
                # disk); TSK reads the primary one, as it does in a raw image.
                block_size = self._add_tsk_partitions()
                if block_size is None:
                    self.warn(f"{name} partition table found but not readable")
                    return
        else:
            block_size = self._add_tsk_partitions()
            if block_size is None:
                # No partition table TSK reads (an MBR with no partition in it
                # included): a file system over the whole disk, as the raw
                # image source tries, and its words when there is none.
                self._add_volume((), self._media_spec, 0, self.media_size, "whole image")
                return
        self._check_partition_table(block_size)

    def _add_partition(self, label: str, spec: Any, offset: int | None, length: int | None,
                       description: str) -> None:
        if offset is not None and length is not None:
            self._partitions.append({"label": label, "offset": offset, "length": length})
            if offset + length > self.media_size and 0 < offset < self.media_size:
                # A partition that runs past the end of the disk (a truncated
                # image): its file system is read over the bytes the disk
                # holds, so TSK knows where they end, as in a raw image, and
                # fails the reads past it instead of the back-ends returning
                # zeros there as if they were content.
                spec = _new_spec(_I.TYPE_INDICATOR_DATA_RANGE, range_offset=offset,
                                 range_size=self.media_size - offset, parent=self._media_spec)
        self._add_volume((label,), spec, offset, length, description)

    def _check_partition_table(self, block_size: int | None) -> None:
        """The checks DiskImageSource makes on a raw disk's partition table
        (past the end, overlaps, GPT checksums), on the disk in the container."""
        if block_size is None:
            block_size = self._tsk_block_size()
        for message, segments in checks.partition_table(self._partitions, self.media_size, self.scheme,
                                                         self._read_media, block_size):
            self.warn(message, *segments)

    def _read_media(self, offset: int, length: int) -> bytes:
        try:
            return self._media.read(offset, length)
        except OSError:
            return b""

    def _open_tsk_partition_table(self) -> Any:
        table = _new_spec(_I.TYPE_INDICATOR_TSK_PARTITION, location="/", parent=self._media_spec)
        return resolver.Resolver.OpenFileSystem(table, resolver_context=self._context).GetTSKVolume()

    def _tsk_block_size(self) -> int:
        """The sector size TSK's volume system uses for this disk (what the raw
        image source reads the GPT with), 512 when TSK reads no table."""
        try:
            return int(self._open_tsk_partition_table().info.block_size)
        except DFVFS_ERRORS + (AttributeError,):
            return 512

    def _tsk_partitions(self) -> tuple[int, str, list[tuple[int, Any]]] | None:
        """The partition table as TSK's volume system reads it from the disk
        in the container, as the raw image source does: (block size, scheme,
        [(index in TSK's list, part)] of the allocated parts in TSK's order,
        which is by start sector, logical partitions included, tables and
        gaps left out); None when TSK finds no table or no partition in it."""
        try:
            tsk_volume = self._open_tsk_partition_table()
            # An explicit list: pytsk3's Volume_Info iterator can stop early or loop (dfVFS says so too).
            parts = list(tsk_volume)
            block_size = int(tsk_volume.info.block_size)
            scheme = _vs_name(tsk_volume.info.vstype)
        except DFVFS_ERRORS + (AttributeError,):
            return None
        allocated = [(index, part) for index, part in enumerate(parts) if part.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC]
        return (block_size, scheme, allocated) if allocated else None

    def _add_tsk_partition(self, number: int, index: int, part: Any, block_size: int, entry: str = "") -> None:
        """Part ``index`` of TSK's list as partition p<number>, read through
        dfVFS's TSK partition back-end, addressed by that index alone (dfVFS's
        names differ, "/p5" for the first logical partition, and its lookup by
        name can pick the wrong part of a table not in disk order)."""
        spec = _new_spec(_I.TYPE_INDICATOR_TSK_PARTITION, part_index=index, parent=self._media_spec)
        self._add_partition(f"p{number}", spec, int(part.start) * block_size, int(part.len) * block_size,
                            _partition_description(self.scheme, number, entry, _tsk_text(part.desc)))

    def _add_tsk_partitions(self) -> int | None:
        """The partitions of a table only TSK's volume system reads (MBR above
        all: no dfVFS analyzer reports one), through dfVFS's TSK partition
        back-end; TSK's block size, or None when TSK finds no table or no
        partition in it.

        Numbered as DiskImageSource numbers a raw image (allocated parts in
        TSK's order, logical partitions included, tables and gaps left out),
        so a disk's locators are the same raw or in a container."""
        listed = self._tsk_partitions()
        if listed is None:
            return None
        block_size, self.scheme, allocated = listed
        for number, (index, part) in enumerate(allocated, start=1):
            entry = _gpt_entry(part.slot_num) if self.scheme == "GPT" else ""
            self._add_tsk_partition(number, index, part, block_size, entry)
        return block_size

    def _add_gpt_partitions(self, root: Any) -> int | None:
        """The GPT partitions libvsgpt lists, numbered as the raw image source
        numbers the same disk: in TSK's order (by start sector), not in
        libvsgpt's (partition-table order), so a table whose entries are not
        in disk order gives the same p1, p2... and locators whichever
        container holds the disk. TSK's block size, or None when TSK reads
        no GPT on this disk.

        Each partition TSK lists is read through libvsgpt's entry for it (the
        same table entry, offset and length), or through dfVFS's TSK partition
        back-end when libvsgpt has none (an entry with a zero type GUID and a
        range, which TSK lists). What libvsgpt lists and TSK does not is kept,
        numbered after TSK's partitions, in disk order; when TSK reads no GPT
        here at all, libvsgpt's partitions are numbered in disk order, TSK's
        convention."""
        found = []
        for position, partition in enumerate(root.sub_file_entries):
            offset, length = _partition_extent(partition)
            found.append({"spec": partition.path_spec, "offset": offset, "length": length,
                          "entry": _gpt_entry_index(partition), "position": position})
        listed = self._tsk_partitions()
        number, block_size = 0, None
        if listed is not None and listed[1] == "GPT":
            block_size, _, allocated = listed
            # libvsgpt's partitions by (table entry, offset, length): a GPT may
            # hold 8,192 entries, and a search of the list for each is quadratic.
            by_extent: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
            for partition in found:
                by_extent.setdefault((partition["entry"], partition["offset"], partition["length"]),
                                     []).append(partition)
            matched: set[int] = set()
            for index, part in allocated:
                number += 1
                start, size = int(part.start) * block_size, int(part.len) * block_size
                candidates = by_extent.get((int(part.slot_num), start, size))
                match = candidates.pop(0) if candidates else None
                if match is None:
                    self._add_tsk_partition(number, index, part, block_size, _gpt_entry(part.slot_num))
                    continue
                matched.add(id(match))
                self._add_partition(f"p{number}", match["spec"], start, size,
                                    _partition_description("GPT", number, _gpt_entry(match["entry"]),
                                                           _tsk_text(part.desc)))
            found = [partition for partition in found if id(partition) not in matched]
            note = "not in The Sleuth Kit's listing"
        else:
            note = ""
        found.sort(key=lambda f: (f["offset"] is None, f["offset"] or 0, f["position"]))
        for partition in found:
            number += 1
            self._add_partition(f"p{number}", partition["spec"], partition["offset"], partition["length"],
                                _partition_description("GPT", number, _gpt_entry(partition["entry"]), note))
        return block_size

    def _volume_system_indicators(self, spec: Any) -> list[str]:
        try:
            return list(analyzer.Analyzer.GetVolumeSystemTypeIndicators(spec, resolver_context=self._context))
        except DFVFS_ERRORS:
            return []

    def _open_entry(self, spec: Any) -> Any:
        try:
            return resolver.Resolver.OpenFileEntry(spec, resolver_context=self._context)
        except DFVFS_ERRORS:
            return None

    def _add_volume(self, segments: tuple[str, ...], spec: Any, offset: int | None, length: int | None,
                    description: str, depth: int = 0) -> None:
        """What lives in one volume: a file system, an APFS container or LVM
        volume group (its volumes added in turn), or an encrypted volume."""
        where = " > ".join(segments) if segments else None
        volume = {"segments": segments, "key": "/".join(segments), "offset": offset, "length": length,
                  "description": description, "fs_name": None, "fs_type": None, "fs_parent": None,
                  "local_times": False}
        # Shadow copies (VSHADOW among the indicators) are read by shadow_copies.py over the NTFS volume.
        indicators = self._volume_system_indicators(spec)
        for container, prefix, kind_name in ((_I.TYPE_INDICATOR_APFS_CONTAINER, "apfs", "APFS container"),
                                             (_I.TYPE_INDICATOR_LVM, "lvm", "LVM volume group")):
            if container in indicators and depth < 4:
                self._add_container_volumes(segments, spec, offset, container, prefix, kind_name, depth)
                return
        encrypted = [name for indicator, name in _ENCRYPTED.items() if indicator in indicators]
        if encrypted:
            volume["description"] = f"{description} ({encrypted[0]}, encrypted)"
            self.warn(f"{encrypted[0]} encrypted volume: not decrypted, its files are not listed", *segments)
            self.volumes.append(volume)
            return
        self._open_file_system(volume, spec, where)
        self.volumes.append(volume)

    def _add_container_volumes(self, segments: tuple[str, ...], spec: Any, offset: int | None, container: str,
                               prefix: str, kind_name: str, depth: int) -> None:
        root = self._open_entry(_new_spec(container, location="/", parent=spec))
        if root is None:
            self.warn(f"{kind_name} found but not readable", *segments)
            return
        for sub in root.sub_file_entries:
            location = getattr(sub.path_spec, "location", "") or ""
            label = location.strip("/") or f"{prefix}?"
            sub_segments = segments + (label,)
            if container == _I.TYPE_INDICATOR_APFS_CONTAINER:
                try:
                    locked = bool(sub.IsLocked())
                except DFVFS_ERRORS:
                    locked = False
                if locked:
                    self.volumes.append({"segments": sub_segments, "key": "/".join(sub_segments),
                                         "offset": offset, "length": sub.size or None,
                                         "description": f"{kind_name} volume {label} (encrypted)",
                                         "fs_name": "APFS (encrypted)", "fs_type": None, "fs_parent": None,
                                         "local_times": False})
                    self.warn("encrypted APFS volume: not decrypted, its files are not listed", *sub_segments)
                    continue
                self._add_apfs_volume(sub_segments, sub.path_spec, offset, sub.size or None, kind_name, label)
            else:
                self._add_volume(sub_segments, sub.path_spec, offset, sub.size,
                                 f"{kind_name} volume {label}", depth + 1)

    def _add_apfs_volume(self, segments: tuple[str, ...], spec: Any, offset: int | None, size: int | None,
                         kind_name: str, label: str) -> None:
        volume = {"segments": segments, "key": "/".join(segments), "offset": offset, "length": size,
                  "description": f"{kind_name} volume {label}", "fs_name": None, "fs_type": None,
                  "fs_parent": None, "local_times": False}
        fs_spec = _new_spec(_I.TYPE_INDICATOR_APFS, location="/", parent=spec)
        try:
            resolver.Resolver.OpenFileSystem(fs_spec, resolver_context=self._context)
        except DFVFS_ERRORS as error:
            self.warn(f"APFS volume not readable: {_reason(error)}", *segments)
        else:
            volume.update(fs_name="APFS", fs_type=_I.TYPE_INDICATOR_APFS, fs_parent=spec)
        self.volumes.append(volume)

    def _open_file_system(self, volume: dict[str, Any], spec: Any, where: str | None) -> None:
        """TSK first (it lists HFS+ system files and reads exFAT where libyal
        does not); then the libyal back-end the analyzer names (APFS, XFS...).

        A volume on the disk itself (a partition, or the whole disk) gets the
        raw image source's checks and words (volume_checks): a file system
        larger than the disk holds, and no file system TSK recognises."""
        try:
            libyal = list(analyzer.Analyzer.GetFileSystemTypeIndicators(spec, resolver_context=self._context))
        except DFVFS_ERRORS:
            libyal = []
        candidates = [] if _I.TYPE_INDICATOR_APFS in libyal or _I.TYPE_INDICATOR_XFS in libyal else [_I.TYPE_INDICATOR_TSK]
        candidates += [t for t in libyal if t != _I.TYPE_INDICATOR_TSK]
        on_disk = len(volume["segments"]) <= 1 and volume["offset"] is not None
        label = volume["segments"][0] if volume["segments"] else ""
        failures = []
        for type_indicator in candidates:
            fs_spec = _new_spec(type_indicator, location="/", parent=spec)
            try:
                file_system = resolver.Resolver.OpenFileSystem(fs_spec, resolver_context=self._context)
                root = file_system.GetRootFileEntry()
                if root is None:
                    raise dfvfs_errors.BackEndError("no root directory")
            except DFVFS_ERRORS as error:
                failures.append(f"{type_indicator}: {_reason(error)}")
                continue
            volume.update(fs_type=type_indicator, fs_parent=spec,
                          fs_name=_file_system_name(type_indicator, file_system))
            volume["local_times"] = volume["fs_name"] in _LOCAL_TIME_FS
            if type_indicator == _I.TYPE_INDICATOR_TSK and on_disk:
                self._check_file_system_size(file_system, label, volume["offset"])
            if type_indicator in _TSK_NATIVE and failures:
                # A file system TSK reads, refused by TSK but opened by a libyal
                # back-end: not cross-checked (libfsfat opens dfir_ntfs
                # fat32_small, 2048-byte sectors, and lists an empty root where
                # a Test folder is).
                volume["substitute"] = True
                self.warn(f"The Sleuth Kit cannot read this {volume['fs_name']} file system ({failures[0]}); "
                          f"listed through dfVFS's {type_indicator} back-end instead, which may list less",
                          *volume["segments"])
            return
        reason = self._tsk_refusal(volume["offset"]) if on_disk and _I.TYPE_INDICATOR_TSK in candidates else None
        if reason is not None:
            # TSK's reason on the same bytes, as the raw image source gives it.
            message, segments = checks.no_file_system(label, volume["offset"], reason)
            self.warn(message, *segments)
            return
        place = f"partition {where}" if where else "the image"
        detail = f": {'; '.join(failures)}" if failures else ""
        self.warn(f"no file system dfVFS recognises in {place}{detail}", *volume["segments"])

    def _check_file_system_size(self, file_system: Any, label: str, offset: int) -> None:
        try:
            info = file_system.GetFsInfo().info
            declared = int(info.block_count) * int(info.block_size)
        except DFVFS_ERRORS + (AttributeError,):
            return
        problem = checks.file_system_size(label, offset, declared, self.media_size)
        if problem:
            message, segments = problem
            self.warn(message, *segments)

    def _tsk_refusal(self, offset: int) -> str | None:
        """Why pytsk3 opens no file system at ``offset`` of the disk, in the
        raw image source's words; None if it opens one after all."""
        try:
            pytsk3.FS_Info(_TskImage(self._media), offset=offset)
        except (OSError, IOError, RuntimeError) as error:
            return _tsk_reason(error)
        return None

    def has_file_systems(self) -> bool:
        """True when a file system was opened by a back-end that is the right
        one for it: TSK, or libfsapfs/libfsxfs for what TSK does not read. A
        FAT/NTFS/ext/HFS+ that TSK refused and only a libyal back-end opened
        does not count: for a raw image the TSK source's warning is then the
        more honest answer than a listing nothing checked."""
        return any(volume["fs_type"] and not volume.get("substitute") for volume in self.volumes)

    # -- walking ----------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        for volume in self.volumes:
            if not volume["fs_type"]:
                continue
            if volume["fs_type"] != _I.TYPE_INDICATOR_TSK:
                yield from self._walk_volume(volume)
                continue
            listed: set[Any] = set()
            for entry in self._walk_volume(volume):
                listed.add(identity(entry.address["spec"].get("inode"), entry.address["data_stream"]))
                yield entry
            yield from self._entries_only_tsk_lists(volume, listed)
            copies = self._shadows(volume) if shadow_copies.enabled(self.options) else None
            if copies is not None:
                yield from copies.entries()
                self.warnings.extend(copies.take_warnings())

    def _shadows(self, volume: dict[str, Any]) -> Any:
        """The shadow copies of an NTFS volume TSK reads (shadow_copies.py), opened once; None otherwise."""
        if volume["key"] not in self._shadow_copies:
            tsk = self._tsk_volume(volume) if volume["fs_type"] == _I.TYPE_INDICATOR_TSK else None
            self._shadow_copies[volume["key"]] = None if tsk is None else shadow_copies.open_for_volume(
                tsk.reader.read, tsk.reader.size, tsk.volumes[0]["fs"], self.display_name, volume["segments"],
                {"volume": volume["key"], "volume_offset": volume["offset"]}, volume["local_times"], self.warn)
        return self._shadow_copies[volume["key"]]

    def _walk_volume(self, volume: dict[str, Any]) -> Iterator[Entry]:
        spec = _new_spec(volume["fs_type"], location="/", parent=volume["fs_parent"])
        try:
            file_system = resolver.Resolver.OpenFileSystem(spec, resolver_context=self._context)
            root = file_system.GetRootFileEntry()
        except DFVFS_ERRORS as error:
            self.warn(f"cannot open the root directory: {_reason(error)}", *volume["segments"])
            return
        if root is None:
            self.warn("cannot open the root directory", *volume["segments"])
            return
        yield from self._walk(volume, root)

    def _entries_only_tsk_lists(self, volume: dict[str, Any], listed: set[Any]) -> Iterator[Entry]:
        """Deleted and orphan entries (and names dfVFS cannot decode), from
        pytsk3 over the same volume's bytes."""
        tsk = self._tsk_volume(volume)
        if tsk is None:
            return
        try:
            yield from tsk.entries_besides(listed)
        finally:
            # The same link or loop, met by both walks of the volume, is one warning.
            self.warnings.extend(w for w in tsk.take_warnings()
                                 if (w.locator, w.message) not in self._tree_warnings)

    def _tsk_volume(self, volume: dict[str, Any]) -> TskVolume | None:
        """The volume as pytsk3 sees it, opened once; None (with one warning)
        when TSK cannot open the file system dfVFS's TSK back-end opened."""
        key = volume["key"]
        if key not in self._tsk_volumes:
            try:
                # The walk's own (cached) file object is shared safely: every
                # read, ours and dfVFS's TSK image's, seeks first.
                data = resolver.Resolver.OpenFileObject(volume["fs_parent"], resolver_context=self._context)
                self._tsk_volumes[key] = TskVolume(_MediaReader(data, "volume"), self.display_name, volume)
            except DFVFS_ERRORS as error:
                self._tsk_volumes[key] = None
                self.warn(f"deleted entries not listed: {_reason(error)}", *volume["segments"])
        return self._tsk_volumes[key]

    def _walk(self, volume: dict[str, Any], root: Any) -> Iterator[Entry]:
        """The volume's tree, iteratively, each directory once (tree_walk)."""
        prefix = volume["segments"]

        def list_children(directory: Any, path: str) -> list[Any] | None:
            try:
                children = list(directory.sub_file_entries)
            except DFVFS_ERRORS as error:
                self.warn(f"directory not readable: {_reason(error)}", *prefix, path or "/")
                return None
            children.sort(key=lambda child: _safe_name(child))
            return children

        def visit(child: Any, parent: str) -> tree_walk.Visit | None:
            name = _safe_name(child)
            if not name or name in (".", ".."):
                return None
            path = f"{parent}/{name}"
            try:
                kind = _entry_kind(child)
                entries = list(self._entries_for(volume, child, path, kind))
            except DFVFS_ERRORS as error:
                self.warn(f"entry not readable: {_reason(error)}", *prefix, path)
                return None
            if kind != DIRECTORY:
                return tree_walk.Visit(entries)
            if record.hard_links and name == "$OrphanFiles" and _is_tsk_virtual_directory(child):
                # TSK lists it by searching every named path (as disk.py says): not in a graph.
                if entries:
                    entries[0].notes.append(tree_walk.ORPHAN_SEARCH_SKIPPED)
                self.warn(tree_walk.ORPHAN_SEARCH_SKIPPED, *prefix, path)
                return tree_walk.Visit(entries)
            return tree_walk.Visit(entries, tree_walk.Subdirectory(child, _identity(child), path))

        def warn(message: str, path: str) -> None:
            self.warn(message, *prefix, path)
            self._tree_warnings.add((self.locator(*prefix, path), message))

        record = tree_walk.WalkRecord()
        yield from tree_walk.walk(root, _identity(root), list_children, visit, warn, record)

    def _entries_for(self, volume: dict[str, Any], child: Any, path: str, kind: str) -> Iterator[Entry]:
        prefix = volume["segments"]
        spec = _spec_attributes(child.path_spec)
        inode = _inode(spec)
        times = _times(child, volume["local_times"])
        base = {"volume": volume["key"], "volume_offset": volume["offset"], "fs_type": volume["fs_type"],
                "spec": spec}
        streams = _data_streams(child) if kind in (FILE, DIRECTORY) else []
        if kind != FILE:
            entry = Entry(segments=prefix + (path,), path=path, kind=kind, size=0, inode=inode,
                          times=times, address=dict(base, data_stream=None))
            if kind == SYMLINK:
                try:
                    entry.link_target = child.link or None
                except DFVFS_ERRORS:
                    pass
            yield entry
            streams = [s for s in streams if s[0]]     # a directory's named streams (NTFS)
        elif not streams:
            # Every back-end lists a default stream for a file that has one; an
            # NTFS file with only named index attributes ($Extend/$ObjId, whose
            # $O fls lists) has none that dfVFS exposes: listed, not read.
            entry = Entry(segments=prefix + (path,), path=path, kind=FILE, size=0, inode=inode,
                          times=times, address=dict(base, data_stream=None, size=0))
            entry.notes.append("no data stream dfVFS exposes (only named index attributes): content not read")
            yield entry
            return
        for stream_name, size in streams:
            shown = f"{path}:{stream_name}" if stream_name else path
            address = dict(base, data_stream=stream_name or None, size=size)
            entry = Entry(segments=prefix + (shown,), path=shown, kind=FILE, size=size, inode=inode,
                          times=times, address=address)
            entry.opener = (lambda c=child, s=stream_name, t=volume["fs_type"]: self._open_data(c, s, t))
            yield entry

    def _open_data(self, file_entry: Any, stream_name: str, fs_type: str | None) -> IO[bytes]:
        try:
            file_object = file_entry.GetFileObject(data_stream_name=stream_name or "")
        except DFVFS_ERRORS as error:
            raise OSError(f"dfVFS cannot open the content: {_reason(error)}") from error
        if file_object is None:
            raise OSError(f"dfVFS has no data stream {stream_name or '(default)'} for this entry")
        return _MediaReader(file_object, "content", tsk=fs_type == _I.TYPE_INDICATOR_TSK).stream()

    def _volume(self, key: Any) -> dict[str, Any] | None:
        return next((v for v in self.volumes if v["key"] == key and v["fs_type"]), None)

    def _entry_at(self, volume: dict[str, Any], spec: dict[str, Any]) -> Any:
        attributes = {k: v for k, v in spec.items() if k in _SPEC_KEYS and k != "data_stream"}
        path_spec = _new_spec(volume["fs_type"], parent=volume["fs_parent"], **attributes)
        return resolver.Resolver.OpenFileEntry(path_spec, resolver_context=self._context)

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        volume = self._volume(address.get("volume"))
        if volume is None:
            raise OSError(f"no readable volume {address.get('volume')!r} in this image")
        if shadow_copies.ADDRESS_KEY in address:
            copies = self._shadows(volume)
            if copies is None:
                raise OSError("no shadow copies readable on this volume")
            return copies.open_address(address)
        if address.get("reader") == TSK_READER:
            tsk = self._tsk_volume(volume)
            if tsk is None:
                raise OSError("The Sleuth Kit cannot open this volume's file system over dfVFS's bytes")
            return tsk.open_address(address)
        try:
            file_entry = self._entry_at(volume, address.get("spec") or {})
        except DFVFS_ERRORS as error:
            raise OSError(f"dfVFS cannot find the entry again: {_reason(error)}") from error
        if file_entry is None:
            raise OSError("dfVFS cannot find the entry again")
        return self._open_data(file_entry, address.get("data_stream") or "", volume["fs_type"])

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        volume = self._volume(entry.address.get("volume"))
        if volume is not None and shadow_copies.ADDRESS_KEY in entry.address:
            copies = self._shadows(volume)
            return copies.find_sibling(entry, name) if copies is not None else None
        if volume is None or not name or "/" in name or entry.address.get("data_stream"):
            return None
        if entry.address.get("reader") == TSK_READER:
            # Listed by The Sleuth Kit over dfVFS's bytes (a name dfVFS skips):
            # its companions are looked up the same way.
            tsk = self._tsk_volume(volume)
            return tsk.find_sibling(entry, name) if tsk is not None else None
        location = (entry.address.get("spec") or {}).get("location")
        if not location:
            return None
        path = f"{location.rsplit('/', 1)[0]}/{name}"
        try:
            sibling = self._entry_at(volume, {"location": path})
            if sibling is None or not sibling.IsFile():
                return None
            spec = _spec_attributes(sibling.path_spec)
            size = _size(sibling)
        except DFVFS_ERRORS:
            return None
        address = {"volume": volume["key"], "volume_offset": volume["offset"], "fs_type": volume["fs_type"],
                   "spec": spec, "data_stream": None, "size": size}
        return Entry(segments=volume["segments"] + (path,), path=path, kind=FILE, size=size,
                     inode=_inode(spec), address=address,
                     opener=lambda: self._open_data(sibling, "", volume["fs_type"]))

    # -- whole-item facts -------------------------------------------------------------------

    def carvable_volumes(self) -> list[CarvableVolume]:
        """Volumes that lie on the virtual disk itself (a partition, or the
        whole disk); not those inside an APFS container or LVM group, whose
        extents are not one range of the disk. Each range once: the volumes
        of an unpartitioned APFS container share the container's."""
        found: list[CarvableVolume] = []
        for volume in self.volumes:
            if len(volume["segments"]) > 1 or volume["offset"] is None:
                continue
            offset = int(volume["offset"])
            length = min(int(volume["length"] or self.media_size - offset), self.media_size - offset)
            if length > 0 and not any((v.offset, v.length) == (offset, length) for v in found):
                found.append(CarvableVolume(tuple(volume["segments"]), offset, length, volume["fs_name"]))
        return with_unpartitioned_space(found, self.media_size)

    def read_media(self, offset: int, length: int) -> bytes:
        return self._media.read(offset, length)

    def evidence_streams(self) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        def opener() -> IO[bytes]:
            # A context of its own: the walk's cached file objects keep their positions.
            context = resolver_context.Context()
            try:
                media = resolver.Resolver.OpenFileObject(self._media_spec, resolver_context=context)
            except DFVFS_ERRORS as error:
                raise OSError(f"media not readable: {_reason(error)}") from error
            return _MediaReader(media, f"{_FORMAT_NAMES[self.kind]} media").stream()

        return [("media", opener)]

    def host_files(self) -> list[str]:
        files = [os.path.abspath(self.path)]
        if self.kind == "raw":
            files = _raw_segments(self.path)
        else:
            files += [f for f in self._referenced if f not in files]
        return files

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "format": _FORMAT_NAMES[self.kind],
            "reader": "dfVFS",
            "segments": [os.path.basename(f) for f in self.host_files()],
            "media_size": self.media_size,
            "partition_scheme": self.scheme,
            "volumes": [],
        }
        for volume in self.volumes:
            info["volumes"].append({
                "label": " > ".join(volume["segments"]) or "(whole image)",
                "offset": volume["offset"], "length": volume["length"],
                "description": volume["description"], "file_system": volume["fs_name"],
                "back_end": volume["fs_type"],
            })
            copies = self._shadows(volume) if volume["fs_type"] else None
            if copies is not None:
                info["volumes"][-1]["shadow_copies"] = copies.describe(shadow_copies.enabled(self.options))
        return info

    def describe_after_walk(self) -> dict[str, Any] | None:
        return self.describe() if any(self._shadow_copies.values()) else None

    def close(self) -> None:
        try:
            self._context.Empty()
        except DFVFS_ERRORS:
            pass


# -- helpers ------------------------------------------------------------------------------------


def _partition_extent(partition: Any) -> tuple[int | None, int | None]:
    spec = partition.path_spec
    offset = getattr(spec, "start_offset", None)
    for getter in ("GetGPTPartition", "GetAPMPartition"):
        if offset is None and hasattr(partition, getter):
            try:
                offset = getattr(partition, getter)().volume_offset
            except DFVFS_ERRORS + (AttributeError,):
                offset = None
    try:
        length = partition.size
    except DFVFS_ERRORS:
        length = None
    return (int(offset) if offset is not None else None), (int(length) if length is not None else None)


def _gpt_entry_index(partition: Any) -> int | None:
    """libvsgpt's index of the partition's entry in the table (0 for the first)."""
    try:
        return int(partition.GetGPTPartition().entry_index)
    except DFVFS_ERRORS + (AttributeError,):
        return None


def _gpt_entry(index: int | None) -> str:
    """A GPT table entry as gdisk and fdisk number it (mmls's slot + 1)."""
    return f"table entry {int(index) + 1}" if index is not None and int(index) >= 0 else ""


def _tsk_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _partition_description(scheme: str | None, number: int, entry: str, text: str) -> str:
    """"GPT partition p1, table entry 2: name": the label, for a GPT the
    table entry (gdisk's and fdisk's partition number, which is not the
    label's when the entries are not in disk order), and TSK's description
    (an MBR partition's type, a GPT partition's name)."""
    description = f"{scheme} partition p{number}"
    if entry:
        description += f", {entry}"
    return f"{description}: {text}" if text else description


def _file_system_name(type_indicator: str, file_system: Any) -> str:
    if type_indicator == _I.TYPE_INDICATOR_TSK:
        try:
            from .disk import _TSK_FS_TYPES

            fs_type = file_system.GetFsType()
            return _TSK_FS_TYPES.get(fs_type, str(fs_type))
        except (ImportError, *DFVFS_ERRORS):
            return "TSK"
    return _LIBYAL_FS_NAMES.get(type_indicator, type_indicator)


def _safe_name(file_entry: Any) -> str:
    try:
        return file_entry.name or ""
    except DFVFS_ERRORS:
        return ""


def _entry_kind(file_entry: Any) -> str:
    entry_type = file_entry.entry_type
    if entry_type == _I.FILE_ENTRY_TYPE_FILE:
        return FILE
    if entry_type == _I.FILE_ENTRY_TYPE_DIRECTORY:
        return DIRECTORY
    if entry_type == _I.FILE_ENTRY_TYPE_LINK:
        return SYMLINK
    if entry_type is None and _is_tsk_virtual_directory(file_entry):
        return DIRECTORY         # $OrphanFiles, as disk.py and fls show it
    return OTHER


def _is_tsk_virtual_directory(file_entry: Any) -> bool:
    try:
        import pytsk3

        meta = file_entry.GetTSKFile().info.meta
        return meta is not None and meta.type == pytsk3.TSK_FS_META_TYPE_VIRT_DIR
    except (ImportError, AttributeError, *DFVFS_ERRORS):
        return False


def _spec_attributes(path_spec: Any) -> dict[str, Any]:
    return {key: value for key in _SPEC_KEYS
            if isinstance(value := getattr(path_spec, key, None), (str, int)) and key != "data_stream"}


def _inode(spec: dict[str, Any]) -> str | None:
    for key in ("inode", "mft_entry", "identifier"):
        if key in spec:
            return str(spec[key])
    return None


def _identity(file_entry: Any) -> Any:
    spec = _spec_attributes(file_entry.path_spec)
    for key in ("inode", "mft_entry", "identifier"):
        if key in spec:
            return spec[key]
    return spec.get("location")


def _size(file_entry: Any) -> int:
    try:
        return int(file_entry.size or 0)
    except DFVFS_ERRORS:
        return 0


def _data_streams(file_entry: Any) -> list[tuple[str, int]]:
    """(name, size) of each data stream; "" is the default one. HFS+'s
    "DECOMP" (compressed content TSK shows as the default fork) is left out."""
    streams = []
    try:
        for data_stream in file_entry.data_streams:
            name = data_stream.name or ""
            if name == "DECOMP":
                continue
            size = getattr(data_stream, "size", None) or 0
            if not size:
                # Several back-ends leave the stream size at 0: ask the entry
                # (default data) or the opened stream itself.
                size = _size(file_entry) if not name else _stream_size(file_entry, name)
            streams.append((name, int(size)))
    except DFVFS_ERRORS:
        return []
    return streams


def _stream_size(file_entry: Any, name: str) -> int:
    try:
        file_object = file_entry.GetFileObject(data_stream_name=name)
        return int(file_object.get_size()) if file_object is not None else 0
    except DFVFS_ERRORS:
        return 0


def _times(file_entry: Any, local_only: bool) -> dict[str, str | None]:
    """UTC ISO strings. FAT keeps local wall-clock time without a zone (libfsfat
    says so; TSK converts it with the process zone, pinned to UTC): those
    values go under "<key>_local" with "timezone": "unknown", as disk.py does."""
    times: dict[str, str | None] = {}
    zone_unknown = False
    for key, attribute in _TIME_ATTRIBUTES:
        try:
            value = getattr(file_entry, attribute)
        except DFVFS_ERRORS + (AttributeError,):
            continue
        if value is None:
            continue
        try:
            micros = value.GetPlasoTimestamp()
        except DFVFS_ERRORS + (AttributeError, OverflowError):
            micros = None
        if not micros:
            continue
        text = iso_or_none(from_unix_seconds(micros / 1e6))
        if text is None:
            continue
        if local_only or getattr(value, "is_local_time", False):
            times[key + "_local"] = text[:-6]    # the "+00:00" cannot be vouched for
            zone_unknown = True
        else:
            times[key] = text
    if zone_unknown:
        times["timezone"] = "unknown"
    return times


def _raw_segments(path: str) -> list[str]:
    from .disk import split_segments

    return [os.path.abspath(p) for p in split_segments(path)]


_MAX_PARENTS = 16      # a QCOW/VHD chain longer than this is refused (a loop of parents)


def _checked_references(path: str, kind: str) -> list[str]:
    """Every host file dfVFS would open for this image besides the image
    itself, as dfVFS resolves it (its VMDKFile, QCOWFile and VHDIFile keep
    only the last part of a referenced name and look for it in the image's
    folder), each checked: the name as the evidence gives it has no folder
    part (dfVFS would read a same-named file other than the one named), and it
    is a regular file whose real path is in the image's folder. Anything else:
    EvidenceError naming the reference, before dfVFS opens anything."""
    folder = os.path.dirname(path)
    if kind == "raw":
        refused: list[str] = []
        from .disk import split_segments

        split_segments(path, refused)
        if refused:     # dfVFS's own glob would take the refused name as a segment
            raise EvidenceError(refused[0])
        return []
    names = {"vmdk": _vmdk_extent_names, "qcow": _qcow_parent_names, "vhd": _vhd_parent_names}.get(kind)
    if names is None:
        return []
    checked: list[str] = []
    current = path
    for _ in range(_MAX_PARENTS):
        try:
            found = names(current)
        except ConfinementError as error:
            raise EvidenceError(f"{_FORMAT_NAMES[kind]} image refused: {error}") from None
        except OSError:
            return checked      # not readable: dfVFS says so, in its own words, when it opens it
        if not found:
            return checked
        for declared, last_part in found:
            what = "extent" if kind == "vmdk" else "parent image"
            if last_part != declared:
                raise EvidenceError(f"{_FORMAT_NAMES[kind]} {what} {declared[:200]!r} names a folder: refused "
                                    f"(dfVFS would read {last_part[:100]!r} beside the image instead, and "
                                    "nothing outside the image's folder is read)")
            if not os.path.lexists(os.path.join(folder, last_part)):
                continue        # dfVFS reports the missing file (or, a renamed sparse VMDK, uses the image)
            try:
                host = confined_file(last_part, folder)
            except ConfinementError as error:
                raise EvidenceError(f"{_FORMAT_NAMES[kind]} {what} refused: {error}") from None
            if host not in checked and host != path:
                checked.append(host)
        if kind == "vmdk":
            return checked
        current = checked[-1] if checked and checked[-1] != current else None
        if current is None:
            return checked
    raise EvidenceError(f"{_FORMAT_NAMES[kind]} chain of parent images longer than {_MAX_PARENTS}: refused")


def _library_names(module: str, path: str, make: str, read: Callable[[Any], list[tuple[str, str]]]
                   ) -> list[tuple[str, str]]:
    """``read(handle)`` over the image opened by the libyal binding (from a
    checked, non-blocking descriptor); [] when it is not that format."""
    import importlib

    handle = getattr(importlib.import_module(module), make)()
    with open_confined(path) as stream:
        try:
            handle.open_file_object(stream)
        except (OSError, IOError, ValueError):
            return []       # not this format, or damaged: dfVFS says so when it opens it
        try:
            return read(handle)
        finally:
            handle.close()


def _last_part(name: str) -> str:
    return name.rpartition("/")[2] if "/" in name else name.rpartition("\\")[2]


def _vmdk_extent_names(path: str) -> list[tuple[str, str]]:
    """(name as the descriptor gives it, the part dfVFS keeps) per extent."""
    return _library_names("pyvmdk", path, "handle", lambda handle: [
        (extent.filename or "", _last_part(extent.filename or "")) for extent in handle.extent_descriptors])


def _qcow_parent_names(path: str) -> list[tuple[str, str]]:
    def read(handle: Any) -> list[tuple[str, str]]:
        name = handle.backing_filename
        if not name:
            return []
        name = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else str(name)
        return [(name, _last_part(name))]

    return _library_names("pyqcow", path, "file", read)


def _vhd_parent_names(path: str) -> list[tuple[str, str]]:
    """A differencing VHD names its parent with a Windows path; dfVFS keeps
    the part after the last backslash and reads it beside the image."""
    def read(handle: Any) -> list[tuple[str, str]]:
        if not handle.parent_identifier:
            return []
        last = str(handle.parent_filename or "").rpartition("\\")[2]
        return [(last, _last_part(last))]

    return _library_names("pyvhdi", path, "file", read)
