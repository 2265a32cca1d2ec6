"""Getting text out of files, and the plugin end to end on each file type
(synthetic, benign content)."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

from traffick_triage.identifiers.extract import file_kind
from traffick_triage.identifiers.markup import json_to_text, markup_to_text
from traffick_triage.identifiers.office import docx_text, odt_text
from traffick_triage.identifiers.textdecode import decode_bytes
from traffick_triage.plugin_host import bytes_file_view, file_view_for_path, run_plugin
from traffick_triage.plugins.identifiers import IdentifierFinding, IdentifiersPlugin, KeywordFinding

SAMPLE = "Contact hr@example.com or +965 5123 4567. مطلوب خادمة براتب مغري"


def _run(data: bytes, name: str, mime: str, **options):
    run = run_plugin(IdentifiersPlugin(), bytes_file_view(data, name, mime), dict({"region": "KW"}, **options))
    return run


def _values(run) -> set[tuple[str, str]]:
    return {(f.kind, f.value) for f in run.findings if isinstance(f, IdentifierFinding)}


def test_decode_utf16le_without_bom_by_nul_pattern():
    text, encoding = decode_bytes(SAMPLE.encode("utf-16-le"))
    assert (text, encoding) == (SAMPLE, "utf-16-le")


def test_decode_arabic_utf16_without_bom_by_script_block():
    arabic = "مطلوب خادمة للعمل في الكويت براتب ممتاز، اتصل على الرقم"
    assert decode_bytes(arabic.encode("utf-16-le")) == (arabic, "utf-16-le")
    assert decode_bytes(arabic.encode("utf-16-be")) == (arabic, "utf-16-be")
    assert decode_bytes(arabic.encode("utf-8")) == (arabic, "utf-8")


def test_decode_utf16be_with_bom_and_utf8_and_latin1():
    assert decode_bytes(b"\xfe\xff" + SAMPLE.encode("utf-16-be")) == (SAMPLE, "utf-16-be")
    assert decode_bytes(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")) == (SAMPLE, "utf-8")
    assert decode_bytes(SAMPLE.encode("utf-8")) == (SAMPLE, "utf-8")
    latin = "Café müller@example.de ÿÿÿÿ".encode("latin-1")
    assert decode_bytes(latin) == ("Café müller@example.de ÿÿÿÿ", "latin-1")


def test_plugin_on_utf16le_text():
    run = _run(SAMPLE.encode("utf-16-le"), "export.txt", "text/plain")
    assert run.warnings == []
    assert {("email", "hr@example.com"), ("phone", "+96551234567")} <= _values(run)
    keywords = [f for f in run.findings if isinstance(f, KeywordFinding)]
    assert [(k.list_name, k.term, k.matched) for k in keywords] == [
        ("recruitment-ar", "مطلوب خادمة", "مطلوب خادمة"), ("recruitment-ar", "راتب مغري", "براتب مغري")]


def test_html_text_and_link_attributes():
    html = ("<html><head><style>p{}</style></head><body><p>Apply&nbsp;now</p>"
            "<a href='mailto:Jobs@Example.org'>mail us</a><a href=\"https://apply.example.net/x\">here</a>"
            "<p>call&#32;+965&nbsp;5123&nbsp;4567</p></body></html>")
    text = markup_to_text(html)
    assert "Jobs@Example.org" in text and "https://apply.example.net/x" in text and "Apply" in text
    run = _run(html.encode(), "page.html", "text/html")
    assert {("email", "jobs@example.org"), ("url", "https://apply.example.net/x"),
            ("domain", "apply.example.net"), ("phone", "+96551234567")} <= _values(run)


def test_json_escapes_are_resolved():
    document = json.dumps({"msg": "مطلوب خادمة", "phone": 96551234567, "mail": "a@example.com"})
    assert "\\u" in document
    assert "مطلوب خادمة" in json_to_text(document)
    run = _run(document.encode(), "data.json", "application/json")
    assert {("email", "a@example.com"), ("phone", "+96551234567")} <= _values(run)
    assert any(isinstance(f, KeywordFinding) for f in run.findings)
    assert json_to_text("{not json") == "{not json"


def _docx(paragraphs: list[str]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    xml = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
           '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           f'{body}</w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


def _odt(paragraphs: list[str]) -> bytes:
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    xml = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
           'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
           f'{body}</office:text></office:body></office:document-content>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", xml)
    return buffer.getvalue()


def test_docx_and_odt_text():
    paragraphs = ["Work abroad, high salary", "Write to hr@example.com", "<span>x</span>".replace("<", "&lt;")]
    assert list(docx_text(_docx(paragraphs)))[0][1].splitlines()[:2] == paragraphs[:2]
    odt_paragraphs = ["one<text:s text:c=\"2\"/>two<text:tab/>three", "hr@example.com"]
    assert list(odt_text(_odt(odt_paragraphs)))[0][1].splitlines() == ["one  two\tthree", "hr@example.com"]
    for data, name in ((_docx(paragraphs), "offer.docx"), (_odt(["hr@example.com", "high salary"]), "offer.odt")):
        run = _run(data, name, "application/zip")
        assert ("email", "hr@example.com") in _values(run), name
        assert any(isinstance(f, KeywordFinding) and f.term == "high salary" for f in run.findings), name
    assert file_kind("x.docx", "application/zip", b"PK\x03\x04") == "docx"


def test_broken_docx_is_a_warning_not_a_crash():
    run = _run(b"PK\x03\x04 not really a zip", "broken.docx", "application/zip")
    assert run.findings == []
    assert len(run.warnings) == 1 and "docx" in run.warnings[0]


def test_sqlite_text_columns(tmp_path):
    path = tmp_path / "msgstore.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT, sender, data BLOB)")
        connection.execute('CREATE TABLE "odd ""name""" (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID')
        connection.executemany("INSERT INTO messages (body, sender, data) VALUES (?, ?, ?)", [
            ("hello", "+965 5123 4567", b"+96599999999"),
            ("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 12345, None),
            ("حجز الجواز عند الكفيل", "x@example.com", None),
        ])
        connection.execute('INSERT INTO "odd ""name""" VALUES (?, ?)', ("k", "visit www.example.org"))
    connection.close()
    run = run_plugin(IdentifiersPlugin(), file_view_for_path(path, mime="application/vnd.sqlite3"),
                     {"region": "KW"})
    assert run.warnings == []
    by_value = {f.value: f for f in run.findings if isinstance(f, IdentifierFinding)}
    assert by_value["+96551234567"].location == "messages.sender rowid=1"
    assert by_value["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"].wallet_type == "btc-base58"
    assert by_value["x@example.com"].location == "messages.sender rowid=3"
    assert by_value["www.example.org"].location == 'odd "name".v'
    assert "+96599999999" not in by_value          # BLOBs are not text
    keywords = [f for f in run.findings if isinstance(f, KeywordFinding)]
    assert {k.term for k in keywords} >= {"حجز الجواز", "الجواز عند الكفيل"}


def test_findings_are_deduplicated_with_count_and_first_offset():
    text = "a@example.com x A@EXAMPLE.COM y a@example.com"
    run = _run(text.encode(), "t.txt", "text/plain", keywords=False)
    emails = [f for f in run.findings if isinstance(f, IdentifierFinding) and f.kind == "email"]
    assert [(f.value, f.count, f.offset, f.as_found) for f in emails] == [("a@example.com", 3, 0, "a@example.com")]
    assert len(emails[0].context) <= 80


def test_keywords_option_accepts_a_file(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("lists:\n  - name: mine\n    language: en\n    terms: [blue van]\n", encoding="utf-8")
    run = _run(b"the Blue Van left; high salary", "t.txt", "text/plain", keywords=str(path))
    assert [(f.list_name, f.matched) for f in run.findings if isinstance(f, KeywordFinding)] == [("mine", "Blue Van")]


def test_selector():
    selector = IdentifiersPlugin.SELECTOR
    assert selector.matches("a.txt", "text/plain", 10)
    assert selector.matches("x.db", "application/vnd.sqlite3", 10)
    assert selector.matches("x.docx", "application/zip", 10)
    assert not selector.matches("a.jpg", "image/jpeg", 10)
    assert not selector.matches("big.txt", "text/plain", 65 << 20)


def test_time_budget_reports_partial_results_with_a_warning():
    run = _run(b"a@example.com\n" * 10, "t.txt", "text/plain", identifiers_time_budget=-1)
    assert run.findings == []
    assert len(run.warnings) == 1 and "budget" in run.warnings[0]


def test_sqlite_rows_still_in_the_wal_are_read(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    path = live / "chat.db"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE m (body TEXT)")
    writer.execute("INSERT INTO m VALUES ('only in the wal: wal@example.com')")
    writer.commit()
    assert (live / "chat.db-wal").stat().st_size > 0
    run = run_plugin(IdentifiersPlugin(), file_view_for_path(path, mime="application/vnd.sqlite3"), {})
    writer.close()
    assert ("email", "wal@example.com") in _values(run)


def test_tel_links_in_html():
    run = _run(b'<a href="tel:+96551234567">call</a>', "p.html", "text/html", keywords=False)
    assert _values(run) == {("phone", "+96551234567")}
