"""vics-export.json: known-bad hash-set and perceptual matches as Project VIC /
VICS JSON (OData 2.0 layout), for import into a VICS-aware review tool.

Layout (the "case" layout of hashsets/FORMATS.md, read back by our own
``VicsJsonReader``)::

    {"@odata.context": ".../ProjectVic/DataModels/2.0.xml/Default/$metadata#Cases",
     "@TrafficTriage.CategoryScheme": "vics-us",
     "value": [{"CaseID": <case number>, "SourceApplicationName": ..., "SourceApplicationVersion": ...,
                "Media": [Media, ...]}]}

One Media object per distinct file content (SHA-256, else SHA-1, else MD5 of
the file found in the evidence), in a stable order, ``MediaID`` 1..n:

* ``MD5``, ``SHA1``, ``SHA256``, ``MediaSize``: of the file as found in the
  evidence (upper-case hex, as VICS writers do), not copied from the set.
* ``Category``: from exact ``hashset.match`` findings only. A category code of
  the file's category scheme (the VICS scheme most matches use, named in
  ``@TrafficTriage.CategoryScheme``) is written as the integer code, as VICS
  does; a category from any other scheme is written as its name (text), so it
  is never read back as a code of the wrong scheme. When several sets disagree
  the first in (set name, category) order is written and every match is kept
  in ``@TrafficTriage.Matches``.
* ``Series``, ``VictimIdentified``, ``IsDistributed``: from the hash-set match.
* ``IsPrecategorized``: true when the category came from a hash set.
* ``AlternativeHashes``: ``{"HashName": "PDQ"|"pHash", "HashValue": ...}``
  for each ``perceptual.match`` (the hash computed from the file).
* ``MediaFiles``: ``FileName`` and ``FilePath`` (our locator) of every file
  in the case with that content.
* ``@TrafficTriage.Matches``: every finding behind the Media (set name,
  label, kind; algorithm, distance and threshold for perceptual matches) as an
  OData instance annotation that VICS readers ignore.

Perceptual-only matches are exported WITHOUT a Category: a near-duplicate is a
lead for an examiner to review, not a categorisation, and writing the set's
category would let an importing tool treat it as confirmed.

``known_good`` matches (NSRL "known" files) are never exported. No image or
thumbnail is ever written: hashes and metadata only.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from itertools import groupby
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_writer
from ..external_sort import ExternalSort
from ..store import CaseStore

VICS_EXPORT = "vics-export.json"
ODATA_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Cases"
VICS_SCHEMES = ("vics-us", "vics-uk")
_ALT_NAMES = {"pdq": "PDQ", "phash": "pHash"}


def _content_key(row: dict[str, Any]) -> str | None:
    for kind in ("sha256", "sha1", "md5"):
        if row.get(kind):
            return f"{kind}:{row[kind]}"
    return None


def _upper(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value else None


def exportable_matches(store: CaseStore) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(finding, file row) of each exportable finding, in store order."""
    for finding in store.findings(("hashset.match", "perceptual.match")):
        if finding["kind"] == "hashset.match" and finding["data"].get("known_good"):
            continue
        row = _file_row(store, finding["locator"])
        if row is None or _content_key(row) is None:
            continue
        yield finding, row


def _file_row(store: CaseStore, locator: str) -> dict[str, Any] | None:
    """What a Media object says of a file (its row kept on disk until written)."""
    row = store.db.execute("SELECT locator, name, size, md5, sha1, sha256 FROM files WHERE locator = ?",
                           (locator,)).fetchone()
    return None if row is None else dict(row)


def _case_object(store: CaseStore) -> dict[str, Any]:
    """The case object, its Media list left empty."""
    case = store.get_meta("case", {}) or {}
    runs = store.runs()
    tool = (runs[-1]["record"].get("tool") if runs else None) or \
        (store.get_meta("identity", {}) or {}).get("tool") or {"name": "traffick-triage"}
    return {"CaseID": str(case.get("case_number") or ""), "SourceApplicationName": tool.get("name"),
            "SourceApplicationVersion": tool.get("version"), "Media": []}


