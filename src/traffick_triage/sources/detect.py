"""Open an evidence item by what its bytes are, never by its name alone."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

from .archive import TarSource, ZipSource
from .base import EvidenceError, EvidenceSource
from .carving import with_carving
from .directory import DirectorySource, open_readonly
from .disk import DiskImageSource, find_ewf_first_segment, split_segments
from .itunes_backup import ItunesBackupSource, NotAnItunesBackup, looks_like_itunes_backup
from .zip_directory import has_end_record

_EWF_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"EVF2\x0d\x0a\x81\x00")
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ZIP_END_WINDOW = 22 + 0xFFFF          # the end record and the longest archive comment


def sniff_evidence(path: str) -> str:
    """The container kind by content: directory, ewf, zip, tar, dfvfs-* or raw."""
    if os.path.isdir(path):
        return "directory"
    if not os.path.isfile(path):
        raise EvidenceError("no such file or folder")
    size = os.path.getsize(path)
    if size == 0:
        raise EvidenceError("the evidence file is empty (0 bytes)")
    with open_readonly(path) as stream:
        head = stream.read(4096)
        stream.seek(max(0, size - _ZIP_END_WINDOW))
        zip_tail = stream.read(_ZIP_END_WINDOW)
        tail = zip_tail[-512:]
    if head.startswith(_EWF_SIGNATURES):
        return "ewf"
    if head.startswith(_ZIP_SIGNATURES):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"\x1f\x8b") and _gzip_holds_tar(path):
        return "tar"
    if head.startswith((b"BZh", b"\xfd7zXZ\x00")):
        return "tar"       # tarfile reads bz2/xz; a non-tar payload fails with a clear error
    if head.startswith(b"KDMV") or head.startswith(b"# Disk DescriptorFile"):
        return "dfvfs-vmdk"
    if head.startswith(b"QFI\xfb"):
        return "dfvfs-qcow"
    if head.startswith(b"conectix") or tail.startswith(b"conectix") or head.startswith(b"vhdxfile"):
        return "dfvfs-vhd"
    if tail[:4] == b"koly":
        return "dfvfs-dmg"
    if has_end_record(zip_tail):
        # A ZIP whose first local header is damaged (or with bytes prepended):
        # its end-of-central-directory record ends the file exactly.
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        raise EvidenceError("a gzip-compressed file that is not a TAR archive: "
                            "decompress the image first (compressed raw images are not read in place)")
    return "raw"


def _gzip_holds_tar(path: str) -> bool:
    try:
        with gzip.open(open_readonly(path)) as stream:
            block = stream.read(512)
    except (OSError, EOFError, zlib.error):     # damaged deflate data: not a TAR we can read
        return False
    return len(block) >= 262 and block[257:262] == b"ustar"


def open_source(path: str, options: dict[str, Any] | None = None,
                display_name: str | None = None) -> EvidenceSource:
    """Open ``path`` as the right kind of evidence source, with the walks
    that find more in it wrapped around it (unless its options turn them off)."""
    options = options or {}
    source = _open_item(path, options, display_name)
    # -- wrappers over every source -------------------------------------------------------------
    # Disk images: PhotoRec carves their unallocated space after the walk (--no-carve: not).
    source = with_carving(source, options)
    # Files inside files (issue 17): archives, documents, mail and caches found
    # in the evidence, carved ones too, are expanded unless source_options["expand"] is False.
    if options.get("expand", True):
        from ..expansion.walk import ExpandingSource

        source = ExpandingSource(source, options)
    return source


def _open_item(path: str, options: dict[str, Any], display_name: str | None) -> EvidenceSource:
    """The evidence item itself, by what its bytes are."""
    kind = sniff_evidence(path)
    name = display_name or os.path.basename(os.path.normpath(path))
    if kind == "directory":
        if looks_like_itunes_backup(path):
            try:
                return ItunesBackupSource(path, name, options)
            except NotAnItunesBackup:
                pass          # a Manifest.db of something else: an ordinary folder
        return DirectorySource(path, name)
    if kind == "zip":
        return ZipSource(path, name, options)
    if kind == "tar":
        return TarSource(path, name, options)
    if kind == "ewf":
        return DiskImageSource(find_ewf_first_segment(path), name, "ewf", options)
    if kind.startswith("dfvfs-"):
        try:
            from .dfvfs_source import DfvfsSource
        except ImportError as error:
            raise EvidenceError(f"{kind[6:].upper()} images need the 'containers' extra "
                                f"(pip install 'traffick-triage[containers]'): {error}") from error
        return DfvfsSource(path, name, kind[6:], options)
    container = "split-raw" if len(split_segments(path)) > 1 else "raw"
    source = DiskImageSource(path, name, container, options)
    if not any(volume["fs"] for volume in source.volumes) and _dfvfs_can_try():
        # APFS and other formats TSK does not read: let dfVFS try before giving up.
        from .dfvfs_source import DfvfsSource

        try:
            alternative = DfvfsSource(path, name, "raw", options)
        except EvidenceError:
            return source
        if alternative.has_file_systems():
            source.close()
            return alternative
    return source


def _dfvfs_can_try() -> bool:
    try:
        from . import dfvfs_source  # noqa: F401
    except ImportError:
        return False
    return True
