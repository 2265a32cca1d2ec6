"""TAR exports (plain, gz, bz2, xz), read in place with tarfile, under guards
for what tarfile takes on trust: GNU long-name/long-link and pax headers are
read into memory whole by tarfile (a 512 MiB long name costs GiBs), chained
extension headers recurse, sparse maps grow without bound, and reaching the
next member of a compressed archive decompresses everything before it. Here
names are cut at MAX_NAME_BYTES, pax headers over MAX_PAX_HEADER_BYTES are
passed over (both noted on the member), chains and sparse maps are bounded,
and the archive's expansion (members read, data passed over) stays within
its budget: past it, one warning names the member and the limit, and the
listing stops where going on would expand more."""

from __future__ import annotations

import bisect
import io
import lzma
import tarfile
import zlib
from typing import IO, Any, Iterator

from ..timeutil import from_unix_seconds, iso_or_none
from .archive_common import MAX_NAME_BYTES, ArchiveSource, BoundedReader, ExpansionLimits, size_text
from .base import DIRECTORY, FILE, OTHER, SYMLINK, Entry, EvidenceError
from .directory import open_readonly

MAX_PAX_HEADER_BYTES = 1 << 20      # one pax header (names, times, xattrs); global ones in sum
MAX_EXTENSION_CHAIN = 16            # long-name/pax headers before one member
MAX_SPARSE_ENTRIES = 1 << 16        # (offset, length) pairs in one sparse map
_BLOCK = tarfile.BLOCKSIZE
_COMPANION_CACHE_BYTES = 16 << 20   # a TAR's small SQLite companions are read together, once
_COMPANION_GROUP = 8                # names after the database's own, in sorted order, that may be its companions


class _Stopped(tarfile.ReadError):
    """The listing stops here, for the reason given (a limit, not damage)."""


class _Guard:
    def __init__(self, limits: ExpansionLimits) -> None:
        self.limits = limits
        self.chain = 0
        self.global_pax_bytes = 0
        self.damaged_header: str | None = None

    def reach(self, position: int, what: str) -> None:
        """Going on needs the decompressed stream read to ``position``."""
        if position > self.limits.budget:
            raise _Stopped(f"{what} would take the archive's expansion to {position} bytes, past its budget of "
                           f"{self.limits.budget} bytes ({size_text(self.limits.budget)}: max of 1 GiB and "
                           f"{self.limits.max_ratio:g}x the archive's size); members after it are not listed")


def _note(info: tarfile.TarInfo, note: str) -> None:
    info.__dict__.setdefault("guard_notes", []).append(note)


