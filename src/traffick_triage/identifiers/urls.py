"""URLs with an http/https/ftp scheme, or starting with "www.".

Canonical value: lower-case scheme, host in IDNA A-label form, default port
dropped, empty path written "/"; path, query and fragment kept as found
(they are case-sensitive). A "www." URL without scheme is given "http://"
in its canonical value only; ``as_found`` keeps what was written.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from .domains import normalise_domain

_URL_RE = re.compile(
    r"(?<![\w.-])(?:(?:https?|ftp)://|www\.)"
    r"[^\s<>\"'`\u00A0\u200B-\u200F\u2028\u2029\u202A-\u202E\u3000]+",
    re.IGNORECASE)
_TRAILING = ".,;:!?'\"»”’…،؛؟"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


@dataclass(frozen=True)
class Url:
    value: str
    host: str          # canonical host (domain or IP literal)
    as_found: str
    start: int
    end: int


def _trim(raw: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets that follow
    a URL in prose ("see http://x.example/a)." )."""
    while raw:
        last = raw[-1]
        if last in _TRAILING:
            raw = raw[:-1]
        elif last in _PAIRS and raw.count(last) > raw.count(_PAIRS[last]):
            raw = raw[:-1]
        else:
            break
    return raw


def _normalise_host(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return normalise_domain(host)


def normalise_url(raw: str) -> tuple[str, str] | None:
    """(canonical URL, canonical host) or None."""
    text = raw if "://" in raw[:8] else "http://" + raw
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    host = _normalise_host(parts.hostname)
    if host is None:
        return None
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if parts.username:
        # Credentials in a URL are evidence too; keep them as written.
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment)), host


# Every URL match holds "://" 3-5 characters after its start (ftp, http,
# https) or starts with "www.": literal searches C runs at GB/s, where
# _URL_RE's own scan (a lookbehind at every position) runs at ~35 MB/s.
_SCHEME_END_RE = re.compile("://")
_WWW_DOT_RE = re.compile(r"\.(?<=www\.)", re.IGNORECASE)


def _url_matches(text: str) -> Iterator[re.Match[str]]:
    """``_URL_RE.finditer(text)``: the leftmost match at or after the end of
    the previous one, tried only where a match can start."""
    starts = {m.start() - back for m in _SCHEME_END_RE.finditer(text) for back in (3, 4, 5) if m.start() >= back}
    starts.update(m.start() - 3 for m in _WWW_DOT_RE.finditer(text))
    end = 0
    for start in sorted(starts):
        if start < end:
            continue
        match = _URL_RE.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def find_urls(text: str) -> Iterator[Url]:
    for match in _url_matches(text):
        raw = _trim(match.group())
        normalised = normalise_url(raw)
        if normalised is not None:
            yield Url(normalised[0], normalised[1], raw, match.start(), match.start() + len(raw))
