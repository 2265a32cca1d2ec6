"""The limits of one evidence item's expansion (issue 17), shared with the
top-level archive readers (issue 11, archive_common.ExpansionLimits): a
member size cap, a compression-ratio cap for large members, one budget of
bytes for everything the item's containers expand to, a member-count cap and
a nesting depth.

The budget grows with what is expanded, like a top-level archive's: every
container found directly in the evidence adds ``max_ratio`` times its own size
(an item may expand to at least EXPANSION_FLOOR_BYTES in all). A container
found inside another adds nothing: a nested bomb cannot feed its own budget.

Decisions are made once, in the walk of the scanning process, in walk order:
a worker process or ``triage cat`` that opens a member again uses a
:class:`ReopenBudget`, which only bounds the stream at the member's size."""

from __future__ import annotations

from typing import IO, Any

from ..sources.archive_common import EXPANSION_FLOOR_BYTES, ExpansionLimits, size_text
from .api import BudgetExceeded, ExpansionBudget
from .spool import StreamOver

DEFAULT_MAX_DEPTH = 8                # containers within containers below a file of the evidence
DEFAULT_MAX_MEMBERS = 1_000_000      # items listed inside files of one evidence item
DEFAULT_MAX_REFUSALS = 100           # members refused by a bomb limit before expansion stops (a nested bomb)


class WalkBudget(ExpansionBudget):
    """One per evidence item; the walk and every expander charge it."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.limits = ExpansionLimits(0, options)
        self._fixed = options.get("max_expansion_bytes") is not None
        self.max_members = int(options.get("max_expand_members", DEFAULT_MAX_MEMBERS))
        self.max_depth = int(options.get("max_expand_depth", DEFAULT_MAX_DEPTH))
        self.max_refusals = int(options.get("max_expand_refusals", DEFAULT_MAX_REFUSALS))
        self.refusals = 0
        self.limit = self.limits.budget
        self._grown = 0
        self.spent = 0
        self.members = 0

    def add_container(self, size: int) -> None:
        """A container of the evidence itself: its share of the budget."""
        if not self._fixed:
            self._grown += int(size * self.limits.max_ratio)
            self.limit = max(EXPANSION_FLOOR_BYTES, self._grown)

    def charge_member(self) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise BudgetExceeded(f"more than {self.max_members} items inside files of this evidence item "
                                 "(member-count cap): the rest are not listed")

    def charge_refusal(self) -> None:
        """One more member or container refused by a limit; past the cap a nested
        bomb (42.zip: a million members over the ratio cap) is stopped whole."""
        self.refusals += 1
        if self.refusals > self.max_refusals:
            raise BudgetExceeded(f"more than {self.max_refusals} members refused by the size, ratio or nesting "
                                 "limits (a nested archive bomb?)")

    def charge_bytes(self, count: int) -> None:
        if self.spent + count > self.limit:
            raise BudgetExceeded(self.over(count))
        self.spent += count

    def over(self, count: int) -> str:
        """Why ``count`` more bytes are not read."""
        return (f"{count} more bytes would take this evidence item's expansion past its budget of {self.limit} "
                f"bytes ({size_text(self.limit)}: the larger of {size_text(EXPANSION_FLOOR_BYTES)} and "
                f"{self.limits.max_ratio:g}x the size of the containers found in it; {size_text(self.spent)} "
                "used): not read (archive bomb?)")

    def member_limit(self, declared_size: int | None, compressed_size: int | None) -> str | None:
        if declared_size is None:
            return None
        reason = self.limits.member_reason(declared_size)
        if reason is None and compressed_size is not None:
            reason = self.limits.ratio_reason(declared_size, compressed_size)
        if reason is None and self.spent + declared_size > self.limit:
            reason = self.over(declared_size)
        return reason

    def bounded(self, stream: IO[bytes], limit: int | None = None) -> IO[bytes]:
        cap = self.limits.max_member_bytes if limit is None else min(limit, self.limits.max_member_bytes)
        return _Bounded(stream, cap, self)


class ReopenBudget(WalkBudget):
    """Opening again a member the walk already admitted: nothing is charged,
    the stream still stops at the member's size."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.limit = 1 << 62
        self.max_members = 1 << 62

    def charge_bytes(self, count: int) -> None:
        return None


class _Bounded(StreamOver):
    """Charges what is read and stops with an OSError past ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int, budget: WalkBudget) -> None:
        self._stream, self._left, self._budget = stream, limit, budget

    def read(self, size: int = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._stream.read(wanted)
        self._left -= len(data)
        if self._left < 0:
            raise OSError("member longer than its limit (archive bomb or a size that lies)")
        try:
            self._budget.charge_bytes(len(data))
        except BudgetExceeded as error:
            # An OSError to a reader that knows nothing of budgets; the walk finds the cause.
            raise OSError(str(error)) from error
        return data
