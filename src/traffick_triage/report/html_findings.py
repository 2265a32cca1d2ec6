"""The HTML page's tables of findings (hash-set and perceptual matches, image
clusters, geotags, contacts, calls, messages, identifiers, keyword hits,
warnings), made from the case store one finding at a time.

Each table's rows go to disk in the order the page shows them (SpilledRows)
and each distinct count (files matched, geotagged...) is kept in a DiskSet,
so the page of a case with half a million messages is written with the memory
of one row. The rows are made, and masked when redacting, in exactly the order
the page has always made them in: a redaction token's length depends on the
values masked before it (Redactor.token).

Every function takes ``keep``, which registers what it spills so the caller
can close it once the page is written (contextlib.ExitStack.enter_context)."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from ..disk_set import DiskSet
from ..identifiers.index import iter_index
from ..store import CaseStore
from .spilled_rows import SpilledRows

Keep = Callable[[Any], Any]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cluster_id(data: dict[str, Any]) -> str:
    for key in ("cluster_id", "cluster", "id", "series"):
        if data.get(key) not in (None, ""):
            return str(data[key])
    return "?"


def learn_names(store: CaseStore, R: Any) -> None:
    """Names first, so free text anywhere can be masked with them."""
    for finding in store.findings(["comms.contact"]):
        R.learn_name(finding["data"].get("name"))
    for finding in store.findings(["comms.call"]):
        R.learn_name(finding["data"].get("contact_name"))


def known_files(store: CaseStore, R: Any, keep: Keep, matched: DiskSet) -> dict[str, Any]:
    """The known-bad table (by category, series, set, evidence, locator), the
    files per category and per series, and how many files are known-good and
    known-bad; every known-bad file goes into ``matched``."""
    rows = keep(SpilledRows(5))
    known_good, known_bad = keep(DiskSet()), keep(DiskSet())
    by_category, by_series = keep(DiskSet(2)), keep(DiskSet(3))
    for finding in store.findings(["hashset.match"]):
        data, locator = finding["data"], finding["locator"]
        if data.get("known_good"):
            known_good.add(locator)
            continue
        category = data.get("category") or (f"#{data['category_code']}" if data.get("category_code") is not None
                                            else "")
        series = data.get("series") or ""
        row = {"category": category, "series": series, "set": data.get("set_name") or data.get("set") or "",
               "hash_type": data.get("hash_type") or "", "label": data.get("label") or "",
               "evidence_id": finding["evidence_id"], "locator": R.text(locator)}
        row.update(_hash_and_route(store, locator))
        rows.add((row["category"], row["series"], row["set"], row["evidence_id"], row["locator"]), row)
        known_bad.add(locator)
        by_category.add(category, locator)
        by_series.add(category, series, locator)
        matched.add(locator)
    return {"rows": rows, "known_good": len(known_good), "known_bad": len(known_bad),
            "by_category": {category: files for (category,), files in by_category.counts_by(1)},
            "by_series": [{"category": category, "series": series, "files": files}
                          for (category, series), files in by_series.counts_by(2)]}


def _hash_and_route(store: CaseStore, locator: str) -> dict[str, str]:
    """A matched file's SHA-256 and how it was found (the page shows the route beside every match)."""
    known = store.file_hashes(locator)
    return {"sha256": known.get("sha256") or "", "route": known.get("route") or ""}


