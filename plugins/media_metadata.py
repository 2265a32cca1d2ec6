"""Metadata of MP4 / QuickTime / 3GP videos: creation time, recording place,
duration and camera.

Read with PyAV (FFmpeg's libavformat ``mov`` demuxer): it reads the movie
header (``mvhd`` creation time, duration), the QuickTime ``udta`` strings
(``©xyz`` location, ``©mak``/``©mod``), Apple's ``mdta`` keys
(``com.apple.quicktime.location.ISO6709``, ``.creationdate``, ``.make``,
``.model``) and the 3GPP ``loci`` box (which FFmpeg rounds to 4 decimals,
about 11 m). Only headers are read: no frame is decoded.

PyAV is an optional dependency (the ``video`` extra); without it the plugin
warns once per file and yields nothing.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

try:
    import av
except ImportError:  # optional dependency
    av = None

from ..plugin_api import Context, FileView, Finding, Plugin, Selector, TimelineEvent
from ..timeutil import iso_utc

# Metadata keys as libavformat names them, most specific first.
_LOCATION_KEYS = ("com.apple.quicktime.location.ISO6709", "location")
_MAKE_KEYS = ("com.apple.quicktime.make", "make")
_MODEL_KEYS = ("com.apple.quicktime.model", "model")
_SOFTWARE_KEYS = ("com.apple.quicktime.software", "software")
_APPLE_CREATION = "com.apple.quicktime.creationdate"

# ISO 6709 point: latitude, longitude, optional altitude, optional CRS, "/".
# Degrees may be written D.D, DDMM.M or DDMMSS.S (the integer digit count says which).
_ISO6709 = re.compile(r"^([+-])(\d+)(\.\d+)?([+-])(\d+)(\.\d+)?(?:([+-]\d+(?:\.\d+)?))?(?:CRS[^/]*)?/?$")


@dataclass(frozen=True)
class MediaMetadata(Finding):
    """Container facts. ``creation_time_utc`` is the movie header time, UTC
    by ISO/IEC 14496-12 (some cameras wrongly write local time there)."""

    KIND: ClassVar[str] = "media.metadata"

    container: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    encoder: str | None = None
    creation_time_utc: str | None = None
    apple_creation_date: str | None = None       # as found: local time with its offset
    apple_creation_offset: str | None = None     # that offset, "+HH:MM"
    apple_creation_date_utc: str | None = None

    def timeline_events(self) -> tuple[TimelineEvent, ...]:
        camera = " ".join(part for part in (self.make, self.model) if part) or "unknown device"
        events = []
        if self.creation_time_utc:
            events.append(TimelineEvent(
                datetime=self.creation_time_utc, timestamp_desc="Media Created",
                message=f"Video created ({camera}), movie header creation time (UTC by spec)",
                timezone="UTC", extra={"source": "mvhd"}))
        if self.apple_creation_date_utc:
            events.append(TimelineEvent(
                datetime=self.apple_creation_date_utc, timestamp_desc="Video Recorded",
                message=f"Video recorded ({camera}), {_APPLE_CREATION} {self.apple_creation_date}",
                local_time=self.apple_creation_date, timezone=self.apple_creation_offset,
                extra={"source": _APPLE_CREATION}))
        return tuple(events)


@dataclass(frozen=True)
class MediaLocation(Finding):
    """Recording place in signed decimal degrees; ``iso6709`` as found."""

    KIND: ClassVar[str] = "media.gps"

    latitude: float
    longitude: float
    altitude: float | None
    iso6709: str
    source: str


class MediaMetadataPlugin(Plugin):
    NAME = "media"
    VERSION = "1.0.0"
    DESCRIPTION = "Creation time, location, duration and camera of MP4, QuickTime and 3GP videos"
    SELECTOR = Selector(mime_types=("video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2",
                                    "video/x-m4v"))

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        if av is None:
            ctx.warn("media: PyAV (package 'av') is not installed; video metadata not read")
            return
        facts = _read_container(file, ctx)
        if facts is None:
            return
        tags, container, duration, size = facts
        yield _metadata(tags, container, duration, size, ctx)
        location = _location(tags, ctx)
        if location is not None:
            yield location


def _refuse_io_open(url: str, flags: int, options: dict[str, Any]) -> Any:
    # A video must never make the demuxer open another file (external data references).
    raise PermissionError(f"refusing to open {url!r} referenced from inside evidence")


# Metadata bytes that are not UTF-8: PyAV before 19 decodes them as asked
# (metadata_errors, here "replace"); PyAV 19 dropped the option and always
# decodes with "surrogateescape", whose lone surrogates no UTF-8 output can
# hold. Both give U+FFFD for them through _replace_undecodable.
_METADATA_ERRORS: dict[str, str] = (
    {"metadata_errors": "replace"} if av is not None and int(av.__version__.split(".")[0]) < 19 else {})


def _replace_undecodable(text: Any) -> str:
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read_container(file: FileView, ctx: Context):
    with file.open() as stream:
        try:
            # format="mov" pins the one demuxer for MP4/MOV/3GP: content can
            # not steer FFmpeg to playlist or concat demuxers.
            with av.open(stream, mode="r", format="mov", io_open=_refuse_io_open,
                         **_METADATA_ERRORS) as container:
                tags = {_replace_undecodable(k): _replace_undecodable(v) for k, v in container.metadata.items()}
                duration = container.duration / av.time_base if container.duration else None
                size = None
                if container.streams.video:
                    codec = container.streams.video[0].codec_context
                    size = (codec.width or None, codec.height or None)
                return tags, container.format.name, duration, size
        except Exception as error:  # noqa: BLE001 - FFmpeg errors and I/O errors alike
            ctx.warn(f"media: not a readable MP4/QuickTime container ({type(error).__name__}: {error})")
            return None


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> tuple[str | None, str | None]:
    for key in keys:
        value = tags.get(key, "").strip()
        if value:
            return key, value
    return None, None


def _parse_iso_time(raw: str | None, what: str, ctx: Context) -> _dt.datetime | None:
    if not raw:
        return None
    try:
        moment = _dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        ctx.warn(f"media: {what} {raw!r} is not an ISO 8601 time")
        return None
    if moment.tzinfo is None:
        ctx.warn(f"media: {what} {raw!r} has no UTC offset")
        return None
    return moment


def _metadata(tags: dict[str, str], container: str, duration: float | None,
              size: tuple[int | None, int | None] | None, ctx: Context) -> MediaMetadata:
    created = _parse_iso_time(_one_value(tags.get("creation_time")), "creation_time", ctx)
    apple_raw = _one_value(tags.get(_APPLE_CREATION))
    apple = _parse_iso_time(apple_raw, _APPLE_CREATION, ctx)
    width, height = size or (None, None)
    return MediaMetadata(
        container=container, duration_seconds=round(duration, 6) if duration else None,
        width=width, height=height,
        make=_first(tags, _MAKE_KEYS)[1], model=_first(tags, _MODEL_KEYS)[1],
        software=_first(tags, _SOFTWARE_KEYS)[1], encoder=tags.get("encoder"),
        creation_time_utc=iso_utc(created) if created else None,
        apple_creation_date=apple_raw if apple else None,
        apple_creation_offset=_offset_text(apple) if apple else None,
        apple_creation_date_utc=iso_utc(apple) if apple else None)


def _one_value(raw: str | None) -> str | None:
    """A key the file holds twice with the same value, once. FFmpeg 9 (PyAV
    19's wheels) gives such a key as its values joined by ";" (an MP4's mvhd
    creation time and its metadata key "creation_time"), where FFmpeg 8 gave
    one; different values are left joined, so the warning shows them all."""
    if raw is None or ";" not in raw:
        return raw
    values = set(raw.split(";"))
    return values.pop() if len(values) == 1 else raw


def _offset_text(moment: _dt.datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_iso6709(text: str) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) from an ISO 6709 point string, or None."""
    match = _ISO6709.match(text.strip())
    if not match:
        return None
    lat_sign, lat_int, lat_frac, lon_sign, lon_int, lon_frac, alt = match.groups()
    latitude = _sexagesimal(lat_int, lat_frac or "", degree_digits=2)
    longitude = _sexagesimal(lon_int, lon_frac or "", degree_digits=3)
    if latitude is None or longitude is None or latitude > 90 or longitude > 180:
        return None
    return (-latitude if lat_sign == "-" else latitude,
            -longitude if lon_sign == "-" else longitude,
            float(alt) if alt else None)


def _sexagesimal(integer: str, fraction: str, degree_digits: int) -> float | None:
    """ISO 6709 writes D, DM or DMS with fixed-width degrees/minutes/seconds."""
    extra = len(integer) - degree_digits
    if extra not in (0, 2, 4):
        return None
    degrees = float(integer[:degree_digits])
    if extra == 0:
        return degrees + float("0" + fraction) if fraction else degrees
    minutes = float(integer[degree_digits:degree_digits + 2] + (fraction if extra == 2 else ""))
    seconds = float(integer[degree_digits + 2:] + fraction) if extra == 4 else 0.0
    if minutes >= 60 or seconds >= 60:
        return None
    return degrees + minutes / 60 + seconds / 3600


def _location(tags: dict[str, str], ctx: Context) -> MediaLocation | None:
    key, raw = _first(tags, _LOCATION_KEYS)
    raw = _one_value(raw)
    if raw is None:
        return None
    point = parse_iso6709(raw)
    if point is None:
        ctx.warn(f"media: location {raw!r} ({key}) is not a valid ISO 6709 point")
        return None
    latitude, longitude, altitude = point
    return MediaLocation(latitude=latitude, longitude=longitude, altitude=altitude,
                         iso6709=raw, source=key)
