"""The expansion walk (issue 17): files inside files, recursively.

:class:`ExpandingSource` wraps any evidence source. Every file of its walk is
probed (its first bytes, libmagic's type) and offered to every expander of
the registry; the first that claims it lists its members, which follow the
container in the walk as entries of their own, and are probed in turn, down
to the depth limit. Nothing here names a format.

A member's entry:

* ``segments``: the container's, plus the member's name as the container
  spells it (``laptop.E01 > p1 > /x/bundle.zip > inner.zip > 07.jpg``);
* ``path``: the container's path, a "/", and the member's name
  (``/x/bundle.zip/inner.zip/07.jpg``), as if the container were a folder.
  Plugin selectors match paths by their ends (``**/databases/mmssms.db``), so
  a phone export found inside the evidence is parsed like one given as evidence;
* ``address``: ``{"within": <container's address>, "expander": NAME, "member":
  key}``; :meth:`ExpandingSource.open_address` resolves it recursively, so a
  worker process, or ``triage cat``, that opens the source again with the
  same options finds the bytes again;
* ``route``: the expander's (inside a file, cache); ``allocated``: the container's.

Decisions (what is read, what a limit refuses) are made here, in walk order,
in the scanning process alone (budget.py), so that every run and every number
of workers decides alike."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import IO, Any, Callable, Iterator

from ..sources.archive_common import MAX_NAME_BYTES, unsafe_member_name
from ..sources.base import DIRECTORY, FILE, SYMLINK, Entry, EvidenceSource
from .api import HEAD_BYTES, BudgetExceeded, Expander, ExpansionError, Member, MemberProblem, Probe
from .budget import ReopenBudget, WalkBudget
from .registry import builtin_expanders, expander_named
from .probe import LazyProbe
from .spool import Closing, OnceThenReopen, Spool, Spooled, read_head

_REOPENED_CONTAINERS = 4          # containers a worker keeps spooled for the next members it opens


def is_member_address(address: dict[str, Any]) -> bool:
    return isinstance(address, dict) and "within" in address and "expander" in address and "member" in address


class ExpandingSource(EvidenceSource):
    """``base``'s walk, with the members of every file an expander claims."""

    def __init__(self, base: EvidenceSource, options: dict[str, Any]) -> None:
        super().__init__(base.path, base.display_name)
        self.base = base
        self.kind = base.kind
        self.hash_beside_walk = base.hash_beside_walk
        self.options = options
        self.budget = WalkBudget(options)
        self.expanders: tuple[Expander, ...] = builtin_expanders()
        self._spool = Spool()
        self._stopped: str | None = None       # the budget or member cap is spent: nothing more is expanded
        self._reopened: OrderedDict[str, Spooled | None] = OrderedDict()
        self._siblings: tuple[str, dict[str, Member]] | None = None

    def __getattr__(self, name: str) -> Any:
        # What a particular source offers beyond the interface (volumes...).
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    # -- the walk --------------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        for entry in self.base.entries():
            yield from self._with_members(entry, 0, ())

    def _with_members(self, entry: Entry, depth: int, ancestors: tuple[tuple[int, str], ...]) -> Iterator[Entry]:
        """``entry``, then (when an expander claims it) its members, each followed by its own."""
        if entry.kind != FILE or entry.opener is None or entry.size == 0 or self._stopped or not self.expanders:
            yield entry
            return
        try:
            stream = entry.opener()
            head = read_head(stream, HEAD_BYTES)
        except (OSError, ValueError, EOFError, RuntimeError):
            yield entry            # the engine reads it again and reports what is wrong
            return
        probe = LazyProbe(entry.name, entry.size, head, depth)
        expander = self._claimant(probe)
        first_read = OnceThenReopen(head, stream, entry.opener)
        if expander is None:
            entry.opener = first_read
            yield entry
            first_read.release()
            return
        identity = (entry.size, hashlib.sha256(head).hexdigest())
        refusal = None
        if depth >= self.budget.max_depth:
            refusal = (f"not expanded: {self.budget.max_depth} containers deep already (the nesting limit; "
                       "a self-nesting archive?)")
        elif identity in ancestors:
            refusal = "not expanded: the same bytes as a container it lies in (a self-nesting archive, ZIP quine?)"
        if refusal:
            entry.opener = first_read
            entry.notes.append(refusal)
            self.warn(refusal, *entry.segments)
            try:
                self.budget.charge_refusal()
            except BudgetExceeded as error:
                self._stop(error, entry.segments)
            yield entry
            first_read.release()
            return
        container = self._container(entry, head, stream, first_read)
        if container is None:
            yield entry
            first_read.release()
            return
        opener, spooled = container
        if depth == 0:
            self.budget.add_container(entry.size)
        if spooled is not None:
            entry.opener = spooled.open
        else:
            entry.opener = first_read
        yield entry
        first_read.release()
        try:
            yield from self._members(entry, expander, opener, depth + 1, ancestors + (identity,),
                                     spooled is not None)
        finally:
            if spooled is not None:
                spooled.discard()

    def _claimant(self, probe: Probe) -> Expander | None:
        for expander in self.expanders:
            try:
                if expander.claims(probe):
                    return expander
            except Exception:   # noqa: BLE001 - an expander's bug must not end the walk; it simply claims nothing
                continue
        return None

    def _container(self, entry: Entry, head: bytes, stream: IO[bytes], first_read: OnceThenReopen
                   ) -> tuple[Callable[[], IO[bytes]], Spooled | None] | None:
        """(opener of a fresh seekable stream of the container, its spool or None)."""
        original = entry.opener
        if _seekable(stream):
            return original, None
        try:
            spooled = self._spool.keep(head, stream, self.budget.limits.max_member_bytes)
        except (OSError, ValueError, EOFError, RuntimeError) as error:
            message = f"not expanded: its bytes could not be read ({error})"
            entry.notes.append(message)
            self.warn(message, *entry.segments)
            return None
        finally:
            first_read.release()
        return spooled.open, spooled

    def _members(self, container: Entry, expander: Expander, opener: Callable[[], IO[bytes]], depth: int,
                 ancestors: tuple[tuple[int, str], ...], spooled_container: bool) -> Iterator[Entry]:
        try:
            handle = opener()
        except (OSError, ValueError) as error:
            self.warn(f"not expanded ({expander.NAME}): {error}", *container.segments)
            return
        try:
            for item in expander.members(handle, self.budget):
                if self._stopped:
                    break          # spent deeper down: said once there
                if isinstance(item, MemberProblem):
                    self.warn(item.message, *container.segments, _bounded(item.name))
                    continue
                self.budget.charge_member()
                entry, spooled = self._member_entry(container, expander, opener, item)
                if spooled_container and entry.opener is not None:
                    # Its container was decompressed into the scratch area once: a worker
                    # would have to do that again for every batch.
                    entry.walk_only_opener = True
                try:
                    yield from self._with_members(entry, depth, ancestors)
                finally:
                    if spooled is not None:
                        spooled.discard()
        except BudgetExceeded as error:
            self._stop(error, container.segments)
        except ExpansionError as error:
            self.warn(f"not expanded ({expander.NAME}): {error}", *container.segments)
        except Exception as error:   # noqa: BLE001 - hostile input in a library: one warning, the walk goes on
            self.warn(f"expansion ended early ({expander.NAME}): {type(error).__name__}: {error}",
                      *container.segments)
        finally:
            handle.close()

    def _stop(self, error: BudgetExceeded, segments: tuple[str, ...]) -> None:
        """The item's budget or a cap is spent: said once, and nothing more is expanded."""
        if self._stopped is None:
            self._stopped = str(error)
            self.warn(f"expansion stopped: {error}; nothing more is expanded in this evidence item", *segments)

    def _member_entry(self, container: Entry, expander: Expander, opener: Callable[[], IO[bytes]],
                      member: Member) -> tuple[Entry, Spooled | None]:
        name = _bounded(member.name) or "(unnamed member)"
        segments = container.segments + (name,)
        entry = Entry(segments=segments, path=container.path.rstrip("/") + "/" + name.lstrip("/"),
                      kind=DIRECTORY if member.is_directory else FILE, size=member.size or 0,
                      allocated=container.allocated, times=dict(member.times),
                      address={"within": container.address, "expander": expander.NAME, "member": member.key},
                      notes=list(member.notes), route=expander.ROUTE)
        entry.notes.extend(f"{key}: {member.details[key]}" for key in sorted(member.details))
        if name != member.name:
            entry.notes.append(f"name of {len(member.name)} characters cut to {MAX_NAME_BYTES}")
        unsafe = unsafe_member_name(name)
        if unsafe:
            entry.notes.append(unsafe + ": recorded, not followed")
        if member.is_directory:
            entry.size = 0
            return entry, None
        if member.link_target is not None:
            entry.kind, entry.size, entry.link_target = SYMLINK, 0, _bounded(member.link_target)
            return entry, None
        if member.encrypted:
            entry.notes.append("encrypted member: listed, content not read")
            return entry, None
        if member.size is not None and self.budget.spent + member.size > self.budget.limit:
            error = BudgetExceeded(self.budget.over(member.size))
            entry.notes.append(f"not read: {error}")
            self._stop(error, entry.segments)
            return entry, None
        if member.refused:
            return self._refuse(entry, container, member.refused), None
        reason = self.budget.member_limit(member.size, None)
        if reason:
            return self._refuse(entry, container, reason), None
        if member.opener is not None or member.size is None:
            # A streaming member (read now or never) or one whose size only reading tells.
            return self._spooled_member(entry, expander, opener, member)
        try:
            self.budget.charge_bytes(member.size)
        except BudgetExceeded as error:
            entry.notes.append(f"not read: {error}")
            self._stop(error, entry.segments)
            return entry, None
        key, size = member.key, member.size
        entry.opener = lambda: self._open_member(opener, expander, key, size)
        return entry, None

    def _refuse(self, entry: Entry, container: Entry, reason: str) -> Entry:
        """A member a limit keeps from being read: listed, noted, one warning."""
        entry.notes.append(reason)
        self.warn(reason, *entry.segments)
        try:
            self.budget.charge_refusal()
        except BudgetExceeded as error:
            self._stop(error, container.segments)     # this member is still listed; the next are not
        return entry

    def _spooled_member(self, entry: Entry, expander: Expander, opener: Callable[[], IO[bytes]],
                        member: Member) -> tuple[Entry, Spooled | None]:
        """A member read now, its bytes charged to the budget as they come
        and kept (memory or scratch) until the walk has passed it."""
        cap = self.budget.limits.max_member_bytes
        limit = cap if member.size is None else min(member.size, cap)
        handle = None
        try:
            if member.opener is not None:
                stream = member.opener()
            else:
                handle = opener()
                stream = expander.open_member(handle, member.key, ReopenBudget(self.options))
            with self.budget.bounded(stream, limit) as bounded:
                spooled = self._spool.keep(b"", bounded, limit)
        except (OSError, ValueError, EOFError, RuntimeError, ExpansionError) as error:
            spent = error if isinstance(error, BudgetExceeded) else error.__cause__
            if isinstance(spent, BudgetExceeded):
                entry.notes.append(f"not read: {spent}")
                self._stop(spent, entry.segments)
                return entry, None
            message = f"content not readable: {error}"
            entry.notes.append(message)
            self.warn(message, *entry.segments)
            return entry, None
        finally:
            if handle is not None:
                handle.close()
        entry.size = spooled.size
        entry.opener = spooled.open
        entry.walk_only_opener = True      # its address means decompressing all before it again
        return entry, spooled

    def _open_member(self, opener: Callable[[], IO[bytes]], expander: Expander, key: dict[str, Any],
                     size: int | None) -> IO[bytes]:
        handle = opener()
        try:
            budget = ReopenBudget(self.options)
            stream = budget.bounded(expander.open_member(handle, key, budget), size)
        except BaseException:
            handle.close()
            raise
        return Closing(stream, handle)

    # -- reading again -------------------------------------------------------------------------

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        if not is_member_address(address):
            return self.base.open_address(address)
        expander = expander_named(str(address["expander"]))
        if expander is None:
            raise OSError(f"no expander named {address['expander']!r} in this version")
        size = address["member"].get("size") if isinstance(address["member"], dict) else None
        return self._open_member(self._reopen_container(address["within"]), expander, address["member"],
                                 size if isinstance(size, int) else None)

    def _reopen_container(self, address: dict[str, Any]) -> Callable[[], IO[bytes]]:
        """An opener of a seekable stream of the container at ``address``; a
        container that is itself a member is spooled once and kept for the
        next members opened (a worker's batch holds neighbours)."""
        cache_key = json.dumps(address, sort_keys=True)
        if cache_key in self._reopened:
            self._reopened.move_to_end(cache_key)
            spooled = self._reopened[cache_key]
            return spooled.open if spooled is not None else (lambda: self.open_address(address))
        stream = self.open_address(address)
        try:
            if _seekable(stream):
                spooled = None
            else:
                spooled = self._spool.keep(b"", stream, self.budget.limits.max_member_bytes)
        finally:
            stream.close()
        self._reopened[cache_key] = spooled
        while len(self._reopened) > _REOPENED_CONTAINERS:
            _, dropped = self._reopened.popitem(last=False)
            if dropped is not None:
                dropped.discard()
        return spooled.open if spooled is not None else (lambda: self.open_address(address))

    # -- the rest of the interface, the wrapped source's ------------------------------------------

    def take_warnings(self):
        taken = self.base.take_warnings()
        taken.extend(super().take_warnings())
        return taken

    def content_bytes_estimate(self) -> int | None:
        return self.base.content_bytes_estimate()

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        if not is_member_address(entry.address):
            return self.base.find_sibling(entry, name)
        if not name or "/" in name or not entry.segments:
            return None
        address = entry.address
        expander = expander_named(str(address["expander"]))
        if expander is None:
            return None
        own = entry.segments[-1]
        wanted = (own.rsplit("/", 1)[0] + "/" if "/" in own else "") + name
        member = self._sibling_index(address["within"], expander).get(wanted)
        if member is None:
            return None
        opener = self._reopen_container(address["within"])
        key, size = member.key, member.size
        return Entry(segments=entry.segments[:-1] + (member.name,),
                     path=entry.path[:len(entry.path) - len(own)] + member.name, kind=FILE, size=size or 0,
                     allocated=entry.allocated, route=entry.route,
                     address={"within": address["within"], "expander": expander.NAME, "member": key},
                     opener=lambda: self._open_member(opener, expander, key, size))

    def _sibling_index(self, container: dict[str, Any], expander: Expander) -> dict[str, Member]:
        """Members of one container that can be read again from their key (a
        database's -wal, -shm, -journal companions), by name; one container's
        index is kept (a plugin asks for three companions)."""
        cache_key = json.dumps([container, expander.NAME], sort_keys=True)
        if self._siblings is not None and self._siblings[0] == cache_key:
            return self._siblings[1]
        index: dict[str, Member] = {}
        budget = ReopenBudget(self.options)
        handle = self._reopen_container(container)()
        try:
            for item in expander.members(handle, budget):
                if (isinstance(item, Member) and item.opener is None and item.size is not None
                        and not (item.encrypted or item.is_directory or item.refused or item.link_target)):
                    index.setdefault(item.name, item)
        except Exception:   # noqa: BLE001 - the walk warned about this container already; no companions
            pass
        finally:
            handle.close()
        self._siblings = (cache_key, index)
        return index

    def describe(self) -> dict[str, Any]:
        return self.base.describe()

    def describe_after_walk(self) -> dict[str, Any] | None:
        return self.base.describe_after_walk()

    def evidence_streams(self):
        return self.base.evidence_streams()

    def media_host_files(self) -> list[str]:
        return self.base.media_host_files()

    def stored_hashes(self) -> dict[str, str]:
        return self.base.stored_hashes()

    def host_files(self) -> list[str]:
        return self.base.host_files()

    def close(self) -> None:
        try:
            self.base.close()
        finally:
            for spooled in self._reopened.values():
                if spooled is not None:
                    spooled.discard()
            self._reopened.clear()
            self._spool.close()


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _bounded(name: str) -> str:
    return name if len(name) <= MAX_NAME_BYTES else name[:MAX_NAME_BYTES]


def walk_base(source: EvidenceSource) -> EvidenceSource:
    """The source under the expansion walk (a TAR's listing is walked forwards
    before a member is read: without expanding what it holds)."""
    return source.base if isinstance(source, ExpandingSource) else source
