"""Phone numbers: candidates in free text, and normalisation to E.164.

Region policy: with a default region (the case's country, e.g. "KW"),
national spellings ("51234567", "0096551234567") are read as numbers of that
region; with ``region=None`` only numbers written in international format
(leading "+") are accepted, because a bare digit run cannot be placed in a
numbering plan and would mostly be noise (order numbers, amounts, dates).

Matching uses ``phonenumbers.PhoneNumberMatcher`` with ``Leniency.VALID``:
the number must be valid for its region's numbering plan. (STRICT_GROUPING
rejects common spellings such as "+965 5123 4567".) Arabic-Indic (٠-٩) and
Persian (۰-۹) digits are read by phonenumbers itself; ``as_found`` keeps
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat

_DIGIT = "0-9\u0660-\u0669\u06F0-\u06F9\uFF10-\uFF19"
# A run of digits with the separators people put in phone numbers. The
# matcher only ever sees windows around such runs: text without digits
# (most of it) costs one regex scan instead of a matcher pass.
_RUN_RE = re.compile(rf"[+\uFF0B(]?[{_DIGIT}](?:[{_DIGIT} \t\u00A0().\-/\u2010-\u2015]{{0,40}}[{_DIGIT}])?")
_DIGIT_RE = re.compile(rf"[{_DIGIT}]")
# Dates are the commonest 8-digit runs in logs and chats: 2024-05-01, 01/05/2024.
_DATE_RE = re.compile(r"\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})\s*")
_WINDOW_MARGIN = 12        # context the matcher looks at around a run
_MAX_TRIES_PER_WINDOW = 200
MIN_DIGITS = 7             # shorter runs are never a full subscriber number

_DIGIT_TABLE = {code: str(code - base) for base in (0x0660, 0x06F0, 0xFF10)
                for code in range(base, base + 10)}


@dataclass(frozen=True)
class Phone:
    value: str         # E.164
    as_found: str
    start: int
    end: int


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic, Persian and full-width digits as ASCII (same length)."""
    return text.translate(_DIGIT_TABLE)


def normalise_phone(raw: str, region: str | None = None, *, require_valid: bool = True) -> str | None:
    """E.164 for one phone number as stored (a contact's number field), or
    None. ``region`` is the default region for national spellings; with
    None only "+" numbers parse. ``require_valid=False`` also accepts
    numbers that are merely possible (length fits), for address books that
    hold numbers of ranges newer than the metadata."""
    if not raw or len(raw) > 64:
        return None
    text = to_ascii_digits(raw).strip()
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) if require_valid else phonenumbers.is_possible_number(number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if ok else None


def _runs(text: str) -> Iterator[re.Match[str]]:
    """``_RUN_RE.finditer(text)``, jumping to the next digit with a plain
    character-class search (several times faster than ``_RUN_RE``'s own
    scan, whose optional "+"/"(" start it cannot skip ahead with): a run
    starts at a digit or at the character before one, so the leftmost run
    at or after ``position`` is the leftmost from one before the next digit."""
    position = 0
    while (digit := _DIGIT_RE.search(text, position)) is not None:
        run = _RUN_RE.search(text, max(position, digit.start() - 1))
        if run is None:          # cannot happen: a digit alone is a run
            return
        yield run
        position = run.end()


def _windows(text: str, international_only: bool) -> Iterator[tuple[int, int]]:
    """Merged (start, end) windows around digit runs that could hold a
    number: enough digits, not just a date, and (without a default region)
    written with a leading "+"."""
    current: list[int] | None = None
    for run in _runs(text):
        digits = run.group()
        if international_only and not digits.startswith(("+", "\uFF0B")):
            continue
        if len(_DIGIT_RE.findall(digits)) < MIN_DIGITS or _DATE_RE.fullmatch(to_ascii_digits(digits)):
            continue
        start = max(0, run.start() - _WINDOW_MARGIN)
        end = min(len(text), run.end() + _WINDOW_MARGIN)
        if current and start <= current[1]:
            current[1] = end
            continue
        if current:
            yield current[0], current[1]
        current = [start, end]
    if current:
        yield current[0], current[1]


def find_phones(text: str, region: str | None = None) -> Iterator[Phone]:
    region = region.upper() if region else None
    for start, end in _windows(text, international_only=region is None):
        window = text[start:end]
        try:
            matcher = phonenumbers.PhoneNumberMatcher(window, region, leniency=Leniency.VALID,
                                                      max_tries=_MAX_TRIES_PER_WINDOW)
            for match in matcher:
                value = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
                yield Phone(value, match.raw_string, start + match.start, start + match.end)
        except Exception:  # noqa: BLE001 - a library bug on odd input must not end the scan
            continue
