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
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

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
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for finding in findings:
        kind = finding.get("kind")
        raw = finding.get("value") or finding.get("raw")
        if not isinstance(kind, str) or not isinstance(raw, str) or not raw.strip():
            continue
        kind, value, wallet_type = canonical(kind, raw, finding.get("region") or region)
        row = rows.setdefault((kind, value), {"kind": kind, "value": value, "wallet_type": None,
                                              "occurrences": 0, "_sources": set()})
        row["wallet_type"] = row["wallet_type"] or wallet_type or finding.get("wallet_type")
        count = finding.get("count", 1)
        row["occurrences"] += count if isinstance(count, int) and count > 0 else 1
        row["_sources"].add((str(finding.get("evidence_id", "")), str(finding.get("locator", ""))))
    result = []
    for key in sorted(rows):
        row = rows[key]
        sources = sorted(row.pop("_sources"))
        row["evidence_count"] = len({evidence for evidence, _ in sources})
        row["sources"] = [{"evidence_id": evidence, "locator": locator} for evidence, locator in sources]
        result.append(row)
    return result
