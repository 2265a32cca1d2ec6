"""The cross-evidence identifier index: which evidence items share a phone
number, e-mail, URL, domain or wallet.

``build_index`` takes identifier findings from any plugin as dicts::

    {"evidence_id": "E1", "locator": "phone.zip > sms.db", "kind": "phone",
     "value": "+96551234567"}                      # identifiers plugin
    {"evidence_id": "E2", "locator": "...contacts2.db", "kind": "phone",
     "raw": "0096551234567", "region": "KW"}       # a contact as stored

and re-normalises every value (so findings from plugins that store raw
numbers meet the identifiers plugin's E.164 values): phones through
``normalise_phone(raw, region)`` (per-finding "region", else the
``region`` argument); a phone number that does not parse is kept under kind
"phone-unparsed" with its raw text, rather than dropped. E-mails, domains,
URLs and wallets go through their canonicalisers; a value that does not
canonicalise is kept as written (stripped).

Rows are sorted by (kind, value), sources by (evidence_id, locator), so the
same findings always give the same index.

``iter_index`` gives the rows one at a time: the mentions are sorted on disk
(ExternalSort), so the index of a phone with half a million messages needs
memory for one row, not for every mention. ``build_index`` is its list.
"""

from __future__ import annotations

import pickle
import re
from itertools import groupby
from typing import Any, Iterable, Iterator, Mapping

from ..external_sort import ExternalSort
from .domains import normalise_domain
from .emails import normalise_email
from .phones import normalise_phone
from .urls import normalise_url
from .wallets import validate_wallet

_SPACE_RE = re.compile(r"\s+")


def canonical(kind: str, value: str, region: str | None = None) -> tuple[str, str, str | None]:
    """(kind, canonical value, wallet_type) for one identifier."""
    text = _SPACE_RE.sub(" ", value).strip()
    if kind == "phone":
        e164 = normalise_phone(text, region)
        return ("phone", e164, None) if e164 else ("phone-unparsed", text, None)
    if kind == "email":
        return kind, normalise_email(text) or text.lower(), None
    if kind == "domain":
        return kind, normalise_domain(text) or text.lower(), None
    if kind == "url":
        url = normalise_url(text)
        return kind, url[0] if url else text, None
    if kind == "wallet":
        wallet = validate_wallet(text)
        return (kind, wallet.value, wallet.wallet_type) if wallet else (kind, text, None)
    return kind, text, None


def build_index(findings: Iterable[Mapping[str, Any]], region: str | None = None) -> list[dict[str, Any]]:
    """One row per (kind, value): ``{"kind", "value", "wallet_type",
    "occurrences", "evidence_count", "sources": [{"evidence_id", "locator"}]}``.
    Findings without a kind or a value/raw are skipped."""
    return list(iter_index(findings, region))


def iter_index(findings: Iterable[Mapping[str, Any]], region: str | None = None) -> Iterator[dict[str, Any]]:
    """build_index's rows, one at a time, in its order."""
    with ExternalSort(key_width=4, payload_width=7) as mentions:
        for seq, finding in enumerate(findings):
            kind = finding.get("kind")
            raw = finding.get("value") or finding.get("raw")
            if not isinstance(kind, str) or not isinstance(raw, str) or not raw.strip():
                continue
            kind, value, wallet_type = canonical(kind, raw, finding.get("region") or region)
            count = finding.get("count", 1)
            occurrences = count if isinstance(count, int) and count > 0 else 1
            source = (str(finding.get("evidence_id", "")), str(finding.get("locator", "")))
            wallet = wallet_type or finding.get("wallet_type")
            key = (kind, value, *source)
            # Text as UTF-8 bytes: a value may hold lone surrogates, which SQLite text cannot.
            mentions.add(key, (*(_bytes(text) for text in key), seq, occurrences, pickle.dumps(wallet)))
        for (kind, value), rows in groupby(mentions, key=lambda row: (row[0], row[1])):
            yield _index_row(_text(kind), _text(value), rows)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _index_row(kind: str, value: str, mentions: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    """The row of one (kind, value) from its mentions, sorted by source. Its
    wallet type is the first true one in the order the mentions were given,
    else the last mention's (what ``a or b`` leaves)."""
    occurrences, sources, evidence = 0, [], set()
    first_true: tuple[int, Any] | None = None
    last: tuple[int, Any] = (-1, None)
    for _kind, _value, evidence_id, locator, seq, count, wallet in mentions:
        evidence_id, locator, wallet = _text(evidence_id), _text(locator), pickle.loads(wallet)
        occurrences += count
        if wallet and (first_true is None or seq < first_true[0]):
            first_true = (seq, wallet)
        if seq > last[0]:
            last = (seq, wallet)
        if not sources or (sources[-1]["evidence_id"], sources[-1]["locator"]) != (evidence_id, locator):
            sources.append({"evidence_id": evidence_id, "locator": locator})
            evidence.add(evidence_id)
    return {"kind": kind, "value": value, "wallet_type": (first_true or last)[1], "occurrences": occurrences,
            "evidence_count": len(evidence), "sources": sources}
