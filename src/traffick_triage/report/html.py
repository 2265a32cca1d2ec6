"""report.html: the court-ready, self-contained HTML report of a case, made
from the case store alone (like report.json) and re-renderable at any time.

One file, nothing fetched: every style and script is inline and allowed by
its SHA-256 in a strict Content-Security-Policy (``default-src 'none'``; no
'unsafe-inline'; ``img-src data:`` only when thumbnails were asked for).
Every value from the evidence goes through Jinja2's autoescape; the data
the page's script uses (map clusters, UI strings) sits in a
``<script type="application/json">`` block with ``<``, ``>``, ``&``, U+2028
and U+2029 escaped, so ``</script>`` in a file name cannot break out.

Deterministic: the same store (and options) gives byte-identical HTML; the
page holds no time of rendering, and every list is sorted.

Examiner safety: the content of an image that matched a known-bad hash set
or a perceptual set is never put in the page, nor that of any file with the
same MD5/SHA-1/SHA-256, nor of members of a cluster holding such a file.
Other images appear only with ``thumbnails=True``: 160 px JPEG data: URIs,
blurred until clicked.

Files (``html_filename``): ``report.html`` for English; other languages add
their code, redaction and thumbnails add a word, in that order:
``report.ar.html``, ``report.redacted.html``, ``report.ar.redacted.thumbnails.html``.
So the plain English report never gets overwritten by a variant.

Redaction (``redact=True``): person names, phone numbers, e-mail addresses
and message handles are replaced everywhere (tables, free text, file paths,
map data) by tokens such as ``PHONE-7KQ2M``: the first base32 characters of
HMAC-SHA256(case key, kind + normalised value). The same value always gets
the same token (E.164 for phones, lower-cased e-mail, case-folded name);
the key is random per case and kept in the case store's meta
(``redaction_key``), so re-rendering gives the same tokens and nobody
without the store can test guesses against them. ``ensure_redaction_key``
creates it (writable store); a read-only store without one raises
``RedactionKeyMissing``.

Languages: every UI string goes through gettext (domain ``traffick_triage``,
catalogues in ``traffick_triage/locale/<lang>/LC_MESSAGES``; the compiled
.mo files are committed beside their .po). Adding a language is one .po
file, compiled with ``pybabel compile -d src/traffick_triage/locale -D
traffick_triage``; ``pybabel extract -F src/traffick_triage/locale/babel.cfg``
refreshes the template. Values are shown as found, isolated with ``<bdi>``.

Map: an inline equirectangular SVG over Natural Earth 1:110m country
outlines (public domain; ``data/world-110m.json``, see
``data/world-110m.README.md``), points clustered on a grid; clicking one
lists its items.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import heapq
import hmac
import io
import json
import pickle
import re
import secrets
import shlex
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..atomic import atomic_writer
from ..store import CaseStore
from ..external_sort import ExternalSort

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = PACKAGE_DIR / "templates"
LOCALE_DIR = PACKAGE_DIR / "locale"
WORLD_DATA = PACKAGE_DIR / "data" / "world-110m.json"
DOMAIN = "traffick_triage"
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
REDACTION_KEY_META = "redaction_key"

ROW_LIMIT = 5000             # rows per long table (timeline, deleted files...); the rest is in the CSV/JSON outputs
THUMBNAIL_LIMIT = 300
THUMBNAIL_SIZE = 160


def _(message: str) -> str:
    """Marks a string for extraction; translated when rendered (gettext)."""
    return message


class RedactionKeyMissing(Exception):
    pass


# -- file names and languages ------------------------------------------------------


def available_languages() -> list[str]:
    found = {"en"}
    if LOCALE_DIR.is_dir():
        found |= {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return sorted(found)


def html_filename(lang: str = "en", redact: bool = False, thumbnails: bool = False) -> str:
    parts = ["report"]
    if lang != "en":
        parts.append(lang)
    if redact:
        parts.append("redacted")
    if thumbnails:
        parts.append("thumbnails")
    return ".".join(parts) + ".html"


def _translations(lang: str) -> gettext.NullTranslations:
    if lang not in available_languages():
        raise ValueError(f"no report language {lang!r} (have: {', '.join(available_languages())})")
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


# -- redaction ---------------------------------------------------------------------

try:  # the identifier module's own finders and normalisers, when present
    from ..identifiers.emails import find_emails as _find_emails, normalise_email as _normalise_email
    from ..identifiers.phones import find_phones as _find_phones, normalise_phone as _normalise_phone
except ImportError:  # pragma: no cover - fallback keeps the report working without it
    _find_emails = _find_phones = _normalise_email = _normalise_phone = None  # type: ignore[assignment]

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Digit runs that look like a phone number even when the library does not
# accept them (short-codes, numbers from ranges newer than its metadata).
_PHONE_LIKE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d \-().]{5,}\d(?!\w)")
_DATE_LIKE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?: \d{1,2})?|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
_SPACES = re.compile(r"\s+")


def ensure_redaction_key(store: CaseStore) -> bytes:
    """The case's redaction key, created (random, 256 bits) if missing."""
    value = store.get_meta(REDACTION_KEY_META)
    if not value:
        if store.readonly:
            raise RedactionKeyMissing(
                "this case has no redaction key yet: open the case store writable once "
                "(ensure_redaction_key) before rendering a redacted report")
        value = secrets.token_hex(32)
        store.set_meta(REDACTION_KEY_META, value)
    return bytes.fromhex(value)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


