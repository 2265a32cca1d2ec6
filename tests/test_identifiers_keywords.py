"""Arabic/Latin normalisation and keyword-list matching."""

from __future__ import annotations

import pytest

from traffick_triage.identifiers.arabic import normalise, normalise_with_map
from traffick_triage.identifiers.keywords import (KeywordFileError, KeywordList, KeywordMatcher,
                                                  load_keyword_file, parse_keyword_lists, starter_lists)


def test_arabic_folding_rules():
    assert normalise("أحمد إبراهيم آمنة ٱلله") == "احمد ابراهيم امنه الله"
    assert normalise("مستشفى") == "مستشفي"
    assert normalise("جَوَازُ السَّفَرِ") == "جواز السفر"          # harakat, shadda
    assert normalise("الجـــواز") == "الجواز"                     # tatweel
    assert normalise("هٰذا") == "هذا"                              # superscript alef
    assert normalise("مسؤول مسئول") == "مسوول مسيول"
    assert normalise("\ufef7") == "لا"                             # lam-alef-hamza ligature
    assert normalise("Passport ＨＥＬＤ Straße") == "passport held strasse"


def test_normalise_with_map_points_back_to_source():
    text = "جَوازُ السفر"
    normalised, positions = normalise_with_map(text)
    assert normalised == normalise(text)
    assert len(positions) == len(normalised) + 1
    assert all(text[positions[i]] in ("ج", "و", "ا", "ز", " ", "س", "ف", "ر", "ل") for i in range(len(normalised)))


def _hits(terms, text, language="ar"):
    matcher = KeywordMatcher([KeywordList("test", language, tuple(terms))])
    return [(h.term, h.matched) for h in matcher.find(text)]


@pytest.mark.parametrize("written", [
    "حجز الجواز",
    "حَجْزُ الجَوَازِ",          # full diacritics
    "حجـــز الجـــواز",          # tatweel
    "حجز  الجواز",               # double space
    "وحجز الجواز",               # conjunction
])
def test_arabic_term_matches_spelling_variants(written):
    assert _hits(["حجز الجواز"], f"قال: {written}، ثم") == [("حجز الجواز", written)]


def test_arabic_hamza_and_ta_marbuta_variants():
    assert _hits(["تأشيرة مجانية"], "نوفر تاشيره مجانيه للجميع") == [("تأشيرة مجانية", "تاشيره مجانيه")]
    assert _hits(["إجازة"], "بدون اجازة") == [("إجازة", "اجازة")]
    assert _hits(["مستشفى"], "في المستشفي") == [("مستشفى", "المستشفي")]


def test_arabic_clitics_and_suffixes():
    assert _hits(["السفر"], "جاهز للسفر وبالسفر") == [("السفر", "للسفر"), ("السفر", "وبالسفر")]
    assert _hits(["وظيفة"], "وظيفتك ووظيفات") == [("وظيفة", "وظيفتك"), ("وظيفة", "ووظيفات")]
    # Not inside an unrelated longer word.
    assert _hits(["عمل"], "استعمل") == []


def test_affixes_can_be_switched_off():
    matcher = KeywordMatcher([KeywordList("strict", "ar", ("سفر",), affixes=False)])
    assert [h.matched for h in matcher.find("سفر للسفر")] == ["سفر"]


def test_latin_word_boundaries_case_and_wildcard():
    assert _hits(["high salary"], "HIGH   Salary! highsalary", "en") == [("high salary", "HIGH   Salary")]
    assert _hits(["no experience needed"], "no-experience needed", "en") == [
        ("no experience needed", "no-experience needed")]
    assert _hits(["escort*"], "Escorts and escorting; unescorted", "en") == [
        ("escort*", "Escorts"), ("escort*", "escorting")]
    assert _hits(["passport"], "passports", "en") == []


def test_longer_term_wins_and_offsets_are_into_the_source():
    matcher = KeywordMatcher([KeywordList("l", "en", ("passport", "passport held"))])
    text = "xx Passport held yy passport"
    hits = list(matcher.find(text))
    assert [(h.term, text[h.start:h.end]) for h in hits] == [("passport held", "Passport held"),
                                                             ("passport", "passport")]


def test_same_term_in_two_lists_reported_for_both():
    matcher = KeywordMatcher([KeywordList("a", "en", ("visa",)), KeywordList("b", "en", ("VISA",))])
    assert sorted((h.list_name, h.term) for h in matcher.find("free visa")) == [("a", "visa"), ("b", "VISA")]


def test_match_across_chunk_boundary_region_is_found():
    text = ("filler " * 20000) + "hold your passport" + (" filler" * 20000)
    hits = _hits(["hold your passport"], text, "en")
    assert hits == [("hold your passport", "hold your passport")]


def test_starter_lists_load_and_cover_both_languages():
    lists = starter_lists()
    assert {keyword_list.language for keyword_list in lists} == {"en", "ar"}
    assert all(keyword_list.terms for keyword_list in lists)
    matcher = KeywordMatcher(lists)
    text = "No experience needed, high salary, travel paid. مطلوب خادمة، سيتم حجز الجواز."
    terms = {h.term for h in matcher.find(text)}
    assert {"no experience needed", "high salary", "travel paid", "مطلوب خادمة", "حجز الجواز"} <= terms


def test_keyword_file_format(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("lists:\n  - name: case-1\n    language: ar\n    terms: [كفيل, 'agent*']\n", encoding="utf-8")
    lists = load_keyword_file(path)
    assert lists == [KeywordList("case-1", "ar", ("كفيل", "agent*"))]


@pytest.mark.parametrize("document", [
    None, [], {"lists": "x"}, {"lists": [{"name": "a", "language": "en"}]},
    {"lists": [{"name": "a", "language": "en", "terms": []}]},
    {"lists": [{"name": "a", "language": "en", "terms": ["x"]}, {"name": "a", "language": "en", "terms": ["y"]}]},
    {"version": 2, "lists": []},
    {"lists": [{"name": "a", "language": "en", "terms": ["x"], "affixes": "yes"}]},
])
def test_bad_keyword_documents_are_rejected(document):
    with pytest.raises(KeywordFileError):
        parse_keyword_lists(document)
