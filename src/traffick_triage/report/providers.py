"""Identifiers per provider: for preservation and mutual-legal-assistance
requests, every account identifier the device holds (phone numbers, e-mail
addresses, user names, user ids, WhatsApp JIDs, wallet addresses, IMEI/IMSI),
grouped by the service provider that holds the records behind it, with where
each was found and whether the data says it is the device owner's own.

Generic: no finding kind is named here. A finding takes part through its
fields (the contract is in docs/writing-plugins.md, "Identifiers per provider"):

* the service: the first of ``provider``, ``account_type``, ``service``,
  ``owning_app``, ``source_app``, ``app`` that the provider table
  (``data/providers.json``) knows, else the ``source_app``/``app`` as written,
  else the table's path patterns on the locator (a file scanned for text);
* the identifiers: the fields in ID_FIELDS (``phone``, ``email``,
  ``username``, ``user_id``, ``jid``, ``sender``, ``recipients``...), each
  value classified by its content (an address with ``@g.us`` is a WhatsApp
  group, one that looks like an e-mail is an e-mail...), the field naming
  the type when the content does not; ``kind``+``value`` (the identifier
  scanner) and ``identifier_type``+``value`` (device identifiers) too;
* the role: "owner" when the finding says ``owner``/``is_owner`` true, when it
  describes an account or identifier of the device itself (``account_type``
  or ``identifier_type``), or for the value of a field named ``account`` or
  ``own_*``/``owner_*`` (the owner account a message went through);
  "mentioned" for identifiers found in a file's text; "correspondent" otherwise.

E-mail addresses also go under their domain's provider, phone numbers of the
phone's own apps (SMS, calls, address book) under the mobile network, wallets
under their network. Rows are sorted (provider, type, value) on disk
(ExternalSort), so a case with a million mentions is written with the memory
of one row; every value, count and list is bounded."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..external_sort import ExternalSort
from ..identifiers.index import canonical
from ..store import CaseStore
from ..timeutil import iso_utc

TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "providers.json"
MAX_VALUE = 256              # characters kept of an identifier (longer ones are cut, marked with "…")
MAX_PROVIDER = 100           # characters kept of a provider name written by a plugin
MAX_PER_FIELD = 1000         # values taken from one list field (a message to 100k recipients)
MAX_PER_FINDING = 5000       # identifiers taken from one finding
MAX_SOURCES = 50             # sources listed per identifier; sources_total counts them all
UNATTRIBUTED = "Unattributed"
WHATSAPP_DOMAINS = {"s.whatsapp.net": "jid", "c.us": "jid", "lid": "jid", "g.us": "group_id"}
# Fields that name identifiers, with the type a value has when its content does not say.
ID_FIELDS = {
    "phone": "phone", "phones": "phone", "phone_number": "phone", "phone_numbers": "phone", "number": "phone",
    "numbers": "phone", "msisdn": "phone", "email": "email", "emails": "email", "email_address": "email",
    "email_addresses": "email", "username": "username", "usernames": "username", "user_name": "username",
    "screen_name": "username", "login": "username", "handle": "handle", "handles": "handle",
    "user_id": "user_id", "user_ids": "user_id", "userid": "user_id", "uid": "user_id",
    "account_id": "user_id", "identifier": "user_id", "identifiers": "user_id", "author_id": "user_id",
    "jid": "jid", "jids": "jid", "wallet": "wallet", "wallets": "wallet", "wallet_address": "wallet",
    "sender": "handle", "recipients": "handle", "participants": "handle", "actor": "handle",
    "address": "handle", "addresses": "handle", "account": "handle",
}
PROVIDER_FIELDS = ("provider", "account_type", "service", "owning_app", "source_app", "app")
SCANNER_TYPES = {"phone", "email", "wallet"}     # the identifier scanner's kinds that are account identifiers
DEVICE_TYPES = {"imei": "imei", "imsi": "imsi", "iccid": "iccid", "meid": "imei",
                "phone_number": "phone", "msisdn": "phone", "phone": "phone"}
ROLES = ("owner", "correspondent", "mentioned")   # strongest first
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-]{6,30}$")
_ACCOUNT_PREFIX = re.compile(r"^[EePp]:")          # iOS sms.db account column: "E:me@icloud.com", "P:+1..."


@dataclass(frozen=True)
class ProviderTable:
    """data/providers.json, read once."""

    names: dict[str, str]                          # case-folded app/service name -> provider
    ids: tuple[tuple[str, str], ...]               # (glob on a package/bundle/account-type id, provider)
    paths: tuple[tuple[str, str], ...]             # (glob on "/" + path inside the evidence, provider)
    telephony: frozenset[str]
    telephony_provider: str
    email_domains: dict[str, str]
    wallet_networks: dict[str, str]
    file_extensions: frozenset[str]

    def lookup(self, text: str) -> str | None:
        """The provider of an app or service name or id, else None."""
        key = text.strip().casefold()
        if key in self.telephony:
            return self.telephony_provider
        if key in self.names:
            return self.names[key]
        return next((provider for pattern, provider in self.ids if fnmatch.fnmatchcase(key, pattern)), None)

    def by_path(self, locator: str) -> str | None:
        inner = "/" + locator.rsplit(" > ", 1)[-1].replace("\\", "/").casefold()
        return next((provider for pattern, provider in self.paths if fnmatch.fnmatchcase(inner, pattern)), None)

    def email_provider(self, address: str) -> str:
        domain = address.rpartition("@")[2].casefold()
        return self.email_domains.get(domain) or f"E-mail: {domain}"


@lru_cache(maxsize=1)
def provider_table() -> ProviderTable:
    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    names, ids, paths = {}, [], []
    for service in raw["services"]:
        provider = service["provider"]
        names.update({name.casefold(): provider for name in service["names"]})
        ids += [(pattern.casefold(), provider) for pattern in service["ids"]]
        paths += [(pattern.casefold(), provider) for pattern in service["paths"]]
    return ProviderTable(names, tuple(ids), tuple(paths), frozenset(raw["telephony"]), raw["telephony_provider"],
                         raw["email_domains"], raw["wallet_networks"], frozenset(raw["file_extensions"]))


@dataclass(frozen=True)
class Mention:
    """One identifier named by one finding."""

    provider: str
    id_type: str
    value: str
    role: str
    evidence_id: str
    locator: str
    plugin: str
    first_seen: str | None = None
    last_seen: str | None = None


def _bounded(text: str, limit: int) -> str:
    """At most ``limit`` characters, without NUL (the sort key's separator)."""
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def classify(text: str, default: str, telephony: bool = True) -> str | None:
    """The type of an identifier from its content, else ``default``; None
    for values that are no account (WhatsApp's status@broadcast). Bare
    digits are a phone number only in a field meant for one or in the
    phone's own apps (``telephony``), and at most 15 of them (E.164): an
    app's numeric user id (a Discord id has 18) is not a number to call."""
    low = text.casefold()
    if "@" in low:
        local, _, domain = low.rpartition("@")
        if domain in WHATSAPP_DOMAINS:
            return WHATSAPP_DOMAINS[domain]
        if domain == "broadcast":
            return None
        if _EMAIL.match(text):
            return "email"
    if default != "wallet" and _PHONE.match(text) and 6 <= sum(ch.isdigit() for ch in text) <= 15 and (
            default == "phone" or telephony or text.startswith("+")):
        return "phone"
    return default


def normalise(id_type: str, text: str, region: str | None) -> tuple[str, str, str | None]:
    """(type, value, wallet type): E.164 for a phone number that parses
    (else as found), lower-case e-mail and JID, checksummed wallet."""
    if id_type in ("phone", "email", "wallet"):
        kind, value, wallet_type = canonical(id_type, text, region)
        return ("phone" if kind == "phone-unparsed" else kind), value, wallet_type
    if id_type in ("jid", "group_id"):
        return id_type, text.casefold(), None
    return id_type, text, None


def _times(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The earliest and latest zone-aware ISO 8601 time among the finding's fields, in UTC."""
    found = []
    for value in data.values():
        if isinstance(value, str) and 19 <= len(value) <= 40 and value[4:5] == "-" and value[10:11] == "T":
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                if moment.tzinfo is not None:
                    found.append(iso_utc(moment))
            except (ValueError, OverflowError):
                continue
    return (min(found), max(found)) if found else (None, None)


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        yield from (item for item in value[:MAX_PER_FIELD] if isinstance(item, str))


def _raw_identifiers(data: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(default type, value as found, owner field) of every identifier field."""
    if isinstance(data.get("identifier_type"), str) and isinstance(data.get("value"), str):
        kind = _bounded(data["identifier_type"].casefold(), 40)
        yield DEVICE_TYPES.get(kind, kind), data["value"], True
    elif data.get("kind") in SCANNER_TYPES and isinstance(data.get("value"), str):
        yield data["kind"], data["value"], False
    for key in sorted(data):
        owned = key == "account" or key.startswith(("own_", "owner_"))
        default = ID_FIELDS.get(key) or (ID_FIELDS.get(key.split("_", 1)[1]) if owned and "_" in key else None)
        if default is None:
            continue
        for text in _values(data[key]):
            yield default, text, owned


def finding_provider(data: dict[str, Any], locator: str, table: ProviderTable) -> str | None:
    for key in PROVIDER_FIELDS:
        if isinstance(data.get(key), str) and data[key].strip():
            found = table.lookup(data[key])
            if found:
                return found
    for key in ("source_app", "app"):
        if isinstance(data.get(key), str) and data[key].strip():
            return _bounded(" ".join(data[key].split()), MAX_PROVIDER)
    return table.by_path(locator)


def _providers_for(id_type: str, value: str, provider: str | None, wallet_type: str | None,
                   table: ProviderTable) -> list[str]:
    if id_type == "wallet":
        return [table.wallet_networks.get(wallet_type or "", "Cryptocurrency (network not known)")]
    found: list[str] = []
    telephony = provider == table.telephony_provider
    if id_type in ("imei", "imsi", "iccid") or (id_type == "phone" and provider is None):
        found.append(table.telephony_provider)
    elif id_type in ("jid", "group_id") and (provider is None or telephony):
        found.append(table.names["whatsapp"])
    elif provider is not None and not (telephony and id_type == "email"):
        found.append(provider)                  # the phone's own apps: numbers and short codes are the network's
    elif provider is None and id_type != "email":
        found.append(UNATTRIBUTED)
    if id_type == "email" and "@" in value:
        domain_provider = table.email_provider(value)
        if domain_provider not in found:
            found.append(domain_provider)
    return found


def finding_mentions(finding: dict[str, Any], region: str | None,
                     table: ProviderTable | None = None) -> Iterator[Mention]:
    """The identifiers one finding names, under their providers."""
    table = table or provider_table()
    data = finding.get("data")
    if not isinstance(data, dict):
        return
    provider = finding_provider(data, finding["locator"], table)
    whole_owner = (any(data.get(key) is True for key in ("owner", "is_owner", "own_account"))
                   or "account_type" in data or "identifier_type" in data)
    scanned = data.get("kind") in SCANNER_TYPES and "context" in data
    telephony = provider is None or provider == table.telephony_provider
    first, last = _times(data)
    seen: set[tuple[str, str, str]] = set()
    for default, raw, owned in _raw_identifiers(data):
        if len(seen) >= MAX_PER_FINDING:
            break
        text = _ACCOUNT_PREFIX.sub("", " ".join(raw.split())) if owned else " ".join(raw.split())
        if not text:
            continue
        id_type = classify(text, default, telephony)
        if id_type is None:
            continue
        id_type, value, wallet_type = normalise(id_type, text, region)
        if id_type == "email" and value.rpartition(".")[2] in table.file_extensions:
            continue                            # icon@2x.png: a file name
        if id_type == "wallet" and wallet_type is None and not (scanned or default == "wallet"):
            continue
        role = "owner" if whole_owner or owned else "mentioned" if scanned else "correspondent"
        for provider_name in _providers_for(id_type, value, provider, wallet_type or data.get("wallet_type"), table):
            key = (provider_name, id_type, value)
            if key in seen:
                continue
            seen.add(key)
            yield Mention(_bounded(provider_name, MAX_PROVIDER + 20), id_type, _bounded(value, MAX_VALUE), role,
                          _bounded(str(finding["evidence_id"]), 1000), _bounded(str(finding["locator"]), 100_000),
                          _bounded(str(finding["plugin"]), 1000), first, last)


def _regions(store: CaseStore) -> tuple[dict[str, Any], str | None]:
    options = store.get_meta("options", {}) or {}
    default = (options.get("plugin_options") or {}).get("region")
    return ({item["id"]: (item.get("plugin_options") or {}).get("region", default)
             for item in options.get("evidence", []) if isinstance(item, dict) and "id" in item}, default)


def _sort_text(parts: tuple[str, ...]) -> str:
    """One text that SQLite orders as Python orders ``parts`` (as UTF-8
    bytes): each part's UTF-8 bytes as Latin-1 characters (no surrogate, and
    code-point order is byte order), joined by NUL, which sorts first and
    which no part holds (finding_mentions replaces it)."""
    return "\x00".join(part.encode("utf-8", "surrogatepass").decode("latin-1") for part in parts)


def provider_rows(store: CaseStore) -> Iterator[dict[str, Any]]:
    """report.json's ``providers``: one row per (provider, type, value), in
    that order, with its role (the strongest any finding gives it), how many
    findings name it, the first and last time among them, and its sources
    (evidence, locator, plugin, records) in order, at most MAX_SOURCES."""
    regions, default_region = _regions(store)
    table = provider_table()
    with ExternalSort(key_width=1, payload_width=1) as mentions:
        for finding in store.findings():
            region = regions.get(finding["evidence_id"], default_region)
            for m in finding_mentions(finding, region, table):
                key = (m.provider, m.id_type, m.value, m.evidence_id, m.locator, m.plugin)
                # ASCII JSON: lone surrogates survive as escapes.
                mentions.add_text_key(_sort_text(key), (json.dumps((*key, ROLES.index(m.role), m.first_seen,
                                                                    m.last_seen)),))
        decoded = (json.loads(payload) for (payload,) in mentions)
        for (provider, id_type, value), rows in groupby(decoded, key=lambda row: (row[0], row[1], row[2])):
            yield _row(provider, id_type, value, rows)


def _row(provider: str, id_type: str, value: str, mentions: Iterable[list[Any]]) -> dict[str, Any]:
    role, records, first, last = len(ROLES) - 1, 0, None, None
    sources: list[dict[str, Any]] = []
    total, current = 0, None
    for _provider, _type, _value, evidence_id, locator, plugin, rank, seen_first, seen_last in mentions:
        role, records = min(role, rank), records + 1
        first = seen_first if seen_first and (first is None or seen_first < first) else first
        last = seen_last if seen_last and (last is None or seen_last > last) else last
        source = (evidence_id, locator, plugin)
        if source != current:                      # mentions come sorted by source
            current, total = source, total + 1
            if total <= MAX_SOURCES:
                sources.append({"evidence_id": evidence_id, "locator": locator, "plugin": plugin, "records": 0})
        if total <= MAX_SOURCES:
            sources[-1]["records"] += 1
    return {"provider": provider, "type": id_type, "value": value, "role": ROLES[role], "records": records,
            "first_seen": first, "last_seen": last, "sources": sources, "sources_total": total}