class Redactor:
    """Consistent masking: the same normalised value gives the same token."""

    def __init__(self, key: bytes | None, region: str | None) -> None:
        self.enabled = key is not None
        self.key = key or b""
        self.region = region
        self.names: dict[str, str] = {}          # name as found -> token
        self._tokens: dict[tuple[str, str], str] = {}
        self._owners: dict[str, tuple[str, str]] = {}

    def token(self, kind: str, normalised: str) -> str:
        known = self._tokens.get((kind, normalised))
        if known:
            return known
        digest = base64.b32encode(hmac.new(self.key, f"{kind}\0{normalised}".encode(), hashlib.sha256).digest())
        for length in (5, 8, 13, 52):
            candidate = f"{kind}-{digest[:length].decode()}"
            if candidate not in self._owners:
                break
        self._owners[candidate] = (kind, normalised)
        self._tokens[(kind, normalised)] = candidate
        return candidate

    def _phone_norm(self, raw: str) -> str:
        value = None
        if _normalise_phone is not None:
            value = _normalise_phone(raw, self.region, require_valid=False)
        if not value:
            digits = _digits(raw)
            if digits.startswith("00"):
                digits = "+" + digits[2:]
            value = digits or raw.strip()
        return value

    def phone(self, raw: str | None) -> str | None:
        if not self.enabled or not raw:
            return raw
        return self.token("PHONE", self._phone_norm(raw))

    def email(self, raw: str | None) -> str | None:
        if not self.enabled or not raw:
            return raw
        norm = (_normalise_email(raw) if _normalise_email else None) or raw.strip().lower()
        return self.token("EMAIL", norm)

    @staticmethod
    def _name_norm(raw: str) -> str:
        return _SPACES.sub(" ", raw).strip().casefold()

    def learn_name(self, raw: str | None) -> None:
        if self.enabled and raw and len(raw.strip()) >= 3:
            self.names[raw.strip()] = self.token("PERSON", self._name_norm(raw))

    def name(self, raw: str | None) -> str | None:
        if not self.enabled or not raw or not raw.strip():
            return raw
        return self.token("PERSON", self._name_norm(raw))

    def address(self, raw: str | None) -> str | None:
        """A message party or handle: a phone, an e-mail, or another handle."""
        if not self.enabled or not raw:
            return raw
        masked = self.text(raw)
        if masked != raw:
            return masked
        return self.token("HANDLE", self._name_norm(raw))

    def identifier(self, kind: str, value: str) -> str:
        if not self.enabled:
            return value
        if kind.startswith("phone"):
            return self.phone(value) or value
        if kind == "email":
            return self.email(value) or value
        return self.text(value)

    def text(self, value: Any) -> Any:
        """Free text with every phone number, e-mail address and known name masked."""
        if not self.enabled or not isinstance(value, str) or not value:
            return value
        spans: list[tuple[int, int, str]] = []
        if _find_emails is not None:
            spans += [(m.start, m.end, self.email(m.value) or "") for m in _find_emails(value)]
        spans += [(m.start(), m.end(), self.email(m.group()) or "") for m in _EMAIL_RE.finditer(value)]
        if _find_phones is not None:
            for m in _find_phones(value, self.region):
                start, end = m.start, m.end
                while start < end and not (value[start].isdigit() or value[start] in "+\uFF0B"):
                    start += 1          # the library's match may start with "(" that is not part of it
                while end > start and not value[end - 1].isdigit():
                    end -= 1
                spans.append((start, end, self.token("PHONE", m.value)))
        for match in _PHONE_LIKE_RE.finditer(value):
            if sum(ch.isdigit() for ch in match.group()) >= 7 and not _DATE_LIKE_RE.fullmatch(match.group().strip()):
                spans.append((match.start(), match.end(), self.phone(match.group()) or ""))
        folded = value.casefold()
        for name in sorted(self.names, key=lambda n: (-len(n), n)):
            needle, start = name.casefold(), 0
            if len(needle) != len(name):
                continue
            while (found := folded.find(needle, start)) >= 0:
                end = found + len(needle)
                # whole words only: "Ali" is masked, "Salina" is not
                if not (found and value[found - 1].isalnum()) and not (end < len(value) and value[end].isalnum()):
                    spans.append((found, end, self.names[name]))
                start = end
        if not spans:
            return value
        # longest first at each place, then drop overlaps
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        out, cursor = [], 0
        for start, end, replacement in spans:
            if start < cursor:
                continue
            out.append(value[cursor:start])
            out.append(replacement)
            cursor = end
        out.append(value[cursor:])
        return "".join(out)


