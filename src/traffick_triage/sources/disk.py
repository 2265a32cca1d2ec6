"""Disk images through The Sleuth Kit (pytsk3): raw/dd, split raw (.001...)
and E01 (libewf), MBR/GPT partitions, and every file system TSK reads,
deleted and orphan entries included (dfVFS's TSK code skips those on
purpose; see FIELD-NOTES.md). NTFS alternate data streams are separate
entries: ``/file.txt:stream``."""

from __future__ import annotations

import bisect
import glob
import os
import re
from typing import IO, Any, Iterator

import pytsk3

from .. import locator as loc
from ..timeutil import from_unix_seconds, iso_or_none
from .base import (DIRECTORY, FILE, OTHER, SYMLINK, CarvableVolume, Entry, EvidenceError, EvidenceSource,
                   RandomAccessReader, with_unpartitioned_space)
from . import fat_chains, tree_walk
from . import volume_checks as checks
from .confine import ConfinementError, confined_file, open_confined



def _fat_directory_loop(fat: fat_chains.FatLayout, read: Any, directory: "_LazyDirectory") -> tuple[int, int] | None:
    """Whether the FAT chain of a folder (its first cluster from TSK's first data run) loops."""
    try:
        first_sector = next((int(run.addr) for attribute in directory.file for run in attribute), None)
    except (OSError, IOError, RuntimeError):
        return None
    cluster = fat_chains.cluster_of_sector(fat, first_sector) if first_sector else None
    return fat_chains.chain_loop(fat, read, cluster) if cluster is not None else None


class _LazyDirectory:
    """A directory child, opened as a directory only when the walk descends
    (a second link to a walked directory is never opened)."""

    def __init__(self, tsk_file: Any) -> None:
        self.file = tsk_file

    def __iter__(self) -> Iterator[Any]:
        return iter(self.file.as_directory())


