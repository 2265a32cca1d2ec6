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
page holds no time of rendering, and every list is sorted. Nor does it hold
anything of the scan run (start and finish times, command line, platform,
case folder): the run record is in manifest.json, so two scans of the same
evidence with the same options and sets give the same page.

Memory: the page lists every finding (messages, contacts, matches...); each
table is made one row at a time, kept on disk in its order until the page is
written (html_findings), and written as Jinja2 generates it, so rendering
does not hold the case's findings. A redacted page holds, besides, one token
per distinct value it masks and the contacts' names (Redactor).

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
import contextlib
import gettext
import hashlib
import heapq
import hmac
import io
import json
import pickle
import re
import secrets
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Container, Iterator

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..atomic import atomic_writer
from ..disk_set import DiskSet
from ..store import CaseStore
from ..external_sort import ExternalSort
from . import html_findings as sections
from .finding_kinds import generic_sections
from .html_map import build_map
from .html_providers import ROWS_PER_PROVIDER, provider_sections
from .match_counts import hashsets_with_match_counts
from .json_pieces import json_pieces
from .json_report import route_counts

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = PACKAGE_DIR / "templates"
LOCALE_DIR = PACKAGE_DIR / "locale"
DOMAIN = "traffick_triage"
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
REDACTION_KEY_META = "redaction_key"

ROW_LIMIT = 5000             # rows shown per long table (messages, timeline, deleted files...); all are in the CSV/JSON outputs
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


def _thumbnail(case_dir: Path, locator: str, banned: Container[str]) -> str | None:
    """A small JPEG data: URI of an image, or None (unreadable, or its bytes
    hash to a matched file's hash)."""
    from PIL import Image, ImageOps

    from ..perceptual.decode import DECODE_PIXEL_BUDGET
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
            # Memory: JPEG is decoded at reduced size; any other picture over
            # the scan's decode budget gets no thumbnail (it would be decoded
            # whole: 500 MB for 13,000 x 13,000 pixels).
            image.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            if image.size[0] * image.size[1] > DECODE_PIXEL_BUDGET:
                return None
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=70)
    except Exception:  # noqa: BLE001 - a broken image just gets no thumbnail
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def build_model(store: CaseStore, case_dir: Path, redactor: Redactor, thumbnails: bool = False,
                training: bool = False, scratch: contextlib.ExitStack | None = None) -> dict[str, Any]:
    """What the page shows. Its long tables are read from disk while the page
    is written (html_findings): ``scratch`` closes them after (without it, the
    garbage collector does)."""
    R = redactor
    keep = (scratch or contextlib.ExitStack()).enter_context
    case = store.get_meta("case", {}) or {}
    options = store.get_meta("options", {}) or {}
    identity = store.get_meta("identity", {}) or {}
    plugin_options = options.get("plugin_options") or {}
    training = bool(training or plugin_options.get("training"))

    # Every step below masks values in the order the page has always masked them
    # (a token's length depends on what was masked before it): names first, so
    # free text anywhere can be masked with them.
    sections.learn_names(store, R)

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

    # Files whose content the page must never show: matched, or in a cluster with a match.
    matched = keep(DiskSet())
    known = sections.known_files(store, R, keep, matched)
    perceptual = sections.perceptual_matches(store, R, keep, matched)
    clusters = sections.image_clusters(store, R, keep, matched)
    geotags = sections.geotags(store, R, keep)
    geo_map, map_items = build_map(geotags["rows"])
    if map_items is not None:
        keep(contextlib.closing(map_items))
    contacts = sections.contacts(store, R, keep)
    calls = sections.calls(store, R, keep)
    messages = sections.messages(store, R, keep)
    region = plugin_options.get("region")
    identifiers = sections.identifiers(store, R, keep, region)
    keywords = sections.keywords(store, R, keep)

    timeline, timeline_total, timeline_sources = _timeline(store, R)

    warnings = sections.warnings(store, R, keep)
    # Kinds with no section of their own, field by field; masked after every
    # other section, so the tokens of those are the same as without them.
    other_findings = generic_sections(store, R, keep, ROW_LIMIT)

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
                         "routes": [(route, count) for route, count in route_counts(store, item["id"]).items()
                                    if count],
                         "volumes": description.get("volumes") or []})
    mismatched = [e["id"] for e in evidence if e["verification"] == "MISMATCH"]

    thumbs = _thumbnails(store, case_dir, R, matched) if thumbnails else []
    # Identifiers per provider: masked after every other section, so their tokens stay as they were.
    providers = provider_sections(store, R, keep, min(ROW_LIMIT, ROWS_PER_PROVIDER))

    summary = {
        "evidence_items": len(evidence),
        "files": counts["files"], "deleted": counts["deleted"], "known_good": known["known_good"],
        "known_bad": known["known_bad"], "known_bad_by_category": known["by_category"],
        "perceptual": perceptual["files"], "perceptual_findings": len(perceptual["rows"]),
        "clusters": len(clusters["clusters"]), "geotagged": geotags["files"],
        "contacts": len(contacts), "calls": len(calls), "messages": len(messages),
        "identifiers": len(identifiers["rows"]), "identifier_shared": identifiers["shared"],
        "keywords": len(keywords), "mismatches": counts["mismatch"], "warnings": len(warnings),
        "verification_mismatches": len(mismatched),
        "recovered": _recovered_records(store),
    }

    plugins = sorted(store.get_meta("plugins", []) or [], key=lambda p: (p.get("name", ""), p.get("version", "")))
    hashsets = sorted(hashsets_with_match_counts(store), key=lambda h: json.dumps(h, sort_keys=True))
    environment = identity.get("environment") or {}
    return {
        "case": {"case_number": case.get("case_number") or "", "examiner": case.get("examiner") or "",
                 "agency": case.get("agency") or ""},
        "training": training, "redacted": R.enabled, "thumbnails": thumbnails,
        "tool": identity.get("tool") or {}, "python": environment.get("python") or "",
        "libraries": sorted((environment.get("libraries") or {}).items()),
        "plugins": plugins, "hashsets": hashsets,
        "region": region or "",
        "evidence": evidence, "mismatched": mismatched, "summary": summary,
        "known_bad": known["rows"], "bad_by_series": known["by_series"],
        "perceptual": perceptual["rows"], "clusters": clusters["clusters"],
        "points": geotags["rows"], "map": geo_map,
        "contacts": contacts, "calls": calls, "messages": messages,
        "identifiers": identifiers["rows"], "keywords": keywords,
        "timeline": timeline, "timeline_total": timeline_total, "timeline_sources": timeline_sources,
        "deleted": deleted, "deleted_total": counts["deleted"],
        "mismatches": mismatches, "mismatches_total": counts["mismatch"],
        "warnings": warnings, "other_findings": other_findings, "thumbs": thumbs, "row_limit": ROW_LIMIT,
        "providers": providers,
    }


