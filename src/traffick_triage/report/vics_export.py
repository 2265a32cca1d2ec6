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
from collections import Counter
from pathlib import Path
from typing import Any

from ..atomic import write_text
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


def collect_matches(store: CaseStore) -> list[dict[str, Any]]:
    """Exportable findings with the file row each refers to, in store order."""
    out = []
    for finding in store.findings():
        data = finding["data"]
        if finding["kind"] == "hashset.match":
            if data.get("known_good"):
                continue
        elif finding["kind"] != "perceptual.match":
            continue
        row = store.file_by_locator(finding["locator"])
        if row is None or _content_key(row) is None:
            continue
        out.append({"finding": finding, "file": row})
    return out


def build_export(store: CaseStore) -> dict[str, Any]:
    matches = collect_matches(store)
    schemes = Counter(m["finding"]["data"].get("scheme") for m in matches
                      if m["finding"]["kind"] == "hashset.match"
                      and m["finding"]["data"].get("scheme") in VICS_SCHEMES)
    file_scheme = sorted(schemes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if schemes else "vics-us"

    groups: dict[str, dict[str, Any]] = {}
    for match in matches:
        row = match["file"]
        group = groups.setdefault(_content_key(row), {"file": row, "exact": [], "perceptual": [], "files": {}})
        group["files"][row["locator"]] = row
        kind = "exact" if match["finding"]["kind"] == "hashset.match" else "perceptual"
        group[kind].append(match["finding"]["data"])

    media = []
    for media_id, key in enumerate(sorted(groups), start=1):
        media.append(_media(media_id, groups[key], file_scheme))

    case = store.get_meta("case", {}) or {}
    runs = store.runs()
    tool = (runs[-1]["record"].get("tool") if runs else None) or \
        (store.get_meta("identity", {}) or {}).get("tool") or {"name": "traffick-triage"}
    case_object: dict[str, Any] = {"CaseID": str(case.get("case_number") or ""),
                                   "SourceApplicationName": tool.get("name"),
                                   "SourceApplicationVersion": tool.get("version"),
                                   "Media": media}
    return {"@odata.context": ODATA_CONTEXT, "@TrafficTriage.CategoryScheme": file_scheme,
            "value": [case_object]}


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
    has to be interpreted)."""
    target = Path(case_dir) / VICS_EXPORT
    write_text(target, json.dumps(build_export(store), indent=2, ensure_ascii=False) + "\n")
    return target
