"""The hand-written keyword matcher that ``identifiers/keywords.py`` used
until the Aho-Corasick engine replaced it (issue 19), kept verbatim as the
oracle of ``test_keyword_engine.py``: the new engine must give exactly its
hits. The translate-based ``normalise`` of ``identifiers/arabic.py`` from
before issue 19 is kept here too, as the oracle of the faster one (which
this old matcher does not use). ``normalise_with_map`` is unchanged and
imported. Nothing in src/ uses this file.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Callable, Iterable, Iterator

from traffick_triage.identifiers.arabic import normalise_with_map
from traffick_triage.identifiers.keywords import KeywordHit, KeywordList
from traffick_triage.identifiers.windows import text_blocks

# -- the normalisation of identifiers/arabic.py before issue 19 (str.translate) --

_LETTER_FOLDS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ؤ": "و", "ئ": "ي",
    "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك",
}
_REMOVED = (
    [chr(c) for c in range(0x064B, 0x0653)]      # harakat, tanwin, shadda, sukun
    + ["\u0670", "\u0640"]                        # superscript alef, tatweel
    + ["\u200B", "\u200C", "\u200D", "\u200E", "\u200F", "\u061C", "\uFEFF"]
    + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
_NFKC_RANGES = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFE), (0xFF01, 0xFF5E))


def _fold_simple(text: str) -> str:
    """Letter folds and removals only (no NFKC, no case folding)."""
    out = []
    for char in text:
        if char in _REMOVED_SET:
            continue
        out.append(_LETTER_FOLDS.get(char, char))
    return "".join(out)


_REMOVED_SET = frozenset(_REMOVED)


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(c): None for c in _REMOVED}
    table.update({ord(k): v for k, v in _LETTER_FOLDS.items()})
    for low, high in _NFKC_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            composed = unicodedata.normalize("NFKC", char)
            if composed != char:
                table[code] = _fold_simple(composed) or None
    return table


def normalise(text: str) -> str:
    """Fold ``text`` for matching (see the module docstring). Idempotent."""
    return text.translate(_table()).casefold()


# -- the matcher --

_CHUNK = 1 << 13          # normalise and match the text in slices of this size
_ARABIC_LETTER = re.compile(r"[\u0620-\u064A\u066E-\u06D3]")
_AR_PREFIX = r"[وف]?(?:[بكل]?ال|لل|[بكل])?"
_AR_ARTICLE_PREFIX = r"[وف]?(?:[بكل]?ال|لل)"
_AR_SUFFIX = r"(?:هما|هم|هن|ها|ه|كما|كم|كن|ك|نا|ي|ات|ين|ون|ان)?"
_SEPARATOR = r"[\s\-\u2010\u2011_]+"
_KEY_LENGTH = 2
_MAX_PROCLITIC = 4        # longest proclitic chain: و+ب+ال
_WORD_RE = re.compile(r"\w+")


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


class OldKeywordMatcher:
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
