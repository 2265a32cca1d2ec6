"""EXIF metadata of still images: camera, capture times and GPS position.

Pillow reads the container (JPEG, TIFF, PNG, WebP, and HEIC/HEIF through
pillow_heif) lazily: ``Image.open`` parses headers and metadata and never
decodes pixels here. When Pillow refuses a file (a decompression bomb, a
header it cannot parse) exifread, a pure metadata parser, reads the tags
instead. Both are normalised to ``{(ifd, tag id): value}`` so the rest of the
module does not care which library answered.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import re
import warnings
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Iterator

import exifread
import pillow_heif
from PIL import ExifTags, Image

from ..perceptual.decode import DECODE_PIXEL_BUDGET
from ..plugin_api import Context, FileView, Finding, Plugin, Selector, TimelineEvent
from ..timeutil import iso_utc

# HEIC/HEIF support is a Pillow plug-in that must be registered once.
pillow_heif.register_heif_opener()

IFD0, EXIF, GPS = "ifd0", "exif", "gps"
# Pillow finds a PNG's eXIf chunk after the image data only by decoding every
# pixel (PngImageFile.getexif calls load()): 500 MB for a 13,000 x 13,000 PNG.
# Past this many pixels such a PNG's tags are read by exifread, which walks
# the chunks without decoding.
PNG_DECODE_PIXELS = DECODE_PIXEL_BUDGET


class _WouldDecodePixels(Exception):
    """Pillow would decode the whole picture to reach its tags."""
TagMap = dict[tuple[str, int], Any]

# Tag ids (EXIF 2.32 / CIPA DC-008); names as exiftool prints them.
MAKE, MODEL, SOFTWARE, ORIENTATION, MODIFY_DATE = 0x010F, 0x0110, 0x0131, 0x0112, 0x0132
IMAGE_WIDTH, IMAGE_LENGTH = 0x0100, 0x0101
DATE_TIME_ORIGINAL, CREATE_DATE = 0x9003, 0x9004
OFFSET_TIME, OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
PIXEL_X, PIXEL_Y = 0xA002, 0xA003
BODY_SERIAL, LENS_MAKE, LENS_MODEL, LENS_SERIAL = 0xA431, 0xA433, 0xA434, 0xA435
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 0x01, 0x02, 0x03, 0x04
GPS_ALT_REF, GPS_ALT, GPS_TIME, GPS_MAP_DATUM, GPS_DATE = 0x05, 0x06, 0x07, 0x12, 0x1D

_EXIF_DATE = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_GPS_DATE = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})$")


@dataclass(frozen=True)
class ExifMetadata(Finding):
    """Camera and capture-time facts. Date fields are kept exactly as found;
    ``capture_time_utc`` exists only when the file states its UTC offset."""

    KIND: ClassVar[str] = "exif.metadata"

    make: str | None = None
    model: str | None = None
    body_serial: str | None = None
    lens_make: str | None = None
    lens_model: str | None = None
    lens_serial: str | None = None
    software: str | None = None
    orientation: int | None = None
    width: int | None = None
    height: int | None = None
    date_time_original: str | None = None
    create_date: str | None = None
    modify_date: str | None = None
    offset_time_original: str | None = None
    offset_time_digitized: str | None = None
    offset_time: str | None = None
    capture_time_local: str | None = None
    capture_time_utc: str | None = None
    timezone: str = "unknown"

    def timeline_events(self) -> tuple[TimelineEvent, ...]:
        camera = " ".join(part for part in (self.make, self.model) if part) or "unknown camera"
        events = []
        # (raw value, its offset, description, EXIF source); digitised/modified
        # times only add an event when they differ from the capture time.
        sources = [(self.date_time_original, self.offset_time_original, "Image Captured", "DateTimeOriginal")]
        if self.create_date != self.date_time_original:
            sources.append((self.create_date, self.offset_time_digitized, "Image Digitized", "CreateDate"))
        if self.modify_date != self.date_time_original:
            sources.append((self.modify_date, self.offset_time, "Image Modified", "ModifyDate"))
        for raw, offset, description, tag in sources:
            local = _parse_exif_datetime(raw)
            if local is None:
                continue
            zone = _parse_offset(offset)
            events.append(TimelineEvent(
                datetime=iso_utc(local.replace(tzinfo=zone)) if zone else None,
                timestamp_desc=description,
                message=f"{description} ({camera}), EXIF {tag} {raw}",
                local_time=local.isoformat(),
                timezone=offset if zone else "unknown",
                extra={"exif_tag": tag}))
        return tuple(events)


@dataclass(frozen=True)
class ExifGps(Finding):
    """GPS position in signed decimal degrees (WGS-84 unless ``map_datum``
    says otherwise); ``gps_time_utc`` from GPSDateStamp + GPSTimeStamp."""

    KIND: ClassVar[str] = "exif.gps"

    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    gps_time_utc: str | None = None
    gps_date_stamp: str | None = None
    gps_time_stamp: str | None = None
    map_datum: str | None = None

    def timeline_events(self) -> tuple[TimelineEvent, ...]:
        if self.gps_time_utc is None:
            return ()
        where = ("no position" if self.latitude is None or self.longitude is None
                 else f"{self.latitude:.6f}, {self.longitude:.6f}")
        return (TimelineEvent(datetime=self.gps_time_utc, timestamp_desc="GPS Time",
                              message=f"GPS fix ({where})", timezone="UTC",
                              extra={"latitude": self.latitude, "longitude": self.longitude}),)


class ExifPlugin(Plugin):
    NAME = "exif"
    VERSION = "1.0.0"
    DESCRIPTION = "EXIF camera, capture time and GPS position of JPEG, TIFF, HEIC, PNG and WebP images"
    SELECTOR = Selector(mime_types=("image/jpeg", "image/tiff", "image/heic", "image/heif",
                                    "image/png", "image/webp"))

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        tags, size = _read_tags(file, ctx)
        if tags is None or not any(ifd in (IFD0, EXIF, GPS) for ifd, _ in tags):
            return
        metadata = _metadata(tags, size, ctx)
        if metadata is not None:
            yield metadata
        gps = _gps(tags, ctx)
        if gps is not None:
            yield gps


# ---------------------------------------------------------------- reading

def _read_tags(file: FileView, ctx: Context) -> tuple[TagMap | None, tuple[int, int] | None]:
    with file.open() as stream:
        try:
            return _tags_with_pillow(stream, ctx)
        except _WouldDecodePixels:
            pass                        # exifread reads the chunks; nothing is missed
        except Image.DecompressionBombError as error:
            ctx.warn(f"EXIF: Pillow refused the image as a possible decompression bomb ({error}); "
                     "tags read with exifread, pixels never decoded")
        except Image.UnidentifiedImageError:
            ctx.warn("EXIF: Pillow does not recognise the image data; trying exifread")
        except Exception as error:  # noqa: BLE001 - Pillow raises many types on corrupt input
            ctx.warn(f"EXIF: Pillow could not open the image ({type(error).__name__}: {error}); "
                     "trying exifread")
        stream.seek(0)
        try:
            return _tags_with_exifread(stream, ctx), None
        except Exception as error:  # noqa: BLE001 - same for exifread
            ctx.warn(f"EXIF: unreadable EXIF data ({type(error).__name__}: {error})")
            return None, None


def _tags_with_pillow(stream: IO[bytes], ctx: Context) -> tuple[TagMap, tuple[int, int]]:
    with warnings.catch_warnings(record=True) as caught:
        # Pillow reports corrupt IFD entries (bad offsets, short data) as
        # warnings and skips them; they become the file's warnings.
        warnings.simplefilter("always")
        with Image.open(stream) as image:   # lazy: headers and metadata only
            if (image.format == "PNG" and "exif" not in image.info
                    and image.size[0] * image.size[1] > PNG_DECODE_PIXELS):
                raise _WouldDecodePixels()
            exif = image.getexif()
            tags: TagMap = {(IFD0, tag): value for tag, value in exif.items()}
            for ifd, pointer in ((EXIF, ExifTags.IFD.Exif), (GPS, ExifTags.IFD.GPSInfo)):
                tags.update({(ifd, tag): value for tag, value in exif.get_ifd(pointer).items()})
            size = image.size
    for warning in caught:
        ctx.warn(f"EXIF: {warning.message}")
    return tags, size


def _tags_with_exifread(stream: IO[bytes], ctx: Context) -> TagMap:
    logger = logging.getLogger("exifread")
    handler = _ListHandler()
    propagate, logger.propagate = logger.propagate, False   # keep its warnings off stderr
    logger.addHandler(handler)
    try:
        found = exifread.process_file(stream, details=False)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    for message in handler.messages:
        if "does not have exif" not in message.lower():   # absence is not a defect
            ctx.warn(f"EXIF: {message}")
    prefixes = {"Image": IFD0, "EXIF": EXIF, "GPS": GPS}
    tags: TagMap = {}
    for key, tag in found.items():
        ifd = prefixes.get(key.split(" ", 1)[0])
        if ifd is None or not hasattr(tag, "values"):
            continue
        values = tag.values
        if isinstance(values, list):
            values = values[0] if len(values) == 1 else tuple(values)
        tags[(ifd, tag.tag)] = values
    return tags


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# ---------------------------------------------------------------- values

def _text(value: Any) -> str | None:
    """An EXIF ASCII value as exiftool shows it: up to the first NUL, trailing
    blanks removed; None when nothing is left."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.split("\x00", 1)[0].rstrip()
    return value or None