# -- the data model of the page ----------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bidi_dir(value: Any) -> str:
    """"rtl" when the value's first strong character is right-to-left, else
    "ltr": like dir="auto", but numbers, phone numbers and hashes (no strong
    character) stay left-to-right on an Arabic page instead of reordering."""
    if isinstance(value, str):
        for ch in value:
            kind = unicodedata.bidirectional(ch)
            if kind in ("R", "AL"):
                return "rtl"
            if kind == "L":
                return "ltr"
    return "ltr"


def _fmt_size(value: Any) -> str:
    return "" if value is None else str(value)


def _cluster_id(data: dict[str, Any]) -> str:
    for key in ("cluster_id", "cluster", "id", "series"):
        if data.get(key) not in (None, ""):
            return str(data[key])
    return "?"


def _latest_scan(runs: list[dict[str, Any]]) -> dict[str, Any]:
    scans = [run for run in runs if run.get("command") == "scan"] or runs
    if not scans:
        return {}
    run = scans[-1]
    record = run.get("record") or {}
    argv = record.get("command_line") or record.get("argv") or []
    return {"command_line": shlex.join(str(a) for a in argv) if isinstance(argv, list) else str(argv),
            "started": record.get("started_utc") or run.get("started"),
            "finished": record.get("finished_utc") or run.get("finished"),
            "platform": record.get("platform"), "case_dir": record.get("case_dir"),
            "count": len(scans)}


def _world_path() -> tuple[str, int, str]:
    data = _world_data()
    return data["path"], int(data["scale"]), data["source"]


@lru_cache(maxsize=1)
def _world_data() -> dict[str, Any]:
    return json.loads(WORLD_DATA.read_text(encoding="utf-8"))


def _nice_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30):
        if span / step <= 8:
            return float(step)
    return 45.0


