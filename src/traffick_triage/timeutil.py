"""Time conversions. Every time the tool emits is timezone-aware and shown in
UTC (ISO 8601, seconds or microseconds); the source's own offset is kept
beside it where the source has one."""

from __future__ import annotations

import datetime as _dt

UTC = _dt.timezone.utc

_UNIX = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_COCOA = _dt.datetime(2001, 1, 1, tzinfo=UTC)      # Apple Cocoa / Core Data
_WEBKIT = _dt.datetime(1601, 1, 1, tzinfo=UTC)     # WebKit / Chrome (microseconds)
_FILETIME = _dt.datetime(1601, 1, 1, tzinfo=UTC)   # Windows FILETIME (100 ns)

# Outside this window a converted value is almost surely a misread field, not a date.
_MIN = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_MAX = _dt.datetime(2100, 1, 1, tzinfo=UTC)


def iso_utc(moment: _dt.datetime) -> str:
    """ISO 8601 in UTC. A naive datetime is refused: callers must know the zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the time zone must be known to convert to UTC")
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="microseconds")
    return moment.isoformat(timespec="seconds")


def _checked(moment: _dt.datetime) -> _dt.datetime | None:
    return moment if _MIN <= moment < _MAX else None


def from_unix_seconds(value: float | int | None) -> _dt.datetime | None:
    if value is None:
        return None
    try:
        return _checked(_UNIX + _dt.timedelta(seconds=float(value)))
    except (OverflowError, ValueError):
        return None


def from_unix_ms(value: float | int | None) -> _dt.datetime | None:
    return None if value is None else from_unix_seconds(float(value) / 1000.0)


def from_cocoa(value: float | int | None) -> _dt.datetime | None:
    """Apple Cocoa/Core Data time: seconds since 2001-01-01 UTC. Newer iOS
    databases store nanoseconds in the same columns; values too large to be
    seconds are read as nanoseconds."""
    if value is None:
        return None
    value = float(value)
    if abs(value) > 1e11:
        value /= 1e9
    try:
        return _checked(_COCOA + _dt.timedelta(seconds=value))
    except (OverflowError, ValueError):
        return None


def from_webkit(value: int | None) -> _dt.datetime | None:
    """WebKit/Chrome time: microseconds since 1601-01-01 UTC."""
    if value is None:
        return None
    try:
        return _checked(_WEBKIT + _dt.timedelta(microseconds=int(value)))
    except (OverflowError, ValueError):
        return None


def from_filetime(value: int | None) -> _dt.datetime | None:
    """Windows FILETIME: 100-nanosecond intervals since 1601-01-01 UTC."""
    if value is None:
        return None
    try:
        return _checked(_FILETIME + _dt.timedelta(microseconds=int(value) // 10))
    except (OverflowError, ValueError):
        return None


def iso_or_none(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)