class _MatchesByContent:
    """The exportable matches sorted on disk by the content they matched (stably,
    so each content's matches keep store order), with the VICS schemes of the
    exact matches counted on the way: NSRL-sized cases have more matches than
    belong in memory."""

    def __init__(self, store: CaseStore) -> None:
        self.schemes: Counter = Counter()
        self._sorted = ExternalSort(key_width=1, payload_width=1)
        for finding, row in exportable_matches(store):
            scheme = finding["data"].get("scheme")
            if finding["kind"] == "hashset.match" and scheme in VICS_SCHEMES:
                self.schemes[scheme] += 1
            self._sorted.add((_content_key(row),), (pickle.dumps((finding["kind"], finding["data"], row)),))

    def file_scheme(self) -> str:
        """The VICS scheme most exact matches use (ties: by name); vics-us without any."""
        return sorted(self.schemes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if self.schemes else "vics-us"

    def groups(self) -> Iterator[dict[str, Any]]:
        """One group per content, in content-key order: the first match's file
        row, every file with that content by locator, the exact and the
        perceptual matches' data."""
        matches = (pickle.loads(payload) for (payload,) in self._sorted)
        for _key, same_content in groupby(matches, key=lambda match: _content_key(match[2])):
            group: dict[str, Any] = {"file": None, "exact": [], "perceptual": [], "files": {}}
            for kind, data, row in same_content:
                group["file"] = group["file"] or row
                group["files"][row["locator"]] = row
                group["exact" if kind == "hashset.match" else "perceptual"].append(data)
            yield group

    def close(self) -> None:
        self._sorted.close()


def _sort_key(data: dict[str, Any]) -> tuple:
    return tuple("" if data.get(k) is None else str(data.get(k))
                 for k in ("set_name", "category_code", "category", "series", "label", "algorithm", "hash"))


def _media(media_id: int, group: dict[str, Any], file_scheme: str) -> dict[str, Any]:
    row = group["file"]
    exact = sorted(group["exact"], key=_sort_key)
    perceptual = sorted(group["perceptual"], key=_sort_key)
    item: dict[str, Any] = {"MediaID": media_id}
    categorised = [d for d in exact if d.get("category_code") is not None or d.get("category")]
    if categorised:
        first = sorted(categorised, key=lambda d: (d.get("scheme") != file_scheme, _sort_key(d)))[0]
        if first.get("category_code") is not None and first.get("scheme") == file_scheme:
            item["Category"] = int(first["category_code"])
        else:
            item["Category"] = str(first.get("category") or f"{first.get('scheme')} category {first.get('category_code')}")
        item["IsPrecategorized"] = True
    else:
        item["IsPrecategorized"] = False
    item["MD5"] = _upper(row.get("md5"))
    item["SHA1"] = _upper(row.get("sha1"))
    item["SHA256"] = _upper(row.get("sha256"))
    item["MediaSize"] = int(row["size"])
    series = next((d["series"] for d in exact if d.get("series")), None)
    if series:
        item["Series"] = series
    for field, key in (("VictimIdentified", "victim_identified"), ("IsDistributed", "is_distributed")):
        values = [d[key] for d in exact if d.get(key) is not None]
        if values:
            item[field] = any(values)
    alternative = []
    seen = set()
    for data in perceptual:
        name = _ALT_NAMES.get(str(data.get("algorithm") or "").lower())
        value = data.get("hash")
        if name and isinstance(value, str) and (name, value) not in seen:
            seen.add((name, value))
            alternative.append({"HashName": name, "HashValue": value.lower()})
    if alternative:
        item["AlternativeHashes"] = sorted(alternative, key=lambda a: (a["HashName"], a["HashValue"]))
    item["MediaFiles"] = [{"FileName": f["name"], "FilePath": locator}
                          for locator, f in sorted(group["files"].items())]
    item["@TrafficTriage.Matches"] = (
        [{"Kind": "hashset", "SetName": d.get("set_name"), "SetFormat": d.get("set_format"),
          "HashType": d.get("hash_type"), "Scheme": d.get("scheme"), "Category": d.get("category"),
          "CategoryCode": d.get("category_code"), "Series": d.get("series"), "Label": d.get("label")}
         for d in exact] +
        [{"Kind": "perceptual", "SetName": d.get("set_name"), "Algorithm": d.get("algorithm"),
          "Distance": d.get("distance"), "Threshold": d.get("threshold"), "Label": d.get("label"),
          "SetCategory": d.get("category"), "LibraryVersion": d.get("library_version")}
         for d in perceptual])
    return {k: v for k, v in item.items() if v is not None}


def write_vics_export(store: CaseStore, case_dir: str | Path) -> Path:
    """Write CASE_DIR/vics-export.json and return its path (written even when
    there is nothing to export, with an empty Media list, so its absence never
    has to be interpreted). The document is json.dumps(indent=2) of the whole,
    written one Media object at a time."""
    target = Path(case_dir) / VICS_EXPORT
    matches = _MatchesByContent(store)
    try:
        file_scheme = matches.file_scheme()
        document = {"@odata.context": ODATA_CONTEXT, "@TrafficTriage.CategoryScheme": file_scheme,
                    "value": [_case_object(store)]}
        # Media is the last key of the last object: the document ends with its empty list.
        text = json.dumps(document, indent=2, ensure_ascii=False)
        assert text.endswith(_EMPTY_MEDIA_END)
        head, tail = text[:-len(_EMPTY_MEDIA_END)], _EMPTY_MEDIA_END[2:]
        with atomic_writer(target) as stream:
            stream.write(head)
            media_id = 0
            for media_id, group in enumerate(matches.groups(), start=1):
                item = json.dumps(_media(media_id, group, file_scheme), indent=2, ensure_ascii=False)
                stream.write(("[\n" if media_id == 1 else ",\n") + _MEDIA_INDENT
                             + item.replace("\n", "\n" + _MEDIA_INDENT))
            stream.write("[]" if media_id == 0 else "\n" + _MEDIA_INDENT[:-2] + "]")
            stream.write(tail + "\n")
    finally:
        matches.close()
    return target


# json.dumps(indent=2) of the document: how it ends when Media is empty, and
# how deep Media's items sit (document > "value" list > case object > "Media" list).
_EMPTY_MEDIA_END = "[]\n    }\n  ]\n}"
_MEDIA_INDENT = " " * 8
