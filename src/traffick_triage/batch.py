"""``triage batch CASEFILE.yaml``: many evidence items, each with its own ID,
path and options, scanned into one case, on this machine's worker processes
or on a Dask cluster.

A case file::

    case_number: 2024-117
    examiner: A. Examiner
    agency: Anti-Trafficking Unit
    output: /cases/2024-117          # or -o on the command line
    region: KW                       # default phone region for every item
    hashsets: [/sets/vics.json, /sets/RDS_2024.03.1_modern_minimal.db, pdq:/sets/series.txt]
    # or per set: - {path: /sets/series.txt, type: pdq}   (types as --hashset TYPE:FILE)
    keywords: [lists/case.yaml, lists/slang.txt]   # YAML or plain lists (--keywords)
    keywords_language: ar            # optional: language of plain lists' terms
    plugins: {only: [], skip: [], dirs: []}
    workers: 0                       # 0: all cores (local runs)
    evidence:
      - id: LAPTOP-1
        path: /shared/evidence/laptop.E01
      - id: PHONE-1
        path: /shared/evidence/phone.zip
        region: EG                   # this item's own options

Relative paths are taken from the case file's folder. On a cluster every
worker must see the evidence and hash sets at the same paths (shared storage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .engine import EvidenceSpec, ScanConfig, ScanRefused

_ITEM_OPTIONS = {"region", "dihedral"}
_TOP_KEYS = {"case_number", "examiner", "agency", "output", "region", "hashsets", "plugins", "workers", "media_hash",
             "expand", "shadow_copies", "carve", "evidence", "plugin_timeout", "max_member_bytes", "max_ratio",
             "keywords", "keywords_language"}


class CaseFileError(Exception):
    pass


def _flag(case_file: Path, data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise CaseFileError(f"{case_file}: {key} must be true or false, not {value!r}")
    return value


def _resolve(base: Path, value: str) -> str:
    path = Path(os.path.expanduser(str(value)))
    return str(path if path.is_absolute() else (base / path))


def _hashset_specs(case_file: Path, base: Path, value: Any) -> list[str]:
    """``hashsets``: a list of PATH or TYPE:PATH strings (as --hashset), or of
    mappings {path: PATH, type: TYPE}; relative paths from the case file's folder."""
    from .hashsets.declared import DECLARED_TYPES, HashSetSpec, resolve_spec

    if value is None:
        return []
    if not isinstance(value, list):
        raise CaseFileError(f"{case_file}: 'hashsets' must be a list")
    specs = []
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            extra = set(item) - {"path", "type"}
            kind = item.get("type")
            if extra or not isinstance(item.get("path"), str) or (kind is not None and kind not in DECLARED_TYPES):
                raise CaseFileError(f"{case_file}: hash set {number} must be {{path: FILE, type: TYPE}} with TYPE "
                                    f"one of {sorted(DECLARED_TYPES)}")
            item = HashSetSpec(item["path"], kind).text()
        elif not isinstance(item, str):
            raise CaseFileError(f"{case_file}: hash set {number} must be a path (or TYPE:PATH)")
        specs.append(resolve_spec(item, base))
    return specs


