"""True file type by content (libmagic), and whether the name's extension
agrees with it (a JPEG named ``.dll`` is the classic hiding trick)."""

from __future__ import annotations

import functools
import mimetypes

import magic

SNIFF_BYTES = 65536   # libmagic rarely needs more; we sniff from the first read chunk

# Extensions that are legitimately used for a content type but that Python's
# mimetypes table does not map to it (or maps differently than libmagic names it).
_EXTRA_EXTENSIONS: dict[str, set[str]] = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif", ".thm"},
    "image/heic": {".heic", ".heif"},
    "image/heif": {".heic", ".heif"},
    "image/tiff": {".tif", ".tiff", ".dng", ".nef", ".cr2", ".arw"},
    "image/webp": {".webp"},
    "application/zip": {".zip", ".apk", ".jar", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".epub", ".ipa", ".kmz"},
    "application/vnd.sqlite3": {".db", ".sqlite", ".sqlite3", ".sqlitedb", ".storedata", ".db3"},
    "application/x-sqlite3": {".db", ".sqlite", ".sqlite3", ".sqlitedb", ".storedata", ".db3"},
    "text/plain": {".txt", ".log", ".csv", ".md", ".ini", ".cfg", ".conf", ".json", ".xml", ".vcf", ".html", ".htm", ""},
    "text/vcard": {".vcf", ".vcard"},
    "text/x-vcard": {".vcf", ".vcard"},
    "application/x-dosexec": {".exe", ".dll", ".sys", ".scr", ".ocx", ".cpl", ".efi", ".mui", ".drv"},
    "video/mp4": {".mp4", ".m4v", ".mov", ".3gp"},
    "video/quicktime": {".mov", ".mp4", ".qt"},
    "video/3gpp": {".3gp", ".mp4"},
}

# Types for which a name/content disagreement says nothing: generic or text-ish.
_NO_MISMATCH_FOR = ("application/octet-stream", "inode/x-empty", "text/", "application/x-empty")


@functools.lru_cache(maxsize=1)
def _magic() -> magic.Magic:
    return magic.Magic(mime=True)


def sniff_mime(head: bytes) -> str:
    """MIME type from the first bytes of a file (libmagic)."""
    if not head:
        return "inode/x-empty"
    try:
        return _magic().from_buffer(head[:SNIFF_BYTES]) or "application/octet-stream"
    except magic.MagicException:
        return "application/octet-stream"


def extension_mismatch(name: str, mime: str) -> bool:
    """True when the content is a well-known type and the name's extension is
    one that type never uses (e.g. image/jpeg named ``.dll``)."""
    if not mime or mime.startswith(_NO_MISMATCH_FOR):
        return False
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot > 0 else ""
    allowed = set(_EXTRA_EXTENSIONS.get(mime, ()))
    allowed.update(mimetypes.guess_all_extensions(mime, strict=False))
    if not allowed:
        return False   # a type we know no extensions for: no claim either way
    return extension not in allowed
