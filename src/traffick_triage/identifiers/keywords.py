"""Keyword lists (YAML) and matching on normalised text.

File format (``--keywords FILE``)::

    version: 1                      # optional; only 1 exists
    lists:
      - name: recruitment-en        # required, unique in the file
        language: en                # required: a language tag, "ar" switches
                                    #   on Arabic clitic handling (below)
        description: free text      # optional
        affixes: true               # optional, Arabic lists only (default true)
        terms:                      # required, non-empty list of strings
          - no experience needed
          - recruit*                # trailing * = word prefix ("recruiter")

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
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from .arabic import normalise, normalise_with_map
from .windows import text_blocks

STARTER_RESOURCE = "keywords-starter.yaml"
_CHUNK = 1 << 13          # normalise and match the text in slices of this size
_ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u066E-\u06D3]")
_AR_PREFIX = r"[وف]?(?:[بكل]?ال|لل|[بكل])?"
_AR_ARTICLE_PREFIX = r"[وف]?(?:[بكل]?ال|لل)"
_AR_SUFFIX = r"(?:هما|هم|هن|ها|ه|كما|كم|كن|ك|نا|ي|ات|ين|ون|ان)?"
_SEPARATOR = r"[\s\-\u2010\u2011_]+"
_KEY_LENGTH = 2
_MAX_PROCLITIC = 4        # longest proclitic chain: و+ب+ال
_WORD_RE = re.compile(r"\w+")


class KeywordFileError(ValueError):
    pass


@dataclass(frozen=True)
class KeywordList:
    name: str
    language: str
    terms: tuple[str, ...]
    description: str = ""
    affixes: bool = True


@dataclass(frozen=True)
class KeywordHit:
    list_name: str
    term: str
    language: str
    matched: str       # the text as written in the source
    start: int         # character offsets into the searched text
    end: int


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


def load_keyword_file(path: str | Path) -> list[KeywordList]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise KeywordFileError(f"{path}: cannot read keyword file: {error}") from error
    except RecursionError as error:     # PyYAML composes nested nodes recursively
        raise KeywordFileError(f"{path}: cannot read keyword file: nested too deep") from error
    return parse_keyword_lists(data, str(path))


@functools.lru_cache(maxsize=1)
def starter_lists() -> tuple[KeywordList, ...]:
    """The lists shipped in ``traffick_triage/data/keywords-starter.yaml``."""
    text = resources.files("traffick_triage").joinpath("data", STARTER_RESOURCE).read_text(encoding="utf-8")
    return tuple(parse_keyword_lists(yaml.safe_load(text), STARTER_RESOURCE))


def _term_pattern(term: str, arabic_affixes: bool) -> tuple[bool, str, str] | None:
    """(starts at a word boundary, regex over normalised text, key) for one
    term, or None if it normalises to nothing. The key is the first one or
    two letters of the term's first word without clitics: the matcher only
    tries the regex at words that start with a key (see ``_candidates``)."""
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
    return bool(re.match(r"\w", core)), body + right, words[0][:_KEY_LENGTH]


def _rank(match: re.Match[str]) -> tuple[int, int]:
    return match.end(), -int(match.lastgroup[1:])


class KeywordMatcher:
    """The terms of some lists, compiled for matching on normalised text."""

    def __init__(self, lists: Iterable[KeywordList]):
        self.lists = tuple(lists)
        by_pattern: dict[tuple[bool, str], list[tuple[str, str, str]]] = {}
        key_of: dict[tuple[bool, str], str] = {}
        for keyword_list in self.lists:
            arabic_affixes = keyword_list.affixes and keyword_list.language.lower().split("-")[0] == "ar"
            for term in keyword_list.terms:
                compiled = _term_pattern(term, arabic_affixes)
                if compiled is None:
                    continue
                bounded, pattern, key = compiled
                owners = by_pattern.setdefault((bounded, pattern), [])
                owner = (keyword_list.name, term, keyword_list.language)
                if owner not in owners:
                    owners.append(owner)
                key_of[(bounded, pattern)] = key
        # Longer terms first: at one position "passport held" beats "passport".
        patterns = sorted(by_pattern, key=lambda p: (not p[0], -len(p[1]), p[1]))
        self._owners = [by_pattern[p] for p in patterns]
        # Python's regex engine has no trie: a big alternation tries every
        # alternative at every position (and the optional Arabic proclitic
        # groups backtrack in each), ~25 us per word. So terms are grouped by
        # the first letters of their first word (the key); a word is only
        # matched against the small regex of the keys it starts with.
        grouped: dict[str, list[str]] = {}
        free: list[str] = []
        for index, (bounded, pattern) in enumerate(patterns):
            named = f"(?P<t{index}>{pattern})"
            if bounded:
                grouped.setdefault(key_of[(bounded, pattern)], []).append(named)
            else:
                free.append(named)   # terms starting with punctuation: plain search
        self._by_key = {key: re.compile("|".join(group)) for key, group in grouped.items()}
        self._free = re.compile("|".join(free)) if free else None
        self._clitics = any(pattern.startswith("[وف]?") for _, pattern in patterns)

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

    def _overlapping(self, text: str) -> Iterator[re.Match[str]]:
        """The longest match at every word start, overlaps included:
        "حجز الجواز عند الكفيل" holds two terms that share a word, and a
        plain finditer would report only the first."""
        matches: list[re.Match[str]] = []
        for word in _WORD_RE.finditer(text):
            keys = self._candidate_keys(word.group())
            if not keys:
                continue
            best = None
            for key in keys:
                match = self._by_key[key].match(text, word.start())
                # Longest match wins; on a tie the earlier (longer) pattern,
                # so the result does not depend on set iteration order.
                if match is not None and (best is None or _rank(match) > _rank(best)):
                    best = match
            if best is not None:
                matches.append(best)
        if self._free is not None:
            position = 0
            while (match := self._free.search(text, position)) is not None:
                matches.append(match)
                position = match.start() + 1
            matches.sort(key=lambda m: m.start())
        return iter(matches)

    def find(self, text: str, locate: Callable[[str, str], bool] | None = None) -> Iterator[KeywordHit]:
        """Every hit, in text order. ``locate(list_name, term)`` says whether
        the caller needs the hit's position and source text; when it says no
        (a term already seen in this file), the hit is yielded with
        ``matched=""`` and ``start=end=-1``, skipping the per-character map
        (the slow, pure-Python part)."""
        if not self._by_key and self._free is None:
            return
        for base, chunk in text_blocks(text, _CHUNK):
            normalised = normalise(chunk)
            positions: list[int] | None = None
            for match in self._overlapping(normalised):
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


@functools.lru_cache(maxsize=8)
def matcher_for(lists: tuple[KeywordList, ...]) -> KeywordMatcher:
    """A compiled matcher, cached: the plugin asks for one per file."""
    return KeywordMatcher(lists)
