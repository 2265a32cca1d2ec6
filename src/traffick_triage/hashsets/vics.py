"""Project VIC / VICS JSON (OData 1.3 and 2.0), streamed with ijson.

Layouts accepted (the Media object is the same in all of them):
  flat:        {"odata.metadata" | "@odata.context": ..., "value": [Media, ...]}
  case:        {"value": [{"CaseID": ..., "Media": [Media, ...]}, ...]}
  single case: {"CaseID": ..., "Media": [Media, ...]}
Field mapping and sources: hashsets/FORMATS.md.
"""

from __future__ import annotations

import re
from typing import Iterator

import ijson

from . import categories
from .entry import PDQ_HEX_LEN, PHASH_HEX_LEN, HashEntry, normalize_hex
from .reader import HashSetReader

_CASE_PREFIX = "value.item"
_NOT_OBJECT = frozenset({"string", "number", "boolean", "null", "start_array"})
_METADATA_KEYS = frozenset({"odata.metadata", "@odata.context"})
_MODEL_VERSION = re.compile(r"DataModels/(\d+(?:\.\d+)*)\.xml", re.IGNORECASE)
# Deepest nesting read. A VICS Media object sits 3-4 levels down and holds 2-3
# more (MediaFiles, AlternativeHashes, exif maps); 64 leaves room for any
# writer. Without a bound, ijson's C parser keeps the prefix of every open
# level ("value.item.item..."): a 100 KB file nested 50,000 deep cost 6 GB.
MAX_JSON_DEPTH = 64
_OPENS = frozenset({"start_map", "start_array"})
_CLOSES = frozenset({"end_map", "end_array"})


class JsonTooDeep(ValueError):
    """The file nests arrays/objects deeper than MAX_JSON_DEPTH: the set is
    refused whole (a configuration error, not a problem line)."""


def bounded_events(handle, max_depth: int = MAX_JSON_DEPTH) -> Iterator[tuple[str, object]]:
    """ijson.basic_parse events (which keep no prefixes), refused past
    ``max_depth`` levels before anything deeper is built. Feed them to
    ijson.parse / ijson.items, which accept event iterables."""
    depth = 0
    for item in ijson.basic_parse(handle):
        event = item[0]
        if event in _OPENS:
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels (at byte {handle.tell()} or "
                                  "before; a VICS file needs fewer than 10): refused, nothing of it read")
        elif event in _CLOSES:
            depth -= 1
        yield item