def perceptual_matches(store: CaseStore, R: Any, keep: Keep, matched: DiskSet) -> dict[str, Any]:
    rows, files = keep(SpilledRows(5)), keep(DiskSet())
    for finding in store.findings(["perceptual.match"]):
        data = finding["data"]
        row = {"algorithm": data.get("algorithm") or "", "distance": data.get("distance"),
               "threshold": data.get("threshold"), "set": data.get("set") or data.get("set_name") or "",
               "label": data.get("label") or "", "category": data.get("category") or "",
               "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])}
        row.update(_hash_and_route(store, finding["locator"]))
        rows.add((row["category"], row["set"], row["evidence_id"], row["locator"], str(row["distance"])), row)
        files.add(finding["locator"])
        matched.add(finding["locator"])
    return {"rows": rows, "files": len(files)}


def image_clusters(store: CaseStore, R: Any, keep: Keep, matched: DiskSet) -> dict[str, Any]:
    """The clusters in id order, each with its members by (evidence, locator)
    and whether it holds a matched file; the members of such a cluster count
    as matched too (for the clusters after it, and the thumbnails)."""
    members = SpilledRows(3)
    try:
        for finding in store.findings(["perceptual.cluster"]):
            data = finding["data"]
            extra = {k: v for k, v in sorted(data.items())
                     if k not in ("cluster_id", "cluster", "id", "keys", "members") and not isinstance(v, (dict, list))}
            member = {"evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"]),
                      "_raw_locator": finding["locator"],
                      "sha256": store.file_hashes(finding["locator"]).get("sha256") or "",
                      "details": ", ".join(f"{k}={v}" for k, v in extra.items())}
            members.add((_cluster_id(data), member["evidence_id"], member["locator"]), (_cluster_id(data), member))
        clusters = keep(SpilledRows(0))
        for cid, cluster in _grouped(members):
            holds_match = any(m["_raw_locator"] in matched for m in cluster)
            if holds_match:
                for m in cluster:
                    matched.add(m["_raw_locator"])
            clusters.add((), {"id": cid, "size": len(cluster), "holds_match": holds_match,
                              "members": [{k: v for k, v in m.items() if not k.startswith("_")} for m in cluster]})
    finally:
        members.close()
    return {"clusters": clusters}


