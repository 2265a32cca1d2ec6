"""The Hyperscan keyword engine (issue 19) gives exactly the hits of the
hand-written matcher it replaced (tests/keyword_oracle.py, kept verbatim),
and the one-pass-per-rule normalisation exactly the str.translate one: on
the keyword test texts, the starter lists, randomized text and lists, and
every file of the shared corpus's device extractions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import keyword_oracle
from traffick_triage.identifiers import keywords as engine
from traffick_triage.identifiers.arabic import normalise, normalise_utf8
from traffick_triage.identifiers.extract import extract_segments
from traffick_triage.identifiers.keywords import KeywordList, KeywordMatcher, starter_lists
from traffick_triage.identifiers.textdecode import decode_bytes
from traffick_triage.plugin_host import PluginContext, bytes_file_view

EDGE_LISTS = (
    KeywordList("edge-en", "en", ("passport", "passport held", "no experience needed", "escort*", "pass*",
                                  "#vip", "+965", "c++ developer", "e.g.", "x", "a b", "a-b-c", "visa_free",
                                  "2024", "straße", "ＨＥＬＤ", "_under", "-dash", "end-", "5*")),
    KeywordList("edge-ar", "ar", ("حجز الجواز", "الجواز عند الكفيل", "السفر", "وظيفة", "عمل", "سفر*", "بنت",
                                  "ب", "ال", "الكفيل", "تأشيرة مجانية", "مستشفى", "لا", "#سفر", "كفيل x")),
    KeywordList("strict-ar", "ar", ("سفر", "وظيفة"), affixes=False),
    KeywordList("edge-en", "en", ("VISA", "passport")),        # same name and term twice: reported per owner
)

TEXTS = (
    "قال: حجز الجواز، ثم", "قال: حَجْزُ الجَوَازِ، ثم", "حجـــز الجـــواز", "وحجز  الجواز عند الكفيل",
    "نوفر تاشيره مجانيه للجميع", "بدون اجازة في المستشفي", "جاهز للسفر وبالسفر", "وظيفتك ووظيفات", "استعمل",
    "سفر للسفر", "HIGH   Salary! highsalary", "no-experience needed", "Escorts and escorting; unescorted",
    "passports", "xx Passport held yy passport", "free visa", "#vip call +96551234567 now; e.g. c++  developer",
    "a b a-b-c a‐b‑c visa_free visa free 20245 2024 STRASSE straße ＨＥＬＤ held _under x-dash end-end",
    "وبالسفريات فللسفر والكفيلx كفيل x", "No experience needed, high salary, travel paid. مطلوب خادمة، سيتم حجز الجواز.",
    "\u200fحجز\u200f الجواز\u202e وظيفة\ufef7", "ﺣﺠﺰ ﺍﻟﺠﻮﺍﺯ", "x\ud800 passport held \udfff حجز الجواز",
    ("filler " * 2000) + "hold your passport" + (" filler" * 2000),
    "pass" + "x" * 9000 + " passport held",
)


def _hits(matcher, text: str, locate=None) -> list[tuple]:
    return [(h.list_name, h.term, h.language, h.matched, h.start, h.end) for h in matcher.find(text, locate)]


def _same_hits(lists, texts, with_locate: bool = True) -> int:
    new, old = KeywordMatcher(lists), keyword_oracle.OldKeywordMatcher(lists)
    assert new._database is not None or not new._bounded, "the Hyperscan prefilter did not compile"
    count = 0
    for text in texts:
        expected = _hits(old, text)
        assert _hits(new, text) == expected, text[:200]
        if not with_locate:
            count += len(expected)
            continue
        seen: set = set()
        locate = lambda name, term: (name, term) not in seen and not seen.add((name, term))  # noqa: E731
        seen_old: set = set()
        locate_old = lambda name, term: (name, term) not in seen_old and not seen_old.add((name, term))  # noqa: E731
        assert _hits(new, text, locate) == _hits(old, text, locate_old)
        count += len(expected)
    return count


def test_same_hits_on_the_keyword_test_texts():
    assert _same_hits(EDGE_LISTS, TEXTS) > 40
    assert _same_hits(starter_lists(), TEXTS) > 5
    assert _same_hits(starter_lists() + EDGE_LISTS, TEXTS) > 45


def test_prefilter_finds_the_match_start_not_only_the_end():
    """A sanity check of the prefilter itself: the span of a hit holds its
    word start, with proclitics and separators of any length."""
    matcher = KeywordMatcher(EDGE_LISTS)
    text, data = normalise_utf8("ثم وبالسفر  و حجز \u2010\u2010 الجواز")
    bounded, _free = matcher._spans(text, data)
    assert any(start <= text.index("وبالسفر") < end for start, end in bounded)
    assert any(start <= text.index("حجز") < end for start, end in bounded)


_TERM_ALPHABET = list("abcxy ـ-_*#+.") + list("حجزالوبكفسرهةتيأإى") + ["\u064e", "\u200f", "\u2010", "ﻻ", "ß", "Ａ"]
_TEXT_ALPHABET = _TERM_ALPHABET + list("\n\t\u00a0\u3000,;:!?0123456789") + ["\ud800", "\U0001f600", "İ", "ﬁ"]
_TERMS = st.text(alphabet=st.sampled_from(_TERM_ALPHABET), min_size=1, max_size=12).filter(lambda t: t.strip())
_LISTS = st.lists(st.builds(KeywordList, name=st.sampled_from(["l1", "l2"]), language=st.sampled_from(["ar", "en"]),
                            terms=st.lists(_TERMS, min_size=1, max_size=8).map(tuple), affixes=st.booleans()),
                  min_size=1, max_size=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lists=_LISTS, texts=st.lists(st.text(alphabet=st.sampled_from(_TEXT_ALPHABET), max_size=300), max_size=4))
def test_same_hits_on_random_lists_and_text(lists, texts):
    terms = [t for kl in lists for t in kl.terms]
    # Texts that contain the terms (with random glue), so hits are the rule, not the exception.
    built = texts + [" و".join(terms) + " ال" + "  ".join(terms[::-1]) + "ات"]
    _same_hits(tuple(lists), built)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(_TEXT_ALPHABET + [chr(c) for c in (0xFB50, 0xFDF2, 0xFE8D, 0xFEFF,
                                                                              0xFF21, 0xFF5E, 0x0670, 0x202B)]))
            | st.text())
def test_normalise_equals_the_translate_table(text):
    normalised, data = normalise_utf8(text)
    assert normalised == keyword_oracle.normalise(text)
    assert data is None or data.decode("utf-8") == normalised


def test_normalise_equals_the_translate_table_on_every_table_character():
    table = keyword_oracle._table()
    text = "".join(chr(code) for code in sorted(table)) + "abcABC أحمد"
    assert normalise(text) == keyword_oracle.normalise(text)
    for code in table:
        assert normalise(f"x{chr(code)}y") == keyword_oracle.normalise(f"x{chr(code)}y")


def _corpus_texts(corpus: Path) -> list[str]:
    """Every file of the device extractions: as the identifiers plugin
    extracts it (SQLite text columns, markup, decoded text) and decoded
    as plain text whatever it is."""
    texts = []
    for path in sorted(p for p in (corpus / "devices").rglob("*") if p.is_file()):
        data = path.read_bytes()
        texts.append(decode_bytes(data)[0])
        ctx = PluginContext(options={})
        try:
            for segment in extract_segments(bytes_file_view(data, path.name, "text/plain"), ctx, 64 << 20):
                texts.append(segment.text)
        finally:
            ctx.cleanup()
    return texts


def test_same_hits_on_the_device_corpus(corpus):
    texts = list(dict.fromkeys(_corpus_texts(corpus)))   # each distinct text once
    assert len(texts) > 200
    # Terms taken from the corpus itself, so that it has hits: words and
    # two-word phrases of its text, every 37th.
    words = sorted({w for text in texts for w in re.findall(r"\w{3,}", text)})
    phrases = sorted({m.group() for text in texts[:40] for m in re.finditer(r"\w{3,} \w{3,}", text)})
    corpus_lists = (KeywordList("corpus-words", "en", tuple(words[::37])),
                    KeywordList("corpus-phrases", "en", tuple(phrases[::37]) + tuple(w + "*" for w in words[5::97])),
                    KeywordList("corpus-ar", "ar", tuple(words[11::53])))
    # One pass with the starter lists too (the old matcher takes minutes on
    # these 29 million characters); the locate=... route on the first texts.
    assert _same_hits(corpus_lists + starter_lists(), texts, with_locate=False) > 1000
    _same_hits(corpus_lists, texts[:300])


@pytest.mark.parametrize("text", ["passport held \ud800", "\udfffحجز الجواز"])
def test_text_hyperscan_cannot_read_falls_back_to_every_word(text):
    matcher = KeywordMatcher(EDGE_LISTS)
    assert matcher._spans(*normalise_utf8(text)) is None
    assert _hits(matcher, text) == _hits(keyword_oracle.OldKeywordMatcher(EDGE_LISTS), text) != []


def test_a_database_hyperscan_refuses_falls_back_to_every_word(monkeypatch):
    monkeypatch.setattr(engine, "_HS_FLAGS", 1 << 30)      # no such flag: compile fails
    matcher = KeywordMatcher(EDGE_LISTS)
    assert matcher._database is None
    assert _hits(matcher, TEXTS[3]) == _hits(keyword_oracle.OldKeywordMatcher(EDGE_LISTS), TEXTS[3]) != []


def test_threads_scanning_at_once_get_the_same_hits():
    """Hyperscan's scratch space serves one scan at a time: each thread has
    its own (a shared one raised ScratchInUseError)."""
    from concurrent.futures import ThreadPoolExecutor

    matcher = KeywordMatcher(starter_lists() + EDGE_LISTS)
    texts = [text * 40 for text in TEXTS[:20]]
    expected = [_hits(matcher, text) for text in texts]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda text: _hits(matcher, text), texts)) == expected