class _ImageReader:
    """Random access over the image's bytes, whatever the container."""

    size: int

    def read(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SplitRawReader(_ImageReader):
    """A raw image, possibly split into segments read as one."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self._files = _open_segments(paths)
        self._starts: list[int] = []
        total = 0
        for handle in self._files:
            self._starts.append(total)
            total += os.fstat(handle.fileno()).st_size
        self.size = total

    def read(self, offset: int, length: int) -> bytes:
        # pread: no shared file position, and a read within one segment (nearly
        # all of them) is one system call and no copy on our side.
        parts = []
        while length > 0 and offset < self.size:
            index = bisect.bisect_right(self._starts, offset) - 1
            end = self._starts[index + 1] if index + 1 < len(self._starts) else self.size
            chunk = os.pread(self._files[index].fileno(), min(length, end - offset), offset - self._starts[index])
            if not chunk:
                break
            parts.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        for handle in self._files:
            handle.close()


def _open_segments(paths: list[str]) -> list[IO[bytes]]:
    """Each segment opened without blocking and checked to be a regular file
    (split_segments checked the names; this checks what was opened)."""
    files: list[IO[bytes]] = []
    try:
        for path in paths:
            files.append(open_confined(path))
    except ConfinementError as error:
        for handle in files:
            handle.close()
        raise EvidenceError(f"image segment refused: {error}") from None
    return files


class EwfReader(_ImageReader):
    """E01/Ex01 media through libewf (pyewf), all segments."""

    def __init__(self, paths: list[str]) -> None:
        import pyewf

        self.paths = paths
        _check_segment_sequence(paths)
        self._files = _open_segments(paths)
        self._handle = pyewf.handle()
        try:
            self._handle.open_file_objects(self._files)
        except (OSError, IOError) as error:
            for handle in self._files:
                handle.close()
            raise EvidenceError(f"libewf cannot open the E01 set ({len(paths)} segment(s)): "
                                f"{error}; is a segment missing or corrupt?") from error
        self.size = self._handle.get_media_size()

    def read(self, offset: int, length: int) -> bytes:
        try:
            return self._handle.read_buffer_at_offset(length, offset)
        except (OSError, IOError, RuntimeError) as error:
            # libewf's message is a stack of function names; keep the first cause.
            detail = str(error).split(". ")[0].split(": ", 1)[-1]
            raise OSError(f"E01 media not readable at offset {offset}: {detail}") from error

    def stored_hashes(self) -> dict[str, str]:
        hashes = {}
        for name, key in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
            try:
                value = self._handle.get_hash_value(name)
            except (OSError, IOError, KeyError):
                value = None
            if value:
                hashes[key] = value.strip().lower()
        return hashes

    def headers(self) -> dict[str, str]:
        try:
            values = self._handle.get_header_values()
        except (OSError, IOError):
            return {}
        return {str(k): str(v) for k, v in sorted(values.items()) if v}

    def close(self) -> None:
        self._handle.close()
        for handle in self._files:
            handle.close()


def _check_segment_sequence(paths: list[str]) -> None:
    """E01, E02... must all be there: libewf opens an incomplete set and only
    fails when a read reaches the gap, so say it up front, naming the segment."""
    numbers = []
    for path in paths:
        extension = os.path.splitext(path)[1]
        if re.fullmatch(r"\.[EeLs][0-9]{2}", extension):
            numbers.append(int(extension[2:]))
    for expected, (number, path) in enumerate(zip(sorted(numbers), sorted(paths)), start=1):
        if number != expected:
            stem = os.path.splitext(os.path.basename(path))[0]
            raise EvidenceError(f"E01 segment {stem}.E{expected:02d} is missing from the set "
                                f"(found {', '.join(os.path.basename(p) for p in sorted(paths))})")


class _TskImage(pytsk3.Img_Info):
    """Hands our reader to TSK as an external image."""

    def __init__(self, reader: _ImageReader) -> None:
        self._reader = reader
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        pass

    def read(self, offset: int, size: int) -> bytes:
        return self._reader.read(offset, size)

    def get_size(self) -> int:
        return self._reader.size


def split_segments(path: str, refused: list[str] | None = None) -> list[str]:
    """The segments of a split raw image named like ``disk.001`` (or ``.aa``).

    Only regular files whose real path is in the first segment's folder are
    segments: the set stops at the first name that is a FIFO (whose open
    would block for ever), a device (whose read never ends) or a symlink out
    of the folder; the reason, naming it, goes to ``refused`` for a warning."""
    match = re.search(r"\.(\d{3})$", path)
    if not match or match.group(1) != "001":
        return [path]
    stem = path[: match.start()]
    folder = os.path.dirname(os.path.abspath(path))
    segments = []
    number = 1
    while os.path.lexists(f"{stem}.{number:03d}"):
        candidate = f"{stem}.{number:03d}"
        if number > 1:
            try:
                confined_file(os.path.basename(candidate), folder)
            except ConfinementError as error:
                if refused is not None:
                    refused.append(f"split segment {os.path.basename(candidate)} refused: {error}; "
                                   "the image is read up to the segment before it")
                break
        segments.append(candidate)
        number += 1
    return segments


_GAP_NAMED = 10          # missing and stranded segments a gap warning names; the rest are counted


def split_segment_gap(path: str, segments: list[str]) -> str | None:
    """The missing segment(s) of a split raw image whose numbered siblings go
    on past a gap (disk.001, disk.003: disk.002 missing). split_segments
    stops at the gap, so the image is read as the segments before it; the
    ones after cannot be placed (their offsets depend on the missing bytes)."""
    match = re.search(r"\.(\d{3})$", path)
    if not match or match.group(1) != "001":
        return None
    stem = path[: match.start()]
    numbers = set()
    for sibling in glob.glob(glob.escape(stem) + ".[0-9][0-9][0-9]"):
        numbers.add(int(sibling[-3:]))
    after = sorted(n for n in numbers if n > len(segments))
    if not after:
        return None
    missing = [n for n in range(len(segments) + 1, after[-1]) if n not in numbers]

    def names(values: list[int]) -> str:
        base = os.path.basename(stem)
        shown = ", ".join(f"{base}.{n:03d}" for n in values[:_GAP_NAMED])
        return shown + (f" and {len(values) - _GAP_NAMED} more" if len(values) > _GAP_NAMED else "")

    size = sum(os.path.getsize(s) for s in segments)
    return (f"split raw image: segment{'s' if len(missing) > 1 else ''} {names(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing from the set; only the {len(segments)} segment(s) "
            f"before the gap are read ({size} bytes), and {names(after)} after it cannot be placed: "
            "files and partitions past the gap are read short or not at all")


def _confined_ewf_segments(paths: list[str], first: str, refused: list[str]) -> list[str]:
    """The E01 set's files that are regular files in the first segment's folder."""
    folder = os.path.dirname(os.path.abspath(first))
    kept = []
    for path in paths:
        if os.path.abspath(path) == os.path.abspath(first):
            kept.append(path)
            continue
        try:
            confined_file(os.path.basename(path), folder)
        except ConfinementError as error:
            refused.append(f"E01 segment {os.path.basename(path)} refused: {error}")
            continue
        kept.append(path)
    return kept


def ewf_segments(path: str) -> list[str]:
    import pyewf

    try:
        found = pyewf.glob(path)
    except (OSError, IOError):
        found = [path]
    # libewf's glob stops at the first gap (E01, E03: only E01), so a missing
    # middle segment would go unnoticed until a read fails: list the
    # numbered siblings too and let _check_segment_sequence name the gap.
    stem, extension = os.path.splitext(path)
    if re.fullmatch(r"\.[EeLs]01", extension):
        found = list(found) + glob.glob(glob.escape(stem) + extension[:2] + "[0-9][0-9]")
    return sorted(set(found))


_TSK_FS_TYPES = {
    getattr(pytsk3, name): label for name, label in (
        ("TSK_FS_TYPE_NTFS", "NTFS"), ("TSK_FS_TYPE_FAT12", "FAT12"), ("TSK_FS_TYPE_FAT16", "FAT16"),
        ("TSK_FS_TYPE_FAT32", "FAT32"), ("TSK_FS_TYPE_EXFAT", "exFAT"), ("TSK_FS_TYPE_EXT2", "ext2"),
        ("TSK_FS_TYPE_EXT3", "ext3"), ("TSK_FS_TYPE_EXT4", "ext4"), ("TSK_FS_TYPE_HFS", "HFS+"),
        ("TSK_FS_TYPE_ISO9660", "ISO9660"), ("TSK_FS_TYPE_UFS1", "UFS1"), ("TSK_FS_TYPE_UFS2", "UFS2"),
        ("TSK_FS_TYPE_YAFFS2", "YAFFS2"), ("TSK_FS_TYPE_APFS", "APFS"), ("TSK_FS_TYPE_FFS1", "FFS1"),
    ) if hasattr(pytsk3, name)
}


class DiskImageSource(EvidenceSource):
    """A raw, split-raw or E01 image: volumes and file systems via TSK."""

    def __init__(self, path: str, display_name: str, container: str,
                 options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name)
        self.kind = container
        self.options = options or {}
        self._shadow_copies: dict[int, Any] = {}     # volume offset -> shadow_copies.ShadowCopies or None
        refused: list[str] = []
        if container == "ewf":
            self.segments = _confined_ewf_segments(ewf_segments(path), path, refused)
        else:
            self.segments = split_segments(path, refused)
        for message in refused:
            self.warn(message)
        self.reader = self._open_reader()
        if container != "ewf":
            gap = split_segment_gap(path, self.segments)
            if gap:
                self.warn(gap)
        self._image = _TskImage(self.reader)
        self.volumes = self._find_volumes()

    def _open_reader(self) -> _ImageReader:
        return EwfReader(self.segments) if self.kind == "ewf" else SplitRawReader(self.segments)

    # -- volumes and file systems -------------------------------------------------

    def _find_volumes(self) -> list[dict[str, Any]]:
        """Each volume: label ("p2" or "" for an unpartitioned image), offset,
        and the opened TSK file system (or None with a warning)."""
        volumes: list[dict[str, Any]] = []
        try:
            volume_system = pytsk3.Volume_Info(self._image)
        except (OSError, IOError, RuntimeError):
            volume_system = None
        if volume_system is None:
            fs = self._open_fs(0, "")
            volumes.append({"label": "", "offset": 0, "length": self.reader.size,
                            "description": "whole image", "fs": fs, "scheme": None})
            return _mark_local_time_volumes(volumes)
        block_size = volume_system.info.block_size
        scheme = _vs_name(volume_system.info.vstype)
        number = 0
        for part in volume_system:
            if not part.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC:
                continue
            number += 1
            label = f"p{number}"
            offset = part.start * block_size
            description = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else str(part.desc)
            volumes.append({"label": label, "offset": offset, "length": part.len * block_size,
                            "description": description, "scheme": scheme,
                            "fs": self._open_fs(offset, label)})
        self._check_partition_table(volumes, scheme, block_size)
        return _mark_local_time_volumes(volumes)

    def _check_partition_table(self, volumes: list[dict[str, Any]], scheme: str, block_size: int) -> None:
        """What TSK accepts silently but an examiner must know (volume_checks:
        the same checks a disk inside a container gets)."""
        for message, segments in checks.partition_table(volumes, self.reader.size, scheme, self.reader.read,
                                                         block_size):
            self.warn(message, *segments)

    def _open_fs(self, offset: int, label: str) -> Any:
        try:
            fs = pytsk3.FS_Info(self._image, offset=offset)
        except (OSError, IOError, RuntimeError) as error:
            self.warn(*_message(checks.no_file_system(label, offset, _tsk_reason(error))))
            return None
        declared = int(fs.info.block_count) * int(fs.info.block_size)
        problem = checks.file_system_size(label, offset, declared, self.reader.size)
        if problem:
            self.warn(*_message(problem))
        return fs

    # -- walking -------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        for volume in self.volumes:
            fs = volume["fs"]
            if fs is None:
                continue
            prefix = (volume["label"],) if volume["label"] else ()
            try:
                root = fs.open_dir(path="/")
            except (OSError, IOError, RuntimeError) as error:
                self.warn(f"cannot open the root directory: {error}", *prefix)
                continue
            yield from self._walk(fs, volume, root, prefix)
            copies = self._shadows(volume) if shadow_copies.enabled(self.options) else None
            if copies is not None:
                yield from copies.entries()
                self.warnings.extend(copies.take_warnings())

    def _shadows(self, volume: dict[str, Any]) -> Any:
        """The volume's shadow copies (NTFS with a VSS header), opened once; None otherwise."""
        offset = int(volume["offset"])
        if offset not in self._shadow_copies:
            self._shadow_copies[offset] = shadow_copies.open_for_volume(
                lambda at, size: self.reader.read(offset + at, size), int(volume["length"] or 0), volume["fs"],
                self.display_name, self._volume_prefix(volume), {"volume_offset": volume["offset"]},
                volume.get("local_times", False), self.warn)
        return self._shadow_copies[offset]

    def _walk(self, fs: Any, volume: dict[str, Any], root: Any, prefix: tuple[str, ...]) -> Iterator[Entry]:
        """The volume's tree from ``root``, iteratively, each directory inode
        once (tree_walk). The root is its own first ancestor: an entry
        pointing back to it (a crafted or damaged NTFS index) is a loop, not
        a second root."""
        def list_children(directory: Any, path: str) -> list[Any] | None:
            try:
                return list(directory)
            except (OSError, IOError, RuntimeError) as error:
                self.warn(f"directory not readable: {error}", *prefix, path or "/")
                return None

        record = tree_walk.WalkRecord()
        fat = self._fat_layout(fs, volume)
        if fat is not None and fat.root_cluster:
            loop = fat_chains.chain_loop(fat, self.reader.read, fat.root_cluster)
            if loop:
                self.warn(fat_chains.loop_message(loop), *prefix, "/")

        def visit(child: Any, parent: str) -> tree_walk.Visit | None:
            found = self._visit(fs, volume, prefix, child, parent)
            if fat is not None and found is not None and found.subdirectory is not None:
                loop = _fat_directory_loop(fat, self.reader.read, found.subdirectory.handle)
                if loop:
                    found.entries[0].notes.append(fat_chains.loop_message(loop))
                    self.warn(fat_chains.loop_message(loop), *prefix, found.subdirectory.path)
            if found is not None and found.subdirectory is not None and record.hard_links \
                    and _is_orphan_directory(child):
                # $OrphanFiles is listed by TSK's own recursive search of
                # every named path (C code, no way to stop it), 2^N paths in
                # a graph of N doubly linked folders: not opened then.
                found.entries[0].notes.append(tree_walk.ORPHAN_SEARCH_SKIPPED)
                self.warn(tree_walk.ORPHAN_SEARCH_SKIPPED, *prefix, found.subdirectory.path)
                return tree_walk.Visit(found.entries)
            return found

        yield from tree_walk.walk(root, int(fs.info.root_inum), list_children, visit,
                                  lambda message, path: self.warn(message, *prefix, path), record)

    def _fat_layout(self, fs: Any, volume: dict[str, Any]) -> fat_chains.FatLayout | None:
        if _TSK_FS_TYPES.get(fs.info.ftype) not in ("FAT12", "FAT16", "FAT32"):
            return None
        return fat_chains.layout(self.reader.read, self._fs_offset(volume))

    def _fs_offset(self, volume: dict[str, Any]) -> int:
        """Where the volume's file system starts in self.reader's bytes."""
        return int(volume["offset"])

    def _visit(self, fs: Any, volume: dict[str, Any], prefix: tuple[str, ...], child: Any,
               parent: str) -> tree_walk.Visit | None:
        name_info = child.info.name
        raw = name_info.name
        if raw in (b".", b"..") or raw is None:
            return None
        name = loc.decode_name(raw)
        path = f"{parent}/{name}"
        meta = child.info.meta
        allocated = bool(name_info.flags & pytsk3.TSK_FS_NAME_FLAG_ALLOC)
        inode = name_info.meta_addr
        if meta is None and inode:
            # Orphans and some deleted names come without their metadata;
            # TSK can still open it by address (as fls and icat do).
            try:
                child = fs.open_meta(inode=inode)
                meta = child.info.meta
            except (OSError, IOError, RuntimeError):
                pass
        kind = _entry_kind(name_info, meta)
        entries = list(self._entries_for(child, volume, prefix, path, kind, allocated, inode, meta))
        # Deleted directories are descended too: their entries are what fls lists.
        if kind != DIRECTORY or meta is None:
            return tree_walk.Visit(entries)
        if not allocated and meta.flags & pytsk3.TSK_FS_META_FLAG_ALLOC:
            # A deleted name whose inode is now another, allocated directory
            # (fls's "(realloc)"): what is under it belongs to that directory
            # and is listed at its own path; fls does not descend here either.
            entries[0].notes.append("deleted name of a directory whose inode was reused by an allocated "
                                    "directory: its contents are listed under that directory")
            return tree_walk.Visit(entries)
        return tree_walk.Visit(entries, tree_walk.Subdirectory(_LazyDirectory(child), int(inode), path))

    def _entries_for(self, child: Any, volume: dict[str, Any], prefix: tuple[str, ...], path: str,
                     kind: str, allocated: bool, inode: int, meta: Any) -> Iterator[Entry]:
        times = _tsk_times(meta, local_only=volume.get("local_times", False))
        base = {"volume_offset": volume["offset"], "inode": inode}
        streams = _data_streams(child) if meta is not None and kind in (FILE, DIRECTORY) else []
        if kind != FILE or meta is None:
            entry = Entry(segments=prefix + (path,), path=path, kind=kind, size=0,
                          allocated=allocated, inode=str(inode), times=times, address=base)
            if kind == FILE and meta is None:
                entry.notes.append("deleted entry without metadata: content not recoverable")
            if kind == SYMLINK and meta is not None and getattr(meta, "link", None):
                entry.link_target = loc.decode_name(meta.link)
            yield entry
            # A directory's named streams (NTFS) are content of their own.
            streams = [s for s in streams if s[0] is not None]
        elif not streams:     # FAT, ext, HFS+: the default data, no named attributes
            streams = [(None, None, None, int(meta.size))]
        for stream_name, attr_type, attr_id, size in streams:
            shown = path if not stream_name else f"{path}:{stream_name}"
            address = dict(base, attr_type=attr_type, attr_id=attr_id, size=size)
            entry = Entry(segments=prefix + (shown,), path=shown, kind=FILE, size=size,
                          allocated=allocated, inode=_inode_label(inode, attr_type, attr_id, stream_name),
                          times=times, address=address)
            entry.opener = (lambda f=child, a=address: self._open_tsk_file(f, a))
            if not allocated:
                entry.notes.append("deleted: content may be overwritten")
            yield entry

    def _open_tsk_file(self, tsk_file: Any, address: dict[str, Any]) -> IO[bytes]:
        attr_type, attr_id = address.get("attr_type"), address.get("attr_id")
        def read_at(offset: int, size: int) -> bytes:
            try:
                if attr_type is None:
                    return tsk_file.read_random(offset, size)
                return tsk_file.read_random(offset, size, attr_type, attr_id)
            except (OSError, IOError, RuntimeError) as error:
                raise OSError(f"The Sleuth Kit cannot read the content at offset {offset}: "
                              f"{_tsk_reason(error)}") from error

        return RandomAccessReader(int(address["size"]), read_at)

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        volume = next(v for v in self.volumes if v["offset"] == address["volume_offset"])
        if shadow_copies.ADDRESS_KEY in address:
            copies = self._shadows(volume)
            if copies is None:
                raise OSError("no shadow copies readable on this volume")
            return copies.open_address(address)
        tsk_file = volume["fs"].open_meta(inode=address["inode"])
        return self._open_tsk_file(tsk_file, address)

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        """The live file ``name`` in ``entry``'s directory (SQLite -wal, -shm,
        -journal). Looked up for a live file only: a name lookup finds the
        allocated file of that name, which beside a deleted database belongs
        to another one. Any failure (names TSK cannot take, damaged
        directories) means no companion, never an error of the plugin."""
        volume = next((v for v in self.volumes if v["offset"] == entry.address.get("volume_offset")), None)
        if volume is not None and shadow_copies.ADDRESS_KEY in entry.address:
            copies = self._shadows(volume)
            return copies.find_sibling(entry, name) if copies is not None else None
        if (volume is None or volume["fs"] is None or not entry.allocated or not name or "/" in name
                or "\x00" in name or ":" in entry.path.rsplit("/", 1)[-1]):
            return None
        parent = entry.path.rsplit("/", 1)[0]
        path = f"{parent}/{name}"
        try:
            tsk_file = _open_path(volume["fs"], path)
            meta = tsk_file.info.meta if tsk_file is not None else None
            if meta is None or meta.type != pytsk3.TSK_FS_META_TYPE_REG:
                return None
            inode, size = int(meta.addr), int(meta.size)
        except (OSError, IOError, RuntimeError, TypeError, ValueError, AttributeError):
            return None
        address = {"volume_offset": volume["offset"], "inode": inode, "attr_type": None,
                   "attr_id": None, "size": size}
        return Entry(segments=self._volume_prefix(volume) + (path,), path=path, kind=FILE, size=size,
                     inode=str(inode), address=address, opener=lambda: self._open_tsk_file(tsk_file, address))

    def _volume_prefix(self, volume: dict[str, Any]) -> tuple[str, ...]:
        return (volume["label"],) if volume.get("label") else ()

    # -- whole-item facts ----------------------------------------------------------

    def carvable_volumes(self) -> list[CarvableVolume]:
        found = []
        for volume in self.volumes:
            fs = volume["fs"]
            length = min(int(volume["length"]), max(0, self.reader.size - int(volume["offset"])))
            if length > 0:
                found.append(CarvableVolume(self._volume_prefix(volume), int(volume["offset"]), length,
                                            _TSK_FS_TYPES.get(fs.info.ftype) if fs else None))
        return with_unpartitioned_space(found, self.reader.size)

    def read_media(self, offset: int, length: int) -> bytes:
        return self.reader.read(offset, length)

    hash_beside_walk = True

    def evidence_streams(self):
        def opener() -> IO[bytes]:
            # A reader of its own: the media is hashed while the walk reads through self.reader.
            try:
                reader = self._open_reader()
            except EvidenceError as error:
                raise OSError(str(error)) from error
            return RandomAccessReader(reader.size, reader.read, on_close=reader.close)

        return [("media", opener)]

    def media_host_files(self) -> list[str]:
        return [] if self.kind == "ewf" else list(self.segments)

    def stored_hashes(self) -> dict[str, str]:
        return self.reader.stored_hashes() if isinstance(self.reader, EwfReader) else {}

    def host_files(self) -> list[str]:
        return list(self.segments)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "format": {"ewf": "E01 (EWF)", "raw": "raw", "split-raw": "split raw"}.get(self.kind, self.kind),
            "segments": [os.path.basename(s) for s in self.segments],
            "media_size": self.reader.size,
            "partition_scheme": self.volumes[0]["scheme"] if self.volumes else None,
            "volumes": [],
        }
        if isinstance(self.reader, EwfReader):
            info["stored_hashes"] = self.reader.stored_hashes()
            info["acquisition_headers"] = self.reader.headers()
        for volume in self.volumes:
            fs = volume["fs"]
            info["volumes"].append({
                "label": volume["label"] or "(whole image)",
                "offset": volume["offset"], "length": volume["length"],
                "description": volume["description"],
                "file_system": _TSK_FS_TYPES.get(fs.info.ftype, str(fs.info.ftype)) if fs else None,
            })
            copies = self._shadows(volume) if fs is not None else None
            if copies is not None:
                info["volumes"][-1]["shadow_copies"] = copies.describe(shadow_copies.enabled(self.options))
        return info

    def describe_after_walk(self) -> dict[str, Any] | None:
        return self.describe() if any(self._shadow_copies.values()) else None

    def close(self) -> None:
        self.reader.close()


