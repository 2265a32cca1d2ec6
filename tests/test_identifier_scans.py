"""The faster scans of issue 19 in phones, urls, domains and wallets give exactly the
matches of the regex scans they replaced (each regex's own ``finditer``, the
oracle), on randomized text and on every file of the shared device corpus."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from traffick_triage.identifiers import domains, phones, urls, wallets
from traffick_triage.identifiers.textdecode import decode_bytes

_ALPHABET = st.sampled_from(list("0123456789+()-./: @\n\twWtThHpPsSfF_aé") + ["ſ", "٣", "۴", "＋", "１", "ـ", "ب"]
                            + ["://", "www.", "WwW.", "http", "ftp", "a.b", "+965 ", "1BoatSLRHtKNngkdX", "0x52908400098527886E0F7030069857D2E4169EE7", "\ud800", "😀"])
_TEXT = st.one_of(st.text(), st.lists(_ALPHABET, max_size=200).map("".join))


def _same(text: str) -> None:
    assert [m.span() for m in phones._runs(text)] == [m.span() for m in phones._RUN_RE.finditer(text)]
    assert [m.span() for m in urls._url_matches(text)] == [m.span() for m in urls._URL_RE.finditer(text)]
    assert [m.span() for m in wallets._tokens(text)] == [m.span() for m in wallets._TOKEN_RE.finditer(text)]
    assert ([(m.start(), m.end()) for m in domains._DOT_ANCHORS.finditer(text)]
            == [m.span() for m in domains._DOT_RE.finditer(text)])


@settings(max_examples=1500, deadline=None)
@given(text=_TEXT)
def test_same_matches_on_random_text(text):
    _same(text)


def test_same_matches_on_the_device_corpus(corpus):
    files = [p for p in sorted((corpus / "devices").rglob("*")) if p.is_file()]
    assert len(files) > 100
    matched = 0
    for path in files:
        text = decode_bytes(path.read_bytes())[0]
        _same(text)
        matched += sum(1 for _ in urls._url_matches(text)) + sum(1 for _ in phones._runs(text))
    assert matched > 100
