"""Benign generated "photos" for the training case: overlapping coloured
shapes (no people, nothing real), optionally with EXIF capture time, time-zone
offset and GPS position, and the perceptual variants a known image takes on
as it travels (re-encoded, resized, cropped, brightened)."""

from __future__ import annotations

import datetime as _dt
import io
import random

from PIL import Image, ImageDraw, ImageEnhance


def _dms(value: float) -> tuple:
    """Degrees/minutes/seconds rationals of one EXIF GPS coordinate."""
    from PIL.TiffImagePlugin import IFDRational

    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
    return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000))


def dms_value(value: float) -> float:
    """The coordinate as EXIF stores it (rounded to 1/10000 s), read back as decimal degrees."""
    degrees, minutes, seconds = (float(part) for part in _dms(value))
    result = degrees + minutes / 60 + seconds / 3600
    return -result if value < 0 else result


def shapes(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign photo-like image: overlapping coloured rectangles and ellipses,
    distinct per seed (PDQ distance well over 31 between seeds, PDQ quality 100)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        width, height = rng.randrange(30, 260), rng.randrange(30, 200)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x0 + width, y0 + height], fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def jpeg(image: Image.Image, quality: int = 92, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    if exif is None:
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def exif_block(taken_local: _dt.datetime, offset: str, latitude: float | None, longitude: float | None,
               make: str = "DemoCam", model: str = "Synthetic One") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = taken_local.strftime("%Y:%m:%d %H:%M:%S")   # DateTimeOriginal (local)
    exif_ifd[0x9011] = offset                                       # OffsetTimeOriginal
    if latitude is not None and longitude is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if latitude >= 0 else "S"), _dms(latitude)
        gps[3], gps[4] = ("E" if longitude >= 0 else "W"), _dms(longitude)
    return exif


def geotagged_photo(seed: int, taken_local: _dt.datetime, offset: str, latitude: float, longitude: float) -> bytes:
    return jpeg(shapes(seed), quality=88, exif=exif_block(taken_local, offset, latitude, longitude))


def synthetic_photo(rng: random.Random, city: tuple, taken: _dt.datetime, size=(640, 480)) -> bytes:
    """Kept for callers of the first demo: a shapes photo with EXIF time, offset and GPS of ``city``
    (name, latitude, longitude, offset)."""
    _name, latitude, longitude, offset = city
    return jpeg(shapes(rng.randrange(1 << 30), size), quality=85,
                exif=exif_block(taken, offset, latitude, longitude))


VARIANTS = ("reencoded", "resized", "cropped", "brightened")


def variant(image: Image.Image, kind: str) -> bytes:
    """One perceptual variant of ``image``: different bytes, near-identical PDQ."""
    width, height = image.size
    if kind == "reencoded":
        return jpeg(image, quality=60)
    if kind == "resized":
        return jpeg(image.resize((width // 2, height // 2), Image.LANCZOS))
    if kind == "cropped":
        return jpeg(image.crop((8, 6, width - 8, height - 6)))
    if kind == "brightened":
        return jpeg(ImageEnhance.Brightness(image).enhance(1.15))
    raise ValueError(kind)
