"""Known-file hash sets: readers for the formats labs receive, a compiled
indexed store, and one lookup across all of them. Format notes and category
sources: hashsets/FORMATS.md at the repository root."""

from .categories import NSRL_CATEGORY, VICS_UK, VICS_US
from .entry import HashEntry
from .hashdeep import HashdeepReader
from .icse import IcseCsvReader
from .index import HashSetIndex
from .info import hashset_info
from .nsrl import NsrlLookup
from .perceptual import PerceptualListReader
from .plain import PlainListReader
from .reader import HashSetReader
from .readers import open_reader
from .sniff import FORMATS, detect_format
from .store import ImportResult, import_hashsets
from .vics import VicsJsonReader

__all__ = [
    "FORMATS", "HashEntry", "HashSetIndex", "HashSetReader", "HashdeepReader",
    "IcseCsvReader", "ImportResult", "NSRL_CATEGORY", "NsrlLookup",
    "PerceptualListReader", "PlainListReader", "VICS_UK", "VICS_US", "VicsJsonReader",
    "detect_format", "hashset_info", "import_hashsets", "open_reader",
]