def _grouped(members: SpilledRows) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(cluster id, its members) from rows sorted by cluster id; one cluster in memory at a time."""
    current, cluster = None, []
    for cid, member in members:
        if cluster and cid != current:
            yield current, cluster
            cluster = []
        current = cid
        cluster.append(member)
    if cluster:
        yield current, cluster


# Findings that may carry a position, kind by kind (each in store order), as the
# page lists them. The data is canonical JSON (store.dumps), so a top-level key
# reads '"latitude":' in its text; the text test only narrows, Python decides.
_GEOTAGGED = ("SELECT f.* FROM findings f JOIN evidence e ON e.id = f.evidence_id "
              "WHERE f.data LIKE '%\"latitude\":%' AND f.data LIKE '%\"longitude\":%' "
              "ORDER BY f.kind, e.ordinal, f.locator, f.plugin, f.data")
# A file's camera and capture time come from its EXIF, else its media metadata, each in store order.
_DESCRIBED = ("SELECT f.data FROM findings f JOIN evidence e ON e.id = f.evidence_id "
              "WHERE f.locator = ? AND f.kind IN ('exif.metadata', 'media.metadata') "
              "ORDER BY f.kind, e.ordinal, f.plugin, f.data")


def geotags(store: CaseStore, R: Any, keep: Keep) -> dict[str, Any]:
    """Every finding with a latitude and longitude in range, by (evidence,
    locator, source, position), with its file's camera and capture time."""
    rows, files = keep(SpilledRows(5)), keep(DiskSet())
    for finding in store.db.execute(_GEOTAGGED):
        data = json.loads(finding["data"])
        lat, lon = data.get("latitude"), data.get("longitude")
        if not (_is_number(lat) and _is_number(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        camera, moment = _camera_and_time(store, finding["locator"])
        point = {"lat": round(float(lat), 6), "lon": round(float(lon), 6), "evidence_id": finding["evidence_id"],
                 "locator": R.text(finding["locator"]), "source": f"{finding['plugin']}:{finding['kind']}",
                 "time": str(data.get("gps_time_utc") or data.get("time_utc") or moment or ""),
                 "camera": R.text(camera)}
        rows.add((point["evidence_id"], point["locator"], point["source"], point["lat"], point["lon"]), point)
        files.add(finding["locator"])
    return {"rows": rows, "files": len(files)}


def _camera_and_time(store: CaseStore, locator: str) -> tuple[str, str | None]:
    camera, moment = "", None
    for (text,) in store.db.execute(_DESCRIBED, (locator,)):
        data = json.loads(text)
        label = " ".join(str(data[k]) for k in ("make", "model") if data.get(k))
        camera = camera or label
        found = data.get("capture_time_utc") or data.get("capture_time_local") or data.get("creation_time")
        moment = moment or (str(found) if found else None)
    return camera, moment


def _recovered_from(data: dict[str, Any]) -> str | None:
    """Where a recovered deleted record was found (page, offset, WAL frame);
    None for a live row. The page shows it beside the record."""
    if not data.get("recovered"):
        return None
    return str(data.get("recovered_from") or "free space")


def contacts(store: CaseStore, R: Any, keep: Keep) -> SpilledRows:
    rows = keep(SpilledRows(0))
    for finding in store.findings(["comms.contact"]):
        data = finding["data"]
        rows.add((), {"name": R.name(data.get("name")) or "",
                      "phones": [R.phone(v) for v in data.get("phone_numbers") or []],
                      "emails": [R.email(v) for v in data.get("emails") or []],
                      "handles": [R.address(v) for v in data.get("identifiers") or []],
                      "organisation": R.text(data.get("organisation")) or "",
                      "app": data.get("source_app") or "", "deleted": data.get("deleted"),
                      "recovered_from": _recovered_from(data),
                      "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])})
    return rows


def calls(store: CaseStore, R: Any, keep: Keep) -> SpilledRows:
    rows = keep(SpilledRows(4))
    for finding in store.findings(["comms.call"]):
        data = finding["data"]
        row = {"time": data.get("start_time") or "", "direction": data.get("direction") or "",
               "number": R.phone(data.get("number")) or "", "name": R.name(data.get("contact_name")) or "",
               "duration": data.get("duration_s"), "type": data.get("call_type") or "",
               "app": data.get("source_app") or "", "recovered_from": _recovered_from(data),
               "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])}
        rows.add((row["time"], row["evidence_id"], row["locator"], row["number"]), row)
    return rows


def messages(store: CaseStore, R: Any, keep: Keep) -> SpilledRows:
    rows = keep(SpilledRows(5))
    for finding in store.findings(["comms.message"]):
        data = finding["data"]
        row = {"time": data.get("time") or data.get("sent_time") or "",
               "direction": data.get("direction") or "", "app": data.get("app") or "",
               "thread": R.text(data.get("thread_id")) or "",
               "sender": R.address(data.get("sender")) or "",
               "recipients": [R.address(v) for v in data.get("recipients") or []],
               "subject": R.text(data.get("subject")) or "", "body": R.text(data.get("body")) or "",
               "attachments": data.get("attachments") or 0, "recovered_from": _recovered_from(data),
               "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])}
        rows.add((row["time"], row["evidence_id"], row["locator"], row["thread"], row["body"]), row)
    return rows


def identifiers(store: CaseStore, R: Any, keep: Keep, region: str | None) -> dict[str, Any]:
    """The index of the identifier scanner's findings (identifiers.index), by
    kind and shown value (which redaction changes), and how many rows appear
    in more than one evidence item."""
    mentions = (f["data"] | {"evidence_id": f["evidence_id"], "locator": f["locator"]}
                for f in store.findings(["identifier"]))
    rows, shared = keep(SpilledRows(2)), 0
    for row in iter_index(mentions, region):
        shown = {"kind": row["kind"], "value": R.identifier(row["kind"], row["value"]),
                 "occurrences": row["occurrences"], "evidence_count": row["evidence_count"],
                 "sources": [{"evidence_id": s["evidence_id"], "locator": R.text(s["locator"])}
                             for s in row["sources"]]}
        rows.add((shown["kind"], shown["value"]), shown)
        shared += shown["evidence_count"] > 1
    return {"rows": rows, "shared": shared}


def keywords(store: CaseStore, R: Any, keep: Keep) -> SpilledRows:
    rows = keep(SpilledRows(4))
    for finding in store.findings(["keyword"]):
        data = finding["data"]
        row = {"term": data.get("term") or "", "matched": R.text(data.get("matched")) or "",
               "list": data.get("list_name") or "", "language": data.get("language") or "",
               "count": data.get("count") or 1, "snippet": R.text(data.get("snippet")) or "",
               "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])}
        rows.add((row["term"], row["evidence_id"], row["locator"], row["snippet"]), row)
    return rows


def warnings(store: CaseStore, R: Any, keep: Keep) -> SpilledRows:
    rows = keep(SpilledRows(0))
    for w in store.warnings():
        rows.add((), {"evidence_id": w["evidence_id"] or "", "locator": R.text(w["locator"]) or "",
                      "source": w["source"], "message": R.text(w["message"])})
    return rows
