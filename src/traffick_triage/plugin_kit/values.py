"""Value helpers every artifact plugin needs: stored text and numbers as
found, and the epochs phones and browsers write, as UTC ISO 8601."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Iterable

from ..timeutil import from_cocoa, from_unix_ms, from_unix_seconds, from_webkit, iso_or_none, iso_utc


def clean(value: Any) -> str | None:
    """A stored text value stripped of surrounding whitespace; None when empty.
    BLOB values (some Apple tables store addresses as BLOB) are decoded as UTF-8."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def as_text(value: Any) -> str | None:
    """A message body as stored (whitespace kept); a BLOB (real WhatsApp iOS
    stores write some ZTEXT values as BLOB) is decoded as UTF-8."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return None if value is None else str(value)


def unique(values: Iterable[Any]) -> tuple[str, ...]:
    """Cleaned, non-empty values in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean(value)
        if text is not None:
            seen.setdefault(text, None)
    return tuple(seen)


def number(value: Any) -> int | float | None:
    """A stored number, or None. SQLite types each value, not each column, so
    a time or duration column can hold text or a BLOB in a damaged or hostile
    store: numeric text is read, anything else is None (not an error)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def integer(value: Any) -> int | None:
    """A stored whole number (a count, a flag, a state code), or None: like
    :func:`number`, and None for text such as "inf" or "nan" that reads as a
    number but is no count."""
    found = number(value)
    if found is None or (isinstance(found, float) and not math.isfinite(found)):
        return None
    return int(found)


def flag(value: Any) -> bool | None:
    """A stored 0/1 flag as a bool, or None when not stored (or not a number)."""
    found = integer(value)
    return None if found is None else bool(found)


def _time_value(value: Any) -> int | float | None:
    # Stores write 0 for "not set"; 1970-01-01 / 2001-01-01 would be a misreading.
    value = number(value)
    return None if value is None or value == 0 else value


def unix_ms_iso(value: Any) -> str | None:
    value = _time_value(value)
    return None if value is None else iso_or_none(from_unix_ms(value))


def unix_s_iso(value: Any) -> str | None:
    value = _time_value(value)
    return None if value is None else iso_or_none(from_unix_seconds(value))


def cocoa_iso(value: Any) -> str | None:
    """Cocoa seconds or (newer iOS/macOS) nanoseconds since 2001; timeutil decides."""
    value = _time_value(value)
    return None if value is None else iso_or_none(from_cocoa(value))


def webkit_iso(value: Any) -> str | None:
    """WebKit/Chrome time: microseconds since 1601-01-01 UTC (0: not set)."""
    value = _time_value(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return iso_or_none(from_webkit(int(value)))


def plist_time_iso(value: Any) -> str | None:
    """A plist <date> as UTC ISO 8601. plistlib returns naive datetimes that
    are UTC by the format's definition (binary: Cocoa seconds; XML: a "Z"
    time); anything else (a damaged value of another type) is None."""
    if not isinstance(value, _dt.datetime):
        return None
    moment = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
    try:
        return iso_utc(moment)
    except (ValueError, OverflowError):
        return None
