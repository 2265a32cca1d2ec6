"""PDQ perceptual hash (Meta's reference C++ through the ``pdqhash`` binding).

A PDQ hash is 256 bits, written as 64 lower-case hex characters (the
ThreatExchange format). Two images match when the Hamming distance of their
hashes is <= 31 (:data:`PDQ_MATCH_THRESHOLD`) and both hashes have quality
>= 50 (:data:`PDQ_MIN_QUALITY`); lower-quality hashes (flat or nearly blank
images) are still computed and returned, flagged ``matchable=False``.

By default an image is hashed reduced to at most 512 px a side
(:data:`~.decode.PDQ_WORKING_SIZE`), the size the PDQ Python reference
(``pdqhashing`` ``PDQHasher.fromFile``: ``thumbnail((512, 512))``) hashes:
a JPEG is decoded by libjpeg at the smallest DCT scale still at least that
size, and the rest is an area average (:func:`~.decode.decode_once`,
``reduce_to``). The Jarosz filter then works on at most 262,144 pixels
instead of the full photo (30 -> 3 ms for 1024x768 in the ``pdqhash``
binding). The rule was: on only if every hash of the ThreatExchange corpus
stays within Hamming 16 (the reference tolerance) of its expected reference
hash. Measured (docs/performance.md, "Plugins: perceptual hashes";
bench/bench_pdq_decode.py): every corpus hash within 10 bits of the
expected hashes (full decode: 12); drift from the full-resolution hash on
the corpus median 4, max 14 bits (Pillow's own ``thumbnail``, as the Python
reference does it: median 6, max 16), on synthetic 0.8 MP photos median 4,
max 8, on 12 MP photos median 8, max 10. Pass ``draft=False`` for a full
decode. :attr:`DecodedImage.reduced` records whether the image was scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

from .decode import DEFAULT_MAX_PIXELS, PDQ_WORKING_SIZE, DecodedImage, Source, decode_once

PDQ_MATCH_THRESHOLD = 31
PDQ_MIN_QUALITY = 50
#: Tolerance the ThreatExchange reference tests accept between implementations.
PDQ_REFERENCE_TOLERANCE = 16

#: Hash at most 512 px a side by default. Decided by bench/bench_pdq_decode.py
#: and tests/test_perceptual_pdq.py (every corpus hash within the tolerance).
DRAFT_BY_DEFAULT = True

#: Order of pdqhash.compute_dihedral output (same as the C++ reference).
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)

#: EXIF Orientation tag -> the dihedral variant (of the stored-pixel hash)
#: that approximates the hash of the image as displayed. Checked against
#: Pillow transposes (tests/test_perceptual_pdq.py) and on exif-rotn-6.jpg
#: (rotate270 is 12 bits from the hash of the EXIF-transposed image).
EXIF_ORIENTATION_TO_DIHEDRAL = {
    1: "original",
    2: "flipy",  # mirror left-right
    3: "rotate180",
    4: "flipx",  # mirror top-bottom
    5: "flip_plus1",  # transpose
    6: "rotate270",  # display = rotate 90 clockwise
    7: "flip_minus1",  # transverse
    8: "rotate90",  # display = rotate 90 counter-clockwise
}


@dataclass(frozen=True)
class PDQResult:
    hash: str  # 64 hex chars
    quality: int  # 0..100

    @property
    def matchable(self) -> bool:
        return self.quality >= PDQ_MIN_QUALITY


@dataclass(frozen=True)
class PDQDihedral:
    hashes: dict[str, str]  # DIHEDRAL_NAMES -> 64 hex chars
    quality: int

    @property
    def matchable(self) -> bool:
        return self.quality >= PDQ_MIN_QUALITY

    @property
    def original(self) -> str:
        return self.hashes["original"]

    def displayed(self, exif_orientation: int | None) -> str:
        """Variant approximating the hash of the image as displayed (EXIF
        orientation applied); the original for a missing/invalid tag."""
        return self.hashes[EXIF_ORIENTATION_TO_DIHEDRAL.get(exif_orientation or 1, "original")]


def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash bit vector (256 values, most significant first) -> 64 hex chars."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hamming_distance(a: str, b: str) -> int:
    """Hamming distance of two 64-hex-char PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _rgb_array(img: Image.Image | DecodedImage) -> np.ndarray:
    if isinstance(img, DecodedImage):
        img = img.image
    if img.mode != "RGB":
        from .decode import to_rgb8

        img = to_rgb8(img)
    return np.asarray(img, dtype=np.uint8)


def pdq_from_image(img: Image.Image | DecodedImage) -> PDQResult:
    """PDQ of an already decoded image (a :class:`DecodedImage` or Pillow image)."""
    bits, quality = pdqhash.compute(_rgb_array(img))
    return PDQResult(bits_to_hex(bits), int(quality))


def pdq_dihedral_from_image(img: Image.Image | DecodedImage) -> PDQDihedral:
    """The eight rotation/flip PDQ variants from one decode and one DCT."""
    vectors, quality = pdqhash.compute_dihedral(_rgb_array(img))
    return PDQDihedral(
        {name: bits_to_hex(v) for name, v in zip(DIHEDRAL_NAMES, vectors)}, int(quality)
    )


def _reduce_arg(draft: bool | int | None) -> int | None:
    """``draft`` as a ``reduce_to`` size for :func:`~.decode.decode_once`."""
    if draft is None:
        draft = DRAFT_BY_DEFAULT
    if draft is True:
        return PDQ_WORKING_SIZE
    if draft is False or draft == 0:
        return None
    return int(draft)


def pdq_hash(
    source: Source,
    *,
    draft: bool | int | None = None,
    apply_exif_orientation: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> PDQResult:
    """Decode ``source`` and return its PDQ hash and quality.

    ``draft``: ``None`` = :data:`DRAFT_BY_DEFAULT`; ``True`` = reduced to at
    most 512 px a side (JPEG DCT scaling, then an area average); an int =
    reduced to at most that many px a side; ``False`` = full decode.
    Raises :class:`~.errors.ImageTooLarge` / :class:`~.errors.ImageDecodeError`.
    """
    decoded = decode_once(
        source,
        reduce_to=_reduce_arg(draft),
        apply_exif_orientation=apply_exif_orientation,
        max_pixels=max_pixels,
    )
    return pdq_from_image(decoded)


def pdq_dihedral(
    source: Source,
    *,
    draft: bool | int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> PDQDihedral:
    """Decode ``source`` and return the eight dihedral PDQ variants."""
    decoded = decode_once(source, reduce_to=_reduce_arg(draft), max_pixels=max_pixels)
    return pdq_dihedral_from_image(decoded)
