"""Keyword list files: plain one-term-per-line lists beside the YAML format
(issue 16, item 12), and the rule that an option a plugin cannot use stops
the scan before it starts (exit 2, one line) instead of failing every file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import load_report
from traffick_triage.cli import app
from traffick_triage.identifiers.keyword_lists import (KeywordFileError, KeywordList, detect_language,
                                                       load_keyword_file, parse_plain_list)
from traffick_triage.plugin_api import PluginOptionError
from traffick_triage.plugins.identifiers import IdentifiersPlugin

# Planted identifiers: a Kuwaiti mobile in international form, an address, a
# URL and the Bitcoin genesis-era address whose checksum is public.
CHAT = ("Call +96551234567 or mail recruiter@example.com, see https://jobs.example.com/apply\n"
        "BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n"
        "The Blue-Van left at night; وظيفتك جاهزة #vip tonight\n")
PLANTED = {("phone", "+96551234567"), ("email", "recruiter@example.com"),
           ("url", "https://jobs.example.com/apply"), ("wallet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")}
PLAIN_LIST = "\ufeff# lab list, kept as Autopsy keeps them\n\nblue van\n  وظيفة  \n\\#vip\n# the end\n"


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_plain_list_terms_comments_bom_and_languages(tmp_path):
    lists = load_keyword_file(_write(tmp_path / "slang.txt", PLAIN_LIST))
    assert lists == [KeywordList("slang", "ar", ("وظيفة",), "plain list slang.txt"),
                     KeywordList("slang", "und-Latn", ("blue van", "#vip"), "plain list slang.txt")]


def test_plain_list_language_given_applies_to_every_term(tmp_path):
    lists = load_keyword_file(_write(tmp_path / "slang.txt", PLAIN_LIST), language="ar")
    assert [(kl.language, kl.terms) for kl in lists] == [("ar", ("blue van", "وظيفة", "#vip"))]


@pytest.mark.parametrize(("term", "language"), [
    ("حجز الجواز", "ar"), ("جَوَاز", "ar"), ("ﻻ", "ar"),        # diacritics, presentation form
    ("escort*", "und-Latn"), ("Straße", "und-Latn"), ("2024", "und"), ("визa", "und-Latn"), ("виза", "und"),
])
def test_language_detection(term, language):
    assert detect_language(term) == language


def test_yaml_is_recognised_by_suffix_or_by_its_keys(tmp_path):
    yaml_text = "lists:\n  - name: mine\n    language: en\n    terms: [blue van]\n"
    for name in ("mine.yaml", "mine.YML", "mine.txt", "mine"):
        assert load_keyword_file(_write(tmp_path / name, yaml_text)) == [KeywordList("mine", "en", ("blue van",))]
    # A .yaml file that is not a keyword document is refused, not read as terms.
    with pytest.raises(KeywordFileError, match="expected a mapping with a 'lists' sequence"):
        load_keyword_file(_write(tmp_path / "terms.yaml", "blue van\nred car\n"))
    # A plain list whose terms hold colons stays a plain list.
    lists = load_keyword_file(_write(tmp_path / "colons.txt", "price: negotiable\nwhatsapp: +965\n"))
    assert [kl.terms for kl in lists] == [("price: negotiable", "whatsapp: +965")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.txt", "# only comments\n\n   \n", "no terms"),
    ("latin1.txt", "caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 1)"),
    ("utf16.txt", "blue van\n".encode("utf-16"), "not UTF-8 text"),
    ("nul.txt", b"blue\x00van\n", "NUL characters"),
    ("control.txt", "blue van\nred\x07car\n", "line 2: control characters"),
    ("broken.yaml", "lists: [unclosed\n", "not valid YAML"),
    ("broken.txt", "version: 1\nlists:\n  - name: x\n    terms: [a]\n", "'language' must be a non-empty string"),
])
def test_unusable_lists_are_one_named_error(tmp_path, name, content, message):
    path = _write(tmp_path / name, content)
    with pytest.raises(KeywordFileError) as caught:
        load_keyword_file(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder_are_errors(tmp_path):
    for path in (tmp_path / "absent.txt", tmp_path):
        with pytest.raises(KeywordFileError, match="not a file"):
            load_keyword_file(path)


def test_bad_language_tag_is_refused():
    with pytest.raises(KeywordFileError, match="not a language tag"):
        parse_plain_list("term\n", "x", language="arabic script")


@pytest.mark.parametrize("options", [
    {"keywords": ["/nonexistent/list.txt"]},
    {"keywords": [], "keywords_language": "a b"},
    {"keywords": [3]},
    {"region": "XX"},
    {"identifiers_time_budget": 0},
    {"identifiers_time_budget": "soon"},
])
def test_identifiers_plugin_refuses_options_it_cannot_use(options):
    with pytest.raises(PluginOptionError):
        IdentifiersPlugin().check_options(options)


def test_identifiers_plugin_accepts_its_usual_options(tmp_path):
    plugin = IdentifiersPlugin()
    for options in ({}, {"region": "kw", "keywords": False},
                    {"keywords": [str(_write(tmp_path / "l.txt", PLAIN_LIST))], "keywords_language": "ar"}):
        plugin.check_options(options)


@pytest.fixture()
def evidence(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    _write(folder / "chat.txt", CHAT)
    return folder


def _scan(args: list[str]):
    return CliRunner().invoke(app, ["scan", *args, "--quiet", "--workers", "1", "--only", "identifiers"])


def _identifiers_and_keywords(case_dir: Path) -> tuple[set, set]:
    report = load_report(case_dir)
    identifiers = {(f["data"]["kind"], f["data"]["value"]) for f in report["findings"] if f["kind"] == "identifier"}
    keywords = {(f["data"]["list_name"], f["data"]["term"], f["data"]["language"], f["data"]["matched"])
                for f in report["findings"] if f["kind"] == "keyword"}
    return identifiers, keywords


def test_scan_with_a_plain_keyword_list_reports_identifiers_and_hits(tmp_path, evidence):
    keyword_list = _write(tmp_path / "slang.txt", PLAIN_LIST)
    result = _scan([str(evidence), "-o", str(tmp_path / "case"), "--keywords", str(keyword_list)])
    assert result.exit_code == 0, result.output
    identifiers, keywords = _identifiers_and_keywords(tmp_path / "case")
    assert PLANTED <= identifiers
    assert keywords == {("slang", "blue van", "und-Latn", "Blue-Van"), ("slang", "وظيفة", "ar", "وظيفتك"),
                        ("slang", "#vip", "und-Latn", "#vip")}
    assert load_report(tmp_path / "case")["warnings"] == []


def test_scan_with_keywords_language(tmp_path, evidence):
    keyword_list = _write(tmp_path / "slang.txt", "وظيفة\n")
    result = _scan([str(evidence), "-o", str(tmp_path / "case"), "--keywords", str(keyword_list),
                    "--keywords-language", "en"])
    assert result.exit_code == 0, result.output
    # Declared not Arabic: no affix rules, so the construct form does not match.
    assert _identifiers_and_keywords(tmp_path / "case")[1] == set()


@pytest.mark.parametrize(("content", "extra", "message"), [
    ("caf\xe9\n".encode("latin-1"), [], "not UTF-8 text"),
    ("# nothing\n", [], "no terms"),
    ("blue van\n", ["--keywords-language", "not a tag"], "not a language tag"),
])
def test_scan_with_an_unusable_list_stops_before_it_starts(tmp_path, evidence, content, extra, message):
    keyword_list = _write(tmp_path / "list.txt", content)
    case_dir = tmp_path / "case"
    result = _scan([str(evidence), "-o", str(case_dir), "--keywords", str(keyword_list), *extra])
    assert result.exit_code == 2
    assert message in result.output and "plugin identifiers" in result.output
    assert result.output.strip().count("\n") == 0          # one line
    assert not case_dir.exists()                            # nothing started


def test_keywords_language_without_keywords_is_a_usage_error(tmp_path, evidence):
    result = _scan([str(evidence), "-o", str(tmp_path / "case"), "--keywords-language", "ar"])
    assert result.exit_code == 2 and "--keywords-language" in result.output


def _case_file(tmp_path: Path, evidence: Path, keywords: str) -> Path:
    return _write(tmp_path / "case.yaml",
                  f"output: out\nworkers: 1\nplugins: {{only: [identifiers]}}\n{keywords}\n"
                  f"evidence:\n  - id: E1\n    path: {evidence}\n")


def test_batch_case_file_takes_plain_lists(tmp_path, evidence):
    (tmp_path / "lists").mkdir()
    _write(tmp_path / "lists" / "slang.txt", PLAIN_LIST)
    case_file = _case_file(tmp_path, evidence, "keywords: lists/slang.txt\nkeywords_language: ar")
    result = CliRunner().invoke(app, ["batch", str(case_file), "--quiet"])
    assert result.exit_code == 0, result.output
    identifiers, keywords = _identifiers_and_keywords(tmp_path / "out")
    assert PLANTED <= identifiers
    assert {(k[1], k[2]) for k in keywords} == {("blue van", "ar"), ("وظيفة", "ar"), ("#vip", "ar")}


@pytest.mark.parametrize(("keywords", "message"), [
    ("keywords: [absent.txt]", "keyword list not found"),
    ("keywords: empty.txt", "no terms"),
    ("keywords: {a: 1}", "keywords must be a path"),
    ("keywords_language: ar", "needs 'keywords'"),
])
def test_batch_with_an_unusable_list_stops_before_it_starts(tmp_path, evidence, keywords, message):
    _write(tmp_path / "empty.txt", "\n# none\n")
    result = CliRunner().invoke(app, ["batch", str(_case_file(tmp_path, evidence, keywords)), "--quiet"])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


CHECKED_PLUGIN = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, PluginOptionError, Selector

@dataclass(frozen=True)
class Seen(Finding):
    KIND: ClassVar[str] = "test.seen"
    name: str

class Picky(Plugin):
    NAME = "picky"
    VERSION = "1.0"
    DESCRIPTION = "refuses a region it does not know; its check can also break"
    SELECTOR = Selector(mime_types=("text/*",))
    def check_options(self, options):
        if options.get("region") == "EG":
            raise PluginOptionError("region EG is not supported here")
        if options.get("region") == "JO":
            raise KeyError("bug")
    def extract(self, file, ctx):
        yield Seen(name=file.name)
'''


@pytest.mark.parametrize(("region", "message"), [
    ("EG", "plugin picky: region EG is not supported here"),
    ("JO", "plugin picky: cannot check its options: KeyError"),
])
def test_core_asks_every_plugin_to_check_its_options(tmp_path, evidence, region, message):
    """A third-party plugin's refusal stops the scan the same way, named:
    the core asks every plugin, not the identifiers plugin by name. An
    evidence item's own options are checked too (batch)."""
    (tmp_path / "plugins").mkdir()
    _write(tmp_path / "plugins" / "picky.py", CHECKED_PLUGIN)
    result = CliRunner().invoke(app, ["scan", str(evidence), "-o", str(tmp_path / "case"), "--quiet",
                                      "--plugin-dir", str(tmp_path / "plugins"), "--only", "picky",
                                      "--region", region])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "case").exists()
    case_file = _write(tmp_path / "case.yaml",
                       f"output: out\nworkers: 1\nplugins: {{only: [picky], dirs: [{tmp_path / 'plugins'}]}}\n"
                       f"evidence:\n  - id: E1\n    path: {evidence}\n  - id: E2\n    path: {evidence}\n"
                       f"    region: {region}\n")
    result = CliRunner().invoke(app, ["batch", str(case_file), "--quiet"])
    assert result.exit_code == 2 and message in result.output, result.output
    result = CliRunner().invoke(app, ["scan", str(evidence), "-o", str(tmp_path / "ok"), "--quiet",
                                      "--plugin-dir", str(tmp_path / "plugins"), "--only", "picky"])
    assert result.exit_code == 0, result.output
    assert [f["kind"] for f in load_report(tmp_path / "ok")["findings"]] == ["test.seen"]
