"""Identifier and keyword scanner for text-bearing files.

Finds phone numbers (E.164), e-mail addresses, URLs, domains and
checksum-valid cryptocurrency wallets, and hits of keyword lists, in plain
text (any common encoding), HTML/XML, JSON, DOCX/ODT and the text columns of
SQLite databases.

Options (``ctx.options``):

``region``
    Default region for national phone spellings ("KW"). None (default): only
    numbers written in international format ("+...") are reported.
``keywords``
    None (default): the shipped starter lists. A path (str/Path) to a
    keyword file (YAML or a plain one-term-per-line list, see
    ``identifiers/keyword_lists.py``), a list of paths, a list of
    ``KeywordList``, or a parsed YAML mapping. False or an empty list: no
    keyword matching.
``keywords_language``
    Language tag given to every term of plain keyword lists ("ar" gives
    them the Arabic affix rules). None (default): detected per term.
``identifiers_time_budget``
    Seconds (default 45) after which the scan of one file stops and what was
    found so far is reported, with a warning (the host's per-plugin time-out
    would otherwise discard everything).

Findings are deduplicated per file: one per (kind, value) for identifiers
and one per (list, term) for keywords, with the number of occurrences and
the first occurrence's offset, location and context.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

import phonenumbers

from ..identifiers.extract import SQLITE_MIMES, extract_segments
from ..identifiers.keyword_lists import (KeywordFileError, KeywordList, check_language_tag, load_keyword_file,
                                         parse_keyword_lists, starter_lists)
from ..identifiers.keywords import KeywordMatcher, matcher_for
from ..identifiers.office import DOCX_MIME, ODT_MIME
from ..identifiers.scan import find_identifiers, find_keywords, snippet
from ..identifiers.windows import text_blocks
from ..plugin_api import Context, FileView, Finding, Plugin, PluginOptionError, Selector

MAX_FILE_BYTES = 64 << 20
MAX_DISTINCT_PER_FILE = 20_000
BLOCK_CHARS = 1 << 20           # scan long texts in blocks of about this many characters
DEFAULT_TIME_BUDGET = 45.0      # seconds; below the host's 60 s per-plugin time-out


@dataclass(frozen=True)
class IdentifierFinding(Finding):
    KIND: ClassVar[str] = "identifier"

    kind: str                   # phone, email, url, domain, wallet
    value: str                  # canonical: E.164, lower-case e-mail, EIP-55 ...
    as_found: str               # first occurrence, as written
    context: str                # <= 80 characters around the first occurrence
    offset: int                 # character offset of the first occurrence in its segment
    location: str               # segment: "" (whole file), XML part, "table.column rowid=N"
    count: int                  # occurrences in this file
    wallet_type: str | None = None   # btc-base58, btc-bech32, eth, tron, xmr
    network: str | None = None       # wallets: mainnet/testnet/stagenet/evm
    checksummed: bool | None = None  # wallets: False for case-less Ethereum addresses


@dataclass(frozen=True)
class KeywordFinding(Finding):
    KIND: ClassVar[str] = "keyword"

    list_name: str
    term: str                   # the term as written in the list
    language: str
    matched: str                # first match as written in the source
    snippet: str                # <= 80 characters around it
    offset: int
    location: str
    count: int


def _resolve_keywords(option: Any, language: str | None = None) -> KeywordMatcher | None:
    """The matcher for the ``keywords`` option (``language``: the
    ``keywords_language`` option, for plain lists). Raises
    ``KeywordFileError`` or ``TypeError`` on a value it cannot use."""
    if option is None:
        return matcher_for(starter_lists())
    if option is False or option == [] or option == ():
        return None
    if isinstance(option, (str, Path)):
        return matcher_for(_load_cached(str(option), language))
    if isinstance(option, dict):
        return KeywordMatcher(parse_keyword_lists(option, "keywords option"))
    if isinstance(option, (list, tuple)):
        lists: list[KeywordList] = []
        for item in option:
            if isinstance(item, KeywordList):
                lists.append(item)
            elif isinstance(item, (str, Path)):
                lists.extend(_load_cached(str(item), language))
            else:
                raise TypeError(f"keywords option: unsupported item {type(item).__name__}")
        return matcher_for(tuple(lists))
    raise TypeError(f"keywords option: unsupported value {type(option).__name__}")


_FILE_CACHE: dict[tuple[str, float, str | None], tuple[KeywordList, ...]] = {}


def _load_cached(path: str, language: str | None) -> tuple[KeywordList, ...]:
    """Keyword files are read once per process (per modification time),
    not once per scanned file."""
    try:
        key = (path, Path(path).stat().st_mtime, language)
    except OSError as error:
        raise KeywordFileError(f"{path}: cannot read keyword file: {error.strerror or error}") from error
    if key not in _FILE_CACHE:
        _FILE_CACHE[key] = tuple(load_keyword_file(path, language))
    return _FILE_CACHE[key]


class IdentifiersPlugin(Plugin):
    NAME: ClassVar[str] = "identifiers"
    VERSION: ClassVar[str] = "1.0.0"
    DESCRIPTION: ClassVar[str] = ("Phone numbers, e-mails, URLs, domains, checksum-valid crypto wallets "
                                  "and keyword-list hits in text, HTML/XML, JSON, DOCX/ODT and SQLite")
    SELECTOR: ClassVar[Selector] = Selector(
        mime_types=("text/*", "application/json", "application/xml", "application/xhtml+xml",
                    *SQLITE_MIMES, DOCX_MIME, ODT_MIME),
        globs=("*.docx", "*.odt"),
        max_size=MAX_FILE_BYTES,
    )

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Every option ``extract`` reads, read once before the scan: a
        keyword list that cannot be used, an unknown region or a budget that
        is not a positive number would otherwise fail (or find nothing) on
        every file."""
        language = options.get("keywords_language")
        try:
            if language is not None:
                if not isinstance(language, str):
                    raise KeywordFileError(f"keywords language: expected a language tag, not {language!r}")
                check_language_tag(language, "keywords language")
            _resolve_keywords(options.get("keywords"), language)
        except (KeywordFileError, TypeError) as error:
            raise PluginOptionError(f"keyword list refused: {error}") from error
        region = options.get("region")
        if region and (not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS):
            raise PluginOptionError(f"region {region!r} is not a phone-number region "
                                    "(an ISO 3166 code such as KW, EG, PH)")
        budget = options.get("identifiers_time_budget", DEFAULT_TIME_BUDGET)
        try:
            usable = float(budget) > 0 and math.isfinite(float(budget))
        except (TypeError, ValueError):
            usable = False
        if not usable:
            raise PluginOptionError(f"identifiers_time_budget must be a positive number of seconds, not {budget!r}")

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        region = ctx.options.get("region") or None
        matcher = _resolve_keywords(ctx.options.get("keywords"), ctx.options.get("keywords_language"))
        budget = float(ctx.options.get("identifiers_time_budget", DEFAULT_TIME_BUDGET))
        deadline = time.monotonic() + budget
        identifiers: dict[tuple[str, str], dict[str, Any]] = {}
        keywords: dict[tuple[str, str], dict[str, Any]] = {}
        capped = False
        scanned = 0
        for order, segment in enumerate(extract_segments(file, ctx, MAX_FILE_BYTES)):
            for base, block in text_blocks(segment.text, BLOCK_CHARS):
                if time.monotonic() > deadline:
                    # Better a partial, labelled result than none: the host's
                    # time-out would discard every finding of the file.
                    ctx.warn(f"identifier scan stopped at its {budget:g} s budget after "
                             f"{scanned} characters; findings so far are reported")
                    yield from self._findings(identifiers, keywords)
                    return
                scanned += len(block)
                for hit in find_identifiers(block, region):
                    key = (hit.kind, hit.value)
                    if key in identifiers:
                        identifiers[key]["count"] += 1
                    elif len(identifiers) >= MAX_DISTINCT_PER_FILE:
                        capped = True
                    else:
                        identifiers[key] = {
                            "sort": (order, base + hit.start), "count": 1,
                            "fields": dict(kind=hit.kind, value=hit.value, as_found=hit.as_found,
                                           context=snippet(block, hit.start, hit.end),
                                           offset=base + hit.start, location=segment.where,
                                           wallet_type=hit.wallet_type, network=hit.network,
                                           checksummed=hit.checksummed)}
                for hit in find_keywords(block, matcher, locate=lambda name, term: (name, term) not in keywords):
                    key = (hit.list_name, hit.term)
                    if key in keywords:
                        keywords[key]["count"] += 1
                    else:
                        keywords[key] = {
                            "sort": (order, base + hit.start), "count": 1,
                            "fields": dict(list_name=hit.list_name, term=hit.term, language=hit.language,
                                           matched=hit.matched, snippet=snippet(block, hit.start, hit.end),
                                           offset=base + hit.start, location=segment.where)}
        if capped:
            ctx.warn(f"more than {MAX_DISTINCT_PER_FILE} distinct identifiers; the rest were not reported")
        yield from self._findings(identifiers, keywords)

    @staticmethod
    def _findings(identifiers: dict[tuple[str, str], dict[str, Any]],
                  keywords: dict[tuple[str, str], dict[str, Any]]) -> Iterator[Finding]:
        """Deduplicated findings in order of first occurrence."""
        for key in sorted(identifiers, key=lambda k: (identifiers[k]["sort"], k)):
            entry = identifiers[key]
            yield IdentifierFinding(count=entry["count"], **entry["fields"])
        for key in sorted(keywords, key=lambda k: (keywords[k]["sort"], k)):
            entry = keywords[key]
            yield KeywordFinding(count=entry["count"], **entry["fields"])
