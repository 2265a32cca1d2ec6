"""The contract of an expander: a reader that finds the items held inside one
file of the evidence (the members of a ZIP, the images of a PDF, the
attachments of a mail, the thumbnails of a cache) and gives their bytes again.

The walk asks every expander whether it ``claims`` a file, by its content
first (libmagic's type and the first bytes), never by a name the core knows.
An expander never writes anywhere and never follows a reference out of the
container it was given: the container's bytes are all it reads. Every count,
size and offset it reads from the container is hostile until bounded: it
charges what it expands to the :class:`ExpansionBudget` it is given.

Each item is an inventory entry of its own: its locator is the container's
locator with the member's name appended (``laptop.E01 > p1 > /Users/a/x.zip >
inner.zip > 07.jpg``), its address holds the container's address and the
member's ``key``, so ``triage cat`` and worker processes find the bytes again
through :meth:`Expander.open_member`."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import IO, Any, Callable, ClassVar, Iterator

# How an item was found: the report counts items per route (issue 17, item 6).
ROUTE_LIVE = "live"                    # an allocated file of a file system, folder or archive given as evidence
ROUTE_DELETED = "deleted entry"        # a file-system entry marked deleted (its content may be reused)
ROUTE_CARVED = "carved"                # recovered from unallocated space by a carver
ROUTE_INSIDE = "inside a file"         # a member of an archive, document or mail found in the evidence
ROUTE_CACHE = "cache"                  # an entry of a thumbnail or other cache
ROUTE_RECOVERED = "recovered record"   # a deleted database record (free pages, freeblocks, WAL)
ROUTE_SHADOW = "shadow copy"           # a file of an older Volume Shadow Copy snapshot
ROUTES = (ROUTE_LIVE, ROUTE_DELETED, ROUTE_CARVED, ROUTE_INSIDE, ROUTE_CACHE, ROUTE_RECOVERED, ROUTE_SHADOW)

HEAD_BYTES = 64 << 10                  # what a Probe shows of the container's first bytes


class ExpansionError(Exception):
    """The container cannot be read at all (not what it claimed, damaged,
    over a limit): one warning naming it; its own inventory entry stays."""


class BudgetExceeded(ExpansionError):
    """A limit was reached: what was found so far is kept, the rest is not read."""


@dataclass(frozen=True)
class Probe:
    """What an expander is shown to decide whether it claims a file.

    The walk computes ``mime`` (libmagic, ~1.4 ms a file) only when an
    expander first reads it: decide by ``head`` first where the format has
    a signature, and read ``mime`` only when the first bytes cannot tell."""

    name: str          # the file's own name as in the evidence (a tie-breaker only)
    size: int
    mime: str          # libmagic's type of its content
    head: bytes        # its first HEAD_BYTES bytes (fewer for a smaller file)
    depth: int = 0     # 0 for a file of the evidence, 1 for a member of a member, ...


@dataclass
class Member:
    """One item inside a container.

    ``name`` is one raw locator segment: the member's path inside the
    container as the container spells it (``word/media/image1.png``,
    ``Attachments/2/photo.jpg``, ``thumbcache entry 3f2a9c0e``). ``key`` is
    JSON-serialisable and enough for :meth:`Expander.open_member` to find the
    bytes again. ``opener``, when given, reads the bytes during the walk only
    (a streaming reader such as a solid 7z or a TAR.GZ, where reopening one
    member means decompressing all before it); later reads go through
    open_member. An ``encrypted`` member is listed with its name and size and
    never read."""

    name: str
    key: dict[str, Any]
    size: int | None = None
    times: dict[str, str | None] = field(default_factory=dict)   # ISO 8601, timezone-aware, as timeutil gives
    encrypted: bool = False
    is_directory: bool = False
    notes: list[str] = field(default_factory=list)
    # What the container says of the member beyond name and times, kept in the
    # inventory row: the original's name or cache key of a thumbnail, a mail's
    # subject and sender for an attachment, a PDF object number.
    details: dict[str, Any] = field(default_factory=dict)
    opener: Callable[[], IO[bytes]] | None = None
    # Why the member's content is not read (a limit: its size, ratio, the
    # budget): listed with this note and a warning, never read. Optional; added
    # after the first version of this contract.
    refused: str | None = None
    # A link member (symbolic or hard): its target as the container spells it,
    # recorded, never followed; it has no content of its own. Optional.
    link_target: str | None = None


@dataclass
class MemberProblem:
    """One member that cannot be listed or read: a warning naming it; the
    expansion goes on with the next member."""

    name: str
    message: str


class ExpansionBudget(abc.ABC):
    """The limits one expansion shares with every other expansion of the same
    evidence item and with the top-level archive readers (issue 11): bytes
    expanded, members listed, nesting depth, compression ratio.

    Who charges what: the walk counts every member, checks ``member_limit``
    and charges the bytes of every member it reads (its declared size, or the
    bytes of a streamed member as they come); an expander charges only what it
    decompresses without handing it over (the data of a member it passes over
    in a stream) and may refuse a member by a limit only it can tell (the
    compression ratio, from a compressed size the walk does not see)."""

    @abc.abstractmethod
    def charge_member(self) -> None:
        """Count one more member; raises BudgetExceeded past the member-count cap.
        The walk counts every Member an expander yields: an expander need not."""

    @abc.abstractmethod
    def charge_bytes(self, count: int) -> None:
        """Count bytes produced by decompression or decoding; raises BudgetExceeded past the budget."""

    @abc.abstractmethod
    def member_limit(self, declared_size: int | None, compressed_size: int | None) -> str | None:
        """Why a member of this declared and compressed size must not be read
        (over the member size cap, the ratio cap, the budget), or None."""

    @abc.abstractmethod
    def bounded(self, stream: IO[bytes], limit: int | None = None) -> IO[bytes]:
        """``stream`` wrapped so that reading it charges the budget and stops
        with an OSError at ``limit`` bytes (a member lying about its size)."""


class Expander(abc.ABC):
    """Reads the items held inside one kind of container file."""

    NAME: ClassVar[str]                 # stable; recorded in every address ("zip", "pdf-images", "thumbcache")
    VERSION: ClassVar[str]              # bumped when what it finds changes; recorded in the report
    ROUTE: ClassVar[str] = ROUTE_INSIDE
    DESCRIPTION: ClassVar[str] = ""     # one line for the report and `triage plugins`

    @classmethod
    def library(cls) -> str:
        """The library that does the reading, with its version ("libarchive 3.6.2"), for the report."""
        return ""

    @abc.abstractmethod
    def claims(self, probe: Probe) -> bool:
        """True when this expander reads the file: by content (probe.mime, probe.head)."""

    @abc.abstractmethod
    def members(self, container: IO[bytes], budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        """Every item in the container, in a stable order. ``container`` is a
        seekable, read-only stream of the container's bytes. Raise
        ExpansionError when the container cannot be read at all."""

    @abc.abstractmethod
    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        """A readable stream of the member's bytes, from the key members() gave it."""
