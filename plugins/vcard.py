"""vCard files (``.vcf``): versions 2.1, 3.0 and 4.0, any number of cards.

Parsed with ``vobject``. The file is split into BEGIN:VCARD..END:VCARD
blocks first and each block parsed on its own, so one malformed card gives a
warning naming its index (1-based) and line, and the other cards still come
out. vCard 2.1 quoted-printable values (with ``=`` soft line breaks) are
decoded by vobject with ``allowQP``, in the card's CHARSET.

Fields: FN (else N), TEL, EMAIL, ORG, UID, REV. A 4.0 ``tel:`` URI is
reported without its ``tel:`` scheme (that is value encoding, not part of the
number); numbers are otherwise kept as found.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterator

import vobject

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..timeutil import UTC, iso_utc
from ._comms import Contact, clean, unique

MAX_SIZE = 64 * 1024 * 1024   # address-book exports are small; larger is not a vCard file
_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)


def split_cards(text: str) -> list[tuple[int, str]]:
    """(first line number, card text) for each BEGIN:VCARD..END:VCARD block."""
    cards: list[tuple[int, str]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if _BEGIN.match(line.strip()):
            current, start = [line.strip()], number
        elif current is not None:
            current.append(line)
            if _END.match(line.strip()):
                cards.append((start, "\r\n".join(current) + "\r\n"))
                current = None
    if current is not None:   # a last card without END: still worth a try
        cards.append((start, "\r\n".join(current + ["END:VCARD"]) + "\r\n"))
    return cards


def decode_text(data: bytes) -> str:
    # vCard 3.0/4.0 are UTF-8; old phone exports may be in a legacy code page.
    # The fallback cannot fail, and QP-encoded 2.1 values are ASCII anyway.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _values(card: Any, name: str) -> list[Any]:
    return [line.value for line in card.contents.get(name, [])]


def _text(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):       # ORG is a list of units
        return clean("; ".join(str(part) for part in value if str(part).strip()))
    if value is not None and not isinstance(value, str):  # vobject Name object
        return clean(" ".join(str(value).split()))
    return clean(value)


def _phone(value: Any) -> str | None:
    text = clean(value)
    if text and text.lower().startswith("tel:"):
        text = clean(text[4:])
    return text


def parse_rev(value: Any) -> str | None:
    """REV as UTC ISO; only values with an explicit zone (Z or offset): a
    zone-less REV is local time of an unknown device and is not guessed."""
    text = clean(value)
    if not text:
        return None
    compact = text.replace("-", "").replace(":", "")
    try:
        if compact.upper().endswith("Z"):
            moment = _dt.datetime.strptime(compact[:-1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        else:
            moment = _dt.datetime.strptime(compact, "%Y%m%dT%H%M%S%z")
    except ValueError:
        return None
    return iso_utc(moment)


class VCardPlugin(Plugin):
    """Contacts from vCard files."""

    NAME = "vcard"
    VERSION = "1.0"
    DESCRIPTION = "vCard contacts (.vcf, versions 2.1/3.0/4.0)"
    SELECTOR = Selector(mime_types=("text/vcard", "text/x-vcard", "text/directory"),
                        globs=("*.vcf", "*.vcard"), max_size=MAX_SIZE)
    SCHEMAS = {"vCard": "2.1 (incl. quoted-printable), 3.0 (RFC 2426), 4.0 (RFC 6350)"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        cards = split_cards(decode_text(file.read(MAX_SIZE)))
        if not cards:
            ctx.warn(f"{self.NAME}: {file.locator}: no BEGIN:VCARD/END:VCARD block found")
            return
        for index, (line, text) in enumerate(cards, 1):
            try:
                card = vobject.readOne(text, allowQP=True)
                contact = self._contact(card, index)
            except Exception as error:  # noqa: BLE001 - one bad card must not hide the rest
                ctx.warn(f"{self.NAME}: {file.locator}: card {index} (line {line}) could not be "
                         f"parsed, skipped: {type(error).__name__}: {error}")
                continue
            yield contact

    @staticmethod
    def _contact(card: Any, index: int) -> Contact:
        name = next(filter(None, map(_text, _values(card, "fn"))), None) \
            or next(filter(None, map(_text, _values(card, "n"))), None)
        uid = next(filter(None, map(clean, _values(card, "uid"))), None)
        return Contact(
            name=name,
            phone_numbers=unique(map(_phone, _values(card, "tel"))),
            emails=unique(_values(card, "email")),
            organisation=next(filter(None, map(_text, _values(card, "org"))), None),
            source_app="vCard",
            # The card's position in the file always identifies it; UID only when present.
            source_record_id=f"card {index}" + (f" uid {uid}" if uid else ""),
            modified=next(filter(None, map(parse_rev, _values(card, "rev"))), None),
        )