def _message(problem: checks.Problem) -> tuple[str, ...]:
    """A volume_checks problem as warn()'s arguments."""
    message, segments = problem
    return (message, *segments)


def _open_path(fs: Any, path: str) -> Any:
    """A TSK file by its path. pytsk3 takes the path as str (bytes raise
    TypeError; older releases took only bytes) and encodes it as UTF-8; a
    name that is not valid UTF-8 (kept as surrogates, loc.decode_name), or a
    pytsk3 that refuses str, is found by walking the directories and
    comparing the raw names. None when not found."""
    try:
        return fs.open(path=path)
    except (UnicodeEncodeError, TypeError):
        pass
    except (OSError, IOError):
        return None
    directory = fs.open_dir(path="/")
    parts = path.strip("/").split("/")
    for depth, part in enumerate(parts):
        found = None
        for child in directory:
            raw = child.info.name.name
            allocated = child.info.name.flags & pytsk3.TSK_FS_NAME_FLAG_ALLOC
            if allocated and raw not in (b".", b"..", None) and loc.decode_name(raw) == part:
                found = child
                break
        if found is None:
            return None
        if depth == len(parts) - 1:
            return found
        directory = found.as_directory()
    return None


def _tsk_reason(error: Exception) -> str:
    """TSK's own words without pytsk3's source-file prefix."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else "unknown reason"
    return text.split("with error: ", 1)[-1]


_LOCAL_TIME_FS = {"FAT12", "FAT16", "FAT32", "exFAT"}


def _mark_local_time_volumes(volumes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for volume in volumes:
        fs = volume["fs"]
        volume["local_times"] = bool(fs) and _TSK_FS_TYPES.get(fs.info.ftype) in _LOCAL_TIME_FS
    return volumes


def _vs_name(vstype: int) -> str:
    names = {getattr(pytsk3, "TSK_VS_TYPE_DOS", -1): "MBR", getattr(pytsk3, "TSK_VS_TYPE_GPT", -2): "GPT",
             getattr(pytsk3, "TSK_VS_TYPE_MAC", -3): "APM", getattr(pytsk3, "TSK_VS_TYPE_BSD", -4): "BSD"}
    return names.get(vstype, str(vstype))


def _is_orphan_directory(tsk_file: Any) -> bool:
    """TSK's virtual $OrphanFiles folder, whose listing is a search of the whole tree."""
    meta = tsk_file.info.meta
    return (meta is not None and meta.type == pytsk3.TSK_FS_META_TYPE_VIRT_DIR
            and tsk_file.info.name.name == b"$OrphanFiles")


