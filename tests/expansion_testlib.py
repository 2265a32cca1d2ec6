"""A simple ExpansionBudget for calling expanders directly in tests (the
walk's real budget is shared with the archive readers), and helpers to list
and read every member of a container."""

from __future__ import annotations

import hashlib
import io
from typing import IO

from traffick_triage.expansion.api import (BudgetExceeded, Expander, ExpansionBudget, HEAD_BYTES, Member,
                                           MemberProblem, Probe)
from traffick_triage.filetype import sniff_mime


class _Bounded(io.RawIOBase):
    def __init__(self, stream: IO[bytes], budget: "SimpleBudget", limit: int | None) -> None:
        self._stream, self._budget, self._limit, self._read = stream, budget, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise OSError(f"member gives more than the {self._limit} bytes it declared")
        self._budget.charge_bytes(len(data))
        buffer[:len(data)] = data
        return len(data)


class SimpleBudget(ExpansionBudget):
    def __init__(self, max_members: int = 10_000, max_bytes: int = 1 << 30, max_member: int = 1 << 28) -> None:
        self.max_members, self.max_bytes, self.max_member = max_members, max_bytes, max_member
        self.members = 0
        self.bytes = 0

    def charge_member(self) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise BudgetExceeded(f"more than {self.max_members} members")

    def charge_bytes(self, count: int) -> None:
        self.bytes += count
        if self.bytes > self.max_bytes:
            raise BudgetExceeded(f"more than {self.max_bytes} bytes expanded")

    def member_limit(self, declared_size, compressed_size):
        if declared_size is not None and declared_size > self.max_member:
            return f"declared {declared_size} bytes: over the member size cap"
        return None

    def bounded(self, stream, limit=None):
        return io.BufferedReader(_Bounded(stream, self, limit))


def probe_of(data: bytes, name: str = "x") -> Probe:
    head = data[:HEAD_BYTES]
    return Probe(name=name, size=len(data), mime=sniff_mime(head), head=head)


def expand_all(expander: Expander, data: bytes, budget: ExpansionBudget | None = None):
    """(members, problems, {member name: bytes}) reading every member through open_member."""
    budget = budget or SimpleBudget()
    members: list[Member] = []
    problems: list[MemberProblem] = []
    for item in expander.members(io.BytesIO(data), budget):
        (members if isinstance(item, Member) else problems).append(item)
    contents = {m.name: expander.open_member(io.BytesIO(data), m.key, budget).read() for m in members
                if not m.encrypted}
    return members, problems, contents


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
