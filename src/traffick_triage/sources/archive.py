"""ZIP and TAR phone / full-file-system exports, read in place: nothing is
ever extracted to disk. Member names are evidence too: traversal (``../``),
absolute names and symlinks are recorded and flagged, never followed.
Decompression is bounded (member size, ratio, one expansion budget per
archive) so an archive bomb costs a warning, not the scan.

The readers live in zip_source / zip_directory and tar_source; the limits
they share in archive_common."""

from __future__ import annotations

from .archive_common import (DEFAULT_MAX_MEMBER_BYTES, DEFAULT_MAX_RATIO, EXPANSION_FLOOR_BYTES,  # noqa: F401
                             MAX_NAME_BYTES, RATIO_FLOOR_BYTES, unsafe_member_name)
from .tar_source import TarSource  # noqa: F401
from .zip_source import ZipSource  # noqa: F401