def _thumbnails(store: CaseStore, case_dir: Path, R: Redactor, matched: DiskSet) -> list[dict[str, Any]]:
    """Up to THUMBNAIL_LIMIT images, none matched nor with a matched file's hash."""
    with DiskSet() as banned:
        for (locator,) in matched:
            row = store.file_hashes(locator)
            for key in ("md5", "sha1", "sha256"):
                if row.get(key):
                    banned.add(row[key])
        thumbs: list[dict[str, Any]] = []
        for row in store.file_rows(("evidence_id", "locator", "kind", "mime", "md5", "sha1", "sha256")):
            if row["kind"] != "file" or not (row["mime"] or "").startswith("image/"):
                continue
            if len(thumbs) >= THUMBNAIL_LIMIT:
                break
            locator = row["locator"]
            if locator in matched or any(row.get(k) and row[k] in banned for k in ("md5", "sha1", "sha256")):
                continue
            uri = _thumbnail(case_dir, locator, banned)
            if uri:
                thumbs.append({"locator": R.text(locator), "evidence_id": row["evidence_id"], "uri": uri})
        return thumbs


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


def _recovered_records(store: CaseStore) -> int:
    """Contacts, calls, messages and chat events recovered from deleted
    database records (shown apart on the summary, marked in each table)."""
    row = store.db.execute(
        "SELECT COUNT(*) FROM findings WHERE kind IN ('comms.contact', 'comms.call', 'comms.message', "
        "'comms.chat_event') AND json_extract(data, '$.recovered') = 1").fetchone()
    return int(row[0]) if row else 0


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

    def rows(self) -> Iterator[Markup]:
        """The custody table's row of each host file, as the template wrote it
        with its loc() and hash() macros (a folder has a row per file, and three
        macro calls a row cost more than the rest of the page): each value
        escaped as {{ }} escapes it, a missing one empty like Jinja's Undefined."""
        for host in self:
            path, size, md5, sha256 = (escape(host[key]) if key in host else ""
                                       for key in ("path", "size", "md5", "sha256"))
            yield Markup(f'<tr><td><bdi dir="ltr" class="loc">{path}</bdi></td><td class="num">{size}</td>'
                         f'<td><code dir="ltr" class="hash">{md5}</code></td>'
                         f'<td><code dir="ltr" class="hash">{sha256}</code></td></tr>')


# -- rendering ---------------------------------------------------------------------


def script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>', '&',
    U+2028 or U+2029 survives as such, so no '</script>' or '<!--' can."""
    return "".join(script_json_pieces(value))


def script_json_pieces(value: Any) -> Iterator[str]:
    """script_json(value) in pieces; ``value``'s lists may be LazyLists (the
    map's items). Each piece is escaped on its own: the escapes replace single
    characters, so where the pieces are cut does not matter."""
    for text in json_pieces(value):
        yield (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
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
    """The page in pieces, as Jinja2 renders it; the tables kept on disk while
    the model was built are read as the page is written, then closed."""
    translations = _translations(lang)
    options = store.get_meta("options", {}) or {}
    region = (options.get("plugin_options") or {}).get("region")
    redactor = Redactor(ensure_redaction_key(store) if redact else None, region)
    with contextlib.ExitStack() as scratch:
        model = build_model(store, case_dir, redactor, thumbnails=thumbnails, training=training, scratch=scratch)
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
        yield from template.generate(m=model, lang=lang, dir="rtl" if lang in RTL_LANGUAGES else "ltr",
                                     csp=Markup(csp), css=css, js=js, page_json=script_json_pieces(page_data),
                                     redact=redact, fmt_size=_fmt_size)


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
