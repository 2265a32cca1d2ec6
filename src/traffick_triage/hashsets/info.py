"""hashset_info: what a hash-set file is and holds, without importing it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .categories import NSRL_CATEGORY
from .fileutil import file_sha256
from .nsrl import NsrlLookup, readonly_uri
from .readers import open_reader
from .sniff import detect_format
from .store import count_entry, empty_counts


def hashset_info(path: str | Path, fmt: str | None = None, *, scheme: str | None = None,
                 category_names: dict[int, str] | None = None) -> dict:
    """Format, counts per hash type and per category, version/date, file SHA-256,
    problems. Streams the file once (twice counting the SHA-256 pass)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    info: dict = {"path": str(path), "format": fmt, "size": path.stat().st_size,
                  "sha256": file_sha256(path), "entry_count": 0, "hashes": {},
                  "categories": {}, "version": None, "date": None,
                  "problem_count": 0, "problems": []}
    if fmt == "nsrl-rds3":
        with NsrlLookup(path, cache_dir=None) as rds:
            versions = rds.version()
            rows = rds.file_row_count()
        info.update(entry_count=rows, hashes={"md5": rows, "sha1": rows, "sha256": rows},
                    categories={NSRL_CATEGORY: rows}, versions=versions,
                    counts_are="FILE rows (one per file name and package)")
        if versions:
            info["version"] = versions[0].get("version")
            info["date"] = versions[0].get("release_date") or versions[0].get("build_date")
        return info
    if fmt == "triage-store":
        return _store_info(path, info)
    if fmt == "unknown":
        info["problem_count"] = 1
        info["problems"] = ["format not recognised"]
        return info
    reader = open_reader(path, fmt, scheme=scheme, category_names=category_names)
    counts = empty_counts()
    total = 0
    for entry in reader:
        total += 1
        count_entry(counts, entry)
    info.update(entry_count=total, hashes=counts["hashes"], categories=counts["categories"],
                problem_count=reader.problem_count, problems=reader.problems[:20],
                metadata=reader.metadata)
    info["version"] = reader.metadata.get("data_model_version")
    for key in ("DateCreated", "dateCreated", "Date", "date", "DateUpdated"):
        if key in reader.metadata:
            info["date"] = str(reader.metadata[key])
            break
    if getattr(reader, "alt_hash_counts", None):
        info["alternative_hashes"] = dict(sorted(reader.alt_hash_counts.items()))
    return info


def _store_info(path: Path, info: dict) -> dict:
    con = sqlite3.connect(readonly_uri(path).replace("&immutable=1", ""), uri=True)
    try:
        sources = []
        hashes: dict[str, int] = {}
        cats: dict[str, int] = {}
        for row in con.execute("SELECT set_name, file_name, sha256, format, entry_count, "
                               "counts_json, problem_count, imported_utc FROM sources ORDER BY id"):
            counts = json.loads(row[5])
            for k, v in counts.get("hashes", {}).items():
                hashes[k] = hashes.get(k, 0) + v
            for k, v in counts.get("categories", {}).items():
                cats[k] = cats.get(k, 0) + v
            info["entry_count"] += row[4]
            info["problem_count"] += row[6]
            sources.append({"name": row[0], "file_name": row[1], "sha256": row[2],
                            "format": row[3], "entry_count": row[4], "imported_utc": row[7]})
        meta = dict(con.execute("SELECT key, value FROM meta"))
    finally:
        con.close()
    info.update(hashes=hashes, categories=cats, sources=sources,
                version=meta.get("schema_version"), date=meta.get("created_utc"))
    return info
