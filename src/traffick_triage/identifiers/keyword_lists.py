"""Keyword list files (``--keywords FILE``): the YAML format and plain lists.

YAML (see docs/keywords.md)::

    version: 1                      # optional; only 1 exists
    lists:
      - name: recruitment-en        # required, unique in the file
        language: en                # required: a language tag, "ar" switches
                                    #   on Arabic clitic handling
        description: free text      # optional
        affixes: true               # optional, Arabic lists only (default true)
        terms:                      # required, non-empty list of strings
          - no experience needed
          - recruit*                # trailing * = word prefix ("recruiter")

Plain list, as Autopsy, IPED and grep users keep them: UTF-8 text (a BOM is
tolerated), one term per line; blank lines and lines starting with ``#`` are
skipped (write ``\\#tag`` for a term that starts with "#"). The list is
named after the file (its name without the suffix). Each term's language is
the ``language`` given (``--keywords-language``), else detected: a term with
Arabic letters is "ar" (and gets the Arabic affix rules), one with Latin
letters "und-Latn" (language undetermined, Latin script), anything else
"und".

Which format: a file named ``*.yaml``/``*.yml``, or with a line starting
``lists:`` or ``version:`` (the top-level keys of the YAML format), is read
as YAML, strictly: every mistake is an error. Any other file is a plain
list.

Every problem is a ``KeywordFileError`` with one line naming the file (and
the line or list): a keyword list the scan cannot use must stop it before it
starts, not switch keyword matching off.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .arabic import normalise

STARTER_RESOURCE = "keywords-starter.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
MAX_LIST_BYTES = 64 << 20          # a keyword list is configuration, not evidence; bound it anyway
_ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u066E-\u06D3]")
_LATIN_LETTER = re.compile(r"[a-z\u00df-\u024f]")
# BCP 47 shape: a primary tag of 2-8 letters, then subtags of 1-8 letters/digits.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
# Control characters other than tab: a binary file or a damaged list, not terms.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class KeywordFileError(ValueError):
    pass


@dataclass(frozen=True)
class KeywordList:
    name: str
    language: str
    terms: tuple[str, ...]
    description: str = ""
    affixes: bool = True


def check_language_tag(language: str, source: str) -> str:
    """``language`` stripped, or a ``KeywordFileError`` if it is not shaped
    like a language tag ("ar", "en", "und-Latn", "fr-CA")."""
    language = language.strip()
    if not _LANGUAGE_TAG.fullmatch(language):
        raise KeywordFileError(f"{source}: {language!r} is not a language tag (for example ar, en, fr)")
    return language


def parse_keyword_lists(data: Any, source: str = "keyword file") -> list[KeywordList]:
    """Validate a parsed YAML document and return its lists."""
    if not isinstance(data, dict) or not isinstance(data.get("lists"), list):
        raise KeywordFileError(f"{source}: expected a mapping with a 'lists' sequence")
    if data.get("version", 1) != 1:
        raise KeywordFileError(f"{source}: unsupported version {data.get('version')!r}")
    lists: list[KeywordList] = []
    seen: set[str] = set()
    for position, entry in enumerate(data["lists"], 1):
        where = f"{source}: list #{position}"
        if not isinstance(entry, dict):
            raise KeywordFileError(f"{where}: expected a mapping")
        name, language, terms = entry.get("name"), entry.get("language"), entry.get("terms")
        if not isinstance(name, str) or not name.strip():
            raise KeywordFileError(f"{where}: 'name' must be a non-empty string")
        if name in seen:
            raise KeywordFileError(f"{where}: duplicate list name {name!r}")
        if not isinstance(language, str) or not language.strip():
            raise KeywordFileError(f"{where} ({name}): 'language' must be a non-empty string")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
            raise KeywordFileError(f"{where} ({name}): 'terms' must be a non-empty list of strings")
        affixes = entry.get("affixes", True)
        if not isinstance(affixes, bool):
            raise KeywordFileError(f"{where} ({name}): 'affixes' must be true or false")
        seen.add(name)
        lists.append(KeywordList(name=name, language=language.strip(), terms=tuple(t.strip() for t in terms),
                                 description=str(entry.get("description") or ""), affixes=affixes))
    return lists


def detect_language(term: str) -> str:
    """"ar" for a term with Arabic letters, "und-Latn" for one with Latin
    letters, else "und" (BCP 47: undetermined)."""
    folded = normalise(term)
    if _ARABIC_LETTER.search(folded):
        return "ar"
    if _LATIN_LETTER.search(folded):
        return "und-Latn"
    return "und"


def parse_plain_list(text: str, name: str, language: str | None = None,
                     source: str = "keyword list") -> list[KeywordList]:
    """The lists of a plain one-term-per-line keyword list: one per
    language, all named ``name``, terms in file order."""
    if language is not None:
        language = check_language_tag(language, source)
    by_language: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if term.startswith("\\#"):
            term = term[1:]
        if _CONTROL.search(term):
            raise KeywordFileError(f"{source}: line {number}: control characters in a term "
                                   "(not a text keyword list?)")
        by_language.setdefault(language or detect_language(term), []).append(term)
    if not by_language:
        raise KeywordFileError(f"{source}: no terms (a plain list holds one term per line; "
                               "'#' starts a comment line)")
    return [KeywordList(name=name, language=tag, terms=tuple(terms),
                        description=f"plain list {Path(source).name}")
            for tag, terms in sorted(by_language.items())]


def _decode(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise KeywordFileError(f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); "
                               "save the list as UTF-8") from error
    if "\x00" in text:
        raise KeywordFileError(f"{source}: holds NUL characters: not a text keyword list "
                               "(UTF-16 lists must be saved as UTF-8)")
    return text


_YAML_KEY = re.compile(r"^(?:lists|version)[ \t]*:", re.MULTILINE)


def load_keyword_file(path: str | Path, language: str | None = None) -> list[KeywordList]:
    """The lists of one keyword file, YAML or plain (see the module
    docstring). ``language`` applies to plain lists only; YAML lists name
    their own."""
    path = Path(path)
    source = str(path)
    try:
        if not path.is_file():
            raise KeywordFileError(f"{source}: not a file")
        if path.stat().st_size > MAX_LIST_BYTES:
            raise KeywordFileError(f"{source}: larger than {MAX_LIST_BYTES >> 20} MiB: not a keyword list")
        data = path.read_bytes()
    except OSError as error:
        raise KeywordFileError(f"{source}: cannot read keyword file: {error.strerror or error}") from error
    text = _decode(data, source)
    if path.suffix.lower() in YAML_SUFFIXES or _YAML_KEY.search(text):
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            detail = " ".join(str(error).split())
            raise KeywordFileError(f"{source}: not valid YAML: {detail}") from error
        except RecursionError as error:     # PyYAML composes nested nodes recursively
            raise KeywordFileError(f"{source}: cannot read keyword file: nested too deep") from error
        return parse_keyword_lists(document, source)
    return parse_plain_list(text, path.stem or path.name, language, source)


@functools.lru_cache(maxsize=1)
def starter_lists() -> tuple[KeywordList, ...]:
    """The lists shipped in ``traffick_triage/data/keywords-starter.yaml``."""
    text = resources.files("traffick_triage").joinpath("data", STARTER_RESOURCE).read_text(encoding="utf-8")
    return tuple(parse_keyword_lists(yaml.safe_load(text), STARTER_RESOURCE))