def _entry_kind(name_info: Any, meta: Any) -> str:
    if meta is not None:
        meta_type = meta.type
        if meta_type == pytsk3.TSK_FS_META_TYPE_REG:
            return FILE
        if meta_type in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
            return DIRECTORY
        if meta_type == pytsk3.TSK_FS_META_TYPE_LNK:
            return SYMLINK
        return OTHER        # incl. TSK's virtual files ($MBR, $FAT1...), which fls lists as "v/v"
    name_type = name_info.type
    if name_type == pytsk3.TSK_FS_NAME_TYPE_REG:
        return FILE
    if name_type in (pytsk3.TSK_FS_NAME_TYPE_DIR, pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR):
        return DIRECTORY
    if name_type == pytsk3.TSK_FS_NAME_TYPE_LNK:
        return SYMLINK
    return OTHER


def _data_streams(tsk_file: Any) -> list[tuple[str | None, int, int, int]]:
    """NTFS content attributes: (stream name or None for the default, type, id, size).

    As fls does: every $DATA attribute, and every named $INDEX_ROOT except a
    directory's own $I30 index (e.g. ``$Extend/$ObjId:$O``)."""
    streams = []
    try:
        for attribute in tsk_file:
            info = attribute.info
            name = loc.decode_name(info.name) if info.name else None
            if info.type == pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA:
                if name in ("$Data", ""):
                    name = None
            elif info.type == pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXROOT:
                if not name or name == "$I30":
                    continue
            else:
                continue
            streams.append((name, int(info.type), int(info.id), int(info.size)))
    except (OSError, IOError):
        return []
    return streams


