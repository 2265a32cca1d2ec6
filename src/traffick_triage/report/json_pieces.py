"""Compact, key-sorted JSON written in pieces: exactly
``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``
of a value in which some lists are LazyLists, whose items are made only while
the text is written. The HTML page's map data lists every geotagged item;
this writes it without holding the list."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator

_encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


class LazyList:
    """A list whose items come from ``items()`` each time it is written; the
    items themselves are plain JSON values (no LazyList inside)."""

    def __init__(self, items: Callable[[], Iterable[Any]]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())


def json_pieces(value: Any) -> Iterator[str]:
    """The JSON text of ``value``, in pieces (see the module docstring)."""
    if isinstance(value, LazyList):
        yield "["
        for index, item in enumerate(value):
            yield ("," if index else "") + _encode(item)
        yield "]"
    elif isinstance(value, dict) and _holds_lazy(value):
        yield "{"
        for index, key in enumerate(sorted(value)):
            yield ("," if index else "") + _encode(key) + ":"
            yield from json_pieces(value[key])
        yield "}"
    elif isinstance(value, (list, tuple)) and _holds_lazy(value):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from json_pieces(item)
        yield "]"
    else:
        yield _encode(value)


def _holds_lazy(value: Any) -> bool:
    if isinstance(value, LazyList):
        return True
    if isinstance(value, dict):
        return any(_holds_lazy(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_lazy(item) for item in value)
    return False