class _GuardedTarInfo(tarfile.TarInfo):
    """TarInfo whose extension headers are read within bounds (overrides of
    tarfile's documented _proc_* extension points)."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as error:
            guard = getattr(tar, "guard", None)
            if guard is not None:
                guard.damaged_header = f"header at offset {tar.offset} is damaged or cut short ({error})"
            raise

    def _enter_chain(self, tar) -> _Guard:
        guard: _Guard = tar.guard
        guard.chain += 1
        if guard.chain > MAX_EXTENSION_CHAIN:
            raise _Stopped(f"more than {MAX_EXTENSION_CHAIN} long-name/pax headers in a row at offset {self.offset}")
        return guard

    def _next_after_skipping(self, tar, guard: _Guard, what: str):
        end = self.offset + _BLOCK + self._block(self.size)
        guard.reach(end, what)
        tar.fileobj.seek(end)
        try:
            return self.fromtarfile(tar)
        except tarfile.HeaderError as error:
            raise tarfile.SubsequentHeaderError(str(error)) from None

    def _proc_gnulong(self, tar):
        guard = self._enter_chain(tar)
        try:
            if self.size <= MAX_NAME_BYTES:
                return super()._proc_gnulong(tar)
            kept = tar.fileobj.read(MAX_NAME_BYTES)
            kind = "long name" if self.type == tarfile.GNUTYPE_LONGNAME else "long link target"
            following = self._next_after_skipping(tar, guard, f"a GNU {kind} header of {self.size} bytes")
            following.offset = self.offset
            value = tarfile.nts(kept, tar.encoding, tar.errors)
            if self.type == tarfile.GNUTYPE_LONGNAME:
                following.name = value.removesuffix("/") if following.isdir() else value
            else:
                following.linkname = value
            _note(following, f"GNU {kind} header of {self.size} bytes: cut to its first {MAX_NAME_BYTES} bytes")
            return following
        finally:
            guard.chain -= 1

    def _proc_pax(self, tar):
        guard = self._enter_chain(tar)
        try:
            is_global = self.type == tarfile.XGLTYPE
            total = guard.global_pax_bytes + self.size if is_global else self.size
            if total <= MAX_PAX_HEADER_BYTES:
                if is_global:
                    guard.global_pax_bytes = total
                return super()._proc_pax(tar)
            kind = "global pax header" if is_global else "pax extended header"
            following = self._next_after_skipping(tar, guard, f"a {kind} of {self.size} bytes")
            if not is_global:
                following.offset = self.offset
            _note(following, f"{kind} of {self.size} bytes passed over (over the {MAX_PAX_HEADER_BYTES}-byte "
                             "limit): its names, sizes and times are not applied")
            return following
        finally:
            guard.chain -= 1

    def _proc_sparse(self, tar):
        # tarfile's own loop, with the number of extension blocks bounded.
        structs, isextended, origsize = self._sparse_structs
        del self._sparse_structs
        while isextended:
            if len(structs) > MAX_SPARSE_ENTRIES:
                raise _Stopped(f"GNU sparse map of member {self.name!r} has over {MAX_SPARSE_ENTRIES} entries")
            buf = tar.fileobj.read(_BLOCK)
            if len(buf) < _BLOCK:
                raise tarfile.TruncatedHeaderError("sparse map cut short")
            pos = 0
            for _ in range(21):
                try:
                    offset = tarfile.nti(buf[pos:pos + 12])
                    numbytes = tarfile.nti(buf[pos + 12:pos + 24])
                except ValueError:
                    break
                if offset and numbytes:
                    structs.append((offset, numbytes))
                pos += 24
            isextended = bool(buf[504])
        self.sparse = structs
        self.offset_data = tar.fileobj.tell()
        tar.offset = self.offset_data + self._block(self.size)
        self.size = origsize
        return self

    def _proc_gnusparse_10(self, next, pax_headers, tar):
        # tarfile's own reader, with the map's length and each line bounded.
        buf = tar.fileobj.read(_BLOCK)
        fields, _, buf = buf.partition(b"\n")
        try:
            count = int(fields)
        except ValueError:
            raise tarfile.InvalidHeaderError("bad GNU sparse 1.0 map") from None
        if not 0 <= count <= MAX_SPARSE_ENTRIES:
            raise _Stopped(f"GNU sparse map of {count} entries (limit {MAX_SPARSE_ENTRIES})")
        sparse: list[int] = []
        while len(sparse) < count * 2:
            if b"\n" not in buf:
                if len(buf) > 64:
                    raise tarfile.InvalidHeaderError("bad GNU sparse 1.0 map")
                more = tar.fileobj.read(_BLOCK)
                if not more:
                    raise tarfile.TruncatedHeaderError("sparse map cut short")
                buf += more
            number, _, buf = buf.partition(b"\n")
            try:
                sparse.append(int(number))
            except ValueError:
                raise tarfile.InvalidHeaderError("bad GNU sparse 1.0 map") from None
        next.offset_data = tar.fileobj.tell()
        next.sparse = list(zip(sparse[::2], sparse[1::2]))


class _GuardedTarFile(tarfile.TarFile):
    tarinfo = _GuardedTarInfo
    guard: _Guard


class TarSource(ArchiveSource):
    kind = "tar"

    def __init__(self, path: str, display_name: str, options: dict[str, Any] | None = None) -> None:
        super().__init__(path, display_name, options)
        self._guard = _Guard(self.limits)
        self._raw = open_readonly(path)
        opener = type("_Tar", (_GuardedTarFile,), {"guard": self._guard})
        try:
            self._tar = opener.open(fileobj=self._raw, mode="r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            self._raw.close()
            raise EvidenceError(f"not a readable TAR archive: {error}") from error
        self._compressed = self._tar.fileobj is not self._raw
        self._members: list[tarfile.TarInfo] = []
        # Why a member is not read, decided once when it is listed (the ratio
        # bound depends on how much of the compressed file is left there).
        self._refusals: dict[int, str] = {}
        self._holes_read = 0         # bytes sparse members expand to beyond their stored data
        self._listed_all = False
        self._end_problem: str | None = None
        # SQLite companions (find_sibling): an index read through a handle of its own.
        self._by_name: dict[str, tarfile.TarInfo] | None = None
        self._sibling_raw: IO[bytes] | None = None
        self._sibling_tar: tarfile.TarFile | None = None
        self._sorted_names: list[str] = []
        self._cached_for: str | None = None       # the database whose companions _cache holds
        self._cache: dict[str, bytes] = {}

    # -- listing ------------------------------------------------------------------------------

    def _list_one(self) -> bool:
        """List the next member; False at the end (clean, damaged or stopped)."""
        if self._listed_all:
            return False
        try:
            if self._members:
                last = self._members[-1]
                self._guard.reach(self._tar.offset, f"passing over member {last.name!r} ({last.size} bytes)")
            member = self._tar.next()
        except _Stopped as stop:
            member, self._end_problem = None, str(stop)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            member = None
            self._end_problem = f"archive ends early or is corrupt after {len(self._members)} members: {error}"
        if member is None:
            self._listed_all = True
            if self._end_problem is None and self._guard.damaged_header:
                self._end_problem = (f"archive ends early after {len(self._members)} members: "
                                     f"{self._guard.damaged_header}; members after it, if any, are not listed")
            return False
        if member.isfile():
            reason = self._read_refusal(member)
            if reason:
                self._refusals[len(self._members)] = reason
            elif member.issparse():
                # Holes are zeros made by the reader, not data passed over: counted apart.
                self._holes_read += max(0, member.size - (self._tar.offset - member.offset_data))
        self._members.append(member)
        return True

    def _listed(self, index: int) -> bool:
        while index >= len(self._members):
            if not self._list_one():
                return False
        return True

    def entries(self) -> Iterator[Entry]:
        index = 0
        while self._listed(index):
            yield self._entry(self._members[index], index)
            index += 1
        if self._end_problem:
            self.warn(self._end_problem)

    def _entry(self, member: tarfile.TarInfo, index: int) -> Entry:
        name = member.name[:MAX_NAME_BYTES]
        entry = Entry(segments=(name,), path=name, kind=FILE, size=member.size,
                      address={"member_index": index},
                      times={"modified": iso_or_none(from_unix_seconds(member.mtime))})
        for note in member.__dict__.get("guard_notes", []):
            self._refuse(entry, note)
        if len(member.name) > MAX_NAME_BYTES:
            self._refuse(entry, f"name of {len(member.name)} characters cut to {MAX_NAME_BYTES}")
        link = member.linkname[:MAX_NAME_BYTES]
        if member.isdir():
            entry.kind, entry.size = DIRECTORY, 0
        elif member.issym():
            entry.kind, entry.size, entry.link_target = SYMLINK, 0, link
        elif member.islnk():
            entry.kind, entry.size, entry.link_target = OTHER, 0, link
            entry.notes.append(f"hard link to {link!r}: content inventoried there")
        elif not member.isfile():
            entry.kind, entry.size = OTHER, 0
            self._refuse(entry, "device, FIFO or other special member: not read")
        else:
            reason = self._refusals.get(index)
            if reason:
                self._refuse(entry, reason)
            else:
                entry.opener = (lambda i=index: self.open_address({"member_index": i}))
        self._flag_name(entry)
        return entry

    def _read_refusal(self, member: tarfile.TarInfo) -> str | None:
        reason = self.limits.member_reason(member.size)
        if reason is None and self._compressed and not member.issparse():
            # The member's compressed bytes are at most what is left of the file
            # (plus what the decompressor has read ahead).
            left = max(1, self.archive_size - self._raw.tell() + (64 << 10))
            reason = self.limits.ratio_reason(member.size, left, exact=False)
        return reason or self.limits.budget_reason(member.offset_data + self._holes_read, member.size)

    def _bounded(self, member: tarfile.TarInfo) -> IO[bytes]:
        stream = self._tar.extractfile(member)
        if stream is None:
            raise OSError("member has no content")
        measure = self._compressed and not member.issparse()
        return BoundedReader(stream, member.size, self.limits, self._raw.tell if measure else None)

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        index = address["member_index"]
        if not self._listed(index):
            raise OSError(f"no member {index} in this archive")
        member = self._members[index]
        reason = self._refusals.get(index) if member.isfile() else "not a regular member"
        if reason:
            raise OSError(reason)
        return self._bounded(member)

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        if not name or "/" in name:
            return None
        parent = entry.path.rsplit("/", 1)[0] + "/" if "/" in entry.path else ""
        member = self._sibling_index().get(parent + name)
        if member is None or not member.isfile() or member.issparse() or self.limits.member_reason(member.size):
            return None
        data = self._companion_bytes(parent + entry.name, member)
        if data is not None:
            opener = lambda: io.BytesIO(data)  # noqa: E731
        else:
            opener = lambda: self._sibling_stream(member)  # noqa: E731
        return Entry(segments=(member.name,), path=member.name, kind=FILE, size=member.size, opener=opener)

    def _sibling_stream(self, member: tarfile.TarInfo) -> IO[bytes]:
        assert self._sibling_tar is not None
        stream = self._sibling_tar.extractfile(member)
        if stream is None:
            raise OSError("member has no content")
        return BoundedReader(stream, member.size, self.limits)

    def _companion_bytes(self, database: str, member: tarfile.TarInfo) -> bytes | None:
        """The bytes of ``member`` when it is one of ``database``'s small
        companions (``database`` + "-wal", "-shm", "-journal"...): all of them
        are read at the first lookup, in archive order, so a plugin asking
        for -wal before the -shm stored ahead of it does not send a
        compressed archive back to its start. Only one database's are kept."""
        if self._cached_for != database:
            self._cached_for, self._cache = database, {}
            start = bisect.bisect_right(self._sorted_names, database)
            group = []
            for name in self._sorted_names[start:start + _COMPANION_GROUP]:
                if not name.startswith(database):
                    break
                candidate = self._by_name[name]
                if ("/" not in name[len(database):] and candidate.isfile() and not candidate.issparse()
                        and candidate.size <= _COMPANION_CACHE_BYTES):
                    group.append(candidate)
            for candidate in sorted(group, key=lambda m: m.offset_data):
                try:
                    with self._sibling_stream(candidate) as stream:
                        self._cache[candidate.name] = stream.read()
                except (OSError, tarfile.TarError, zlib.error, EOFError):
                    continue      # read (and reported) by the plugin's own open, if it asks
        return self._cache.get(member.name)

    def _sibling_index(self) -> dict[str, tarfile.TarInfo]:
        """Every member by name (the last of a name wins, as tar extracts),
        read once through a guarded handle of its own. The walk's handle must
        not be moved: a compressed TAR can only seek back by decompressing
        again from its start, and a lookup ahead of the walk (an -wal after
        its database, an absent -journal) on the walk's handle cost that once
        per database. Here the headers are read once, within the same bounds
        as the walk's, and companions, asked for in the walk's order, are
        read forward."""
        if self._by_name is None:
            self._by_name = {}
            opener = type("_Tar", (_GuardedTarFile,), {"guard": _Guard(self.limits)})
            try:
                self._sibling_raw = open_readonly(self.path)
                self._sibling_tar = opener.open(fileobj=self._sibling_raw, mode="r:*")
                for member in self._sibling_tar:
                    if len(member.name) <= MAX_NAME_BYTES:
                        self._by_name[member.name] = member
            except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError):
                pass      # the walk reports a damaged archive; companions are what could be read
            self._sorted_names = sorted(self._by_name)
        return self._by_name

    def describe(self) -> dict[str, Any]:
        self._listed(1 << 62)
        return {"format": "tar", "members": len(self._members),
                "files": sum(1 for m in self._members if m.isfile())}

    def close(self) -> None:
        self._tar.close()
        self._raw.close()
        if self._sibling_tar is not None:
            self._sibling_tar.close()
        if self._sibling_raw is not None:
            self._sibling_raw.close()
