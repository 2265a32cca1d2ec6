"""Pick the reader for a detected (or given) format."""

from __future__ import annotations

from pathlib import Path

from .hashdeep import HashdeepReader
from .icse import IcseCsvReader
from .perceptual import PerceptualListReader
from .plain import PlainListReader
from .reader import HashSetReader
from .sniff import detect_format
from .vics import VicsJsonReader


def open_reader(path: str | Path, fmt: str | None = None, set_name: str | None = None,
                scheme: str | None = None,
                category_names: dict[int, str] | None = None,
                hash_type: str | None = None) -> HashSetReader:
    """A reader for `path`; `fmt` overrides detection (e.g. "pdq" vs "plain");
    `hash_type` (md5/sha1/sha256) restricts a plain list to that type."""
    fmt = fmt or detect_format(path)
    if fmt in ("plain", "empty"):
        return PlainListReader(path, set_name, hash_type=hash_type)
    if fmt in ("hashdeep", "md5deep"):
        reader = HashdeepReader(path, set_name)
        reader.format_name = fmt
        return reader
    if fmt == "vics-json":
        return VicsJsonReader(path, set_name, scheme=scheme or "vics-us",
                              category_names=category_names)
    if fmt == "icse-csv":
        return IcseCsvReader(path, set_name, scheme=scheme or "icse",
                             category_names=category_names)
    if fmt in ("pdq", "phash"):
        return PerceptualListReader(path, set_name, kind=fmt)
    raise ValueError(f"{path}: no entry reader for format {fmt!r}")
