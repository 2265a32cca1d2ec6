"""pHash, dHash, aHash, wHash, colour hash (and the crop-resistant hash) via
the ``imagehash`` library, as hex strings.

Feed them the same :class:`~.decode.DecodedImage` as PDQ so an image is
decoded once. The values equal imagehash's own (its test suite's constants
are reproduced exactly in tests/test_perceptual_imagehashes.py). Note that a
JPEG decoded with draft scaling is a slightly different input, so its hashes
can differ by a bit or two from a full decode; hash with ``draft=None`` in
:func:`~.decode.decode_once` when exact imagehash parity with another tool
matters.
"""

from __future__ import annotations

from typing import Iterable

import imagehash
from PIL import Image

from .decode import DecodedImage, Source, decode_once

#: Cheap hashes computed by default (all four together cost ~ a few ms on a
#: drafted photo; wHash is the slowest at about 2 ms).
DEFAULT_ALGORITHMS = ("phash", "dhash", "ahash", "whash")

_FUNCS = {
    "phash": lambda im: imagehash.phash(im),
    "dhash": lambda im: imagehash.dhash(im),
    "ahash": lambda im: imagehash.average_hash(im),
    "whash": lambda im: imagehash.whash(im),
    "colorhash": lambda im: imagehash.colorhash(im),
}

ALGORITHMS = tuple(_FUNCS) + ("crop_resistant",)
# The hashes imagehash computes from image.convert("L") (colorhash needs colour).
_GREY = frozenset(("phash", "dhash", "ahash", "whash"))


def _image(img: Image.Image | DecodedImage) -> Image.Image:
    return img.image if isinstance(img, DecodedImage) else img


def imagehashes_from_image(
    img: Image.Image | DecodedImage, algorithms: Iterable[str] = DEFAULT_ALGORITHMS
) -> dict[str, str]:
    """Return ``{algorithm: hex}`` for the requested algorithms.

    ``crop_resistant`` (imagehash.crop_resistant_hash, segment-wise dHash) is
    returned as the segment hashes joined with ``;`` and is slow (hundreds of
    ms); ask for it explicitly.
    """
    im = _image(img)
    algorithms = tuple(algorithms)
    if im.mode != "L" and algorithms and all(name in _GREY for name in algorithms):
        # Each of these starts with image.convert("L"), which on a grey image is a
        # plain copy: converting once here gives the same pixels, so the same hashes.
        im = im.convert("L")
    out: dict[str, str] = {}
    for name in algorithms:
        if name == "crop_resistant":
            multi = imagehash.crop_resistant_hash(im)
            out[name] = ";".join(str(h) for h in multi.segment_hashes)
        elif name in _FUNCS:
            out[name] = str(_FUNCS[name](im))
        else:
            raise ValueError(f"unknown image hash algorithm {name!r}; known: {ALGORITHMS}")
    return out


def imagehashes(
    source: Source, algorithms: Iterable[str] = DEFAULT_ALGORITHMS, *, draft: int | None = None
) -> dict[str, str]:
    """Decode ``source`` (full decode unless ``draft`` is given) and hash it."""
    return imagehashes_from_image(decode_once(source, draft=draft), algorithms)


def hex_hamming(a: str, b: str) -> int:
    """Hamming distance between two equal-length hex hashes."""
    if len(a) != len(b):
        raise ValueError("hashes of different length")
    return (int(a, 16) ^ int(b, 16)).bit_count()
