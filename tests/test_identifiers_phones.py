"""Phone numbers: one subscriber written five ways collapses to one E.164
identifier, within a file and across evidence items in the index."""

from __future__ import annotations

from traffick_triage.identifiers.index import build_index
from traffick_triage.identifiers.phones import find_phones, normalise_phone
from traffick_triage.plugin_host import bytes_file_view, run_plugin
from traffick_triage.plugins.identifiers import IdentifierFinding, IdentifiersPlugin

E164 = "+96551234567"
FIVE_WAYS = ["+965 5123 4567", "0096551234567", "51234567", "(+965) 5123-4567", "+٩٦٥ ٥١٢٣ ٤٥٦٧"]


def test_each_spelling_normalises_with_region():
    for spelling in FIVE_WAYS + ["۵۱۲۳۴۵۶۷"]:   # Persian digits too
        assert normalise_phone(spelling, "KW") == E164, spelling
        assert [p.value for p in find_phones(f"call {spelling} today", "KW")] == [E164], spelling


def test_without_region_only_international_format_counts():
    assert normalise_phone("51234567", None) is None
    assert normalise_phone("+965 5123 4567", None) == E164
    assert [p.value for p in find_phones("local 51234567, intl +965 5123 4567", None)] == [E164]


def test_as_found_keeps_arabic_indic_digits():
    phones = list(find_phones("رقمي ٥١٢٣٤٥٦٧ شكرا", "KW"))
    assert [(p.value, p.as_found) for p in phones] == [(E164, "٥١٢٣٤٥٦٧")]
    assert phones[0].start == 5


def test_numbers_that_are_not_phones_are_ignored():
    text = "invoice 2023-05-01 total 1234.50 KWD, order 12345678901234567890, pin 1234"
    assert list(find_phones(text, "KW")) == []


def _scan(text: str, name: str) -> list[IdentifierFinding]:
    run = run_plugin(IdentifiersPlugin(), bytes_file_view(text.encode("utf-8"), name, "text/plain"),
                     {"region": "KW", "keywords": False})
    assert run.warnings == []
    return [f for f in run.findings if isinstance(f, IdentifierFinding) and f.kind == "phone"]


def test_five_spellings_in_two_evidence_items_are_one_index_row():
    first = _scan("\n".join(FIVE_WAYS[:3]), "chat-export.txt")
    second = _scan("\n".join(FIVE_WAYS[3:]), "notes.txt")
    assert [(f.value, f.count) for f in first] == [(E164, 3)]
    assert [(f.value, f.count) for f in second] == [(E164, 2)]
    findings = [dict(f.to_dict(), evidence_id="E1", locator="phone1.zip > chat-export.txt") for f in first]
    findings += [dict(f.to_dict(), evidence_id="E2", locator="laptop.E01 > notes.txt") for f in second]
    # A contacts plugin's raw number (as stored), normalised by the index.
    findings.append({"evidence_id": "E2", "locator": "laptop.E01 > contacts.vcf", "kind": "phone",
                     "raw": "(+965) 5123-4567"})
    index = build_index(findings, region="KW")
    assert index == [{
        "kind": "phone", "value": E164, "wallet_type": None, "occurrences": 6, "evidence_count": 2,
        "sources": [{"evidence_id": "E1", "locator": "phone1.zip > chat-export.txt"},
                    {"evidence_id": "E2", "locator": "laptop.E01 > contacts.vcf"},
                    {"evidence_id": "E2", "locator": "laptop.E01 > notes.txt"}],
    }]


def test_index_is_sorted_and_keeps_unparsed_phones():
    findings = [
        {"evidence_id": "E2", "locator": "b", "kind": "wallet", "value": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"},
        {"evidence_id": "E1", "locator": "a", "kind": "email", "value": "Someone@Example.com"},
        {"evidence_id": "E1", "locator": "a", "kind": "phone", "raw": "51234567"},   # no region
        {"evidence_id": "E1", "locator": "a", "kind": "phone", "raw": "51234567", "region": "KW"},
        {"evidence_id": "E3", "locator": "c", "kind": "domain", "value": "BÜCHER.de"},
        {"evidence_id": "E3", "locator": "c"},                                        # skipped
    ]
    rows = build_index(findings)
    assert [(r["kind"], r["value"]) for r in rows] == [
        ("domain", "xn--bcher-kva.de"),
        ("email", "someone@example.com"),
        ("phone", E164),
        ("phone-unparsed", "51234567"),
        ("wallet", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    ]
    assert rows[-1]["wallet_type"] == "eth"
    assert build_index(reversed(findings)) == rows
