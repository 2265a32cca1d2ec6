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

import functools
import re
import threading
from dataclasses import dataclass
from typing import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat

try:
    import hyperscan
except ImportError:   # no wheel for this platform: the class search finds every digit (same runs)
    hyperscan = None

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


# Finding the next digit: a character-class search (``_DIGIT_RE``) looks at
# every character in Python's regex engine (~200 MB/s). Most text holds ASCII
# digits only, found with a byte search (memchr) over a one-byte-per-character
# view; whether it holds any other digit, Hyperscan tells from its UTF-8 at
# GB/s. Text that does (or any text, without Hyperscan) takes the class search.
_ASCII_DIGIT_MARKS = bytes(0x64 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))   # "d" / " "
_OTHER_DIGITS = rb"[\x{660}-\x{669}\x{6F0}-\x{6F9}\x{FF10}-\x{FF19}]"        # = _DIGIT minus 0-9
_SCRATCH = threading.local()       # Hyperscan scratch space serves one scan at a time


@functools.lru_cache(maxsize=1)
def _other_digit_database():
    if hyperscan is None:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=[_OTHER_DIGITS], ids=[0], elements=1,
                         flags=[hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH])
    except hyperscan.error:
        return None
    return database


def _has_non_ascii_digit(text: str) -> bool:
    """Whether ``text`` may hold an Arabic-Indic, Persian or full-width
    digit (True when that cannot be told cheaply)."""
    if text.isascii():
        return False
    database = _other_digit_database()
    if database is None:
        return True
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:       # lone surrogates: not UTF-8 Hyperscan can read
        return True
    scratch = getattr(_SCRATCH, "space", None)
    if scratch is None:
        scratch = _SCRATCH.space = hyperscan.Scratch(database)
    found = []
    try:
        database.scan(data, match_event_handler=lambda *_args: found.append(True) or True, scratch=scratch)
    except hyperscan.ScanTerminated:
        pass
    return bool(found)


def _runs(text: str, ascii: bytes | None = None) -> Iterator[re.Match[str]]:
    """``_RUN_RE.finditer(text)``, jumping to the next digit with a plain
    search (several times faster than ``_RUN_RE``'s own scan, whose optional
    "+"/"(" start it cannot skip ahead with): a run starts at a digit or at
    the character before one, so the leftmost run at or after ``position``
    is the leftmost from one before the next digit. ``ascii``: the text
    encoded ASCII with "replace" (one byte per character), if at hand."""
    if _has_non_ascii_digit(text):
        next_digit = _regex_digits(text)
    else:
        if ascii is None:
            ascii = text.encode("ascii", "replace")
        next_digit = _marked_digits(ascii.translate(_ASCII_DIGIT_MARKS))
    position = 0
    while (digit := next_digit(position)) >= 0:
        run = _RUN_RE.search(text, max(position, digit - 1))
        if run is None:          # cannot happen: a digit alone is a run
            return
        yield run
        position = run.end()


def _regex_digits(text: str):
    def next_digit(position: int) -> int:
        found = _DIGIT_RE.search(text, position)
        return -1 if found is None else found.start()
    return next_digit


def _marked_digits(marks: bytes):
    def next_digit(position: int) -> int:
        return marks.find(b"d", position)
    return next_digit


def _windows(text: str, international_only: bool, ascii: bytes | None = None) -> Iterator[tuple[int, int]]:
    """Merged (start, end) windows around digit runs that could hold a
    number: enough digits, not just a date, and (without a default region)
    written with a leading "+"."""
    current: list[int] | None = None
    for run in _runs(text, ascii):
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


def find_phones(text: str, region: str | None = None, ascii: bytes | None = None) -> Iterator[Phone]:
    """Valid numbers in ``text`` (``ascii``: see ``_runs``)."""
    region = region.upper() if region else None
    for start, end in _windows(text, region is None, ascii):
        window = text[start:end]
        try:
            matcher = phonenumbers.PhoneNumberMatcher(window, region, leniency=Leniency.VALID,
                                                      max_tries=_MAX_TRIES_PER_WINDOW)
            for match in matcher:
                value = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
                yield Phone(value, match.raw_string, start + match.start, start + match.end)
        except Exception:  # noqa: BLE001 - a library bug on odd input must not end the scan
            continue