def build_map(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Equirectangular map around the points: viewBox in the outline data's
    units (1/scale degree, y = -latitude), graticule, grid-clustered points."""
    if not points:
        return None
    path, scale, source = _world_path()
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    min_lon, max_lon, min_lat, max_lat = min(lons), max(lons), min(lats), max(lats)
    span_lon = max(max_lon - min_lon, 8.0) * 1.3
    span_lat = max(max_lat - min_lat, 4.0) * 1.3
    # 2:1 frame
    if span_lon < 2 * span_lat:
        span_lon = 2 * span_lat
    else:
        span_lat = span_lon / 2
    span_lon, span_lat = min(span_lon, 360.0), min(span_lat, 180.0)
    center_lon, center_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    west = min(max(center_lon - span_lon / 2, -180.0), 180.0 - span_lon)
    north = max(min(center_lat + span_lat / 2, 90.0), -90.0 + span_lat)
    east, south = west + span_lon, north - span_lat
    cell = span_lon / 40
    groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for point in points:
        groups[(int((point["lon"] - west) // cell), int((north - point["lat"]) // cell))].append(point)
    clusters = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda p: (p["locator"], p["source"], p["lat"], p["lon"]))
        lat = sum(p["lat"] for p in members) / len(members)
        lon = sum(p["lon"] for p in members) / len(members)
        clusters.append({"lat": round(lat, 6), "lon": round(lon, 6), "count": len(members),
                         "x": round(lon * scale, 2), "y": round(-lat * scale, 2),
                         "items": [{k: p[k] for k in ("locator", "evidence_id", "time", "source", "camera",
                                                      "lat", "lon")} for p in members]})
    for index, cluster in enumerate(clusters):
        cluster["id"] = index
    step = _nice_step(span_lon)
    graticule = []
    value = (west // step) * step
    while value <= east:
        if value >= west:
            graticule.append({"kind": "lon", "value": value, "pos": round(value * scale, 2),
                              "label": f"{abs(value):g}°{'E' if value > 0 else 'W' if value < 0 else ''}"})
        value += step
    value = (south // step) * step
    while value <= north:
        if value >= south:
            graticule.append({"kind": "lat", "value": value, "pos": round(-value * scale, 2),
                              "label": f"{abs(value):g}°{'N' if value > 0 else 'S' if value < 0 else ''}"})
        value += step
    width = span_lon * scale
    return {"path": path, "source": source, "clusters": clusters, "graticule": graticule,
            "x": round(west * scale, 2), "y": round(-north * scale, 2),
            "w": round(width, 2), "h": round(span_lat * scale, 2),
            "r": round(width / 110, 2), "font": round(width / 65, 2),
            "x2": round(east * scale, 2), "y2": round(-south * scale, 2)}


def _thumbnail(case_dir: Path, locator: str, banned: set[str]) -> str | None:
    """A small JPEG data: URI of an image, or None (unreadable, or its bytes
    hash to a matched file's hash)."""
    from PIL import Image, ImageOps

    from ..resolve import ResolveError, resolve_locator

    try:
        stream, _sha = resolve_locator(case_dir, locator)
        with stream:
            data = stream.read(64 << 20)
    except (ResolveError, OSError):
        return None
    for algorithm in ("md5", "sha1", "sha256"):
        if hashlib.new(algorithm, data).hexdigest() in banned:
            return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=70)
    except Exception:  # noqa: BLE001 - a broken image just gets no thumbnail
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def build_model(store: CaseStore, case_dir: Path, redactor: Redactor, thumbnails: bool = False,
                training: bool = False) -> dict[str, Any]:
    R = redactor
    case = store.get_meta("case", {}) or {}
    options = store.get_meta("options", {}) or {}
    identity = store.get_meta("identity", {}) or {}
    plugin_options = options.get("plugin_options") or {}
    training = bool(training or plugin_options.get("training"))

    # findings, bucketed by kind (already in the store's stable order)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in store.findings():
        by_kind[finding["kind"]].append(finding)

    # names first, so free text anywhere can be masked with them
    for finding in by_kind.get("comms.contact", []):
        R.learn_name(finding["data"].get("name"))
    for finding in by_kind.get("comms.call", []):
        R.learn_name(finding["data"].get("contact_name"))

    # inventory: counts, and the first ROW_LIMIT rows of each long table
    counts = Counter()
    deleted, mismatches = [], []
    for row in store.file_rows(_INVENTORY_COLUMNS):
        if row["kind"] != "file":
            counts["entries_other"] += 1
            continue
        counts["files"] += 1
        # Masked for every file, shown or not: a token's length depends on the values masked before it.
        locator = R.text(row["locator"])
        if not row["allocated"]:
            counts["deleted"] += 1
            if len(deleted) < ROW_LIMIT:
                deleted.append(_file_view(row, locator))
        if row["extension_mismatch"]:
            counts["mismatch"] += 1
            name = R.text(row["name"])
            if len(mismatches) < ROW_LIMIT:
                mismatches.append(_file_view(row, locator) | {"name": name})
    file_hashes = store.file_hashes

    # known files
    known_bad, known_good_locators = [], set()
    bad_by_category: Counter = Counter()
    bad_by_series: Counter = Counter()
    for finding in by_kind.get("hashset.match", []):
        data = finding["data"]
        if data.get("known_good"):
            known_good_locators.add(finding["locator"])
            continue
        category = data.get("category") or (f"#{data['category_code']}" if data.get("category_code") is not None
                                            else "")
        series = data.get("series") or ""
        known_bad.append({"category": category, "series": series, "set": data.get("set_name") or data.get("set") or "",
                          "hash_type": data.get("hash_type") or "", "label": data.get("label") or "",
                          "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"]),
                          "sha256": file_hashes(finding["locator"]).get("sha256") or "",
                          "_raw_locator": finding["locator"]})
    known_bad.sort(key=lambda r: (r["category"], r["series"], r["set"], r["evidence_id"], r["locator"]))
    bad_locators_by_category: dict[str, set] = defaultdict(set)
    bad_locators_by_series: dict[tuple[str, str], set] = defaultdict(set)
    for row in known_bad:
        bad_locators_by_category[row["category"]].add(row["_raw_locator"])
        bad_locators_by_series[(row["category"], row["series"])].add(row["_raw_locator"])
    bad_by_category = {k: len(v) for k, v in sorted(bad_locators_by_category.items())}
    bad_by_series = [{"category": c, "series": s, "files": len(v)} for (c, s), v in sorted(bad_locators_by_series.items())]

    perceptual = []
    for finding in by_kind.get("perceptual.match", []):
        data = finding["data"]
        perceptual.append({"algorithm": data.get("algorithm") or "", "distance": data.get("distance"),
                           "threshold": data.get("threshold"), "set": data.get("set") or data.get("set_name") or "",
                           "label": data.get("label") or "", "category": data.get("category") or "",
                           "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"]),
                           "sha256": file_hashes(finding["locator"]).get("sha256") or "",
                           "_raw_locator": finding["locator"]})
    perceptual.sort(key=lambda r: (r["category"], r["set"], r["evidence_id"], r["locator"], str(r["distance"])))

    matched_locators = {r["_raw_locator"] for r in known_bad} | {r["_raw_locator"] for r in perceptual}
    cluster_members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in by_kind.get("perceptual.cluster", []):
        data = finding["data"]
        extra = {k: v for k, v in sorted(data.items())
                 if k not in ("cluster_id", "cluster", "id", "keys", "members") and not isinstance(v, (dict, list))}
        cluster_members[_cluster_id(data)].append({
            "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"]),
            "_raw_locator": finding["locator"],
            "sha256": file_hashes(finding["locator"]).get("sha256") or "",
            "details": ", ".join(f"{k}={v}" for k, v in extra.items())})
    clusters = []
    for cid in sorted(cluster_members):
        members = sorted(cluster_members[cid], key=lambda r: (r["evidence_id"], r["locator"]))
        holds_match = any(m["_raw_locator"] in matched_locators for m in members)
        clusters.append({"id": cid, "size": len(members), "members": members, "holds_match": holds_match})
        if holds_match:
            matched_locators |= {m["_raw_locator"] for m in members}
    banned_hashes = set()
    for locator in matched_locators:
        row = file_hashes(locator)
        banned_hashes |= {row.get(k) for k in ("md5", "sha1", "sha256") if row.get(k)}

    # geotags
    points = []
    camera_by_locator = {}
    for kind in ("exif.metadata", "media.metadata"):
        for finding in by_kind.get(kind, []):
            data = finding["data"]
            label = " ".join(str(data[k]) for k in ("make", "model") if data.get(k))
            if label:
                camera_by_locator.setdefault(finding["locator"], label)
    time_by_locator = {}
    for kind in ("exif.metadata", "media.metadata"):
        for finding in by_kind.get(kind, []):
            data = finding["data"]
            moment = data.get("capture_time_utc") or data.get("capture_time_local") or data.get("creation_time")
            if moment:
                time_by_locator.setdefault(finding["locator"], str(moment))
    for kind in sorted(by_kind):
        for finding in by_kind[kind]:
            data = finding["data"]
            lat, lon = data.get("latitude"), data.get("longitude")
            if not (_is_number(lat) and _is_number(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                continue
            points.append({"lat": round(float(lat), 6), "lon": round(float(lon), 6), "evidence_id": finding["evidence_id"],
                           "locator": R.text(finding["locator"]), "_raw_locator": finding["locator"],
                           "source": f"{finding['plugin']}:{finding['kind']}",
                           "time": str(data.get("gps_time_utc") or data.get("time_utc")
                                       or time_by_locator.get(finding["locator"]) or ""),
                           "camera": R.text(camera_by_locator.get(finding["locator"], ""))})
    points.sort(key=lambda p: (p["evidence_id"], p["locator"], p["source"], p["lat"], p["lon"]))
    geo_map = build_map(points)

    # communications
    contacts = []
    for finding in by_kind.get("comms.contact", []):
        data = finding["data"]
        contacts.append({"name": R.name(data.get("name")) or "",
                         "phones": [R.phone(v) for v in data.get("phone_numbers") or []],
                         "emails": [R.email(v) for v in data.get("emails") or []],
                         "handles": [R.address(v) for v in data.get("identifiers") or []],
                         "organisation": R.text(data.get("organisation")) or "",
                         "app": data.get("source_app") or "", "deleted": data.get("deleted"),
                         "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])})
    calls = []
    for finding in by_kind.get("comms.call", []):
        data = finding["data"]
        calls.append({"time": data.get("start_time") or "", "direction": data.get("direction") or "",
                      "number": R.phone(data.get("number")) or "", "name": R.name(data.get("contact_name")) or "",
                      "duration": data.get("duration_s"), "type": data.get("call_type") or "",
                      "app": data.get("source_app") or "",
                      "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])})
    calls.sort(key=lambda r: (r["time"], r["evidence_id"], r["locator"], r["number"]))
    messages = []
    for finding in by_kind.get("comms.message", []):
        data = finding["data"]
        messages.append({"time": data.get("time") or data.get("sent_time") or "",
                         "direction": data.get("direction") or "", "app": data.get("app") or "",
                         "thread": R.text(data.get("thread_id")) or "",
                         "sender": R.address(data.get("sender")) or "",
                         "recipients": [R.address(v) for v in data.get("recipients") or []],
                         "subject": R.text(data.get("subject")) or "", "body": R.text(data.get("body")) or "",
                         "attachments": data.get("attachments") or 0,
                         "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])})
    messages.sort(key=lambda r: (r["time"], r["evidence_id"], r["locator"], r["thread"], r["body"]))

    # identifier index
    identifier_findings = [f["data"] | {"evidence_id": f["evidence_id"], "locator": f["locator"]}
                           for f in by_kind.get("identifier", [])]
    region = plugin_options.get("region")
    index_rows = _identifier_index(identifier_findings, region)
    identifiers = []
    for row in index_rows:
        identifiers.append({"kind": row["kind"], "value": R.identifier(row["kind"], row["value"]),
                            "occurrences": row["occurrences"], "evidence_count": row["evidence_count"],
                            "sources": [{"evidence_id": s["evidence_id"], "locator": R.text(s["locator"])}
                                        for s in row["sources"]]})
    identifiers.sort(key=lambda r: (r["kind"], r["value"]))

    keywords = []
    for finding in by_kind.get("keyword", []):
        data = finding["data"]
        keywords.append({"term": data.get("term") or "", "matched": R.text(data.get("matched")) or "",
                         "list": data.get("list_name") or "", "language": data.get("language") or "",
                         "count": data.get("count") or 1, "snippet": R.text(data.get("snippet")) or "",
                         "evidence_id": finding["evidence_id"], "locator": R.text(finding["locator"])})
    keywords.sort(key=lambda r: (r["term"], r["evidence_id"], r["locator"], r["snippet"]))

    timeline, timeline_total, timeline_sources = _timeline(store, R)

    warnings = [{"evidence_id": w["evidence_id"] or "", "locator": R.text(w["locator"]) or "",
                 "source": w["source"], "message": R.text(w["message"])} for w in store.warnings()]

    # custody
    evidence = []
    for item in store.evidence_items():
        description = item["description"] or {}
        headers = description.get("acquisition_headers") or {}
        hashes = {k: v for k, v in sorted((item["hashes"] or {}).items()) if k != "size"}
        evidence.append({"id": item["id"], "name": item["name"], "path": item["path"], "kind": item["kind"],
                         "format": description.get("format") or item["kind"],
                         "size": (item["hashes"] or {}).get("size", description.get("media_size")),
                         "headers": sorted((k, str(v)) for k, v in headers.items()),
                         "stored": sorted((item["stored_hashes"] or {}).items()), "hashes": sorted(hashes.items()),
                         "verification": item["verification"], "complete": item["complete"],
                         "host_files": _HostFilesByPath(store, item["id"]),
                         "volumes": description.get("volumes") or []})
    mismatched = [e["id"] for e in evidence if e["verification"] == "MISMATCH"]

    thumbs = []
    if thumbnails:
        for row in store.file_rows(("evidence_id", "locator", "kind", "mime", "md5", "sha1", "sha256")):
            if row["kind"] != "file" or not (row["mime"] or "").startswith("image/"):
                continue
            if len(thumbs) >= THUMBNAIL_LIMIT:
                break
            locator = row["locator"]
            if locator in matched_locators or {row.get(k) for k in ("md5", "sha1", "sha256")} & banned_hashes:
                continue
            uri = _thumbnail(case_dir, locator, banned_hashes)
            if uri:
                thumbs.append({"locator": R.text(locator), "evidence_id": row["evidence_id"], "uri": uri})

    manifest = _manifest(case_dir)

    summary = {
        "evidence_items": len(evidence),
        "files": counts["files"], "deleted": counts["deleted"], "known_good": len(known_good_locators),
        "known_bad": len({r["_raw_locator"] for r in known_bad}), "known_bad_by_category": bad_by_category,
        "perceptual": len({r["_raw_locator"] for r in perceptual}), "perceptual_findings": len(perceptual),
        "clusters": len(clusters), "geotagged": len({p["_raw_locator"] for p in points}),
        "contacts": len(contacts), "calls": len(calls), "messages": len(messages),
        "identifiers": len(identifiers), "identifier_shared": sum(1 for r in identifiers if r["evidence_count"] > 1),
        "keywords": len(keywords), "mismatches": counts["mismatch"], "warnings": len(warnings),
        "verification_mismatches": len(mismatched),
    }

    plugins = sorted(store.get_meta("plugins", []) or [], key=lambda p: (p.get("name", ""), p.get("version", "")))
    hashsets = sorted(store.get_meta("hashsets", []) or [], key=lambda h: json.dumps(h, sort_keys=True))
    environment = identity.get("environment") or {}
    return {
        "case": {"case_number": case.get("case_number") or "", "examiner": case.get("examiner") or "",
                 "agency": case.get("agency") or ""},
        "training": training, "redacted": R.enabled, "thumbnails": thumbnails,
        "tool": identity.get("tool") or {}, "python": environment.get("python") or "",
        "libraries": sorted((environment.get("libraries") or {}).items()),
        "plugins": plugins, "hashsets": hashsets, "run": _latest_scan(store.runs()),
        "region": region or "",
        "evidence": evidence, "mismatched": mismatched, "summary": summary,
        "known_bad": _strip(known_bad), "bad_by_series": bad_by_series,
        "perceptual": _strip(perceptual), "clusters": [c | {"members": _strip(c["members"])} for c in clusters],
        "points": _strip(points), "map": geo_map,
        "contacts": contacts, "calls": calls, "messages": messages,
        "identifiers": identifiers, "keywords": keywords,
        "timeline": timeline, "timeline_total": timeline_total, "timeline_sources": timeline_sources,
        "deleted": deleted, "deleted_total": counts["deleted"],
        "mismatches": mismatches, "mismatches_total": counts["mismatch"],
        "warnings": warnings, "manifest": manifest, "thumbs": thumbs, "row_limit": ROW_LIMIT,
    }


# What the page shows of the inventory.
_INVENTORY_COLUMNS = ("evidence_id", "locator", "name", "kind", "size", "mime", "sha256", "allocated",
                      "extension_mismatch", "times")


def _file_view(row: dict[str, Any], locator: str) -> dict[str, Any]:
    times = row["times"] or {}
    return {"evidence_id": row["evidence_id"], "locator": locator, "size": row["size"], "mime": row["mime"] or "",
            "sha256": row["sha256"] or "", "modified": times.get("modified") or times.get("modified_local") or ""}


def _timeline(store: CaseStore, R: Redactor) -> tuple[list[dict[str, Any]], int, list[str]]:
    """The page's first ROW_LIMIT events, how many there are, and their sources."""
    from .timeline import event_order, timeline_events, unsorted_events

    total, sources = 0, set()

    def counted(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal total
        for event in events:
            total += 1
            sources.add(event["source"])
            yield event

    if R.enabled:
        # Every event masked in timeline order, shown or not (see the inventory).
        shown = []
        for event in counted(timeline_events(store)):
            message, locator = R.text(event["message"]), R.text(event["locator"])
            if len(shown) < ROW_LIMIT:
                shown.append(_event_view(event, message, locator))
    else:
        # Only the first rows are shown: no need to sort them all.
        shown = [_event_view(event, event["message"], event["locator"])
                 for event in heapq.nsmallest(ROW_LIMIT, counted(unsorted_events(store)), key=event_order)]
    return shown, total, sorted(sources)


def _event_view(event: dict[str, Any], message: str, locator: str) -> dict[str, Any]:
    return {"datetime": event["datetime"], "timezone": event.get("timezone") or "", "desc": event["timestamp_desc"],
            "message": message, "evidence_id": event["evidence_id"], "locator": locator, "source": event["source"],
            "deleted": bool(event.get("deleted"))}


class _HostFilesByPath:
    """An evidence item's host files by path, for the custody table: read and
    sorted (on disk) only when the page is written, as a folder's are every
    file in it."""

    def __init__(self, store: CaseStore, evidence_id: str) -> None:
        self.store, self.evidence_id = store, evidence_id

    def __bool__(self) -> bool:
        return next(self.store.host_files(self.evidence_id), None) is not None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with ExternalSort(1, 1) as hosts:
            for host in self.store.host_files(self.evidence_id):
                hosts.add((host.get("path", ""),), (pickle.dumps(host, pickle.HIGHEST_PROTOCOL),))
            for (payload,) in hosts:
                yield pickle.loads(payload)


def _strip(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def _identifier_index(findings: list[dict[str, Any]], region: str | None) -> list[dict[str, Any]]:
    try:
        from ..identifiers.index import build_index
    except ImportError:  # pragma: no cover
        build_index = None
    if build_index is not None:
        return build_index(findings, region)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for finding in findings:
        kind, value = finding.get("kind"), finding.get("value")
        if not isinstance(kind, str) or not isinstance(value, str):
            continue
        row = rows.setdefault((kind, value), {"kind": kind, "value": value, "occurrences": 0, "_s": set()})
        row["occurrences"] += finding.get("count", 1) or 1
        row["_s"].add((finding["evidence_id"], finding["locator"]))
    out = []
    for key in sorted(rows):
        row = rows[key]
        sources = sorted(row.pop("_s"))
        out.append(row | {"evidence_count": len({s[0] for s in sources}),
                          "sources": [{"evidence_id": e, "locator": l} for e, l in sources]})
    return out


def _manifest(case_dir: Path) -> dict[str, Any] | None:
    path = Path(case_dir) / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"error": True, "outputs": []}
    outputs = manifest.get("outputs") or {}
    return {"error": False, "outputs": [{"name": name, "sha256": entry.get("sha256", ""), "size": entry.get("size")}
                                        for name, entry in sorted(outputs.items())],
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


# -- rendering ---------------------------------------------------------------------


def script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>', '&',
    U+2028 or U+2029 survives as such, so no '</script>' or '<!--' can."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=None)
def _static(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def _environment(translations: gettext.NullTranslations) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["bidi"] = bidi_dir
    return env


def render_html(store: CaseStore, case_dir: str | Path, lang: str = "en", redact: bool = False,
                thumbnails: bool = False, training: bool = False) -> str:
    """The whole report page as one string (deterministic)."""
    return "".join(_render(store, Path(case_dir), lang=lang, redact=redact, thumbnails=thumbnails,
                           training=training))


def _render(store: CaseStore, case_dir: Path, lang: str, redact: bool, thumbnails: bool,
            training: bool) -> Iterator[str]:
    """The page in pieces, as Jinja2 renders it."""
    translations = _translations(lang)
    options = store.get_meta("options", {}) or {}
    region = (options.get("plugin_options") or {}).get("region")
    redactor = Redactor(ensure_redaction_key(store) if redact else None, region)
    model = build_model(store, case_dir, redactor, thumbnails=thumbnails, training=training)
    gettext_ = translations.gettext
    js_strings = {key: gettext_(text) for key, text in _JS_STRINGS.items()}
    page_data = {"map": ({"clusters": [{"id": c["id"], "count": c["count"], "lat": c["lat"], "lon": c["lon"],
                                         "items": c["items"]} for c in model["map"]["clusters"]]}
                         if model["map"] else None),
                 "strings": js_strings}
    css, js = _static("report.css"), _static("report.js")
    csp = "; ".join([
        "default-src 'none'", f"style-src {_csp_hash(css)}", f"script-src {_csp_hash(js)}",
        "img-src data:" if thumbnails else "img-src 'none'", "font-src 'none'", "connect-src 'none'",
        "media-src 'none'", "object-src 'none'", "frame-src 'none'", "worker-src 'none'", "manifest-src 'none'",
        "base-uri 'none'", "form-action 'none'"])
    assert not set('"<>&') & set(csp)       # made here from fixed parts: safe in the attribute as is
    env = _environment(translations)
    template = env.get_template("report.html.j2")
    return template.generate(m=model, lang=lang, dir="rtl" if lang in RTL_LANGUAGES else "ltr", csp=Markup(csp),
                             css=css, js=js, page_json=script_json(page_data), redact=redact, fmt_size=_fmt_size)


def write_html(store: CaseStore, case_dir: str | Path, lang: str = "en", redact: bool = False,
               thumbnails: bool = False, training: bool = False) -> Path:
    """Render and write CASE_DIR/<html_filename(...)> atomically, a piece at a
    time (the custody table lists every host file); returns the path."""
    case_dir = Path(case_dir)
    path = case_dir / html_filename(lang, redact, thumbnails)
    with atomic_writer(path) as stream:
        stream.writelines(_render(store, case_dir, lang=lang, redact=redact, thumbnails=thumbnails,
                                  training=training))
    return path


# Strings the page's script needs, translated at render time.
_JS_STRINGS = {
    "rows": _("rows shown"),
    "of": _("of"),
    "items_at": _("Items at this point"),
    "none": _("none"),
    "sort": _("Sort by this column"),
    "reveal": _("Click to reveal"),
}

__all__ = ["render_html", "write_html", "html_filename", "available_languages", "ensure_redaction_key",
           "RedactionKeyMissing", "Redactor", "script_json", "build_model", "ROW_LIMIT"]
