"""Keyword matching on normalised text (the list files: ``keyword_lists``).

Matching is on ``arabic.normalise``d text (diacritics, tatweel, hamza and
letter variants folded, Latin case-folded), with word boundaries that are
Unicode-aware: a term matches only where it is not glued to other letters or
digits. Spaces and hyphens in a term match any run of spaces/hyphens.

Arabic attaches conjunctions, prepositions and the article to the word and
pronouns to its end. For ``language: ar`` lists (unless ``affixes: false``)
a term also matches with the proclitics و ف ب ك ل ال لل (in their usual
combinations) before it and common pronoun/plural suffixes after it; a term
written with its article ("السفر") also matches "للسفر", and a term ending
in ta marbuta also matches its construct form ("وظيفته") and plural in -ات.
This widens recall on purpose; review hits in their snippet.

Engine (issue 19). The rules are Python regexes, one per term, tried at word
starts, the longest match winning (``_matches_at``, the old matcher's own
code and order). Trying them at every word start cost 2.5 million Python
calls per 16 MB (2.7 MB/s), so a Hyperscan database of the same terms as
literal phrases first finds, in C, where a match can begin: each term is
compiled as its optional proclitics, its words joined by runs of separator
characters and its ta marbuta ending, which every match of its regex
contains from the match's start on (the suffixes, the ``*`` tail and the
right word boundary are left out, so Hyperscan finds a superset). With
start-of-match reporting, a match of the regex at a word start w ending at e
makes Hyperscan report (s, e) with s <= w, so the word starts in [s, e) are
the only ones the regexes need to be tried at: the hits are exactly those of
trying every word start (``tests/test_keyword_engine.py`` compares them with
the old matcher). Text Hyperscan cannot take (lone surrogates) or a database
that will not compile (or no hyperscan module) falls back to trying every
word start.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

try:
    import hyperscan
except ImportError:   # no wheel for this platform: every word start is tried (same hits, slower)
    hyperscan = None

from .arabic import has_lone_surrogate, normalise, normalise_parts, normalise_with_map
from .keyword_lists import (KeywordFileError, KeywordList, load_keyword_file,  # noqa: F401 - re-exported
                            parse_keyword_lists, starter_lists)
from .windows import text_blocks

_CHUNK = 1 << 13          # normalise and match the text in slices of this size
_ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u066E-\u06D3]")
_AR_PREFIX = r"[وف]?(?:[بكل]?ال|لل|[بكل])?"
_AR_ARTICLE_PREFIX = r"[وف]?(?:[بكل]?ال|لل)"
_AR_SUFFIX = r"(?:هما|هم|هن|ها|ه|كما|كم|كن|ك|نا|ي|ات|ين|ون|ان)?"
_SEPARATOR = r"[\s\-\u2010\u2011_]+"
_KEY_LENGTH = 2
_MAX_PROCLITIC = 4        # longest proclitic chain: و+ب+ال
_WORD_RE = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
_SEPARATOR_CHAR = re.compile(_SEPARATOR[:-1])
_HS_FLAGS = (hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SOM_LEFTMOST) if hyperscan else 0


@dataclass(frozen=True)
class KeywordHit:
    list_name: str
    term: str
    language: str
    matched: str       # the text as written in the source
    start: int         # character offsets into the searched text
    end: int


@dataclass(frozen=True)
class _TermRule:
    bounded: bool             # starts with a word character: tried at word starts only
    pattern: str              # regex over normalised text
    key: str                  # first one or two letters of its first word (see _candidate_keys)
    prefix: str               # "", _AR_PREFIX or _AR_ARTICLE_PREFIX
    words: tuple[str, ...]    # its words as literals, after clitic and ta marbuta handling
    ending: str               # "" or the ta marbuta ending's alternation


def _term_pattern(term: str, arabic_affixes: bool) -> _TermRule | None:
    """The rule of one term, or None if it normalises to nothing."""
    prefix_match = term.endswith("*")
    core = normalise(term.rstrip("*")).strip()
    if not core:
        return None
    words = [w for w in re.split(r"[\s\-\u2010\u2011_]+", core) if w]
    if not words:
        return None
    arabic = arabic_affixes and bool(_ARABIC_LETTER.search(core))
    prefix = suffix = ""
    ending = ""
    if arabic:
        if words[0].startswith("ال") and len(words[0]) > 3:
            words[0] = words[0][2:]          # the article moves into the prefix
            prefix = _AR_ARTICLE_PREFIX
        else:
            prefix = _AR_PREFIX
        if not prefix_match:
            if words[-1].endswith("ه") and len(words[-1]) > 2:
                words[-1] = words[-1][:-1]   # ta marbuta: ه, construct ت, plural ات
                ending = "(?:ه|ات|ت)"
            suffix = _AR_SUFFIX
    escaped = [re.escape(w) for w in words]
    body = prefix + _SEPARATOR.join(escaped) + ending + suffix
    right = r"(?!\w)" if re.search(r"\w$", core) and not prefix_match else ""
    if prefix_match:
        body += r"\w*"
    return _TermRule(bool(re.match(r"\w", core)), body + right, words[0][:_KEY_LENGTH], prefix, tuple(words), ending)


def _rank(match: re.Match[str]) -> tuple[int, int]:
    return match.end(), -int(match.lastgroup[1:])


@functools.lru_cache(maxsize=1)
def _separator_chars() -> tuple[str, ...]:
    """Every character ``_SEPARATOR`` matches (all lie in the BMP)."""
    return tuple(chr(code) for code in range(0x10000)
                 if not 0xD800 <= code <= 0xDFFF and _SEPARATOR_CHAR.match(chr(code)))


def _hs_text(regex: str) -> str:
    """A regex of this module (literal letters, classes, ?, |, groups) in
    Hyperscan's syntax: every non-ASCII character written as \\x{...}."""
    return "".join(char if char.isascii() else f"\\x{{{ord(char):x}}}" for char in regex)


