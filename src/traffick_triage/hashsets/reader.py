"""Common shape of every hash-set reader: a re-iterable generator of HashEntry
that records problems instead of raising on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .entry import HashEntry

MAX_PROBLEMS_KEPT = 1000  # a garbage file must not turn into gigabytes of messages


class HashSetReader:
    format_name = "unknown"

    def __init__(self, path: str | Path, set_name: str | None = None) -> None:
        self.path = Path(path)
        self.set_name = set_name or self.path.name
        self.problems: list[str] = []
        self.problem_count = 0
        # Format-level facts (version, data model URI, dates) found while reading.
        self.metadata: dict[str, object] = {}

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(message)
        elif len(self.problems) == MAX_PROBLEMS_KEPT:
            self.problems.append("... further problems counted, not kept")

    def __iter__(self) -> Iterator[HashEntry]:
        # Each iteration re-reads the file: reset what the last pass recorded.
        self.problems = []
        self.problem_count = 0
        return self._entries()

    def _entries(self) -> Iterator[HashEntry]:  # pragma: no cover - abstract
        raise NotImplementedError
