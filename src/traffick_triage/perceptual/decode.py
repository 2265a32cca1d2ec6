"""Decode an image once, safely, into an 8-bit RGB Pillow image.

One :class:`DecodedImage` feeds PDQ and the imagehash hashes, so a file is
read and decoded a single time.

Choices, matched to Meta's reference hashers (ThreatExchange ``pdq``):

* EXIF orientation is **not** applied by default. The Python reference
  (``pdqhashing.hasher.PDQHasher.fromFile``: ``Image.open`` + ``thumbnail`` +
  ``convert("RGB")``) and the C++ ``pdq-photo-hasher`` (CImg) both hash the
  stored pixel order. Measured on ``exif-rotn-6.jpg`` (Orientation=6): the raw
  pixel order is 2 bits from the C++ reference output, the EXIF-transposed
  image 128 bits. Hash sets from other tools are built the same way, so the
  raw order is what matches. The orientation tag is kept in
  :attr:`DecodedImage.exif_orientation`; a caller that wants the displayed
  orientation too can use the dihedral PDQ variants
  (:func:`traffick_triage.perceptual.pdq.pdq_dihedral`), which cover all
  eight EXIF orientations without decoding again.
* Alpha is dropped, not composited (``convert("RGB")``), as the references do.
* 16-bit and 32-bit grey modes are rescaled to 8 bits instead of clipped
  (Pillow's own ``convert`` clips ``I;16`` values above 255 to white).
* Only the first frame of multi-frame files (GIF, TIFF, APNG) is decoded.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageDecodeError, ImageOverDecodeBudget, ImageTooLarge

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, Image.Image]

# Pillow's own hard limit is 2 * Image.MAX_IMAGE_PIXELS (178,956,970 pixels by
# default). We refuse at the same point by default, from the header alone.
# A caller may lower it; raising it above Pillow's hard limit also needs
# Image.MAX_IMAGE_PIXELS raised (Pillow refuses in Image.open before we can).
DEFAULT_MAX_PIXELS = 2 * 89_478_485

# Default JPEG draft size (pdq.DRAFT_BY_DEFAULT decides whether PDQ uses it;
# see pdq.py and bench/RESULTS.md for the measurement).
DEFAULT_DRAFT_SIZE = 512

#: The size PDQ needs: its Python reference (pdqhashing PDQHasher.fromFile)
#: thumbnails every image to at most 512 px a side before the Jarosz filter,
#: which then decimates to 64x64 anyway.
PDQ_WORKING_SIZE = 512

EXIF_ORIENTATION_TAG = 0x0112

# What a scan decodes (plugins/perceptual_hashes.py). Measured: PDQ costs
# about 24 bytes per pixel it is given (a 50 MP RGB image: 1.5 GB peak RSS),
# decoding 3-4 bytes per pixel. So a picture is hashed at no more than
# HASH_PIXEL_BUDGET (4096 x 4096: a 12 MP phone photo is hashed as it is), and
# one that cannot be decoded at reduced size (JPEG can, by DCT scaling; PNG,
# TIFF, WebP, HEIC cannot) is decoded only up to DECODE_PIXEL_BUDGET (a 48 MP
# iPhone HEIC fits). A 13,000 x 13,000 PNG (5.2 GB before) is refused, named.
DECODE_PIXEL_BUDGET = 64_000_000
HASH_PIXEL_BUDGET = 4096 * 4096


@dataclass
class DecodedImage:
    """An image decoded once. ``image`` is always 8-bit RGB."""

    image: Image.Image
    format: str | None
    original_mode: str
    original_size: tuple[int, int]  # (width, height) as declared in the file
    exif_orientation: int | None  # 1..8 when present, in the stored file
    drafted: bool  # JPEG DCT-domain downscale was used
    orientation_applied: bool
    reduced: bool = False  # scaled down (draft and/or area average) to ``reduce_to``
    reduced_by: int = 1  # box-averaged by this factor after decoding (reduce_to_pixels)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def _open(source: Source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        fp: BinaryIO | str | os.PathLike = io.BytesIO(bytes(source))
    else:
        fp = source
    try:
        with warnings.catch_warnings():
            # We enforce our own limit below; keep Pillow's warning quiet.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(None, None, 2 * (Image.MAX_IMAGE_PIXELS or 0), str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"cannot identify image: {exc}") from exc


def to_rgb8(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way the PDQ references do,
    with proper rescaling for high-bit-depth grey modes."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(im)
        if mode == "F":
            a = a.astype(np.float64)
            a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
            hi = float(a.max()) if a.size else 0.0
            scale = 255.0 if hi <= 1.0 else (255.0 / hi if hi > 255.0 else 1.0)
            a8 = np.clip(a * scale, 0, 255).round().astype(np.uint8)
        else:
            a = a.astype(np.int64)
            lo = int(a.min()) if a.size else 0
            hi = int(a.max()) if a.size else 0
            if lo >= 0 and hi <= 255 and not mode.startswith("I;16"):
                a8 = a.astype(np.uint8)
            elif lo >= 0 and hi <= 65535:
                # 16-bit samples: 65535 -> 255 (x / 257, rounded)
                a8 = ((a * 255 + 32767) // 65535).astype(np.uint8)
            else:
                a = a - lo
                span = max(int(a.max()), 1)
                a8 = ((a * 255) // span).astype(np.uint8)
        return Image.fromarray(a8, "L").convert("RGB")
    if mode == "P" and "transparency" in im.info:
        # Palette transparency: go through RGBA so Pillow does not warn, then
        # drop alpha like the references.
        return im.convert("RGBA").convert("RGB")
    # RGBA/LA/PA/RGBa/La (alpha dropped), CMYK, YCbCr, LAB, HSV, 1, L, P.
    return im.convert("RGB")


def decode_once(
    source: Source,
    *,
    draft: int | None = None,
    apply_exif_orientation: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    reduce_to: int | None = None,
    reduce_to_pixels: int | None = None,
    max_decode_pixels: int | None = None,
) -> DecodedImage:
    """Decode ``source`` (path, bytes, binary stream or Pillow image) once.

    ``draft``: for JPEG, let libjpeg decode at a reduced scale (1/2, 1/4 or
    1/8) so that both sides stay >= ``draft`` pixels. ``None`` = full decode.
    ``reduce_to``: return the image scaled down so that neither side exceeds
    ``reduce_to`` pixels, at the aspect ratio and size Pillow's
    ``thumbnail`` gives (what the PDQ Python reference hashes). A JPEG is
    decoded by libjpeg at the smallest DCT scale still at least that size,
    and whatever remains is an area average (box filter); other formats are
    decoded in full and area-averaged. Overrides ``draft``.
    ``max_pixels``: refuse images whose header declares more pixels
    (:class:`ImageTooLarge`), before decoding any pixel data.
    ``reduce_to_pixels``: a larger picture is decoded at reduced size where
    the format allows it (JPEG draft) and box-averaged by an integer factor
    (``Image.reduce``) until it has no more pixels than this; the factor is
    :attr:`DecodedImage.reduced_by`.
    ``max_decode_pixels``: refuse (:class:`ImageOverDecodeBudget`), from the
    header, a picture that would still have more pixels than this when
    decoded (after any JPEG draft), so memory stays bounded.
    """
    if isinstance(source, (str, os.PathLike)):
        # Own the file handle so it is closed even for multi-frame formats.
        with open(source, "rb") as fh:
            return _decode(fh, draft, apply_exif_orientation, max_pixels, reduce_to, reduce_to_pixels,
                           max_decode_pixels)
    return _decode(source, draft, apply_exif_orientation, max_pixels, reduce_to, reduce_to_pixels, max_decode_pixels)


def reduced_size(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """``size`` scaled so neither side exceeds ``limit``, aspect kept (the
    rounding of Pillow's ``Image.thumbnail``); unchanged when it fits."""
    width, height = size
    if width <= limit and height <= limit:
        return size
    if width >= height:
        return limit, max(1, round(height * limit / width))
    return max(1, round(width * limit / height)), limit


def reduction_factor(size: tuple[int, int], budget: int) -> int:
    """The smallest integer factor that brings ``size`` to ``budget`` pixels or fewer."""
    width, height = size
    factor = max(1, math.isqrt(max(width * height // budget, 1)))
    while math.ceil(width / factor) * math.ceil(height / factor) > budget:
        factor += 1
    return factor


def _decode(
    source: Source, draft: int | None, apply_exif_orientation: bool, max_pixels: int | None,
    reduce_to: int | None = None, reduce_to_pixels: int | None = None, max_decode_pixels: int | None = None,
) -> DecodedImage:
    im = _open(source)
    width, height = im.size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(width, height, max_pixels)
    fmt = im.format
    original_mode = im.mode

    target = reduced_size((width, height), reduce_to) if reduce_to else None
    drafted = False
    if fmt == "JPEG" and (target is not None or (draft is not None and draft > 0)):
        before = im.size
        try:
            # libjpeg picks the smallest 1/2, 1/4, 1/8 scale still >= the request.
            im.draft("RGB", target if target is not None else (draft, draft))
        except Exception:
            pass
        drafted = im.size != before
    if reduce_to_pixels and fmt == "JPEG" and im.size[0] * im.size[1] > reduce_to_pixels:
        before = im.size
        factor = reduction_factor(im.size, reduce_to_pixels)
        try:   # libjpeg picks the smallest DCT scale still at least this size
            im.draft("RGB", (math.ceil(before[0] / factor), math.ceil(before[1] / factor)))
        except Exception:
            pass
        drafted = drafted or im.size != before
    if max_decode_pixels is not None and im.size[0] * im.size[1] > max_decode_pixels:
        raise ImageOverDecodeBudget(width, height, max_decode_pixels, fmt)
    # Only now: a PNG whose eXIf chunk follows the image data is decoded
    # whole by getexif() (PngImageFile.getexif calls load()).
    orientation: int | None = None
    try:
        exif = im.getexif()
        o = exif.get(EXIF_ORIENTATION_TAG)
        orientation = int(o) if o is not None else None
    except Exception:  # corrupt EXIF must not stop hashing
        orientation = None

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(width, height, max_pixels or 0, str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"cannot decode image: {exc}") from exc
    except MemoryError as exc:
        raise ImageTooLarge(width, height, max_pixels or 0, "out of memory while decoding") from exc

    rgb = to_rgb8(im)
    del im
    reduced_by = 1
    if reduce_to_pixels and rgb.size[0] * rgb.size[1] > reduce_to_pixels:
        reduced_by = reduction_factor(rgb.size, reduce_to_pixels)
        rgb = rgb.reduce(reduced_by)    # box average: every source pixel counts once
    if target is not None and rgb.size != target:
        # Area average: cheap, and the Jarosz box filters PDQ applies next are
        # area averages too (drift figures: docs/performance.md).
        rgb = rgb.resize(target, Image.Resampling.BOX)
    reduced = rgb.size != (width, height)
    applied = False
    if apply_exif_orientation and orientation not in (None, 1):
        method = {
            2: Image.Transpose.FLIP_LEFT_RIGHT,
            3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90,
        }.get(orientation)
        if method is not None:
            rgb = rgb.transpose(method)
            applied = True
    return DecodedImage(
        image=rgb,
        format=fmt,
        original_mode=original_mode,
        original_size=(width, height),
        exif_orientation=orientation,
        drafted=drafted,
        orientation_applied=applied,
        reduced=reduced,
        reduced_by=reduced_by,
    )
