"""Atheris fuzz target: the text-facing parsers the project owns, on
arbitrary bytes — identifier and keyword finders, keyword list files (plain
and YAML: any problem must be a KeywordFileError), byte-to-text decoding,
the vCard plugin, the identifiers plugin (text, HTML, JSON, office
containers) and locator escaping. None may raise; the plugins report
problems through ctx.warn.

    .venv/bin/python fuzz/fuzz_identifiers.py -atheris_runs=100000

See fuzz/README.md."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["traffick_triage"]):
    from traffick_triage import locator as loc
    from traffick_triage.identifiers.keyword_lists import KeywordFileError, load_keyword_file
    from traffick_triage.identifiers.keywords import KeywordMatcher, starter_lists
    from traffick_triage.identifiers.scan import find_identifiers
    from traffick_triage.identifiers.textdecode import decode_bytes
    from traffick_triage.plugin_host import PluginContext, bytes_file_view
    from traffick_triage.plugins.identifiers import IdentifiersPlugin
    from traffick_triage.plugins.vcard import VCardPlugin

MATCHER = KeywordMatcher(starter_lists())
MIMES = ("text/plain", "text/html", "application/json", "application/xml", "text/vcard",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "application/vnd.oasis.opendocument.text")
NAMES = ("notes.txt", "page.html", "data.json", "feed.xml", "contacts.vcf", "letter.docx", "letter.odt")


def _extract(plugin, data: bytes, name: str, mime: str) -> None:
    ctx = PluginContext(options={"region": "KW"})
    try:
        for finding in plugin.extract(bytes_file_view(data, name, mime), ctx):
            json.dumps(finding.to_dict())
    finally:
        ctx.cleanup()


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    choice, body = data[0], data[1:]
    text, _ = decode_bytes(body)
    for hit in find_identifiers(text, "KW" if choice & 1 else None):
        if not 0 <= hit.start <= hit.end <= len(text):
            raise AssertionError(f"hit outside the text: {hit!r}")
    for hit in MATCHER.find(text):
        if text[hit.start:hit.end] != hit.matched:
            raise AssertionError(f"keyword span mismatch: {hit!r}")
    name = body.decode("utf-8", "surrogateescape")
    if loc.parse(loc.join([name, name])) != [name, name]:
        raise AssertionError("locator round trip failed")
    if loc.is_suspicious_name(loc.escape_segment(name)):
        raise AssertionError("escaped name still shows raw control/bidi characters")
    index = (choice >> 1) % len(MIMES)
    _extract(IdentifiersPlugin(), body, NAMES[index], MIMES[index])
    _extract(VCardPlugin(), body, "contacts.vcf", "text/vcard")
    _keyword_list(body, ".yaml" if choice & 0x80 else ".txt")


def _keyword_list(data: bytes, suffix: str) -> None:
    """A keyword list file is read or refused with a KeywordFileError, and
    the lists it gives compile and match."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        path.write_bytes(data)
        try:
            lists = load_keyword_file(path)
        except KeywordFileError:
            return
    matcher = KeywordMatcher(lists)
    text = data.decode("utf-8", "replace")
    for hit in matcher.find(text):
        if text[hit.start:hit.end] != hit.matched:
            raise AssertionError(f"keyword span mismatch: {hit!r}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
