"""Keyword and identifier scanning speed, old beside new, on the same text in
one run (issue 19). MB/s per core: UTF-8 megabytes of text over the CPU
seconds of this process (time.process_time), so other load on the machine
changes the figures less than wall time would.

Texts:
- bench: the bench tree's text files (bench/benchlib.py: the same seeded
  4 MB word corpus, files of log-uniform 100 B .. 200 KB cut from it; or,
  with --tree DIR, the .txt/.csv/.json/.html files of a built tree);
- latin, arabic: the bench corpus's Latin or Arabic words only, with a
  starter-list phrase planted every ~2 KB so that there are hits to report.

Rows:
- keywords old: the hand-written matcher (tests/keyword_oracle.py);
- keywords ahocorasick: the new matcher with a pyahocorasick prefilter
  (first word of each term, plus each separator character after it) in place
  of Hyperscan, for the engine comparison;
- keywords hyperscan: the shipped matcher (identifiers/keywords.py);
- identifiers old / new: phones (region KW), e-mails, URLs, domains,
  wallets; "old" puts back the regex scans issue 19 replaced (each finder's
  own regex finditer, still in its module, which the tests compare with);
- plugin work old / new: what the identifiers plugin does per text block,
  identifiers and keywords, each with the old or the new code.

    PYTHONPATH=src .venv/bin/python bench/bench_identifiers.py [--files 600] [--tree bench/work/tree-10k]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))

import numpy as np  # noqa: E402

import benchlib  # noqa: E402
import keyword_oracle  # noqa: E402
from traffick_triage.identifiers import domains, phones, urls, wallets  # noqa: E402
from traffick_triage.identifiers.keywords import KeywordMatcher, _term_pattern, starter_lists  # noqa: E402
from traffick_triage.identifiers.scan import find_identifiers, find_keywords  # noqa: E402
from traffick_triage.identifiers.textdecode import decode_bytes  # noqa: E402


def bench_texts(files: int, tree: Path | None) -> list[str]:
    if tree is not None:
        paths = sorted(p for p in tree.rglob("*") if p.suffix in (".txt", ".csv", ".json", ".html"))[:files]
        return [decode_bytes(p.read_bytes())[0] for p in paths]
    rng = np.random.default_rng(benchlib.SMALL.seed)
    corpus = benchlib._text_corpus(rng, 4 << 20)
    texts = []
    for _ in range(files):
        size = int(math.exp(rng.uniform(math.log(100), math.log(200_000))))
        start = int(rng.integers(0, len(corpus) - 1))
        texts.append(decode_bytes((corpus[start:] + corpus)[:size])[0])
    return texts


def script_text(arabic: bool, size: int = 4 << 20) -> str:
    rng = np.random.default_rng(7)
    words = [w for w in benchlib._WORDS if (not w.isascii()) == arabic]
    terms = [t.rstrip("*") for kl in starter_lists() for t in kl.terms if (not t.isascii()) == arabic]
    out, written = [], 0
    while written < size:
        line = " ".join(words[i] for i in rng.integers(0, len(words), size=int(rng.integers(4, 20))))
        if rng.random() < 0.05:
            line += " " + terms[int(rng.integers(0, len(terms)))]
        out.append(line)
        written += len(line.encode()) + 1
    return "\n".join(out)


class AhoCorasickMatcher(KeywordMatcher):
    """The new matcher with pyahocorasick finding where terms may begin:
    each term's first word (followed by each separator character when the
    term has more words) as a needle; a match of the rule begins at most four
    proclitic letters before it."""

    def __init__(self, lists):
        import ahocorasick

        super().__init__(lists)
        from traffick_triage.identifiers.keywords import _separator_chars

        self._automaton = ahocorasick.Automaton()
        patterns = sorted({(rule.bounded, rule.pattern): rule for kl in self.lists for rule in
                           [_term_pattern(t, kl.affixes and kl.language.lower().split("-")[0] == "ar")
                            for t in kl.terms] if rule is not None}.items(),
                          key=lambda item: (not item[0][0], -len(item[0][1]), item[0][1]))
        needles: dict[str, set[tuple[bool, int]]] = {}
        for (bounded, _pattern), rule in patterns:
            reach = 4 if rule.prefix else 0
            for needle in ([rule.words[0] + c for c in _separator_chars()] if len(rule.words) > 1
                           else [rule.words[0]]):
                needles.setdefault(needle, set()).add((bounded, reach))
        for needle, kinds in needles.items():
            self._automaton.add_word(needle, (len(needle), tuple(kinds)))
        self._automaton.make_automaton()

    def _spans(self, text, data):
        bounded, free = [], []
        for end, (length, kinds) in self._automaton.iter(text):
            start = end + 1 - length
            for is_bounded, reach in kinds:
                (bounded if is_bounded else free).append((max(0, start - reach), end + 1))
        return bounded, free


def located(matcher):
    """Keyword hits as the plugin asks for them: each term's first hit in a
    text located in the source, the others only counted."""
    def work(text: str) -> int:
        seen: set = set()
        return sum(1 for _ in matcher.find(text, lambda n, t: (n, t) not in seen and not seen.add((n, t))))
    return work


@contextlib.contextmanager
def old_identifier_scans():
    """The identifier finders with the scans they had before issue 19."""
    saved = (phones._runs, urls._url_matches, wallets._tokens, domains._DOT_ANCHORS)
    phones._runs = lambda text, _ascii=None: phones._RUN_RE.finditer(text)
    urls._url_matches = urls._URL_RE.finditer
    wallets._tokens = lambda text, _ascii=None: wallets._TOKEN_RE.finditer(text)
    domains._DOT_ANCHORS = domains._DOT_RE
    try:
        yield
    finally:
        phones._runs, urls._url_matches, wallets._tokens, domains._DOT_ANCHORS = saved


def cpu_rate(texts: list[str], work) -> tuple[float, int]:
    size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    started = time.process_time()
    count = sum(work(text) for text in texts)
    return size / 1e6 / max(time.process_time() - started, 1e-9), count


def plugin_work(matcher):
    def work(text: str) -> int:
        seen: set = set()
        hits = sum(1 for _ in find_identifiers(text, "KW"))
        return hits + sum(1 for _ in find_keywords(text, matcher, locate=lambda n, t: (n, t) not in seen
                                                   and not seen.add((n, t))))
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=600, help="bench text files (default 600)")
    parser.add_argument("--tree", type=Path, help="read the text files of a built bench tree instead")
    parser.add_argument("--old-limit", type=int, default=4 << 20,
                        help="characters of each text the old matcher scans (it runs at ~2 MB/s)")
    args = parser.parse_args()
    lists = starter_lists()
    started = time.process_time()
    new = KeywordMatcher(lists)
    compile_hs = time.process_time() - started
    started = time.process_time()
    aho = AhoCorasickMatcher(lists)
    compile_ac = time.process_time() - started
    old = keyword_oracle.OldKeywordMatcher(lists)
    texts = {"bench": bench_texts(args.files, args.tree), "latin": [script_text(False)], "arabic": [script_text(True)]}
    print(benchlib.machine_line())
    print(f"starter lists: {sum(len(kl.terms) for kl in lists)} terms; compile: hyperscan {compile_hs:.2f} s, "
          f"ahocorasick {compile_ac:.2f} s (CPU, once per process)")
    for name, items in texts.items():
        size = sum(len(t.encode()) for t in items)
        print(f"\n{name}: {len(items)} texts, {size / 1e6:.1f} MB")
        old_sample = []
        budget = args.old_limit
        for text in items:
            if budget <= 0:
                break
            old_sample.append(text[:budget])
            budget -= len(old_sample[-1])
        rows = [
            ("keywords old (sample)", old_sample, located(old)),
            ("keywords ahocorasick", items, located(aho)),
            ("keywords hyperscan", items, located(new)),
            ("identifiers old", items, lambda t: sum(1 for _ in find_identifiers(t, "KW")), True),
            ("identifiers new", items, lambda t: sum(1 for _ in find_identifiers(t, "KW"))),
            ("plugin work old (sample)", old_sample, plugin_work(old), True),
            ("plugin work new", items, plugin_work(new)),
        ]
        for label, sample, work, *old_scans in rows:
            with old_identifier_scans() if old_scans else contextlib.nullcontext():
                rate, hits = cpu_rate(sample, work)
            print(f"  {label:24s} {rate:8.1f} MB/s per core   hits {hits}")


if __name__ == "__main__":
    main()