def _keyword_options(case_file: Path, base: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``keywords`` (a path or a list of paths, from the case file's folder)
    and ``keywords_language``, as the plugin options ``--keywords`` and
    ``--keywords-language`` give. What the lists hold is checked by the
    plugin before the scan starts."""
    options: dict[str, Any] = {}
    lists = data.get("keywords")
    if lists is not None:
        if isinstance(lists, str):
            lists = [lists]
        if not isinstance(lists, list) or not lists or not all(isinstance(p, str) and p for p in lists):
            raise CaseFileError(f"{case_file}: keywords must be a path or a non-empty list of paths")
        paths = [_resolve(base, p) for p in lists]
        for path in paths:
            if not os.path.isfile(path):
                raise CaseFileError(f"{case_file}: keyword list not found: {path}")
        options["keywords"] = paths
    language = data.get("keywords_language")
    if language is not None:
        if not isinstance(language, str) or "keywords" not in options:
            raise CaseFileError(f"{case_file}: keywords_language must be a language tag and needs 'keywords'")
        options["keywords_language"] = language
    return options


def load_case_file(path: str | Path, output: str | None = None, scheduler: str | None = None) -> ScanConfig:
    case_file = Path(path)
    try:
        data = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CaseFileError(f"cannot read case file {case_file}: {error}") from error
    except RecursionError as error:     # PyYAML composes nested nodes recursively
        raise CaseFileError(f"cannot read case file {case_file}: nested too deep") from error
    if not isinstance(data, dict):
        raise CaseFileError(f"{case_file}: expected a mapping at the top level")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise CaseFileError(f"{case_file}: unknown keys {sorted(unknown)}; known: {sorted(_TOP_KEYS)}")
    base = case_file.resolve().parent
    items = data.get("evidence") or []
    if not isinstance(items, list) or not items:
        raise CaseFileError(f"{case_file}: 'evidence' must be a non-empty list of items with id and path")
    specs, seen = [], set()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "path" not in item:
            raise CaseFileError(f"{case_file}: evidence item {number} needs a 'path'")
        evidence_id = str(item.get("id") or f"E{number}")
        if evidence_id in seen:
            raise CaseFileError(f"{case_file}: evidence id {evidence_id} is used twice")
        seen.add(evidence_id)
        extra = set(item) - {"id", "path"} - _ITEM_OPTIONS
        if extra:
            raise CaseFileError(f"{case_file}: evidence {evidence_id}: unknown keys {sorted(extra)}")
        options = {key: item[key] for key in _ITEM_OPTIONS if key in item}
        if "region" in options:
            options["region"] = str(options["region"]).upper()
        specs.append(EvidenceSpec(path=_resolve(base, item["path"]), evidence_id=evidence_id, plugin_options=options))
    target = output or data.get("output")
    if not target:
        raise CaseFileError(f"{case_file}: no output folder ('output' in the file or -o)")
    plugins = data.get("plugins") or {}
    plugin_options: dict[str, Any] = {}
    if data.get("region"):
        plugin_options["region"] = str(data["region"]).upper()
    plugin_options.update(_keyword_options(case_file, base, data))
    workers = int(data.get("workers") or 0) or (os.cpu_count() or 1)
    max_ratio = data.get("max_ratio", 1000.0)
    if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float)) or max_ratio < 1:
        raise CaseFileError(f"{case_file}: 'max_ratio' must be a number of at least 1 (got {max_ratio!r})")
    source_options: dict[str, Any] = {"max_member_bytes": int(data.get("max_member_bytes", 64 << 30)),
                                      "max_ratio": float(max_ratio), "expand": _flag(case_file, data, "expand", True),
                                      "shadow_copies": _flag(case_file, data, "shadow_copies", True)}
    if not _flag(case_file, data, "carve", True):
        source_options["carve"] = False          # as --no-carve, recorded only when asked
    config = ScanConfig(
        evidence=specs, case_dir=_resolve(base, target),
        case={"case_number": str(data.get("case_number", "")), "examiner": str(data.get("examiner", "")),
              "agency": str(data.get("agency", ""))},
        plugin_options=plugin_options,
        source_options=source_options,
        plugin_timeout=float(data.get("plugin_timeout", 60.0)),
        hashset_paths=_hashset_specs(case_file, base, data.get("hashsets")),
        workers=workers, scheduler=scheduler, media_hash=_flag(case_file, data, "media_hash", True),
        plugin_selection={"dirs": [_resolve(base, d) for d in plugins.get("dirs") or []],
                          "only": list(plugins.get("only") or []), "skip": list(plugins.get("skip") or []),
                          "none": bool(plugins.get("none", False))})
    for spec in specs:
        if not os.path.exists(spec.path):
            raise ScanRefused(f"evidence {spec.evidence_id} not found: {spec.path}")
    return config
