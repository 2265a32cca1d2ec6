"""One pass of every identifier finder (and optionally keywords) over a text."""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from .domains import find_bare_domains
from .emails import find_emails
from .keywords import KeywordHit, KeywordMatcher
from .phones import find_phones
from .urls import find_urls
from .wallets import find_wallets

SNIPPET_CHARS = 80
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class IdentifierHit:
    kind: str                  # phone, email, url, domain, wallet
    value: str                 # canonical
    as_found: str
    start: int
    end: int
    wallet_type: str | None = None
    network: str | None = None
    checksummed: bool | None = None


def snippet(text: str, start: int, end: int, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters around text[start:end], whitespace
    collapsed, "…" marking cuts."""
    if end - start >= width:
        return _SPACE_RE.sub(" ", text[start:start + width - 1]) + "…"
    spare = width - (end - start)
    left = max(0, start - spare // 2)
    right = min(len(text), end + (spare - (start - left)))
    left = max(0, right - width)
    piece = _SPACE_RE.sub(" ", text[left:right]).strip()
    if left > 0:
        piece = "…" + piece[1:] if len(piece) >= width else "…" + piece
    if right < len(text):
        piece = piece[:-1] + "…" if len(piece) >= width else piece + "…"
    return piece[:width]


def find_identifiers(text: str, region: str | None = None) -> Iterator[IdentifierHit]:
    """Phones, e-mails, URLs (and their hosts as domains), bare domains and
    checksum-valid wallets in ``text``."""
    covered: list[tuple[int, int]] = []
    ascii = text.encode("ascii", "replace")     # one byte per character, for the wallet and phone scans
    for email in find_emails(text):
        covered.append((email.start, email.end))
        yield IdentifierHit("email", email.value, email.as_found, email.start, email.end)
    for url in find_urls(text):
        covered.append((url.start, url.end))
        yield IdentifierHit("url", url.value, url.as_found, url.start, url.end)
        if not _is_ip(url.host):
            yield IdentifierHit("domain", url.host, url.as_found, url.start, url.end)
    inside = _containment(covered)
    for domain in find_bare_domains(text):
        if not inside(domain.start, domain.end):
            yield IdentifierHit("domain", domain.value, domain.as_found, domain.start, domain.end)
    for wallet in find_wallets(text, ascii):
        yield IdentifierHit("wallet", wallet.value, wallet.as_found, wallet.start, wallet.end,
                            wallet_type=wallet.wallet_type, network=wallet.network,
                            checksummed=wallet.checksummed)
    for phone in find_phones(text, region, ascii):
        yield IdentifierHit("phone", phone.value, phone.as_found, phone.start, phone.end)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _containment(spans: list[tuple[int, int]]):
    """A test "is [start, end) inside one of ``spans``" in O(log n): a span
    contains it iff some span starting at or before ``start`` reaches
    ``end``, i.e. the running maximum of ends up to there does."""
    spans = sorted(spans)
    starts = [s for s, _ in spans]
    reach: list[int] = []
    for _, end in spans:
        reach.append(max(end, reach[-1]) if reach else end)

    def inside(start: int, end: int) -> bool:
        index = bisect.bisect_right(starts, start) - 1
        return index >= 0 and reach[index] >= end

    return inside


def find_keywords(text: str, matcher: KeywordMatcher | None,
                  locate: Callable[[str, str], bool] | None = None) -> Iterator[KeywordHit]:
    """Keyword hits; see ``KeywordMatcher.find`` for ``locate``."""
    if matcher is not None:
        yield from matcher.find(text, locate)