def to_bool(value: object) -> bool | None:
    """VICS 1.3 writes booleans as strings ("true"); 2.0 as JSON booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "y"):
            return True
        if text in ("false", "0", "no", "n"):
            return False
    return None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


class VicsJsonReader(HashSetReader):
    format_name = "vics-json"

    def __init__(self, path, set_name=None, scheme: str = "vics-us",
                 category_names: dict[int, str] | None = None) -> None:
        super().__init__(path, set_name)
        self.scheme = scheme
        self.category_names = category_names
        self.alt_hash_counts: dict[str, int] = {}

    # -- streaming ---------------------------------------------------------
    def _entries(self) -> Iterator[HashEntry]:
        self.alt_hash_counts = {}
        index = 0
        try:
            prefix = self._sniff_layout()
            if prefix is None:
                self.problem("no VICS Media array found (value[], value[].Media[] or Media[])")
                return
            with open(self.path, "rb") as handle:
                # ijson.items builds each Media object in C (yajl2_c): one
                # object in memory at a time, whatever the file size.
                for media in ijson.items(ijson.parse(bounded_events(handle)), prefix):
                    index += 1
                    yield from self._media(index, media)
        except JsonTooDeep:
            raise
        except (ijson.JSONError, ValueError, UnicodeDecodeError) as exc:
            self.problem(f"JSON syntax error after {index} items: {exc}"[:300])

    def _sniff_layout(self) -> str | None:
        """ijson prefix of the Media objects, from the start of the file.

        "value.item" is a Media object in the flat layout and a Case in the
        case layout: a "Media" key directly inside the first one decides.
        Top-level scalars before that point (odata metadata) are recorded.
        """
        depth_in_item = 0
        with open(self.path, "rb") as handle:
            for prefix, event, value in ijson.parse(bounded_events(handle)):
                if prefix == "Media" and event == "start_array":
                    return "Media.item"
                if prefix == "value.item":
                    if event == "map_key" and depth_in_item == 1 and value == "Media":
                        return _CASE_PREFIX + ".Media.item"
                    if event == "end_map" and depth_in_item == 1:
                        return "value.item"
                    if event in _NOT_OBJECT and depth_in_item == 0:
                        return "value.item"  # malformed items: reported per item
                if prefix.startswith("value.item"):
                    if event in ("start_map", "start_array"):
                        depth_in_item += 1
                    elif event in ("end_map", "end_array"):
                        depth_in_item -= 1
                elif prefix in _METADATA_KEYS and event == "string":
                    self._note_model(prefix, value)
                elif "." not in prefix and prefix and event in ("string", "number", "boolean"):
                    self.metadata.setdefault(prefix, value)
                if prefix == "value" and event == "end_array":
                    return "value.item"  # empty value array
        return None

    def _note_model(self, key: str, uri: str) -> None:
        self.metadata[key] = uri
        match = _MODEL_VERSION.search(uri)
        if match:
            self.metadata["data_model_version"] = match.group(1)

    # -- mapping -----------------------------------------------------------
    def _media(self, index: int, media: object) -> Iterator[HashEntry]:
        if not isinstance(media, dict):
            self.problem(f"item {index}: not an object")
            return
        fields = {str(k).lower(): v for k, v in media.items()}
        category, code = categories.resolve(fields.get("category"), self.scheme,
                                            self.category_names)
        shared = dict(set_name=self.set_name, category=category, category_code=code,
                      scheme=self.scheme, series=_text(fields.get("series")),
                      victim_identified=to_bool(fields.get("victimidentified")),
                      is_distributed=to_bool(fields.get("isdistributed")))
        files = fields.get("mediafiles")
        files = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        first_name = next((_text(_ci(f, "filename")) for f in files if _ci(f, "filename")), None)
        pdq, phash = self._alternative_hashes(index, fields.get("alternativehashes"))
        main = self._hashes(index, fields)
        if any(main.values()) or pdq or phash:
            yield HashEntry(**shared, **main, pdq=pdq, phash=phash, label=first_name)
        seen = {tuple(main.values())}
        for media_file in files:
            own = self._hashes(index, {str(k).lower(): v for k, v in media_file.items()})
            if any(own.values()) and tuple(own.values()) not in seen:
                seen.add(tuple(own.values()))
                yield HashEntry(**shared, **own, label=_text(_ci(media_file, "filename")))
        if len(seen) == 1 and not any(main.values()) and not (pdq or phash):
            self.problem(f"item {index}: no usable MD5/SHA1/SHA256/PDQ hash")

    def _hashes(self, index: int, fields: dict) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name, length in (("md5", 32), ("sha1", 40), ("sha256", 64)):
            raw = fields.get(name)
            value = normalize_hex(raw, length)
            if raw not in (None, "") and value is None:
                self.problem(f"item {index}: malformed {name.upper()} value")
            out[name] = value
        return out

    def _alternative_hashes(self, index: int, items: object) -> tuple[str | None, str | None]:
        pdq = phash = None
        if not isinstance(items, list):
            return None, None
        for item in items:
            if not isinstance(item, dict):
                continue
            name = str(_ci(item, "hashname") or "").strip()
            value = _ci(item, "hashvalue")
            key = name.lower().replace(" ", "")
            self.alt_hash_counts[name or "?"] = self.alt_hash_counts.get(name or "?", 0) + 1
            if key == "pdq":
                pdq = normalize_hex(value, PDQ_HEX_LEN)
                if pdq is None:
                    self.problem(f"item {index}: malformed PDQ value")
            elif key == "phash":
                phash = normalize_hex(value, PHASH_HEX_LEN)
                if phash is None:
                    self.problem(f"item {index}: malformed pHash value")
            # PhotoDNA and others are counted (hashset_info) but not matched:
            # there is no open PhotoDNA implementation to compare against.
        return pdq, phash


def _ci(mapping: dict, key: str) -> object:
    """Case-insensitive get: VICS writers differ in key case (MD5 / Md5 / md5)."""
    for k, v in mapping.items():
        if str(k).lower() == key:
            return v
    return None
