"""Members of a ZIP found inside the evidence: plain ZIPs, Android APKs, and
the pictures and embedded files of OOXML (DOCX/XLSX/PPTX) and ODF documents,
which are ZIPs too.

The listing is the project's tolerant, bounded one (sources/zip_directory:
central directory, then a local-header scan where it is damaged); member data
is decoded by the standard library's ``zipfile.ZipExtFile`` (stored, deflate,
bzip2, LZMA; CRC checked), exactly as for a ZIP given as evidence. A member's
key holds where its data lies and how it is compressed, so reading one member
again costs no listing."""

from __future__ import annotations

import io
import stat
import zipfile
from typing import IO, Any, Iterator

from ...sources.zip_directory import FLAG_ENCRYPTED, ZipMember, read_listing
from ...sources.zip_source import _zip_times
from ..api import Expander, ExpansionError, Member, MemberProblem, Probe

_LINK_LIMIT = 4096
# The parts of an office document that are files of their own: pictures,
# media, embedded objects, thumbnails. Its XML parts are the document itself.
_DOCUMENT_FOLDERS = ("word/media/", "xl/media/", "ppt/media/", "word/embeddings/", "xl/embeddings/",
                     "ppt/embeddings/", "docprops/thumbnail", "pictures/", "thumbnails/", "media/")


class ZipMembers(Expander):
    NAME = "zip"
    VERSION = "1"
    DESCRIPTION = "members of ZIP archives, APKs, and the media of OOXML and ODF documents"

    @classmethod
    def library(cls) -> str:
        import platform

        return f"zip_directory + zipfile (Python {platform.python_version()})"

    def claims(self, probe: Probe) -> bool:
        # By the first bytes alone (OOXML, ODF, APK, JAR start like any ZIP): asking
        # probe.mime would cost a libmagic call for every file of the evidence.
        return probe.head.startswith(b"PK\x03\x04")

    def members(self, container: IO[bytes], budget) -> Iterator[Member | MemberProblem]:
        size = container.seek(0, io.SEEK_END)
        try:
            listing = read_listing(container, size)
        except (OSError, ValueError) as error:
            raise ExpansionError(f"not a readable ZIP archive: {error}") from error
        container.seek(0)
        document = _is_document(listing.members)
        for problem in listing.problems:
            yield MemberProblem("", problem)
        for index, zipped in enumerate(listing.members):
            if document and not zipped.name.lower().startswith(_DOCUMENT_FOLDERS):
                continue
            member = self._member(index, zipped, budget)
            mode = zipped.external_attr >> 16
            if mode and stat.S_ISLNK(mode) and not member.is_directory and member.refused is None \
                    and not member.encrypted:
                member.link_target = self._link_target(container, member.key, budget)
            yield member

    def _link_target(self, container: IO[bytes], key: dict[str, Any], budget) -> str:
        """A symbolic link member's target (its content, at most 4 KiB): recorded, never followed."""
        try:
            with self.open_member(container, key, budget) as stream:
                return stream.read(_LINK_LIMIT).decode("utf-8", "surrogateescape")
        except OSError:
            return ""

    def _member(self, index: int, zipped: ZipMember, budget) -> Member:
        key = {"index": index, "offset": zipped.data_offset, "method": zipped.compress_type,
               "compressed": zipped.compress_size, "size": zipped.file_size, "crc": zipped.crc,
               "flags": zipped.flag_bits, "name": zipped.name}
        member = Member(name=zipped.name, key=key, size=zipped.file_size, times=_zip_times(zipped),
                        encrypted=bool(zipped.flag_bits & FLAG_ENCRYPTED), is_directory=zipped.is_dir(),
                        notes=list(zipped.problems))
        if member.is_directory or member.encrypted:
            return member
        if zipped.data_offset is None:
            member.refused = "member data not located: content not read"
            return member
        # The ratio needs the compressed size only the listing knows; the walk
        # checks the other limits and charges what it reads.
        member.refused = budget.member_limit(zipped.file_size, zipped.compress_size)
        return member

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget) -> IO[bytes]:
        info = zipfile.ZipInfo(str(key.get("name", "member")))
        info.compress_type, info.CRC = int(key["method"]), int(key["crc"])
        info.compress_size, info.file_size = int(key["compressed"]), int(key["size"])
        info.flag_bits = int(key["flags"])
        if key.get("offset") is None:
            raise OSError("member data not located")
        container.seek(int(key["offset"]))
        try:
            stream = zipfile.ZipExtFile(container, "r", info, None, False)
        except NotImplementedError as error:
            raise OSError(f"compression method {info.compress_type} not supported: {error}") from error
        except (ValueError, RuntimeError, EOFError, zipfile.BadZipFile) as error:
            raise OSError(f"member data not readable: {error}") from error
        return budget.bounded(_Checked(stream), int(key["size"]))


def _is_document(members: tuple[ZipMember, ...]) -> bool:
    """An OOXML or ODF document: its parts are listed by a content-types part or a mimetype member."""
    names = {m.name for m in members[:64]}
    return "[Content_Types].xml" in names or ("mimetype" in names and "META-INF/manifest.xml" in names)


class _Checked(io.RawIOBase):
    """zipfile's member stream, its data errors (CRC, deflate) as OSError."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except (zipfile.BadZipFile, EOFError, ValueError, RuntimeError, NotImplementedError) as error:
            raise OSError(f"member data corrupt: {error}") from error
        except Exception as error:   # zlib.error, lzma.LZMAError, bz2's: damaged data
            if isinstance(error, OSError):
                raise
            raise OSError(f"member data corrupt: {error}") from error

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()