def _inode_label(inode: int, attr_type: int | None, attr_id: int | None, stream: str | None) -> str:
    # Same form as fls: "36-128-3" for an NTFS attribute, "12" otherwise.
    if attr_type is None:
        return str(inode)
    return f"{inode}-{attr_type}-{attr_id}"


def _tsk_times(meta: Any, local_only: bool = False) -> dict[str, str | None]:
    """File-system times as UTC ISO 8601. FAT stores local wall-clock time with
    no zone: TSK converts it with the process zone, which the CLI pins to UTC,
    so the value is the device's local time and is labelled as such."""
    if meta is None:
        return {}
    times: dict[str, str | None] = {}
    for key, attribute, nano in (("created", "crtime", "crtime_nano"), ("modified", "mtime", "mtime_nano"),
                                 ("accessed", "atime", "atime_nano"), ("changed", "ctime", "ctime_nano")):
        seconds = getattr(meta, attribute, 0) or 0
        if seconds:
            fraction = (getattr(meta, nano, 0) or 0) / 1e9
            value = iso_or_none(from_unix_seconds(seconds + fraction))
            if local_only and value:
                times[key + "_local"] = value[:-6]   # drop the "+00:00" we cannot vouch for
            else:
                times[key] = value
    if local_only and times:
        times["timezone"] = "unknown"
    return times


def find_ewf_first_segment(path: str) -> str:
    """Users may name any segment; libewf wants the set, found from the first."""
    stem, extension = os.path.splitext(path)
    if re.fullmatch(r"\.[EeLs][0-9A-Za-z]{2}", extension):
        first = glob.glob(stem + extension[:2] + "01")
        if first:
            return first[0]
    return path


# At the end: shadow_copies builds its snapshot walk on DiskImageSource (a circular import otherwise).
from . import shadow_copies  # noqa: E402
