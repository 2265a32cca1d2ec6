"""Perceptual hashes of every image, from one decode: PDQ (Meta's reference
implementation via pdqhash, with its quality score) and pHash/dHash
(imagehash). The image is decoded once, reduced to at most 512 px a side (the
size the PDQ reference hashes; a JPEG decoded by libjpeg at a reduced DCT
scale), and that one image feeds all three hashes (drift from a full decode:
docs/performance.md). Matching against hash sets and grouping unknown images into
clusters happen after the walk, over all images at once
(traffick_triage.perceptual_matching)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import ClassVar, Iterator

from traffick_triage.perceptual import (DECODE_PIXEL_BUDGET, ImageDecodeError, PDQ_MIN_QUALITY, PDQ_WORKING_SIZE,
                                        decode_once, imagehashes_from_image, pdq_dihedral_from_image, pdq_from_image)
from traffick_triage.plugin_api import Context, FileView, Finding, Plugin, Selector


@cache  # importlib.metadata scans sys.path: ~1 ms a call, and it was called per image
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class PerceptualHash(Finding):
    KIND: ClassVar[str] = "perceptual.hash"

    pdq: str
    pdq_quality: int
    matchable: bool             # PDQ quality >= 50: below that a match would mean nothing
    phash: str
    dhash: str
    drafted: bool               # hashed reduced to <= 512 px a side (JPEG draft, area average)
    dihedral: dict | None       # the 8 rotation/flip PDQ variants, when asked for
    pdq_library: str
    imagehash_library: str


class PerceptualHashes(Plugin):
    NAME = "perceptual"
    VERSION = "1.0.0"
    DESCRIPTION = "PDQ (with quality), pHash and dHash of every image, decoded once"
    # Raster formats Pillow (with pillow-heif) decodes; other image/* types
    # (icons, vector, camera raw) would only produce "cannot decode" noise.
    SELECTOR = Selector(mime_types=("image/jpeg", "image/png", "image/gif", "image/bmp", "image/x-ms-bmp",
                                    "image/tiff", "image/webp", "image/heic", "image/heif", "image/avif",
                                    "image/x-portable-*"), max_size=256 << 20)

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        try:
            with file.open() as stream:
                # Reduced to what PDQ needs (512 px a side); a picture that cannot be decoded
                # at reduced size is refused from its header above DECODE_PIXEL_BUDGET (memory).
                decoded = decode_once(stream, reduce_to=PDQ_WORKING_SIZE, max_decode_pixels=DECODE_PIXEL_BUDGET)
        except ImageDecodeError as error:
            ctx.warn(f"image not hashed perceptually: {error}")
            return
        pdq = pdq_from_image(decoded)
        hashes = imagehashes_from_image(decoded, ("phash", "dhash"))
        dihedral = pdq_dihedral_from_image(decoded).hashes if ctx.options.get("dihedral") else None
        # Quality < 50 (flat or tiny images): hashed, and the finding says it is
        # not matchable; the report shows that, it is not an error of the scan.
        yield PerceptualHash(pdq=pdq.hash, pdq_quality=pdq.quality, matchable=pdq.quality >= PDQ_MIN_QUALITY,
                             phash=hashes["phash"], dhash=hashes["dhash"], drafted=decoded.reduced,
                             dihedral=dihedral, pdq_library=f"pdqhash {_version('pdqhash')}",
                             imagehash_library=f"imagehash {_version('ImageHash')}")
