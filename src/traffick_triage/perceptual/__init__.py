"""Perceptual hashing (PDQ, pHash/dHash/aHash/wHash) and an exact PDQ match index.

A library: decode an image once (:func:`decode_once`), hash it
(:func:`pdq_from_image`, :func:`imagehashes_from_image`), look the PDQ up in a
:class:`PDQIndex` (all entries within Hamming distance <= 31, exactly) and
group unmatched images into series (:func:`cluster_hashes`).
"""

from .cluster import Cluster, cluster_hashes
from .decode import (DECODE_PIXEL_BUDGET, DEFAULT_MAX_PIXELS, HASH_PIXEL_BUDGET, PDQ_WORKING_SIZE, DecodedImage,
                     decode_once, to_rgb8)
from .errors import ImageDecodeError, ImageOverDecodeBudget, ImageTooLarge, PerceptualError
from .imagehashes import imagehashes, imagehashes_from_image
from .index import PDQIndex, brute_force_search, hashes_from_hex, hashes_to_hex
from .pdq import (
    DIHEDRAL_NAMES,
    DRAFT_BY_DEFAULT,
    EXIF_ORIENTATION_TO_DIHEDRAL,
    PDQ_MATCH_THRESHOLD,
    PDQ_MIN_QUALITY,
    PDQDihedral,
    PDQResult,
    hamming_distance,
    pdq_dihedral,
    pdq_dihedral_from_image,
    pdq_from_image,
    pdq_hash,
)

__all__ = [
    "Cluster",
    "DEFAULT_MAX_PIXELS",
    "DIHEDRAL_NAMES",
    "DRAFT_BY_DEFAULT",
    "EXIF_ORIENTATION_TO_DIHEDRAL",
    "DecodedImage",
    "ImageDecodeError",
    "ImageOverDecodeBudget",
    "ImageTooLarge",
    "PDQDihedral",
    "PDQIndex",
    "PDQResult",
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "PDQ_WORKING_SIZE",
    "PerceptualError",
    "brute_force_search",
    "cluster_hashes",
    "decode_once",
    "DECODE_PIXEL_BUDGET",
    "HASH_PIXEL_BUDGET",
    "hamming_distance",
    "hashes_from_hex",
    "hashes_to_hex",
    "imagehashes",
    "imagehashes_from_image",
    "pdq_dihedral",
    "pdq_dihedral_from_image",
    "pdq_from_image",
    "pdq_hash",
    "to_rgb8",
]