def _int(value: Any) -> int | None:
    if isinstance(value, (bytes, tuple, list)):
        value = value[0] if value else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _floats(value: Any) -> tuple[float, ...] | None:
    """Rationals (Pillow IFDRational, exifread Ratio, ints) as floats; None
    when any is not a finite number (a zero denominator gives NaN)."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    try:
        numbers = tuple(float(item) for item in items)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return numbers if numbers and all(math.isfinite(n) for n in numbers) else None


def _blank(raw: str | None) -> bool:
    """Cameras without a clock write blanks or zeros: that is absence, not damage."""
    return raw is None or not raw.strip(" :0-\x00")


def _parse_exif_datetime(raw: str | None) -> _dt.datetime | None:
    if _blank(raw):
        return None
    match = _EXIF_DATE.match(raw.strip())
    if not match:
        return None
    try:
        return _dt.datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _parse_offset(raw: str | None) -> _dt.timezone | None:
    match = _OFFSET.match(raw.strip()) if raw else None
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = _dt.timedelta(hours=int(hours), minutes=int(minutes))
    if delta > _dt.timedelta(hours=14):
        return None
    return _dt.timezone(-delta if sign == "-" else delta)


# ---------------------------------------------------------------- findings

def _metadata(tags: TagMap, size: tuple[int, int] | None, ctx: Context) -> ExifMetadata | None:
    def text(ifd: str, tag: int) -> str | None:
        return _text(tags.get((ifd, tag)))

    original, created, modified = text(EXIF, DATE_TIME_ORIGINAL), text(EXIF, CREATE_DATE), text(IFD0, MODIFY_DATE)
    offsets = {tag: text(EXIF, tag) for tag in (OFFSET_TIME, OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED)}
    for name, raw in (("DateTimeOriginal", original), ("CreateDate", created), ("ModifyDate", modified)):
        if not _blank(raw) and _parse_exif_datetime(raw) is None:
            ctx.warn(f"EXIF: {name} {raw!r} is not a valid date and time")
    for tag, raw in offsets.items():
        if not _blank(raw) and _parse_offset(raw) is None:
            ctx.warn(f"EXIF: time offset {raw!r} (tag 0x{tag:04X}) is not a valid ±HH:MM offset")

    # The capture time is DateTimeOriginal, else CreateDate, each with its own offset.
    capture_raw, capture_offset = original, offsets[OFFSET_TIME_ORIGINAL]
    if _parse_exif_datetime(capture_raw) is None:
        capture_raw, capture_offset = created, offsets[OFFSET_TIME_DIGITIZED]
    local = _parse_exif_datetime(capture_raw)
    zone = _parse_offset(capture_offset) if local else None

    width, height = size if size else (None, None)
    if width is None:
        width = _int(tags.get((EXIF, PIXEL_X), tags.get((IFD0, IMAGE_WIDTH))))
        height = _int(tags.get((EXIF, PIXEL_Y), tags.get((IFD0, IMAGE_LENGTH))))

    finding = ExifMetadata(
        make=text(IFD0, MAKE), model=text(IFD0, MODEL), body_serial=text(EXIF, BODY_SERIAL),
        lens_make=text(EXIF, LENS_MAKE), lens_model=text(EXIF, LENS_MODEL), lens_serial=text(EXIF, LENS_SERIAL),
        software=text(IFD0, SOFTWARE), orientation=_int(tags.get((IFD0, ORIENTATION))),
        width=width, height=height,
        date_time_original=original, create_date=created, modify_date=modified,
        offset_time_original=offsets[OFFSET_TIME_ORIGINAL],
        offset_time_digitized=offsets[OFFSET_TIME_DIGITIZED], offset_time=offsets[OFFSET_TIME],
        capture_time_local=local.isoformat() if local else None,
        capture_time_utc=iso_utc(local.replace(tzinfo=zone)) if local and zone else None,
        timezone=capture_offset if zone else "unknown")
    # A file whose only EXIF is resolution or colour data says nothing a triage report needs.
    informative = {k: v for k, v in finding.to_dict().items() if k not in ("width", "height", "timezone")}
    return finding if any(v is not None for v in informative.values()) else None


def _coordinate(tags: TagMap, value_tag: int, ref_tag: int, name: str, positive: str,
                negative: str, limit: float, ctx: Context) -> float | None:
    raw = tags.get((GPS, value_tag))
    if raw is None:
        return None
    parts = _floats(raw)
    if parts is None or not 1 <= len(parts) <= 3:
        ctx.warn(f"EXIF: GPS {name} {raw!r} is not 1-3 finite rationals (degrees, minutes, seconds)")
        return None
    degrees = sum(part / 60 ** index for index, part in enumerate(parts))
    ref = (_text(tags.get((GPS, ref_tag))) or "").upper()
    if ref not in (positive, negative):
        ctx.warn(f"EXIF: GPS {name} reference {ref or 'missing'!r} is not {positive} or {negative}; "
                 f"hemisphere unknown, position not reported")
        return None
    if degrees > limit:
        ctx.warn(f"EXIF: GPS {name} {degrees:.6f} is beyond ±{limit:g} degrees")
        return None
    return -degrees if ref == negative else degrees


def _gps_time(tags: TagMap, ctx: Context) -> tuple[str | None, str | None, str | None]:
    """(UTC ISO time, GPSDateStamp as found, GPSTimeStamp as HH:MM:SS.ss)."""
    date_raw = _text(tags.get((GPS, GPS_DATE)))
    time_raw = tags.get((GPS, GPS_TIME))
    clock = _floats(time_raw) if time_raw is not None else None
    if time_raw is not None and (clock is None or len(clock) != 3):
        ctx.warn(f"EXIF: GPSTimeStamp {time_raw!r} is not three finite rationals")
        clock = None
    time_text = f"{int(clock[0]):02d}:{int(clock[1]):02d}:{clock[2]:05.2f}" if clock else None
    if date_raw is None or clock is None or _blank(date_raw):
        return None, date_raw, time_text
    match = _GPS_DATE.match(date_raw)
    try:
        if not match:
            raise ValueError("not YYYY:MM:DD")
        day = _dt.datetime(*(int(part) for part in match.groups()), tzinfo=_dt.timezone.utc)
        hours, minutes, seconds = clock
        if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
            raise ValueError("time of day out of range")
        moment = day + _dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    except ValueError as error:
        ctx.warn(f"EXIF: GPS date/time {date_raw!r} {time_text!r} is invalid ({error})")
        return None, date_raw, time_text
    # GPS time is UTC by definition (EXIF 2.32, GPSTimeStamp).
    return iso_utc(moment), date_raw, time_text


def _gps(tags: TagMap, ctx: Context) -> ExifGps | None:
    latitude = _coordinate(tags, GPS_LAT, GPS_LAT_REF, "latitude", "N", "S", 90.0, ctx)
    longitude = _coordinate(tags, GPS_LON, GPS_LON_REF, "longitude", "E", "W", 180.0, ctx)
    if latitude is None or longitude is None:
        latitude = longitude = None   # half a position is no position
    altitude = None
    if (GPS, GPS_ALT) in tags:
        parts = _floats(tags[(GPS, GPS_ALT)])
        if parts is None or len(parts) != 1:
            ctx.warn(f"EXIF: GPSAltitude {tags[(GPS, GPS_ALT)]!r} is not a finite rational")
        else:
            # AltitudeRef 1 means below sea level.
            altitude = -parts[0] if _int(tags.get((GPS, GPS_ALT_REF))) == 1 else parts[0]
    gps_time, date_raw, time_text = _gps_time(tags, ctx)
    if latitude is None and gps_time is None:
        return None
    return ExifGps(latitude=latitude, longitude=longitude, altitude=altitude,
                   gps_time_utc=gps_time, gps_date_stamp=date_raw, gps_time_stamp=time_text,
                   map_datum=_text(tags.get((GPS, GPS_MAP_DATUM))))