def _hs_literal(text: str) -> str:
    return "".join(f"\\x{{{ord(char):x}}}" for char in text)


def prefilter_expression(rule: _TermRule) -> str:
    """The Hyperscan expression that finds where ``rule`` can match: its
    proclitics, words, separators and ending; every match of the rule's
    regex starts with a match of this one (see the module docstring)."""
    separator = "[" + "".join(_hs_literal(c) for c in _separator_chars()) + "]+"
    ending = _hs_text(rule.ending)
    return _hs_text(rule.prefix) + separator.join(_hs_literal(w) for w in rule.words) + ending


class KeywordMatcher:
    """The terms of some lists, compiled for matching on normalised text."""

    def __init__(self, lists: Iterable[KeywordList]):
        self.lists = tuple(lists)
        by_pattern: dict[tuple[bool, str], list[tuple[str, str, str]]] = {}
        rule_of: dict[tuple[bool, str], _TermRule] = {}
        for keyword_list in self.lists:
            arabic_affixes = keyword_list.affixes and keyword_list.language.lower().split("-")[0] == "ar"
            for term in keyword_list.terms:
                rule = _term_pattern(term, arabic_affixes)
                if rule is None:
                    continue
                owners = by_pattern.setdefault((rule.bounded, rule.pattern), [])
                owner = (keyword_list.name, term, keyword_list.language)
                if owner not in owners:
                    owners.append(owner)
                rule_of[(rule.bounded, rule.pattern)] = rule
        # Longer terms first: at one position "passport held" beats "passport".
        patterns = sorted(by_pattern, key=lambda p: (not p[0], -len(p[1]), p[1]))
        self._owners = [by_pattern[p] for p in patterns]
        # Python's regex engine has no trie: a big alternation tries every
        # alternative at every position. So terms are grouped by the first
        # letters of their first word (the key); a word start is only matched
        # against the small regex of the keys its word starts with.
        grouped: dict[str, list[str]] = {}
        free: list[str] = []
        for index, (bounded, pattern) in enumerate(patterns):
            named = f"(?P<t{index}>{pattern})"
            if bounded:
                grouped.setdefault(rule_of[(bounded, pattern)].key, []).append(named)
            else:
                free.append(named)   # terms starting with punctuation: tried at every position
        self._by_key = {key: re.compile("|".join(group)) for key, group in grouped.items()}
        self._free = re.compile("|".join(free)) if free else None
        self._clitics = any(pattern.startswith("[وف]?") for _, pattern in patterns)
        self._bounded = [bounded for bounded, _ in patterns]
        self._database = _compile_prefilter([prefilter_expression(rule_of[p]) for p in patterns])
        # Hyperscan's scratch space serves one scan at a time: one per thread
        # (a Dask worker runs several tasks at once in one process).
        self._scratch = threading.local()

    def _candidate_keys(self, token: str) -> set[str]:
        """Keys of the terms that may start at this word: its first one or
        two letters, and for an Arabic word also those after up to four
        proclitic letters."""
        by_key = self._by_key
        found = {key for key in (token[:2], token[:1]) if key in by_key}
        if self._clitics and "\u0620" <= token[0] <= "\u064A":
            for i in range(1, min(_MAX_PROCLITIC, len(token) - 1) + 1):
                found.update(key for key in (token[i:i + 2], token[i:i + 1]) if key in by_key)
        return found

    def _match_at_word(self, text: str, word: re.Match[str]) -> re.Match[str] | None:
        """The longest match of a bounded term at this word start, if any."""
        best = None
        for key in self._candidate_keys(word.group()):
            match = self._by_key[key].match(text, word.start())
            # Longest match wins; on a tie the earlier (longer) pattern,
            # so the result does not depend on set iteration order.
            if match is not None and (best is None or _rank(match) > _rank(best)):
                best = match
        return best

    def _spans(self, text: str, data: bytes | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
        """(spans of bounded terms, spans of free terms) where a match may
        begin in ``text`` (``data``: its UTF-8), as character offsets; None
        when every position must be tried."""
        if self._database is None or data is None:   # None: lone surrogates, Hyperscan cannot read them
            return None
        scratch = self._scratch_space()
        found: list[tuple[int, int, int]] = []
        self._database.scan(data, match_event_handler=lambda index, start, end, _flags, _ctx:
                            found.append((start, end, index)), scratch=scratch)
        if not found:
            return [], []
        if len(data) != len(text):
            try:
                to_char = _char_offsets(data, {offset for start, end, _ in found for offset in (start, end)})
            except UnicodeDecodeError:  # an offset inside a character: never seen; try everything
                return None
            found = [(to_char[start], to_char[end], index) for start, end, index in found]
        bounded, free = [], []
        for start, end, index in found:
            (bounded if self._bounded[index] else free).append((start, end))
        return bounded, free

    def _may_begin(self, data: bytes) -> bool:
        """False when the prefilter finds no place in ``data`` (UTF-8 of
        normalised text) where a term can begin: ``_overlapping`` would then
        find nothing, so the caller need not decode the text for it."""
        if self._database is None:
            return True
        found = False

        def stop(*_args) -> bool:
            nonlocal found
            found = True
            return True                     # stop the scan at the first candidate

        try:
            self._database.scan(data, match_event_handler=stop, scratch=self._scratch_space())
        except hyperscan.ScanTerminated:
            pass
        return found

    def _scratch_space(self):
        scratch = getattr(self._scratch, "space", None)
        if scratch is None:
            scratch = self._scratch.space = hyperscan.Scratch(self._database)
        return scratch

    def _overlapping(self, text: str, data: bytes | None) -> list[re.Match[str]]:
        """The longest match at every word start, overlaps included:
        "حجز الجواز عند الكفيل" holds two terms that share a word, and a
        plain finditer would report only the first."""
        spans = self._spans(text, data)
        matches: list[re.Match[str]] = []
        if spans is None:
            words: Iterable[re.Match[str]] = _WORD_RE.finditer(text)
        else:
            words = _word_starts_in(text, spans[0])
        for word in words:
            best = self._match_at_word(text, word)
            if best is not None:
                matches.append(best)
        if self._free is not None:
            positions: Iterable[int] = (range(len(text)) if spans is None
                                        else sorted({p for start, end in spans[1] for p in range(start, end)}))
            for position in positions:
                match = self._free.match(text, position)
                if match is not None:
                    matches.append(match)
            matches.sort(key=lambda m: m.start())
        return matches

    def find(self, text: str, locate: Callable[[str, str], bool] | None = None) -> Iterator[KeywordHit]:
        """Every hit, in text order. ``locate(list_name, term)`` says whether
        the caller needs the hit's position and source text; when it says no
        (a term already seen in this file), the hit is yielded with
        ``matched=""`` and ``start=end=-1``, skipping the per-character map
        (the slow, pure-Python part)."""
        if not self._by_key and self._free is None:
            return
        for base, chunk in text_blocks(text, _CHUNK):
            normalised, raw = normalise_parts(chunk)
            data: bytes | None = raw
            if has_lone_surrogate(raw):
                data = None                 # Hyperscan cannot read it: every word start is tried
            elif not self._may_begin(raw):
                continue                    # no term can begin in this chunk (most chunks)
            if normalised is None:
                normalised = raw.decode("utf-8", "surrogatepass")
            positions: list[int] | None = None
            for match in self._overlapping(normalised, data):
                start, end = match.span()
                if start == end:
                    continue
                for list_name, term, language in self._owners[int(match.lastgroup[1:])]:
                    if locate is not None and not locate(list_name, term):
                        yield KeywordHit(list_name, term, language, "", -1, -1)
                        continue
                    if positions is None:
                        _mapped, positions = normalise_with_map(chunk)
                    # positions[end] (not positions[end - 1] + 1) so diacritics
                    # and tatweel right after the match stay in the matched text.
                    source_start, source_end = positions[start], positions[end]
                    yield KeywordHit(list_name, term, language, chunk[source_start:source_end],
                                     base + source_start, base + source_end)


def _compile_prefilter(expressions: list[str]):
    """A Hyperscan block-mode database of ``expressions`` (ids: their
    positions), or None if there are none or Hyperscan refuses one."""
    if not expressions or hyperscan is None:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=[e.encode("ascii") for e in expressions], ids=list(range(len(expressions))),
                         elements=len(expressions), flags=[_HS_FLAGS] * len(expressions))
    except hyperscan.error:
        return None
    return database


def _char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Character offset of each byte offset (each at a character boundary)
    of the UTF-8 ``data``, decoding only up to the last one."""
    result: dict[int, int] = {}
    chars = previous = 0
    for offset in sorted(offsets):
        chars += len(data[previous:offset].decode("utf-8"))
        result[offset] = chars
        previous = offset
    return result


def _word_starts_in(text: str, spans: list[tuple[int, int]]) -> list[re.Match[str]]:
    """The words (``\\w+`` runs, whole) that start inside one of ``spans``,
    in text order, each once."""
    words: dict[int, re.Match[str]] = {}
    for start, end in spans:
        for word in _WORD_RE.finditer(text, start):
            if word.start() >= end:
                break
            if word.start() in words:
                continue
            if word.start() > 0 and _WORD_CHAR.match(text, word.start() - 1):
                continue                # started before the span: not a word start
            words[word.start()] = word
    return [words[start] for start in sorted(words)]


@functools.lru_cache(maxsize=8)
def matcher_for(lists: tuple[KeywordList, ...]) -> KeywordMatcher:
    """A compiled matcher, cached: the plugin asks for one per file."""
    return KeywordMatcher(lists)
