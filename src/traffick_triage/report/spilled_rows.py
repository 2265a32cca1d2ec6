"""A table's rows kept on disk in display order until the page is written.

The HTML page lists every message, contact, call, identifier and match of a
case; as Python lists they would hold the whole case in memory while the page
is rendered. SpilledRows sorts them on disk (ExternalSort: exactly Python's
stable ``sorted`` by the same key) and gives them back one at a time, as often
as the template iterates them, with their count known without reading them."""

from __future__ import annotations

import itertools
import pickle
from typing import Any, Iterator

from ..external_sort import ExternalSort


class SpilledRows:
    """Rows (any picklable values) added with a sort key of ``key_width``
    values; iterated in key order, rows with equal keys in the order added.
    ``key_width=0``: the order added."""

    def __init__(self, key_width: int) -> None:
        self._key_width = key_width
        self._sorted = ExternalSort(key_width=max(key_width, 1), payload_width=1)
        self._count = 0

    def add(self, key: tuple[Any, ...], row: Any) -> None:
        if len(key) != self._key_width:
            raise ValueError(f"{len(key)} key values, expected {self._key_width}")
        self._sorted.add(key or (self._count,), (pickle.dumps(row, pickle.HIGHEST_PROTOCOL),))
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Any]:
        for (payload,) in self._sorted:
            yield pickle.loads(payload)

    def first(self, count: int) -> Iterator[Any]:
        """The first ``count`` rows in order: what a page shows of a long table."""
        return itertools.islice(self, count)

    def close(self) -> None:
        self._sorted.close()

    def __enter__(self) -> SpilledRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
