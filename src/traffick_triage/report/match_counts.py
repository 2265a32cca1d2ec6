"""How many files the hash sets matched: the distinct locators are kept and
counted in SQLite (DiskSet) instead of Python sets, as a Windows laptop
scanned against the NSRL has a known-good match for most of its hundreds of
thousands of files."""

from __future__ import annotations

import json
from typing import Any

from ..disk_set import DiskSet
from ..store import CaseStore

NO_CATEGORY = "(no category)"


def hashset_match_counts(store: CaseStore) -> dict[str, Any]:
    """Files with a known-bad match, by category too, and files whose every
    match is known-good (a file in both kinds of set counts as known-bad)."""
    with DiskSet() as good, DiskSet() as bad, DiskSet(2) as bad_by_category:
        # Each match decoded here, not by SQLite's JSON functions, which refuse a
        # document holding NaN (json.dumps writes one for a float NaN).
        for locator, data in store.db.execute("SELECT locator, data FROM findings WHERE kind = 'hashset.match'"):
            match = json.loads(data)
            if match.get("known_good"):
                good.add(locator)
            else:
                bad.add(locator)
                bad_by_category.add(match.get("category") or NO_CATEGORY, locator)
        return {"known_good_files": sum(1 for (locator,) in good if locator not in bad),
                "known_bad_files": len(bad),
                "known_bad_by_category": {category: files for (category,), files in bad_by_category.counts_by(1)}}


def files_matched_by_set(store: CaseStore) -> dict[str, int]:
    """Distinct files each hash set matched, by set name: by file hash
    (hashset.match) or by perceptual hash (perceptual.match)."""
    with DiskSet(2) as matched:
        for locator, data in store.db.execute(
                "SELECT locator, data FROM findings WHERE kind IN ('hashset.match', 'perceptual.match')"):
            name = json.loads(data).get("set_name")
            if isinstance(name, str):
                matched.add(name, locator)
        return {name: files for (name,), files in matched.counts_by(1)}


def hashsets_with_match_counts(store: CaseStore) -> list[dict[str, Any]]:
    """The case's hash sets as the scan read them, each with the number of
    files it matched (sets sharing a name share the count)."""
    counts = files_matched_by_set(store)
    return [{**row, "files_matched": counts.get(row.get("name"), 0)}
            for row in store.get_meta("hashsets", []) or []]
