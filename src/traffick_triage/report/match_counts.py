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
