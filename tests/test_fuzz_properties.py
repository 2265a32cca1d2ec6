"""Property-based tests over the parsers this project owns (the hostile-input
side of docs/security.md). Hash-set readers on arbitrary bytes are covered in
test_hashsets_fuzz.py and the identifier finders in
test_identifiers_properties.py; this file adds what those do not:

* locators: join/parse round-trip; escaping never lets a control, bidi,
  line-separator or undecodable character through;
* hash sets: every reader forced on every input (not only the detected one),
  and ``load_hashsets`` failing only with its own clean error;
* vCard and the identifier extraction of office containers and SQLite: never
  raise, problems become ``ctx.warn``;
* the HTML report: evidence strings never appear unescaped.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traffick_triage import locator as loc
from traffick_triage.plugin_host import PluginContext, bytes_file_view

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Names as evidence gives them: any text, plus undecodable bytes (surrogateescape),
# bidi overrides, line separators and the characters the locator syntax uses.
_HOSTILE_CHARS = st.sampled_from(list("\\> \n\r\t\x00\x07\x1b\x7f\u202e\u202d\u2066\u200f\u061c\u2028\u2029"
                                      "\ufeff\u200b") + [chr(c) for c in range(0xDC80, 0xDD00, 7)])
_NAME = st.one_of(st.text(), st.lists(st.one_of(_HOSTILE_CHARS, st.characters()), max_size=30).map("".join),
                  st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")))


def _shows_raw_hazard(text: str) -> bool:
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            return True
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return True
    return False


# -- locators ------------------------------------------------------------------------------------


@SETTINGS
@given(st.lists(_NAME, min_size=1, max_size=5))
def test_locator_join_parse_round_trip(segments):
    printed = loc.join(segments)
    assert loc.parse(printed) == segments
    assert not _shows_raw_hazard(printed)
    printed.encode("utf-8")             # always storable and printable as UTF-8


@SETTINGS
@given(_NAME)
def test_escape_never_emits_raw_controls_or_bidi(name):
    shown = loc.escape_segment(name)
    assert not _shows_raw_hazard(shown)
    assert loc.unescape_segment(shown) == name
    assert not loc.is_suspicious_name(shown)
    assert loc.is_suspicious_name(name) == any(loc._escaped_char(ch) for ch in name if ch not in "\\>")


@SETTINGS
@given(st.text())
def test_parse_never_raises_on_typed_locators(text):
    """Whatever an examiner types back (`triage cat`), parse gives segments."""
    segments = loc.parse(text)
    assert len(segments) >= 1


# -- hash sets -----------------------------------------------------------------------------------

_FORMATS = ("plain", "hashdeep", "md5deep", "vics-json", "icse-csv", "pdq", "phash")
_HASHSET_BYTES = st.one_of(
    st.binary(max_size=1500),
    st.lists(st.one_of(st.text(max_size=80), st.sampled_from([
        "%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "d41d8cd98f00b204e9800998ecf8427e",
        "0" * 64 + ",x", "MD5;SHA1;Category", '{"value": [', "\ufeff", "\x00" * 5])), max_size=20)
    .map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)


@SETTINGS
@given(_HASHSET_BYTES, st.sampled_from(_FORMATS))
def test_every_reader_forced_on_any_input_records_problems(data, fmt):
    from traffick_triage.hashsets.readers import open_reader

    fd, name = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        reader = open_reader(name, fmt=fmt)
        for entry in reader:
            assert entry.has_hash()
        assert isinstance(reader.problems, list)
    finally:
        os.unlink(name)


@FEW
@given(_HASHSET_BYTES)
def test_load_hashsets_fails_only_cleanly(tmp_path_factory, data):
    """--hashset with a hostile file: a loaded index or one clean error line."""
    from traffick_triage.matching import HashSetLoadError, load_hashsets

    folder = tmp_path_factory.mktemp("hs")
    path = folder / "set.txt"
    path.write_bytes(data)
    try:
        index = load_hashsets([str(path)], cache_dir=folder / "cache")
    except HashSetLoadError:
        return
    index.close()


# -- vCard and identifier extraction -------------------------------------------------------------

_VCARD_LINE = st.one_of(
    st.sampled_from(["BEGIN:VCARD", "END:VCARD", "VERSION:2.1", "VERSION:3.0", "VERSION:4.0",
                     "FN:Synthetic Person", "N:Person;Synthetic;;;", "TEL;TYPE=CELL:+965 5000 0000",
                     "EMAIL:someone@example.invalid", "REV:2024-05-01T12:00:00Z", "REV:99999999T999999",
                     "NOTE;ENCODING=QUOTED-PRINTABLE:=E2=80=AE=", "ORG:;;;", "UID:", " continued",
                     "PHOTO;ENCODING=b;TYPE=JPEG:////", "item1.TEL:", "X-\u202e:\u202e", ":", ";;;"]),
    st.text(max_size=60).filter(lambda t: "\n" not in t and "\r" not in t),
)


def _run_extract(plugin, data: bytes, name: str, mime: str) -> PluginContext:
    """The plugin's own extract() (not run_plugin, which would hide an
    exception as a warning): it must not raise at all."""
    ctx = PluginContext(options={"region": "KW"})
    try:
        for finding in plugin.extract(bytes_file_view(data, name, mime), ctx):
            json.dumps(finding.to_dict())
    finally:
        ctx.cleanup()
    return ctx


@SETTINGS
@given(st.lists(_VCARD_LINE, max_size=25), st.sampled_from(["\r\n", "\n"]),
       st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_vcard_never_raises(lines, eol, encoding):
    from traffick_triage.plugins.vcard import VCardPlugin

    data = eol.join(lines).encode(encoding, "replace")
    _run_extract(VCardPlugin(), data, "contacts.vcf", "text/vcard")


@SETTINGS
@given(st.binary(max_size=3000))
def test_vcard_never_raises_on_bytes(data):
    from traffick_triage.plugins.vcard import VCardPlugin

    ctx = _run_extract(VCardPlugin(), data, "contacts.vcf", "text/vcard")
    if b"BEGIN:VCARD" not in data.upper():
        assert ctx.warnings


def _office_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_XMLISH = st.one_of(st.binary(max_size=400), st.lists(st.sampled_from([
    b"<?xml version='1.0'?>", b"<w:document xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'>",
    b"<w:body>", b"<w:p>", b"<w:t>", b"+96550000000 ", b"someone@example.invalid", b"</w:t>", b"</w:p>",
    b"</w:body>", b"</w:document>", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"&#x202e;", b"<office:text>",
    b"]]>", b"<![CDATA[", b"\x00"]), max_size=30).map(b"".join))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["word/document.xml", "content.xml", "word/footnotes.xml",
                                        "[Content_Types].xml", "mimetype", "../evil.xml", "word/"]),
                       _XMLISH, max_size=4),
       st.sampled_from([("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                        ("report.odt", "application/vnd.oasis.opendocument.text")]),
       st.integers(min_value=0, max_value=4000))
def test_identifier_office_extraction_never_raises(members, kind, cut):
    from traffick_triage.plugins.identifiers import IdentifiersPlugin

    data = _office_zip(members)
    data = data[:cut] if cut < len(data) else data
    _run_extract(IdentifiersPlugin(), data, *kind)


@FEW
@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=20))
def test_identifier_sqlite_extraction_never_raises(noise, page):
    """A real little SQLite database with one page overwritten by noise."""
    from traffick_triage.plugins.identifiers import IdentifiersPlugin

    folder = tempfile.mkdtemp()
    path = Path(folder) / "notes.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.executemany("INSERT INTO notes (body) VALUES (?)",
                       [(f"call +96550000{n:03d} or mail n{n}@example.invalid",) for n in range(300)])
    db.close()
    data = bytearray(path.read_bytes())
    offset = min(page * 1024, max(0, len(data) - 1))
    data[offset: offset + len(noise)] = noise
    _run_extract(IdentifiersPlugin(), bytes(data), "notes.db", "application/vnd.sqlite3")
    os.unlink(path)
    os.rmdir(folder)


# -- HTML report escaping ------------------------------------------------------------------------

_MARKUP = st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=x>",
                           "</textarea><b>", "<!--", "]]><x>", "&lt;already&gt;", "{{ 7*7 }}", "{% raw %}",
                           "javascript:alert(1)", "<a href='http://example.invalid'>"])


def _hostile_text(draw_text: str, markup: str) -> str:
    return draw_text[:20] + markup + draw_text[20:]


@pytest.fixture(scope="module")
def html_available():
    return pytest.importorskip("traffick_triage.report.html")


@FEW
@given(text=st.text(max_size=40), markup=_MARKUP)
def test_html_report_never_shows_evidence_strings_unescaped(tmp_path_factory, html_available, text, markup):
    from traffick_triage.store import CaseStore

    hostile = _hostile_text(text, markup)
    case = tmp_path_factory.mktemp("html")
    store = CaseStore(case)
    try:
        store.set_meta("case", {"case_number": hostile, "examiner": hostile, "agency": ""})
        store.set_meta("options", {"plugin_options": {}})
        store.upsert_evidence({"id": "E1", "ordinal": 1, "path": "/evidence/" + hostile, "name": hostile,
                               "kind": "directory", "description": {"format": hostile}})
        locator = loc.join([hostile, "/" + hostile])
        store.add_file({"evidence_id": "E1", "seq": 1, "locator": locator, "path": loc.escape_segment(hostile),
                        "name": loc.escape_segment(hostile), "kind": "file", "size": 1, "allocated": False,
                        "md5": "0" * 32, "sha1": "0" * 40, "sha256": "0" * 64, "mime": "image/jpeg",
                        "extension_mismatch": True, "times": {"modified": "2024-05-01T12:00:00+00:00"},
                        "notes": [hostile], "address": {"relpath": hostile}})   # a folder's host file too
        store.add_finding("E1", locator, "android_mmssms", "1.0", "comms.message",
                          {"body": hostile, "sender": hostile, "recipients": [hostile], "time_utc": None,
                           "direction": "incoming", "source_app": hostile}, [])
        store.add_finding("E1", locator, "vcard", "1.0", "comms.contact",
                          {"name": hostile, "phone_numbers": [hostile], "emails": [hostile]}, [])
        store.add_finding("E1", locator, "exif_metadata", "1.0", "exif",
                          {"camera_make": hostile, "latitude": 29.3, "longitude": 47.9}, [])
        store.add_warning("E1", locator, "inventory", hostile)
        page = html_available.render_html(store, case)
    finally:
        store.close()
    # Markup-significant characters from evidence are always escaped; text
    # without them (e.g. "{{ 7*7 }}") is shown as the literal text it is.
    if set(markup) & set("<>\"&"):
        assert markup not in page
