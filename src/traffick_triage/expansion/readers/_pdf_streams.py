"""Reading one PDF image stream within bounds (for pdf_images): the stored
bytes of a JPEG or JPEG 2000, or a decode to PNG whose every stage qpdf
stops at the most an honest stream of the image's size decodes to."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

from ...perceptual.decode import DECODE_PIXEL_BUDGET
from ..api import ExpansionError

# Any filter other than these is an image codec that qpdf does not decode itself.
GENERIC_FILTERS = {"/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/ASCIIHexDecode", "/AHx",
                   "/ASCII85Decode", "/A85", "/RunLengthDecode", "/RL"}
_LZW = {"/LZWDecode", "/LZW"}
# LZW's largest expansion: a 12-bit code can stand for a string of up to 4096 bytes.
_LZW_RATIO = 4096 * 8 // 12 + 1
PASSTHROUGH = {"/DCTDecode": ".jpg", "/DCT": ".jpg", "/JPXDecode": ".jp2"}
_COMPONENTS = {"/DeviceGray": 1, "/CalGray": 1, "/DeviceRGB": 3, "/CalRGB": 3, "/Lab": 3,
               "/DeviceCMYK": 4, "/Indexed": 1, "/Separation": 1}


def pikepdf_module():
    import pikepdf
    _quiet_qpdf()
    return pikepdf


def _quiet_qpdf() -> None:
    """qpdf's messages about a damaged PDF reach Python's logging as
    "pikepdf._core" and, with no handler set, stderr: the expander reports
    what matters as warnings of its own (data), so they stop here."""
    log = logging.getLogger("pikepdf._core")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False


def int_of(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def filters_of(stream) -> list[str]:
    value = stream.get("/Filter")
    if value is None:
        return []
    items = list(value) if isinstance(value, pikepdf_module().Array) else [value]
    return [str(item) for item in items]


def _components(stream) -> int:
    space = stream.get("/ColorSpace")
    if space is None:
        return 4  # unknown (e.g. a JPX carrying its own): assume the widest
    if isinstance(space, pikepdf_module().Array) and len(space) > 0:
        family = str(space[0])
        if family == "/ICCBased" and len(space) > 1:
            return max(1, min(4, int_of(space[1].get("/N"), 4)))
        if family == "/DeviceN" and len(space) > 1:
            return max(1, min(32, len(space[1])))
        return _COMPONENTS.get(family, 4)
    return _COMPONENTS.get(str(space), 4)


@contextlib.contextmanager
def _qpdf_memory_limit(limit: int):
    """qpdf's own decode limits (process-wide settings, restored after):
    a Flate, RunLength or predictor stage that would produce more than
    ``limit`` bytes stops with an error instead of filling memory."""
    settings = pikepdf_module().settings
    previous = settings.set_qpdf_limits(flate_max_memory=limit, run_length_max_memory=limit,
                                        png_max_memory=limit, tiff_max_memory=limit,
                                        dct_max_memory=limit)
    try:
        yield
    finally:
        settings.set_qpdf_limits(**previous)


def read_image(image, mode: Any) -> bytes:
    """The bytes of an image member: "raw" (a JPEG or JPEG 2000 as embedded) or "png" (a decode)."""
    pikepdf = pikepdf_module()
    filters = filters_of(image)
    raw = raw_image(image)
    if mode == "raw" and len(filters) == 1:
        return raw
    raw_size = len(raw)
    if mode == "raw":
        limit = _chain_limit(filters[:-1], raw_size)
        with _qpdf_memory_limit(limit):
            return _undo_generic_filters(image, raw)
    del raw
    if mode != "png":
        raise ExpansionError(f"unknown image reading {mode!r}")
    width, height = int_of(image.get("/Width")), int_of(image.get("/Height"))
    if width <= 0 or height <= 0 or width * height > DECODE_PIXEL_BUDGET:
        raise ExpansionError(f"{width} x {height} pixels: over the decode budget")
    bound = decoded_bound(image, width, height)
    if any(f in _LZW for f in filters) and raw_size * _LZW_RATIO > bound:
        # qpdf has no memory limit for LZW: refuse a stream that could expand past the bound.
        raise ExpansionError(f"LZW stream of {raw_size} bytes could expand past {bound} bytes; not decoded")
    with _qpdf_memory_limit(bound):
        picture = pikepdf.PdfImage(image).as_pil_image()
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def decoded_bound(image, width: int, height: int) -> int:
    """The most bytes an honest image stream of this size decodes to (with a
    predictor byte per row and slack); a stream that gives more is lying."""
    bits = max(1, min(16, int_of(image.get("/BitsPerComponent"), 8)))
    if image.get("/ImageMask") is True:
        bits, components = 1, 1
    else:
        components = _components(image)
    row = (width * components * bits + 7) // 8
    return (row + 1) * height + 4096


def _chain_limit(filters: list[str], raw_size: int) -> int:
    """A memory limit for undoing generic filters before a JPEG: the JPEG
    inside cannot be larger than the pixel budget's worth of 4-byte pixels."""
    limit = DECODE_PIXEL_BUDGET * 4
    if any(f in _LZW for f in filters) and raw_size * _LZW_RATIO > limit:
        raise ExpansionError(f"LZW stream of {raw_size} bytes could expand past {limit} bytes; not decoded")
    return limit


def raw_image(image) -> bytes:
    """The stream's bytes as stored. Where /Length was wrong and qpdf found the
    end at ``endstream`` itself, it keeps the end-of-line before it; a JPEG
    ends at its EOI marker, so that end-of-line is not part of the file."""
    raw = image.read_raw_bytes()
    if int_of(image.get("/Length"), -1) != len(raw) and filters_of(image)[-1:] in (["/DCTDecode"], ["/DCT"]):
        for eol in (b"\r\n", b"\n", b"\r"):
            if raw.endswith(b"\xff\xd9" + eol):
                return raw[:-len(eol)]
    return raw


def _undo_generic_filters(image, raw: bytes) -> bytes:
    """The stream with every filter but the last (the image codec) undone:
    qpdf decodes a stream only when it can decode all its filters, so the
    leading ones are put on a scratch stream of their own."""
    pikepdf = pikepdf_module()
    parms = image.get("/DecodeParms")
    scratch = pikepdf.new()
    stream = pikepdf.Stream(scratch, raw)
    stream.Filter = pikepdf.Array([pikepdf.Name(name) for name in filters_of(image)[:-1]])
    if isinstance(parms, pikepdf.Array) and len(parms) > 1:
        stream.DecodeParms = scratch.copy_foreign(pikepdf.Array(list(parms)[:-1]))
    try:
        return stream.read_bytes()
    finally:
        scratch.close()
