"""Exceptions raised by the perceptual-hashing package."""

from __future__ import annotations


class PerceptualError(Exception):
    """Base class for every error this package raises on purpose."""


class ImageDecodeError(PerceptualError):
    """The bytes could not be decoded as an image (unknown format, truncated...)."""


class ImageTooLarge(ImageDecodeError):
    """The image declares more pixels than the configured limit.

    Raised from the header alone, before any pixel data is decoded, so a
    decompression bomb (tiny file, huge declared size) is refused quickly.
    """

    def __init__(self, width: int | None, height: int | None, limit: int, detail: str = "") -> None:
        self.width = width
        self.height = height
        self.limit = limit
        if width is not None and height is not None:
            size = f"{width}x{height} = {width * height:,} pixels"
        else:
            size = "a pixel count"
        msg = f"image declares {size}, over the limit of {limit:,} (possible decompression bomb)"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class ImageOverDecodeBudget(ImageDecodeError):
    """A picture (within Pillow's pixel limit) that would have more pixels
    when decoded than the caller's memory budget allows, in a format that
    cannot be decoded at reduced size. Refused from the header."""

    def __init__(self, width: int, height: int, budget: int, fmt: str | None) -> None:
        self.width = width
        self.height = height
        self.budget = budget
        super().__init__(f"picture of {width}x{height} = {width * height:,} pixels is larger than "
                         f"{budget:,} pixels, the most decoded in full, and {fmt or 'its format'} "
                         "cannot be decoded at reduced size: not decoded")
