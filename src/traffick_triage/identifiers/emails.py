"""E-mail addresses. The canonical value is the whole address in lower case
(the local part is case-sensitive in theory, never in practice at the big
providers, and one person typing their address two ways must index as one),
with the domain in its IDNA A-label form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from .domains import DOMAIN_PATTERN, normalise_domain
from .windows import finditer_near

# Dot-atom local part (RFC 5322 without quoted strings, which do not occur in
# the wild outside test suites); Unicode letters allowed (RFC 6531).
_LOCAL = r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
_EMAIL_RE = re.compile(rf"(?<![\w.+-]){_LOCAL}@{DOMAIN_PATTERN}(?![\w-]|\.\w)")
_AT_RE = re.compile("@")
# A valid address has at most 64 characters before the @ and 253 after.
_BEFORE, _AFTER = 80, 270


@dataclass(frozen=True)
class Email:
    value: str
    domain: str
    as_found: str
    start: int
    end: int


def normalise_email(address: str) -> str | None:
    address = address.strip()
    local, at, host = address.rpartition("@")
    if not at or not local or len(local) > 64 or ".." in local:
        return None
    domain = normalise_domain(host)
    if domain is None:
        return None
    return f"{local.lower()}@{domain}"


def find_emails(text: str) -> Iterator[Email]:
    for match in finditer_near(_EMAIL_RE, text, _AT_RE, _BEFORE, _AFTER):
        raw = match.group()
        value = normalise_email(raw)
        if value is not None:
            yield Email(value, value.rpartition("@")[2], raw, match.start(), match.end())
