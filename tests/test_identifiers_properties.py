"""Property tests: the scanner never raises on arbitrary input, the
normalisations are idempotent, and the encoders round-trip."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from traffick_triage.identifiers.arabic import normalise, normalise_with_map
from traffick_triage.identifiers.base58 import (b58check_decode, b58check_encode, b58decode, b58encode,
                                                xmr_b58decode, xmr_b58encode)
from traffick_triage.identifiers.bech32 import decode_segwit, encode_segwit
from traffick_triage.identifiers.domains import normalise_domain
from traffick_triage.identifiers.emails import normalise_email
from traffick_triage.identifiers.keywords import matcher_for, starter_lists
from traffick_triage.identifiers.phones import normalise_phone
from traffick_triage.identifiers.scan import find_identifiers, snippet
from traffick_triage.identifiers.textdecode import decode_bytes
from traffick_triage.plugin_host import PluginContext, bytes_file_view
from traffick_triage.plugins.identifiers import IdentifiersPlugin

# Text biased towards the characters the finders care about.
_ALPHABET = st.sampled_from(list("0123456789+()-. @/:_abcxyzTQ1bc0xABCDEF\n\t")
                            + list("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹أإآٱةىيجوازحَُِّـ\u200f\ufef7Ｈß"))
_TEXT = st.one_of(st.text(), st.text(alphabet=_ALPHABET))
_MIMES = st.sampled_from(["text/plain", "text/html", "application/json", "application/xml",
                          "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          "application/vnd.oasis.opendocument.text"])


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2048), mime=_MIMES, region=st.sampled_from([None, "KW", "SA", "zz"]))
def test_plugin_never_raises_on_arbitrary_bytes(data, mime, region):
    ctx = PluginContext(options={"region": region})
    try:
        findings = list(IdentifiersPlugin().extract(bytes_file_view(data, "f.bin", mime), ctx))
    finally:
        ctx.cleanup()
    for finding in findings:
        finding.to_dict()


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, region=st.sampled_from([None, "KW"]))
def test_scanner_never_raises_on_arbitrary_text(text, region):
    for hit in find_identifiers(text, region):
        assert 0 <= hit.start <= hit.end <= len(text)
        assert len(snippet(text, hit.start, hit.end)) <= 80
    matcher = matcher_for(starter_lists())   # compiled once: a Hyperscan database takes ~0.5 s
    for hit in matcher.find(text):
        assert text[hit.start:hit.end] == hit.matched


@settings(max_examples=300, deadline=None)
@given(text=_TEXT)
def test_normalisation_is_idempotent_and_mapped(text):
    once = normalise(text)
    assert normalise(once) == once
    mapped, positions = normalise_with_map(text)
    assert mapped == once
    assert len(positions) == len(mapped) + 1
    assert positions == sorted(positions)


@given(text=_TEXT)
def test_identifier_normalisers_never_raise_and_are_idempotent(text):
    for normaliser in (normalise_domain, normalise_email):
        value = normaliser(text)
        if value is not None:
            assert normaliser(value) == value
    phone = normalise_phone(text, "KW")
    if phone is not None:
        assert normalise_phone(phone) == phone


@given(text=_TEXT.map(lambda t: t[:80]), start=st.integers(0, 100), length=st.integers(0, 100))
def test_snippet_is_bounded(text, start, length):
    start = min(start, len(text))
    end = min(len(text), start + length)
    assert len(snippet(text, start, end)) <= 80


@given(data=st.binary(max_size=64))
def test_base58_round_trips(data):
    assert b58decode(b58encode(data)) == data
    assert b58check_decode(b58check_encode(data + b"\x01")) == data + b"\x01"
    assert xmr_b58decode(xmr_b58encode(data)) == data


@given(hrp=st.sampled_from(["bc", "tb"]), version=st.integers(0, 16),
       program=st.binary(min_size=2, max_size=40))
def test_segwit_round_trips(hrp, version, program):
    address = encode_segwit(hrp, version, program)
    valid = 2 <= len(program) <= 40 and (version != 0 or len(program) in (20, 32))
    assert (address is not None) == valid
    if address is not None:
        assert decode_segwit(hrp, address) == (version, program)
        assert decode_segwit(hrp, address.upper()) == (version, program)


@given(data=st.binary(max_size=4096))
def test_decode_bytes_never_raises(data):
    text, encoding = decode_bytes(data)
    assert isinstance(text, str) and encoding
