"""Selector.matches (compiled once into regular expressions) against the
documented rule applied pattern by pattern with the standard library's
fnmatch, on random paths, MIME types and patterns, and on every built-in
plugin's selector."""

from __future__ import annotations

import fnmatch
import random

from traffick_triage.plugin_api import Selector
from traffick_triage.registry import load_plugins


def _by_fnmatch(selector: Selector, path: str, mime: str, size: int) -> bool:
    if selector.max_size is not None and size > selector.max_size:
        return False
    if any(fnmatch.fnmatchcase((mime or "").lower(), p.lower()) for p in selector.mime_types):
        return True
    lowered = path.lower()
    base = lowered.rsplit("/", 1)[-1]
    for pattern in (g.lower() for g in selector.globs):
        bare = pattern[3:] if pattern.startswith("**/") else pattern
        if fnmatch.fnmatchcase(lowered, pattern) or fnmatch.fnmatchcase(base, bare):
            return True
        if pattern.startswith("**/") and (fnmatch.fnmatchcase(lowered, "*/" + bare)
                                          or fnmatch.fnmatchcase(lowered, bare)):
            return True
    return False


_PIECES = ["a", "B", "db", ".", "/", "*", "?", "[ab]", "[!c]", "**/", "é", "\n", "contacts2", "x-", "+"]


def _text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(pieces)))


def test_random_selectors_agree_with_fnmatch() -> None:
    rng = random.Random(19)
    for _ in range(400):
        selector = Selector(mime_types=tuple(_text(rng, 4) for _ in range(rng.randrange(3))),
                            globs=tuple(_text(rng, 5) for _ in range(rng.randrange(4))),
                            max_size=rng.choice([None, 10]))
        for _ in range(40):
            path = _text(rng, 8).replace("*", "").replace("?", "").replace("[", "")
            mime = rng.choice(["", "image/jpeg", "IMAGE/PNG", "text/plain", path])
            size = rng.choice([1, 11])
            assert selector.matches(path, mime, size) == _by_fnmatch(selector, path, mime, size), (
                selector, path, mime, size)


def test_builtin_selectors_agree_with_fnmatch() -> None:
    paths = ["data/data/com.android.providers.contacts/databases/contacts2.db", "Contacts2.DB",
             "private/var/mobile/Library/SMS/sms.db", "DCIM/100/IMG_1.JPG", "x/chat.db", "a/b.vcf",
             "msgstore.db", "notes.txt", "ChatStorage.sqlite", "report.docx"]
    mimes = ["image/jpeg", "text/plain", "application/x-sqlite3", "video/mp4", "application/json", ""]
    plugins = load_plugins()
    assert plugins
    for loaded in plugins:
        selector = loaded.plugin.SELECTOR
        for path in paths:
            for mime in mimes:
                assert selector.matches(path, mime, 100) == _by_fnmatch(selector, path, mime, 100), (
                    loaded.name, path, mime)
