"""The identifier index across all evidence items of a case: for each
normalised phone number, e-mail, URL, domain and wallet, every item and
locator where it appears. A number in a phone's contacts, a laptop's ledger
and an SMS is one row with three sources: that is what ties a network together.

Made one row at a time (identifiers.index.iter_index sorts the mentions on
disk): a phone's messages can name hundreds of thousands of numbers."""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..identifiers.index import iter_index
from ..store import CaseStore

_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The finding kinds identifier_mentions takes identifiers from.
_MENTIONING_KINDS = ("identifier", "comms.contact", "comms.call", "comms.message")


def _address_kind(text: str) -> str:
    return "email" if _EMAIL_LIKE.match(text.strip()) else "phone"


def identifier_mentions(store: CaseStore) -> Iterator[dict[str, Any]]:
    """Every identifier any plugin recorded, as iter_index takes them: the
    identifier scanner's normalised values, and the numbers and addresses of
    contacts, calls and messages as they were stored (with the item's region)."""
    options = store.get_meta("options", {}) or {}
    default_region = (options.get("plugin_options") or {}).get("region")
    regions = {item["id"]: (item.get("plugin_options") or {}).get("region", default_region)
               for item in options.get("evidence", [])}
    for finding in store.findings(_MENTIONING_KINDS):
        data, base = finding["data"], {"evidence_id": finding["evidence_id"], "locator": finding["locator"]}
        region = regions.get(finding["evidence_id"], default_region)
        kind = finding["kind"]
        if kind == "identifier" and data.get("kind") and data.get("value"):
            yield {**base, "kind": data["kind"], "value": data["value"]}
        elif kind == "comms.contact":
            for number in data.get("phone_numbers") or []:
                yield {**base, "kind": "phone", "raw": number, "region": region}
            for email in data.get("emails") or []:
                yield {**base, "kind": "email", "value": email}
        elif kind == "comms.call" and data.get("number"):
            yield {**base, "kind": "phone", "raw": data["number"], "region": region}
        elif kind == "comms.message":
            for address in [data.get("sender")] + list(data.get("recipients") or []):
                if address:
                    address_kind = _address_kind(address)
                    yield {**base, "kind": address_kind, "raw" if address_kind == "phone" else "value": address,
                           "region": region}


def identifier_index(store: CaseStore) -> Iterator[dict[str, Any]]:
    """The index's rows in order, one at a time."""
    options = store.get_meta("options", {}) or {}
    region = (options.get("plugin_options") or {}).get("region")
    return iter_index(identifier_mentions(store), region=region)
