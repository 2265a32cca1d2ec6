"""HTML/XML and JSON to plain text for scanning.

HTML/XML: the character data (script and style included: identifiers hide
in inline JavaScript too) plus the values of link-bearing attributes (href,
src, action, content...), because a mailto:/https: link is often only in
the markup. Block-level tags become line breaks so words do not fuse.

JSON: every string (keys too) and integer, one per line, with escapes
resolved ("\\u0627" is Arabic to a reader but not to a regex). If the file
is not valid JSON it is scanned as plain text.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any, Iterator

_LINK_ATTRIBUTES = frozenset({"href", "src", "action", "content", "value", "title", "alt",
                              "data-href", "data-url", "cite", "poster"})
_BREAK_TAGS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "section", "article", "header", "footer", "title",
                         "option", "blockquote", "pre", "hr"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAK_TAGS:
            self.parts.append("\n")
        for name, value in attrs:
            if value and name in _LINK_ATTRIBUTES:
                self.parts.append(f" {value} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        # <![CDATA[ ... ]]> in XML
        if data.startswith("CDATA["):
            self.parts.append(data[6:])


def markup_to_text(text: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(text)
        collector.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; keep what we got
        pass
    return "".join(collector.parts)


def _json_strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 200:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        yield str(value)   # phone numbers stored as integers
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, depth + 1)


def json_to_text(text: str) -> str:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return "\n".join(_json_strings(value))
