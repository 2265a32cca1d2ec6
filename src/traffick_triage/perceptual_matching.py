"""After the walk: every image's PDQ against the PDQ entries of the loaded
hash sets through the exact multi-index (all entries within the threshold,
100% recall), pHash as a secondary signal, and unknown images that are
near-duplicates of each other grouped into clusters (a new series shows up as
one group). Recomputed from the store on every run, so a resumed scan ends
with the same findings as an uninterrupted one."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from .perceptual import PDQ_MATCH_THRESHOLD, PDQIndex, cluster_hashes, hashes_from_hex
from .store import CaseStore

MATCHER_NAME = "perceptual-match"
MATCHER_VERSION = "1.0.0"
DEFAULT_PHASH_THRESHOLD = 8      # of 64 bits; pHash is a secondary signal


@dataclass(frozen=True)
class PerceptualSettings:
    pdq_threshold: int = PDQ_MATCH_THRESHOLD
    phash_threshold: int = DEFAULT_PHASH_THRESHOLD
    cluster_threshold: int = PDQ_MATCH_THRESHOLD


def _library(name: str) -> str:
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


def _images(store: CaseStore) -> list[dict[str, Any]]:
    rows = store.db.execute(
        "SELECT f.evidence_id, f.locator, f.data FROM findings f JOIN evidence e ON e.id = f.evidence_id "
        "WHERE f.kind = 'perceptual.hash' ORDER BY e.ordinal, f.locator")
    import json

    return [{"evidence_id": r[0], "locator": r[1], **json.loads(r[2])} for r in rows]


def _entry_fields(entry: Any) -> dict[str, Any]:
    return {"set_name": entry.set_name, "label": entry.label, "category": entry.category,
            "category_code": entry.category_code, "scheme": entry.scheme, "series": entry.series,
            "known_good": entry.known_good}


def match_and_cluster(store: CaseStore, hashsets: Any, settings: PerceptualSettings) -> dict[str, int]:
    store.db.execute("DELETE FROM findings WHERE plugin = ?", (MATCHER_NAME,))
    images = _images(store)
    matched: set[str] = set()
    counts = {"pdq_matches": 0, "phash_matches": 0, "clusters": 0}
    if hashsets is not None and images:
        counts["pdq_matches"] = _match_pdq(store, hashsets, images, settings, matched)
        counts["phash_matches"] = _match_phash(store, hashsets, images, settings, matched)
    if hashsets is not None:
        counts["video_matches"] = _match_video_frames(store, hashsets, settings)
    known_bad = {row[0] for row in store.db.execute(
        "SELECT locator FROM findings WHERE kind = 'hashset.match' AND data NOT LIKE '%\"known_good\":true%'")}
    unknown = [image for image in images
               if image["matchable"] and image["locator"] not in matched and image["locator"] not in known_bad]
    if len(unknown) >= 2:
        clusters = cluster_hashes([image["pdq"] for image in unknown], settings.cluster_threshold,
                                  keys=[image["locator"] for image in unknown])
        by_locator = {image["locator"]: image for image in unknown}
        for number, cluster in enumerate(clusters, start=1):
            for locator in cluster.keys:
                store.add_finding(by_locator[locator]["evidence_id"], locator, MATCHER_NAME, MATCHER_VERSION,
                                  "perceptual.cluster",
                                  {"cluster": f"C{number:04d}", "size": len(cluster.keys),
                                   "max_distance": int(cluster.max_distance), "threshold": settings.cluster_threshold,
                                   "algorithm": "pdq"}, [])
        counts["clusters"] = len(clusters)
    return counts


def _match_pdq(store: CaseStore, hashsets: Any, images: list[dict[str, Any]], settings: PerceptualSettings,
               matched: set[str]) -> int:
    entries = [entry for entry in hashsets.pdq_entries() if entry.pdq]
    queries: list[tuple[int, str, str]] = []      # (image index, variant, hash)
    for position, image in enumerate(images):
        if not image["matchable"]:
            continue                               # quality < 50: hashed, said so, not matched
        queries.append((position, "original", image["pdq"]))
        for variant, value in sorted((image.get("dihedral") or {}).items()):
            if value != image["pdq"]:
                queries.append((position, variant, value))
    if not entries or not queries:
        return 0
    index = PDQIndex.build(hashes_from_hex([entry.pdq for entry in entries]))
    query_ids, entry_ids, distances = index.search_batch(hashes_from_hex([q[2] for q in queries]),
                                                         threshold=settings.pdq_threshold)
    best: dict[tuple[int, int], tuple[int, str, str]] = {}
    for q, e, d in zip(query_ids.tolist(), entry_ids.tolist(), distances.tolist()):
        position, variant, value = queries[q]
        key = (position, e)
        if key not in best or d < best[key][0]:
            best[key] = (d, variant, value)
    library = _library("pdqhash")
    for (position, e), (distance, variant, value) in sorted(best.items()):
        image, entry = images[position], entries[e]
        store.add_finding(image["evidence_id"], image["locator"], MATCHER_NAME, MATCHER_VERSION,
                          "perceptual.match",
                          {"algorithm": "pdq", "distance": int(distance), "threshold": settings.pdq_threshold,
                           "hash": value, "matched_hash": entry.pdq, "variant": variant,
                           "library_version": library, **_entry_fields(entry)}, [])
        matched.add(image["locator"])
    return len(best)


def _match_video_frames(store: CaseStore, hashsets: Any, settings: PerceptualSettings) -> int:
    """vPDQ frame hashes against the sets' PDQ entries: one finding per
    (video, entry), citing the closest frame and how many frames matched."""
    import json

    videos = [(r[0], r[1], json.loads(r[2])) for r in store.db.execute(
        "SELECT f.evidence_id, f.locator, f.data FROM findings f JOIN evidence e ON e.id = f.evidence_id "
        "WHERE f.kind = 'perceptual.video' ORDER BY e.ordinal, f.locator")]
    entries = [entry for entry in hashsets.pdq_entries() if entry.pdq]
    frames = [(v, frame) for v, (_, _, data) in enumerate(videos) for frame in data["frames"]
              if frame[1] >= 50]
    if not entries or not frames:
        return 0
    index = PDQIndex.build(hashes_from_hex([entry.pdq for entry in entries]))
    query_ids, entry_ids, distances = index.search_batch(hashes_from_hex([frame[2] for _, frame in frames]),
                                                         threshold=settings.pdq_threshold)
    hits: dict[tuple[int, int], list[tuple[int, list]]] = {}
    for q, e, d in zip(query_ids.tolist(), entry_ids.tolist(), distances.tolist()):
        video, frame = frames[q]
        hits.setdefault((video, e), []).append((d, frame))
    for (video, e), found in sorted(hits.items()):
        evidence_id, locator, data = videos[video]
        distance, frame = min(found, key=lambda item: (item[0], item[1][3]))
        entry = entries[e]
        store.add_finding(evidence_id, locator, MATCHER_NAME, MATCHER_VERSION, "perceptual.match",
                          {"algorithm": "vpdq", "distance": int(distance), "threshold": settings.pdq_threshold,
                           "hash": frame[2], "matched_hash": entry.pdq, "variant": f"frame at {frame[3]:.3f} s",
                           "frames_matched": len(found), "library_version": data.get("library", "vpdq"),
                           **_entry_fields(entry)}, [])
    return len(hits)


def _match_phash(store: CaseStore, hashsets: Any, images: list[dict[str, Any]], settings: PerceptualSettings,
                 matched: set[str]) -> int:
    entries = [entry for entry in hashsets.phash_entries() if entry.phash]
    if not entries:
        return 0
    table = np.array([int(entry.phash, 16) for entry in entries], dtype=np.uint64)
    library, count = _library("ImageHash"), 0
    for image in images:
        distances = np.bitwise_count(table ^ np.uint64(int(image["phash"], 16)))
        for e in np.flatnonzero(distances <= settings.phash_threshold).tolist():
            entry = entries[e]
            store.add_finding(image["evidence_id"], image["locator"], MATCHER_NAME, MATCHER_VERSION,
                              "perceptual.match",
                              {"algorithm": "phash", "distance": int(distances[e]),
                               "threshold": settings.phash_threshold, "hash": image["phash"],
                               "matched_hash": entry.phash, "variant": "original", "library_version": library,
                               **_entry_fields(entry)}, [])
            matched.add(image["locator"])
            count += 1
    return count
